package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// This file reads pcapng (draft-ietf-opsawg-pcapng): Section Header Blocks
// in either byte order, Interface Description Blocks (link type, snap
// length, if_tsresol, if_tsoffset), Enhanced, Simple and (obsolete) Packet
// Blocks; every other block is skipped. gopacket's pcapgo reads the same
// files, but it imports gopacket/layers, which alone was a tenth of the
// daemon binary; the daemon must fit a router's flash, so files are read
// here (differential_test.go holds this reader to pcapgo's results).

// pcapng block types.
const (
	ngSectionHeader   = 0x0a0d0d0a
	ngInterface       = 1
	ngPacket          = 2 // obsolete, still written by old tools
	ngSimplePacket    = 3
	ngEnhancedPacket  = 6
	ngByteOrderMagic  = 0x1a2b3c4d
	ngMinBlockLen     = 12 // type, length, trailing length
	ngMinSectionLen   = 28 // plus byte-order magic, version, section length
	ngOptEnd          = 0
	ngOptTSResolution = 9
	ngOptTSOffset     = 14
)

// maxBlockLen bounds a block that is held in memory (section headers,
// interface descriptions, packets): a larger length means a corrupt file.
// Other blocks are skipped whatever their length.
const maxBlockLen = maxRecordLen + 64<<10

// ngIface is what a packet needs of its interface.
type ngIface struct {
	linkType  uint32   // the file's link type number
	link      LinkType // 0 when tamon cannot decode it
	snapLen   uint32
	unitsPerS uint64 // timestamp units per second
	scaleUp   uint64 // units to nanoseconds: * scaleUp / scaleDown
	scaleDown uint64
	offset    uint64 // if_tsoffset, seconds
}

// ngPacketInfo describes a packet read by ngReader.next.
type ngPacketInfo struct {
	data  []byte
	wire  int
	ts    int64 // Unix nanoseconds; 0 for a Simple Packet Block
	iface int
}

// ngReader reads the blocks of a pcapng stream. The data of a packet is
// valid until the next call of next. Owned by one goroutine.
type ngReader struct {
	br      *bufio.Reader
	order   binary.ByteOrder // of the current section
	ifaces  []ngIface        // of the current section
	skip    bool             // the current section has an unknown version: skip its blocks
	known   bool             // a section of a known version was seen
	version [2]uint16        // of the last section skipped
	big     []byte           // a block longer than br's buffer
}

// newNgReader reads the first Section Header Block.
func newNgReader(br *bufio.Reader) (*ngReader, error) {
	r := &ngReader{br: br}
	typ, body, err := r.block()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, err
	}
	if typ != ngSectionHeader {
		return nil, fmt.Errorf("first block has type 0x%x, not a section header", typ)
	}
	r.section(body)
	return r, nil
}

// section starts a new section from its header's body.
func (r *ngReader) section(body []byte) {
	r.ifaces = r.ifaces[:0]
	major, minor := r.order.Uint16(body[4:6]), r.order.Uint16(body[6:8])
	r.skip = major != 1 || minor != 0
	r.known = r.known || !r.skip
	if r.skip {
		r.version = [2]uint16{major, minor}
	}
}

// block reads the next block that this reader uses and returns its type
// and body (without the 8-byte header and the trailing length); it skips
// the others. The body is valid until the next call. It returns io.EOF
// only at a block boundary at the end of the stream, io.ErrUnexpectedEOF
// for a block cut by the end.
func (r *ngReader) block() (uint32, []byte, error) {
	for {
		hdr, err := r.br.Peek(12)
		if len(hdr) < 8 || (len(hdr) < 12 && binary.BigEndian.Uint32(hdr) == ngSectionHeader) {
			switch {
			case len(hdr) == 0 && err == io.EOF:
				return 0, nil, io.EOF
			case err == io.EOF:
				return 0, nil, io.ErrUnexpectedEOF
			}
			return 0, nil, err
		}
		var typ uint32
		minLen := uint32(ngMinBlockLen)
		if binary.BigEndian.Uint32(hdr) == ngSectionHeader { // the same in both byte orders
			typ, minLen = ngSectionHeader, ngMinSectionLen
			switch {
			case binary.BigEndian.Uint32(hdr[8:12]) == ngByteOrderMagic:
				r.order = binary.BigEndian
			case binary.LittleEndian.Uint32(hdr[8:12]) == ngByteOrderMagic:
				r.order = binary.LittleEndian
			default:
				return 0, nil, fmt.Errorf("section header with a bad byte-order magic 0x%08x", binary.BigEndian.Uint32(hdr[8:12]))
			}
		} else {
			typ = r.order.Uint32(hdr[0:4])
		}
		n := r.order.Uint32(hdr[4:8])
		if n < minLen {
			return 0, nil, fmt.Errorf("block of type 0x%x with length %d, shorter than %d", typ, n, minLen)
		}
		wanted := typ == ngSectionHeader
		if !r.skip {
			switch typ {
			case ngInterface, ngPacket, ngSimplePacket, ngEnhancedPacket:
				wanted = true
			}
		}
		if !wanted {
			if err := r.discard(typ, n); err != nil {
				return 0, nil, err
			}
			continue
		}
		b, err := r.hold(typ, n)
		if err != nil {
			return 0, nil, err
		}
		if t := r.order.Uint32(b[n-4:]); t != n {
			return 0, nil, fmt.Errorf("block of type 0x%x: trailing length %d differs from the length %d", typ, t, n)
		}
		return typ, b[8 : n-4], nil
	}
}

