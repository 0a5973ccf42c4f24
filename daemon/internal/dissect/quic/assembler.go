package quic

import (
	"bytes"
	"fmt"
)

const (
	// maxFails is the number of Initial packets in a row that may fail to
	// decrypt before an Assembler gives up.
	maxFails = 8
	// maxDerivations bounds the key derivations of one Assembler: the first
	// Initial, then one per new Destination Connection ID or version that
	// the current keys do not open (a Retry changes the DCID and the keys).
	maxDerivations = 4
	// maxSpans bounds the disjoint pieces of the CRYPTO stream tracked at
	// once; a frame that would need more is ignored and counted.
	maxSpans = 32
)

// Assembler collects the CRYPTO stream of one client's Initial packets (one
// UDP 5-tuple) and returns the ClientHello handshake message when complete.
// The engine keeps at most one Assembler per UDP session that looks like
// QUIC (port 443 or a long header with a known version), so it is small
// when idle and bounded: MaxCrypto bytes of CRYPTO data; frames beyond are
// ignored and counted.
//
// The zero value is ready to use and holds no buffers (about 64 bytes). The
// first Initial packet allocates the connection's state: the Initial keys
// (HKDF, then the AES and AES-GCM states), a decryption buffer the size of
// the largest packet, and a CRYPTO buffer the size of the ClientHello (or
// MaxCrypto while its length is unknown). Decrypting and reassembling
// further packets does not allocate, unless a packet is larger than every
// earlier one or a Retry changes the keys. All of it is released once the
// ClientHello is returned or the Assembler gives up.
//
// An Assembler is not safe for concurrent use.
type Assembler struct {
	st      *flight // nil when idle, done or failed
	err     error   // sticky: the Assembler gave up
	ignored int
	version uint32
	done    bool
	dcidLen uint8
	fails   uint8
	derivs  uint8
	dcid    [MaxCIDLen]byte
}

// flight is the state of one connection's Initial flight while the
// ClientHello is incomplete.
type flight struct {
	prot    *protection
	keyVer  uint32
	keyDCID [MaxCIDLen]byte
	keyLen  uint8
	largest int64 // largest packet number decrypted, -1 if none
	total   int   // length of the ClientHello with its header, 0 if unknown
	buf     []byte
	spans   spanSet
	opener
}

// Reset makes a ready for a new connection and releases its buffers.
func (a *Assembler) Reset() { *a = Assembler{} }

// Version returns the QUIC version of the first Initial packet seen since
// the last Reset, or 0.
func (a *Assembler) Version() uint32 { return a.version }

// DCID returns the Destination Connection ID of the first Initial packet
// seen since the last Reset, the one its keys derive from. The slice
// aliases a and is valid until Reset.
func (a *Assembler) DCID() []byte { return a.dcid[:a.dcidLen] }

// Ignored returns the number of CRYPTO frames (or parts of frames) ignored
// since the last Reset because they lay beyond MaxCrypto or would have cut
// the stream into more than 32 pieces.
func (a *Assembler) Ignored() int { return a.ignored }

// Add takes one UDP payload sent by the client. It may hold several
// coalesced QUIC packets; only Initial packets are used and the others are
// skipped, as are short-header packets once an Initial has been seen. Add
// returns the complete ClientHello message (handshake header + body, as
// dissect/tls.ParseClientHello expects: type 1, 3-byte length) once all
// CRYPTO bytes from offset 0 up to the message's length have arrived, also
// when the ClientHello is spread over several Initial packets or CRYPTO
// frames, out of order, or duplicated. done is true from then on; later
// calls return done with no new message.
//
// hello is owned by the caller: the Assembler keeps no reference to it.
// Add does not modify udpPayload nor keep a reference to it.
//
// err describes the first packet of the payload that could not be used
// (ErrNotQUIC, ErrVersion, ErrShort, ErrDecrypt, ErrFrame); the Assembler
// stays usable, except after 8 undecryptable Initial packets in a row, a
// CRYPTO stream that does not start with a ClientHello, or a ClientHello
// longer than MaxCrypto: then it has given up and returns that error for
// every payload until Reset.
func (a *Assembler) Add(udpPayload []byte) (hello []byte, done bool, err error) {
	if a.done {
		return nil, true, nil
	}
	if a.err != nil {
		return nil, false, a.err
	}
	if len(udpPayload) == 0 {
		return nil, false, perr(ErrShort, "empty UDP payload")
	}
	var first error
	for b := udpPayload; len(b) > 0; {
		if b[0]&0x80 == 0 {
			// A short-header packet takes the rest of the datagram; so do
			// the zero bytes some clients pad datagrams with.
			if len(b) == len(udpPayload) && a.version == 0 {
				first = perr(ErrNotQUIC, "first byte 0x%02x is not a long header", uint64(b[0]))
			}
			break
		}
		h, err := parseLong(b)
		if err != nil {
			if first == nil {
				first = err
			}
			break // the next packet cannot be found
		}
		if h.typ == typeInitial {
			if err := a.initial(b[:h.end], &h); err != nil && first == nil {
				first = err
			}
			if a.err != nil {
				return nil, false, a.err
			}
		}
		b = b[h.end:]
	}
	if hello := a.complete(); hello != nil {
		return hello, true, nil
	}
	return nil, false, first
}

