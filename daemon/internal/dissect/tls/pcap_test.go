package tls

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"tamon/daemon/internal/corpus"
	"testing"
)

// This file holds the test-only capture plumbing: a minimal libpcap reader,
// a frame decoder down to TCP, and a naive per-direction reassembler that
// feeds Records the first bytes of each direction, packet by packet, as the
// engine will.

// readPcap reads a classic libpcap file (either byte order, micro- or
// nanosecond timestamps) and returns its link type and frames; frames[0] is
// TShark's frame 1.
func readPcap(path string) (link uint32, frames [][]byte, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, err
	}
	if len(b) < 24 {
		return 0, nil, fmt.Errorf("reading %s: short pcap header", path)
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return 0, nil, fmt.Errorf("reading %s: not a libpcap file", path)
	}
	link = bo.Uint32(b[20:]) & 0x0fffffff
	for b = b[24:]; len(b) > 0; {
		if len(b) < 16 {
			return 0, nil, fmt.Errorf("reading %s: short record header", path)
		}
		n := int(bo.Uint32(b[8:]))
		if len(b)-16 < n {
			return 0, nil, fmt.Errorf("reading %s: short record", path)
		}
		frames = append(frames, b[16:16+n])
		b = b[16+n:]
	}
	return link, frames, nil
}

// segment is one TCP segment.
type segment struct {
	src, dst netip.AddrPort
	seq      uint32
	syn, ack bool
	fin, rst bool
	payload  []byte
}

// decodeTCP digs a TCP segment out of a frame of the given link type
// (Ethernet with 802.1Q/802.1ad tags, BSD null/loop, raw IP), over IPv4 or
// IPv6. IP fragments and anything else give ok == false.
func decodeTCP(link uint32, b []byte) (s segment, ok bool) {
	var etype uint16
	switch link {
	case 1: // Ethernet
		if len(b) < 14 {
			return s, false
		}
		etype = binary.BigEndian.Uint16(b[12:])
		b = b[14:]
		for etype == 0x8100 || etype == 0x88a8 {
			if len(b) < 4 {
				return s, false
			}
			etype = binary.BigEndian.Uint16(b[2:])
			b = b[4:]
		}
	case 0, 108: // BSD null (host order) and OpenBSD loop (network order)
		if len(b) < 4 {
			return s, false
		}
		af := binary.LittleEndian.Uint32(b)
		if link == 108 || af > 0xffff {
			af = binary.BigEndian.Uint32(b)
		}
		switch af {
		case 2:
			etype = 0x0800
		case 10, 24, 28, 30:
			etype = 0x86dd
		}
		b = b[4:]
	case 101, 12, 228, 229: // raw IP
		if len(b) > 0 && b[0]>>4 == 6 {
			etype = 0x86dd
		} else {
			etype = 0x0800
		}
	default:
		return s, false
	}
	var src, dst netip.Addr
	switch etype {
	case 0x0800:
		if len(b) < 20 || b[0]>>4 != 4 {
			return s, false
		}
		ihl := int(b[0]&0xf) * 4
		total := int(binary.BigEndian.Uint16(b[2:]))
		if ihl < 20 || total < ihl || total > len(b) || b[9] != 6 {
			return s, false
		}
		if binary.BigEndian.Uint16(b[6:])&0x3fff != 0 {
			return s, false
		}
		src = netip.AddrFrom4([4]byte(b[12:16]))
		dst = netip.AddrFrom4([4]byte(b[16:20]))
		b = b[ihl:total]
	case 0x86dd:
		if len(b) < 40 {
			return s, false
		}
		next := b[6]
		plen := int(binary.BigEndian.Uint16(b[4:]))
		src = netip.AddrFrom16([16]byte(b[8:24]))
		dst = netip.AddrFrom16([16]byte(b[24:40]))
		if 40+plen > len(b) {
			return s, false
		}
		b = b[40 : 40+plen]
		for next == 0 || next == 43 || next == 60 { // hop-by-hop, routing, destination options
			if len(b) < 8 || len(b) < (int(b[1])+1)*8 {
				return s, false
			}
			next, b = b[0], b[(int(b[1])+1)*8:]
		}
		if next != 6 {
			return s, false
		}
	default:
		return s, false
	}
	if len(b) < 20 {
		return s, false
	}
	off := int(b[12]>>4) * 4
	if off < 20 || off > len(b) {
		return s, false
	}
	flags := b[13]
	s = segment{
		src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(b)),
		dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(b[2:])),
		seq:     binary.BigEndian.Uint32(b[4:]),
		fin:     flags&0x01 != 0,
		syn:     flags&0x02 != 0,
		rst:     flags&0x04 != 0,
		ack:     flags&0x10 != 0,
		payload: b[off:],
	}
	return s, true
}

// halfResult is what Records made of one direction of a connection.
type halfResult struct {
	msg   []byte // the first handshake message, copied; nil if none
	frame int    // TShark frame number of the packet that completed it
	err   error  // Records' error, if it gave up on the direction
	// recordFrame is the frame that completed the TLS record holding the
	// message's last byte: TShark dissects a record only when it is whole,
	// so it reports the hello there.
	recordFrame int
}

// half is one direction of a connection being reassembled.
type half struct {
	src, dst netip.AddrPort
	isn      uint32 // SYN sequence number, when synSeen
	synSeen  bool
	base     uint32 // sequence number of the first byte, once known
	haveBase bool
	segs     []tseg
	payloads map[int][]byte // payload of each data segment, by frame number
	done     bool           // Records has decided
	recEnd   int            // stream offset where the message's last record ends
	res      halfResult
}

type tseg struct {
	seq  uint32
	data []byte
}

