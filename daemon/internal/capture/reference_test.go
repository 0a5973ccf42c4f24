package capture

// The reference reader: the file reading of this package as it was while
// it used gopacket's pcapgo (commit c871644), kept verbatim apart from
// names (and open taking an io.Reader, for the fuzz test). The
// differential tests read the same files with it and with OpenFile and
// compare every frame, the counters and how reading ends.

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// refOpenFile opens a pcap or pcapng capture file; path "-" reads standard
// input. The format is detected by its magic: pcap in both byte orders with
// microsecond or nanosecond timestamps, pcapng in both byte orders, and
// either of them gzip-compressed.
//
// A pcap file whose link type tamon cannot decode is refused. A pcapng file
// can have interfaces of different link types; each packet takes the link
// type of its interface. refOpenFile refuses a pcapng file only when none of the
// interfaces described before its first packet has a supported link type;
// packets of unsupported interfaces are skipped and counted in
// Stats.Skipped. To see those interfaces refOpenFile reads ahead up to the
// first packet.
func refOpenFile(path string) (Source, error) {
	s := &refFileSource{name: path}
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

// refFileSource reads a pcap (pcap != nil) or pcapng (ng != nil) file.
type refFileSource struct {
	name string
	file *os.File // nil for standard input, which Close leaves open
	gz   *gzip.Reader

	pcap     *pcapgo.Reader
	pcapLink LinkType
	ng       *pcapgo.NgReader

	// For ReadBatch (classic pcap): the stream after the file header, the
	// header's byte order and resolution, and the bytes of a record cut by
	// the end of the previous batch buffer.
	br    *bufio.Reader
	under io.Reader // what br reads from: once br is drained, read this directly
	order binary.ByteOrder
	nano  bool

	// records counts the packet records read so far, returned or skipped;
	// the record an error is about is records+1.
	records uint64

	// The first pcapng packet, read ahead by refOpenFile.
	pending     bool
	pendingData []byte
	pendingCI   gopacket.CaptureInfo
	pendingErr  error

	err error // final error, returned again by every later Next

	packets, bytes, skipped atomic.Uint64
	closeOnce               sync.Once
}

func (s *refFileSource) open(f io.Reader) error {
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
func (s *refFileSource) peekMagic(br *bufio.Reader) (uint32, error) {
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

func (s *refFileSource) openPcap(br *bufio.Reader) error {
	if hdr, err := br.Peek(4); err == nil {
		switch binary.BigEndian.Uint32(hdr) {
		case magicPcapMicroBE:
			s.order = binary.BigEndian
		case magicPcapNanoBE:
			s.order, s.nano = binary.BigEndian, true
		case magicPcapMicroLE:
			s.order = binary.LittleEndian
		case magicPcapNanoLE:
			s.order, s.nano = binary.LittleEndian, true
		}
	}
	s.br = br
	// pcapgo.NewReader keeps br as it is: bufio.NewReader returns a
	// *bufio.Reader that is already large enough.
	r, err := pcapgo.NewReader(br)
	if err != nil {
		return s.headerError("pcap", err)
	}
	n := uint32(r.LinkType())
	link, ok := FromPcap(n)
	if !ok {
		return fmt.Errorf("open capture %s: unsupported link type %d (%s); supported: %s",
			s.name, n, layers.LinkType(n), supportedPcapLinkTypes)
	}
	s.pcap, s.pcapLink = r, link
	return nil
}

func (s *refFileSource) openPcapng(br *bufio.Reader) error {
	r, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{
		// Every interface keeps its own link type; ci.AncillaryData[0]
		// carries it. Without this, gopacket silently drops the
		// packets of interfaces whose link type differs from the first.
		WantMixedLinkType:  true,
		SkipUnknownVersion: true,
	})
	if err != nil {
		return s.headerError("pcapng", err)
	}
	s.ng = r
	// Interface Description Blocks are read lazily, before the packets
	// that need them: read up to the first packet to know them.
	s.pendingData, s.pendingCI, s.pendingErr = r.ZeroCopyReadPacketData()
	s.pending = true
	if k := r.NInterfaces(); k > 0 {
		var list strings.Builder
		for i := 0; i < k; i++ {
			ifc, _ := r.Interface(i)
			if _, ok := FromPcap(uint32(ifc.LinkType)); ok {
				return nil
			}
			if i > 0 {
				list.WriteString(", ")
			}
			fmt.Fprintf(&list, "interface %d: %d (%s)", i, uint32(ifc.LinkType), ifc.LinkType)
		}
		return fmt.Errorf("open capture %s: no interface has a supported link type (%s); supported: %s",
			s.name, list.String(), supportedPcapLinkTypes)
	}
	return nil
}

// headerError describes an error from reading a file header.
func (s *refFileSource) headerError(format string, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("open capture %s: %s file header: %w", s.name, format, ErrTruncated)
	}
	return fmt.Errorf("open capture %s: %s file header: %w", s.name, format, err)
}

// Next implements Source.
func (s *refFileSource) Next(f *Frame) error {
	if s.err != nil {
		return s.err
	}
	if s.pcap != nil {
		data, ci, err := s.pcap.ZeroCopyReadPacketData()
		if err != nil {
			// io.ReadFull says io.EOF, not io.ErrUnexpectedEOF, when
			// not one byte of the data followed a complete header.
			return s.fail(err, err == io.EOF && ci.CaptureLength > 0)
		}
		s.records++
		s.fill(f, data, &ci, s.pcapLink)
		return nil
	}
	for {
		var (
			data []byte
			ci   gopacket.CaptureInfo
			err  error
		)
		if s.pending {
			data, ci, err = s.pendingData, s.pendingCI, s.pendingErr
			s.pending, s.pendingData, s.pendingErr = false, nil, nil
		} else {
			data, ci, err = s.ng.ZeroCopyReadPacketData()
		}
		if err != nil {
			// The pcapng reader says io.EOF only at a block boundary.
			return s.fail(err, false)
		}
		s.records++
		var lt layers.LinkType
		if len(ci.AncillaryData) > 0 {
			lt, _ = ci.AncillaryData[0].(layers.LinkType)
		}
		link, ok := FromPcap(uint32(lt))
		if !ok {
			s.skipped.Add(1)
			continue
		}
		s.fill(f, data, &ci, link)
		return nil
	}
}

func (s *refFileSource) fill(f *Frame, data []byte, ci *gopacket.CaptureInfo, link LinkType) {
	f.Data = data
	f.WireLen = ci.Length
	if f.WireLen < len(data) {
		f.WireLen = len(data)
	}
	f.TS = 0
	if !ci.Timestamp.IsZero() {
		f.TS = ci.Timestamp.UnixNano()
	}
	f.Link = link
	f.Iface = ci.InterfaceIndex
	s.packets.Add(1)
	s.bytes.Add(uint64(f.WireLen))
}

// fail records the final error of the source and returns it.
func (s *refFileSource) fail(err error, truncated bool) error {
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
func (s *refFileSource) Stats() Stats {
	return Stats{Packets: s.packets.Load(), Bytes: s.bytes.Load(), Skipped: s.skipped.Load()}
}

// Close implements Source.
func (s *refFileSource) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.err = fmt.Errorf("read capture %s: %w", s.name, ErrClosed)
		s.pending, s.pendingData = false, nil
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
func (s *refFileSource) Name() string { return s.name }