// hold reads a whole block of n bytes into memory: in br's buffer when it
// fits (no copy), else in r.big.
func (r *ngReader) hold(typ, n uint32) ([]byte, error) {
	if n > maxBlockLen {
		return nil, fmt.Errorf("block of type 0x%x with length %d is not plausible (corrupt file)", typ, n)
	}
	if int(n) <= r.br.Size() {
		b, err := r.br.Peek(int(n))
		if len(b) < int(n) {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		r.br.Discard(int(n))
		return b, nil
	}
	if cap(r.big) < int(n) {
		r.big = make([]byte, n)
	}
	b := r.big[:n]
	if _, err := io.ReadFull(r.br, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

// discard skips a block of n bytes, checking its trailing length.
func (r *ngReader) discard(typ, n uint32) error {
	if _, err := r.br.Discard(int(n - 4)); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	t, err := r.br.Peek(4)
	if len(t) < 4 {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if got := r.order.Uint32(t); got != n {
		return fmt.Errorf("block of type 0x%x: trailing length %d differs from the length %d", typ, got, n)
	}
	r.br.Discard(4)
	return nil
}

// next returns the next packet. It returns io.EOF at the end of the
// stream, io.ErrUnexpectedEOF when it ends inside a block.
func (r *ngReader) next(p *ngPacketInfo) error {
	for {
		typ, body, err := r.block()
		if err == io.EOF && !r.known {
			return fmt.Errorf("no section of pcapng version 1.0 (found %d.%d)", r.version[0], r.version[1])
		}
		if err != nil {
			return err
		}
		switch typ {
		case ngSectionHeader:
			r.section(body)
		case ngInterface:
			if err := r.addInterface(body); err != nil {
				return err
			}
		case ngEnhancedPacket, ngPacket:
			if len(body) < 20 {
				return fmt.Errorf("packet block of %d bytes, shorter than its header", len(body))
			}
			id := r.order.Uint32(body[0:4])
			if typ == ngPacket {
				id = uint32(r.order.Uint16(body[0:2]))
			}
			if int64(id) >= int64(len(r.ifaces)) {
				return fmt.Errorf("packet on interface %d, but the section describes %d interfaces", id, len(r.ifaces))
			}
			ts := uint64(r.order.Uint32(body[4:8]))<<32 | uint64(r.order.Uint32(body[8:12]))
			caplen := r.order.Uint32(body[12:16])
			if uint64(caplen) > uint64(len(body)-20) {
				return fmt.Errorf("captured length %d exceeds its block (%d bytes of data)", caplen, len(body)-20)
			}
			p.data = body[20 : 20+caplen]
			p.wire = int(r.order.Uint32(body[16:20]))
			p.iface = int(id)
			p.ts = r.ifaces[id].unixNano(ts)
			return nil
		case ngSimplePacket:
			if len(r.ifaces) == 0 {
				return errors.New("simple packet block before any interface description")
			}
			if len(body) < 4 {
				return fmt.Errorf("simple packet block of %d bytes, shorter than its header", len(body))
			}
			wire := r.order.Uint32(body[0:4])
			caplen := wire
			if s := r.ifaces[0].snapLen; s != 0 && caplen > s {
				caplen = s
			}
			caplen = min(caplen, uint32(len(body)-4))
			p.data = body[4 : 4+caplen]
			p.wire = int(wire)
			p.iface = 0
			p.ts = 0 // a Simple Packet Block has no time
			return nil
		}
	}
}

// addInterface reads an Interface Description Block.
func (r *ngReader) addInterface(body []byte) error {
	if len(body) < 8 {
		return fmt.Errorf("interface description block of %d bytes, shorter than its header", len(body))
	}
	ifc := ngIface{
		linkType: uint32(r.order.Uint16(body[0:2])),
		snapLen:  r.order.Uint32(body[4:8]),
	}
	ifc.link, _ = FromPcap(ifc.linkType)
	resol := uint8(6) // microseconds unless if_tsresol says otherwise
	for opts := body[8:]; len(opts) >= 4; {
		code, n := r.order.Uint16(opts[0:2]), int(r.order.Uint16(opts[2:4]))
		if code == ngOptEnd || len(opts)-4 < n {
			break
		}
		v := opts[4 : 4+n]
		switch {
		case code == ngOptTSResolution && n >= 1:
			resol = v[0]
		case code == ngOptTSOffset && n >= 8:
			ifc.offset = r.order.Uint64(v[0:8])
		}
		opts = opts[min(len(opts), 4+(n+3)&^3):]
	}
	if resol == 0 { // as pcapgo (and libpcap before 1.10) read it: the default
		resol = 6
	}
	// if_tsresol: 10^-e seconds, or 2^-e with the high bit set.
	e := resol & 0x7f
	if e > 63 {
		return fmt.Errorf("interface timestamp resolution %#x is too fine", resol)
	}
	if resol&0x80 != 0 {
		ifc.unitsPerS = 1 << e
	} else {
		ifc.unitsPerS = 1
		for range e {
			ifc.unitsPerS *= 10
		}
	}
	ifc.scaleUp, ifc.scaleDown = 1, 1
	if ifc.unitsPerS < 1e9 {
		ifc.scaleUp = 1e9 / ifc.unitsPerS
	} else {
		ifc.scaleDown = ifc.unitsPerS / 1e9
	}
	r.ifaces = append(r.ifaces, ifc)
	return nil
}

// unixNano converts a timestamp of the interface to Unix nanoseconds.
func (i *ngIface) unixNano(ts uint64) int64 {
	sec := int64(ts/i.unitsPerS + i.offset)
	ns := int64(ts % i.unitsPerS * i.scaleUp / i.scaleDown)
	// Binary resolutions finer than 2^-29 can give a second or more of
	// nanoseconds: carry them (as time.Unix does).
	sec += ns / 1e9
	ns %= 1e9
	return sec*1e9 + ns
}
