package capture

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
)

// fileBufSize is the read buffer in front of the file.
const fileBufSize = 256 << 10

// File magics, as the first four bytes read big-endian.
const (
	magicPcapMicroBE = 0xa1b2c3d4 // microseconds, big-endian writer
	magicPcapMicroLE = 0xd4c3b2a1 // microseconds, little-endian writer
	magicPcapNanoBE  = 0xa1b23c4d // nanoseconds, big-endian writer
	magicPcapNanoLE  = 0x4d3cb2a1 // nanoseconds, little-endian writer
	magicPcapng      = 0x0a0d0d0a // Section Header Block type, either order
)

// OpenFile opens a pcap or pcapng capture file; path "-" reads standard
// input. The format is detected by its magic: pcap in both byte orders with
// microsecond or nanosecond timestamps, pcapng in both byte orders, and
// either of them gzip-compressed.
//
// A pcap file whose link type tamon cannot decode is refused. A pcapng file
// can have interfaces of different link types; each packet takes the link
// type of its interface. OpenFile refuses a pcapng file only when none of the
// interfaces described before its first packet has a supported link type;
// packets of unsupported interfaces are skipped and counted in
// Stats.Skipped. To see those interfaces OpenFile reads ahead up to the
// first packet.
func OpenFile(path string) (Source, error) {
	s := &fileSource{name: path}
	var f *os.File
	if path == "-" {
		f = os.Stdin
	} else {
		var err error
		if f, err = os.Open(path); err != nil {
			return nil, fmt.Errorf("open capture %s: %w", path, unwrapPathError(err))
		}
		s.file = f
	}
	if err := s.open(f); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// unwrapPathError drops the *fs.PathError wrapper, whose text repeats the
// operation and the path.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// fileSource reads a classic pcap (classic) or pcapng (ng != nil) file.
// It reads both formats itself rather than with gopacket's pcapgo: pcapgo
// imports gopacket/layers, which was a tenth of the daemon binary, and the
// daemon must fit a router's flash.
type fileSource struct {
	name string
	file *os.File // nil for standard input, which Close leaves open
	gz   *gzip.Reader

	classic  bool
	pcapLink LinkType
	snapLen  uint32 // of a classic pcap file
	big      []byte // a classic pcap record longer than br's buffer
	ng       *ngReader

	// For ReadBatch (classic pcap): the stream after the file header, the
	// header's byte order and resolution, and the bytes of a record cut by
	// the end of the previous batch buffer.
	br    *bufio.Reader
	under io.Reader // what br reads from: once br is drained, read this directly
	order binary.ByteOrder
	swap  bool // order is big-endian: ReadBatch reads little-endian and swaps
	nano  bool
	carry []byte

	// records counts the packet records read so far, returned or skipped;
	// the record an error is about is records+1.
	records uint64

	// The first pcapng packet, read ahead by OpenFile.
	pending    bool
	pendingPkt ngPacketInfo
	pendingErr error

	err error // final error, returned again by every later Next

	packets, bytes, skipped atomic.Uint64
	closeOnce               sync.Once
}

func (s *fileSource) open(f io.Reader) error {
	br := bufio.NewReaderSize(f, fileBufSize)
	s.under = f
	magic, err := s.peekMagic(br)
	if err != nil {
		return err
	}
	if magic>>16 == 0x1f8b { // gzip
		if s.gz, err = gzip.NewReader(br); err != nil {
			return fmt.Errorf("open capture %s: gzip: %w", s.name, err)
		}
		br = bufio.NewReaderSize(s.gz, fileBufSize)
		s.under = s.gz
		if magic, err = s.peekMagic(br); err != nil {
			return err
		}
	}
	switch magic {
	case magicPcapMicroBE, magicPcapMicroLE, magicPcapNanoBE, magicPcapNanoLE:
		return s.openPcap(br)
	case magicPcapng:
		return s.openPcapng(br)
	}
	return fmt.Errorf("open capture %s: not a pcap or pcapng file (magic 0x%08x)", s.name, magic)
}

// peekMagic returns the first four bytes, big-endian, without consuming them.
func (s *fileSource) peekMagic(br *bufio.Reader) (uint32, error) {
	b, err := br.Peek(4)
	switch {
	case len(b) == 4:
		return binary.BigEndian.Uint32(b), nil
	case err != nil && err != io.EOF:
		return 0, fmt.Errorf("open capture %s: %w", s.name, unwrapPathError(err))
	case len(b) == 0:
		return 0, fmt.Errorf("open capture %s: empty file, not a pcap or pcapng file", s.name)
	}
	return 0, fmt.Errorf("open capture %s: not a pcap or pcapng file (only %d bytes: 0x%x)", s.name, len(b), b)
}

func (s *fileSource) openPcap(br *bufio.Reader) error {
	var hdr [24]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return s.headerError("pcap", err)
	}
	switch binary.BigEndian.Uint32(hdr[0:4]) {
	case magicPcapMicroBE:
		s.order = binary.BigEndian
	case magicPcapNanoBE:
		s.order, s.nano = binary.BigEndian, true
	case magicPcapMicroLE:
		s.order = binary.LittleEndian
	case magicPcapNanoLE:
		s.order, s.nano = binary.LittleEndian, true
	}
	if major, minor := s.order.Uint16(hdr[4:6]), s.order.Uint16(hdr[6:8]); major != 2 || minor != 4 {
		return fmt.Errorf("open capture %s: pcap file header: version %d.%d, want 2.4", s.name, major, minor)
	}
	s.snapLen = s.order.Uint32(hdr[16:20])
	n := s.order.Uint32(hdr[20:24])
	link, ok := FromPcap(n)
	if !ok {
		return fmt.Errorf("open capture %s: unsupported link type %d; supported: %s",
			s.name, n, supportedPcapLinkTypes)
	}
	s.br, s.classic, s.pcapLink = br, true, link
	s.swap = s.order == binary.BigEndian
	return nil
}