// conn is one TCP connection: dirs[0] is the direction of its first packet.
type conn struct {
	dirs [2]*half
	seen bool // data seen: a later SYN with another ISN is a new connection
}

// maxStream is how much of a direction's start the test hands Records, as
// the engine does.
const maxStream = 16 << 10

// add files a segment in its direction and, while Records has not decided
// on the direction, calls it on the contiguous bytes from the start.
func (h *half) add(frame int, s segment, scratch []byte) {
	if s.syn && (!h.synSeen || s.seq != h.isn && len(h.segs) == 0) {
		// A second SYN with another ISN and no data yet (a middlebox in
		// mercury_capture2 answers twice): TShark follows the later one.
		h.synSeen, h.isn = true, s.seq
		h.base, h.haveBase = s.seq+1, true
	}
	if len(s.payload) == 0 {
		return
	}
	if h.payloads == nil {
		h.payloads = map[int][]byte{}
	}
	h.payloads[frame] = s.payload
	if h.done && h.res.recordFrame != 0 {
		return
	}
	seq := s.seq
	if s.syn {
		seq++
	}
	if !h.haveBase || (!h.synSeen && int32(seq-h.base) < 0) {
		h.base, h.haveBase = seq, true
	}
	h.segs = append(h.segs, tseg{seq, s.payload})
	stream := h.contiguous()
	if h.done {
		if h.res.msg != nil && len(stream) >= h.recEnd {
			h.res.recordFrame = frame
		}
		return
	}
	if len(stream) == 0 {
		return
	}
	msg, need, err := Records(stream, scratch)
	switch {
	case err != nil:
		h.done, h.res = true, halfResult{frame: frame, err: err, recordFrame: -1}
	case need == 0:
		h.done, h.res = true, halfResult{msg: slices.Clone(msg), frame: frame}
		h.recEnd = recordEnd(stream, len(msg))
		if len(stream) >= h.recEnd {
			h.res.recordFrame = frame
		}
	case len(stream) >= maxStream:
		h.done, h.res = true, halfResult{frame: frame, err: errors.New("no message in the first 16 KiB"), recordFrame: -1}
	}
}

// sameSegment reports whether frames a and b of the direction carry the
// same bytes: a copy of one segment sent twice (mercury_capture2 has every
// server segment twice, in two sequence spaces, and TShark dissects either
// copy depending on which one its TCP analysis calls a retransmission).
func (h *half) sameSegment(a, b int) bool {
	pa, oka := h.payloads[a]
	pb, okb := h.payloads[b]
	return oka && okb && bytes.Equal(pa, pb)
}

// recordEnd returns the stream offset where the record holding byte n-1 of
// the handshake messages ends (alerts skipped).
func recordEnd(stream []byte, n int) int {
	off, got := 0, 0
	for off+5 <= len(stream) {
		rl := int(stream[off+3])<<8 | int(stream[off+4])
		if stream[off] == 22 {
			got += rl
		}
		off += 5 + rl
		if got >= n {
			break
		}
	}
	return off
}

// contiguous returns the bytes from the direction's first sequence number
// up to the first hole (at most maxStream), from the segments so far.
func (h *half) contiguous() []byte {
	var out []byte
	next := h.base
	for len(out) < maxStream {
		progressed := false
		for _, sg := range h.segs {
			d := int32(next - sg.seq)
			if d >= 0 && int(d) < len(sg.data) {
				out = append(out, sg.data[d:]...)
				next += uint32(len(sg.data) - int(d))
				progressed = true
			}
		}
		if !progressed {
			break
		}
	}
	if len(out) > maxStream {
		out = out[:maxStream]
	}
	return out
}

// capture is a corpus capture cut into connections.
type capture struct {
	conns []*conn
	// byPair lists the connections of each unordered address pair, in the
	// order they started.
	byPair map[[2]netip.AddrPort][]*conn
}

func pairKey(a, b netip.AddrPort) [2]netip.AddrPort {
	if a.Compare(b) > 0 {
		a, b = b, a
	}
	return [2]netip.AddrPort{a, b}
}

// loadCapture reads a corpus capture and runs Records over the first bytes
// of each direction of each TCP connection.
func loadCapture(t testing.TB, name string) *capture {
	t.Helper()
	link, frames, err := readPcap(filepath.Join(corpus.Dir(t), "pcaps", name))
	if err != nil {
		t.Fatal(err)
	}
	c := &capture{byPair: map[[2]netip.AddrPort][]*conn{}}
	scratch := make([]byte, 0, MaxHello)
	for i, f := range frames {
		s, ok := decodeTCP(link, f)
		if !ok {
			continue
		}
		key := pairKey(s.src, s.dst)
		list := c.byPair[key]
		var cn *conn
		if len(list) > 0 {
			cn = list[len(list)-1]
		}
		if cn != nil && s.syn && !s.ack {
			if h := cn.dir(s.src); h != nil && (h.synSeen && h.isn != s.seq || !h.synSeen && cn.seen) {
				cn = nil // port reuse: a new connection
			}
		}
		if cn == nil {
			cn = &conn{}
			cn.dirs[0] = &half{src: s.src, dst: s.dst}
			cn.dirs[1] = &half{src: s.dst, dst: s.src}
			c.conns = append(c.conns, cn)
			c.byPair[key] = append(c.byPair[key], cn)
		}
		if len(s.payload) > 0 {
			cn.seen = true
		}
		cn.dir(s.src).add(i+1, s, scratch)
	}
	return c
}

func (cn *conn) dir(src netip.AddrPort) *half {
	for _, h := range cn.dirs {
		if h.src == src {
			return h
		}
	}
	return nil
}
