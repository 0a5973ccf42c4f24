package quic

import "encoding/binary"

// longHeader locates the parts of one long-header packet at the start of a
// UDP payload. Offsets are relative to the start of the packet.
type longHeader struct {
	version uint32
	vi      versionInfo
	typ     byte // v1 numbering: typeInitial ... typeRetry
	dcid    []byte
	pnOff   int // offset of the (protected) packet number
	end     int // length of the packet, up to the next coalesced one
}

// parseLong parses the long header at the start of b (b[0]&0x80 != 0). It
// checks every length against len(b). For Retry packets, which have no
// Length field, end is len(b).
func parseLong(b []byte) (h longHeader, err error) {
	if len(b) < 7 {
		return h, perr(ErrShort, "long header of %d bytes", uint64(len(b)))
	}
	h.version = binary.BigEndian.Uint32(b[1:5])
	vi, ok := lookupVersion(h.version)
	if !ok {
		return h, perr(ErrVersion, "version 0x%08x", uint64(h.version))
	}
	h.vi = vi
	h.typ = vi.packetType(b[0])
	off := 5
	dl := int(b[off])
	off++
	if dl > MaxCIDLen {
		return h, perr(ErrNotQUIC, "destination connection ID of %d bytes", uint64(dl))
	}
	if len(b) < off+dl+1 {
		return h, perr(ErrShort, "destination connection ID of %d bytes in a %d-byte packet", uint64(dl), uint64(len(b)))
	}
	h.dcid = b[off : off+dl]
	off += dl
	sl := int(b[off])
	off++
	if sl > MaxCIDLen {
		return h, perr(ErrNotQUIC, "source connection ID of %d bytes", uint64(sl))
	}
	if len(b) < off+sl {
		return h, perr(ErrShort, "source connection ID of %d bytes in a %d-byte packet", uint64(sl), uint64(len(b)))
	}
	off += sl
	if h.typ == typeRetry {
		h.end = len(b)
		return h, nil
	}
	if h.typ == typeInitial {
		tl, n := varint(b[off:])
		if n == 0 {
			return h, perr(ErrShort, "token length of an Initial packet")
		}
		off += n
		if tl > uint64(len(b)-off) {
			return h, perr(ErrShort, "token of %d bytes, %d left in the packet", tl, uint64(len(b)-off))
		}
		off += int(tl)
	}
	length, n := varint(b[off:])
	if n == 0 {
		return h, perr(ErrShort, "length field of a long-header packet")
	}
	off += n
	if length > uint64(len(b)-off) {
		return h, perr(ErrShort, "packet length %d, %d bytes left in the datagram", length, uint64(len(b)-off))
	}
	h.pnOff = off
	h.end = off + int(length)
	return h, nil
}

// opener holds the buffers that removing the protection of one packet
// needs, so that it does not allocate. Not safe for concurrent use.
type opener struct {
	mask  [sampleLen]byte
	nonce [ivLen]byte
	// scratch holds the unprotected header (the AEAD's associated data)
	// followed by the decrypted payload. It grows to the largest packet.
	scratch []byte
}

// open removes header protection from the Initial packet pkt (the whole
// packet, its packet number at pnOff) and decrypts it with p. largest is the
// largest packet number decrypted so far in this packet number space, -1 if
// none. It returns the decrypted payload, which aliases o.scratch and is
// valid until the next call, and the full packet number. pkt is not
// modified.
func (o *opener) open(p *protection, pkt []byte, pnOff int, largest int64) (payload []byte, pn int64, err error) {
	// RFC 9001 5.4.2: the sample starts 4 bytes after the start of the
	// packet number, whatever its length.
	if pnOff+4+sampleLen > len(pkt) {
		return nil, 0, perr(ErrShort, "%d-byte packet too short for the header protection sample", uint64(len(pkt)))
	}
	p.hp.Encrypt(o.mask[:], pkt[pnOff+4:pnOff+4+sampleLen])
	first := pkt[0] ^ o.mask[0]&0x0f // long header: 4 protected bits
	pnLen := int(first&3) + 1
	hdrLen := pnOff + pnLen
	if hdrLen+tagLen > len(pkt) {
		return nil, 0, perr(ErrShort, "%d-byte packet too short for its authentication tag", uint64(len(pkt)))
	}
	if cap(o.scratch) < len(pkt) {
		o.scratch = make([]byte, len(pkt), max(len(pkt), 1500))
	}
	hdr := o.scratch[:hdrLen]
	copy(hdr, pkt[:hdrLen])
	hdr[0] = first
	var truncated uint64
	for i := range pnLen {
		hdr[pnOff+i] ^= o.mask[1+i]
		truncated = truncated<<8 | uint64(hdr[pnOff+i])
	}
	pn = decodePacketNumber(largest, truncated, pnLen*8)
	o.nonce = p.iv
	for i := range 8 {
		o.nonce[ivLen-1-i] ^= byte(pn >> (8 * i))
	}
	payload, err = p.aead.Open(o.scratch[hdrLen:hdrLen], o.nonce[:], pkt[hdrLen:], hdr)
	if err != nil {
		return nil, 0, perr(ErrDecrypt, "packet number %d, %d bytes", uint64(pn), uint64(len(pkt)))
	}
	return payload, pn, nil
}

// decodePacketNumber recovers a full packet number from its truncated
// encoding of bits bits, given the largest packet number received so far
// (RFC 9000 appendix A.3).
func decodePacketNumber(largest int64, truncated uint64, bits int) int64 {
	expected := largest + 1
	win := int64(1) << bits
	hwin := win / 2
	candidate := expected&^(win-1) | int64(truncated)
	switch {
	case candidate <= expected-hwin && candidate < 1<<62-win:
		return candidate + win
	case candidate > expected+hwin && candidate >= win:
		return candidate - win
	}
	return candidate
}