func (s *fileSource) openPcapng(br *bufio.Reader) error {
	r, err := newNgReader(br)
	if err != nil {
		return s.headerError("pcapng", err)
	}
	s.ng = r
	// Interface Description Blocks come before the packets that need
	// them: read up to the first packet to know them.
	s.pendingErr = r.next(&s.pendingPkt)
	s.pending = true
	if len(r.ifaces) > 0 {
		var list strings.Builder
		for i, ifc := range r.ifaces {
			if ifc.link != 0 {
				return nil
			}
			if i > 0 {
				list.WriteString(", ")
			}
			fmt.Fprintf(&list, "interface %d: %d", i, ifc.linkType)
		}
		return fmt.Errorf("open capture %s: no interface has a supported link type (%s); supported: %s",
			s.name, list.String(), supportedPcapLinkTypes)
	}
	return nil
}

// headerError describes an error from reading a file header.
func (s *fileSource) headerError(format string, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("open capture %s: %s file header: %w", s.name, format, ErrTruncated)
	}
	return fmt.Errorf("open capture %s: %s file header: %w", s.name, format, err)
}

// Next implements Source.
func (s *fileSource) Next(f *Frame) error {
	if s.err != nil {
		return s.err
	}
	if s.classic {
		return s.nextPcap(f)
	}
	for {
		var p ngPacketInfo
		var err error
		if s.pending {
			p, err = s.pendingPkt, s.pendingErr
			s.pending, s.pendingPkt, s.pendingErr = false, ngPacketInfo{}, nil
		} else {
			err = s.ng.next(&p)
		}
		if err != nil {
			// The pcapng reader says io.EOF only at a block boundary.
			return s.fail(err, false)
		}
		s.records++
		link := s.ng.ifaces[p.iface].link
		if link == 0 {
			s.skipped.Add(1)
			continue
		}
		s.fill(f, p.data, p.wire, p.ts, p.iface, link)
		return nil
	}
}

// nextPcap reads a record of a classic pcap file: straight from br's
// buffer when it fits there (no copy), else into s.big.
func (s *fileSource) nextPcap(f *Frame) error {
	h, err := s.br.Peek(16)
	if len(h) < 16 {
		if len(h) == 0 && err == io.EOF {
			return s.fail(io.EOF, false)
		}
		return s.fail(err, err == io.EOF)
	}
	caplen := s.order.Uint32(h[8:12])
	wire := s.order.Uint32(h[12:16])
	switch {
	case caplen > maxRecordLen:
		return s.fail(fmt.Errorf("captured length %d is not plausible (corrupt file)", caplen), false)
	case caplen > max(s.snapLen, maxSnapLen):
		return s.fail(fmt.Errorf("captured length %d exceeds the snap length %d (corrupt file)", caplen, s.snapLen), false)
	case caplen > wire:
		return s.fail(fmt.Errorf("captured length %d exceeds the length on the wire %d (corrupt file)", caplen, wire), false)
	}
	frac := int64(s.order.Uint32(h[4:8]))
	if !s.nano {
		frac *= 1000
	}
	ts := int64(s.order.Uint32(h[0:4]))*1e9 + frac
	n := 16 + int(caplen)
	var data []byte
	if n <= s.br.Size() {
		b, err := s.br.Peek(n)
		if len(b) < n {
			return s.fail(err, err == io.EOF)
		}
		data = b[16:n:n]
		s.br.Discard(n)
	} else {
		s.br.Discard(16)
		if cap(s.big) < int(caplen) {
			s.big = make([]byte, caplen)
		}
		data = s.big[:caplen]
		if _, err := io.ReadFull(s.br, data); err != nil {
			return s.fail(err, err == io.EOF)
		}
	}
	s.records++
	s.fill(f, data, int(wire), ts, 0, s.pcapLink)
	return nil
}

func (s *fileSource) fill(f *Frame, data []byte, wire int, ts int64, iface int, link LinkType) {
	f.Data = data
	f.WireLen = max(wire, len(data))
	f.TS = ts
	f.Link = link
	f.Iface = iface
	s.packets.Add(1)
	s.bytes.Add(uint64(f.WireLen))
}

// fail records the final error of the source and returns it.
func (s *fileSource) fail(err error, truncated bool) error {
	switch {
	case truncated || err == io.ErrUnexpectedEOF:
		s.err = fmt.Errorf("read capture %s: packet %d: %w", s.name, s.records+1, ErrTruncated)
	case err == io.EOF:
		s.err = io.EOF
	default:
		s.err = fmt.Errorf("read capture %s: packet %d: %w", s.name, s.records+1, err)
	}
	return s.err
}

// Stats implements Source.
func (s *fileSource) Stats() Stats {
	return Stats{Packets: s.packets.Load(), Bytes: s.bytes.Load(), Skipped: s.skipped.Load()}
}

// Close implements Source.
func (s *fileSource) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.err = fmt.Errorf("read capture %s: %w", s.name, ErrClosed)
		s.pending, s.pendingPkt = false, ngPacketInfo{}
		if s.gz != nil {
			s.gz.Close()
		}
		if s.file != nil {
			err = s.file.Close()
		}
	})
	return err
}

// Name implements Source.
func (s *fileSource) Name() string { return s.name }