// initial handles one Initial packet.
func (a *Assembler) initial(pkt []byte, h *longHeader) error {
	if a.version == 0 {
		a.version = h.version
		a.dcidLen = uint8(copy(a.dcid[:], h.dcid))
	}
	st := a.st
	if st == nil {
		st = &flight{largest: -1}
		a.st = st
	}
	payload, pn, err := a.decrypt(pkt, h)
	if err != nil {
		if a.fails++; a.fails >= maxFails {
			a.giveUp(fmt.Errorf("%w: gave up after %d Initial packets that failed to decrypt", ErrDecrypt, a.fails))
		}
		return err
	}
	a.fails = 0
	st.largest = max(st.largest, pn)
	gquic := h.vi.gquic
	if st.buf == nil {
		// Size the buffer: the ClientHello's length if this packet holds
		// its header, else MaxCrypto.
		size := MaxCrypto
		r := frameReader{b: payload, gquic: gquic}
		for {
			f, ok, _ := r.next()
			if !ok {
				break
			}
			if f.offset == 0 && len(f.data) >= 4 {
				if err := a.learnTotal(f.data); err != nil {
					return err
				}
				size = st.total
				break
			}
		}
		st.buf = make([]byte, size)
	}
	r := frameReader{b: payload, gquic: gquic}
	for {
		f, ok, ferr := r.next()
		if !ok {
			if st.total == 0 && st.spans.prefix() >= 4 {
				if err := a.learnTotal(st.buf); err != nil {
					return err
				}
			}
			return ferr
		}
		a.store(f)
	}
}

// decrypt opens one Initial packet with the current keys or, if they do not
// fit its version or Destination Connection ID, with new keys derived from
// that DCID (the first Initial; after a Retry; after a version change). New
// keys replace the current ones if they open the packet, or if there were
// none.
func (a *Assembler) decrypt(pkt []byte, h *longHeader) (payload []byte, pn int64, err error) {
	st := a.st
	sameVersion := st.prot != nil && st.keyVer == h.version
	if sameVersion {
		payload, pn, err = st.open(st.prot, pkt, h.pnOff, st.largest)
		if err == nil || bytes.Equal(st.keyDCID[:st.keyLen], h.dcid) {
			return payload, pn, err
		}
	}
	if a.derivs >= maxDerivations {
		if err == nil {
			err = fmt.Errorf("%w: version 0x%08x, DCID %x: no more key derivations", ErrDecrypt, h.version, h.dcid)
		}
		return nil, 0, err
	}
	a.derivs++
	sec, err := deriveInitial(h.vi, h.dcid, false)
	if err != nil {
		return nil, 0, err
	}
	prot, err := newProtection(&sec)
	if err != nil {
		return nil, 0, err
	}
	payload, pn, err = st.open(prot, pkt, h.pnOff, -1)
	if err == nil || st.prot == nil {
		st.prot, st.keyVer, st.largest = prot, h.version, -1
		st.keyLen = uint8(copy(st.keyDCID[:], h.dcid))
	}
	return payload, pn, err
}

// store copies one CRYPTO frame into the buffer.
func (a *Assembler) store(f cryptoFrame) {
	st := a.st
	end := f.offset + uint64(len(f.data))
	if end > MaxCrypto {
		a.ignored++
	}
	if f.offset >= uint64(len(st.buf)) || len(f.data) == 0 {
		return
	}
	end = min(end, uint64(len(st.buf)))
	lo, hi := int(f.offset), int(end)
	copy(st.buf[lo:hi], f.data)
	if !st.spans.add(lo, hi) {
		a.ignored++
	}
}

// learnTotal reads the handshake header at the start of the CRYPTO stream.
func (a *Assembler) learnTotal(hdr []byte) error {
	if hdr[0] != 1 {
		return a.giveUp(fmt.Errorf("%w: CRYPTO stream starts with handshake message type %d, not ClientHello", ErrFrame, hdr[0]))
	}
	total := 4 + (int(hdr[1])<<16 | int(hdr[2])<<8 | int(hdr[3]))
	if total > MaxCrypto {
		a.ignored++
		return a.giveUp(fmt.Errorf("%w: ClientHello of %d bytes is longer than MaxCrypto (%d)", ErrFrame, total, MaxCrypto))
	}
	a.st.total = total
	return nil
}

// giveUp makes err sticky and releases the connection state.
func (a *Assembler) giveUp(err error) error {
	a.err = err
	a.st = nil
	return err
}

// complete returns the ClientHello if it is all there, and then releases
// the state so that the caller owns the returned bytes.
func (a *Assembler) complete() []byte {
	st := a.st
	if st == nil || st.total == 0 || st.spans.prefix() < st.total {
		return nil
	}
	hello := st.buf[:st.total:st.total]
	a.st = nil
	a.done = true
	return hello
}

// spanSet is a set of disjoint, non-adjacent byte ranges, sorted.
type spanSet struct {
	n  int
	sp [maxSpans]struct{ lo, hi uint16 }
}

// add inserts [lo, hi), merging with the ranges it touches. It reports
// false if the range is disjoint from all others and the set is full.
// 0 <= lo < hi <= MaxCrypto.
func (s *spanSet) add(lo, hi int) bool {
	i := 0
	for i < s.n && int(s.sp[i].hi) < lo {
		i++
	}
	j := i
	for j < s.n && int(s.sp[j].lo) <= hi {
		lo = min(lo, int(s.sp[j].lo))
		hi = max(hi, int(s.sp[j].hi))
		j++
	}
	switch {
	case i == j:
		if s.n == len(s.sp) {
			return false
		}
		copy(s.sp[i+1:s.n+1], s.sp[i:s.n])
		s.n++
	case j > i+1:
		copy(s.sp[i+1:], s.sp[j:s.n])
		s.n -= j - i - 1
	}
	s.sp[i].lo, s.sp[i].hi = uint16(lo), uint16(hi)
	return true
}

// prefix returns how many bytes from offset 0 are present.
func (s *spanSet) prefix() int {
	if s.n == 0 || s.sp[0].lo != 0 {
		return 0
	}
	return int(s.sp[0].hi)
}
