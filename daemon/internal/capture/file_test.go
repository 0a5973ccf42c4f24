package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// pkt is one packet to write into a test file.
type pkt struct {
	data  []byte
	wire  int
	ts    time.Time
	iface int
}

// format is a way of writing a test capture file.
type format int

const (
	pcapMicroLE format = iota
	pcapNanoLE
	pcapMicroBE
	pcapNanoBE
	pcapngLE
	pcapngBE
)

func (f format) String() string {
	return [...]string{"pcap-usec-le", "pcap-nsec-le", "pcap-usec-be", "pcap-nsec-be", "pcapng-le", "pcapng-be"}[f]
}

// nano reports whether the format keeps nanoseconds.
func (f format) nano() bool { return f != pcapMicroLE && f != pcapMicroBE }

// testPackets returns n packets with varied lengths, contents and times,
// some cut by a snap length.
func testPackets(n int, seed byte) []pkt {
	lengths := []int{60, 1, 1514, 0, 300, 77}
	base := time.Unix(1700000000, 123456789)
	ps := make([]pkt, n)
	for i := range ps {
		l := lengths[i%len(lengths)]
		d := make([]byte, l)
		for j := range d {
			d[j] = seed + byte(i*7+j)
		}
		wire := l
		if i%3 == 2 {
			wire = l + 1000 // snapped
		}
		ps[i] = pkt{data: d, wire: wire, ts: base.Add(time.Duration(i) * 1000001001)}
	}
	return ps
}

// writeFile writes pkts as a capture file of the given format and link type
// and returns its path.
func writeFile(t testing.TB, dir string, f format, linkType uint32, pkts []pkt) string {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.cap", f, linkType))
	var buf bytes.Buffer
	switch f {
	case pcapMicroLE, pcapNanoLE:
		w := pcapgo.NewWriter(&buf)
		if f == pcapNanoLE {
			w = pcapgo.NewWriterNanos(&buf)
		}
		if err := w.WriteFileHeader(262144, layers.LinkType(linkType)); err != nil {
			t.Fatal(err)
		}
		for _, p := range pkts {
			ci := gopacket.CaptureInfo{Timestamp: p.ts, CaptureLength: len(p.data), Length: p.wire}
			if err := w.WritePacket(ci, p.data); err != nil {
				t.Fatal(err)
			}
		}
	case pcapMicroBE, pcapNanoBE:
		writeBigEndianPcap(&buf, f == pcapNanoBE, linkType, pkts)
	case pcapngLE:
		w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{
			Name: "eth0", LinkType: layers.LinkType(linkType), TimestampResolution: 9,
		}, pcapgo.DefaultNgWriterOptions)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pkts {
			ci := gopacket.CaptureInfo{Timestamp: p.ts, CaptureLength: len(p.data), Length: p.wire}
			if err := w.WritePacket(ci, p.data); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	case pcapngBE:
		writeBigEndianPcapng(&buf, linkType, pkts)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeBigEndianPcap writes a pcap file as a big-endian machine would:
// every header field big-endian (pcapgo only writes little-endian).
func writeBigEndianPcap(w *bytes.Buffer, nano bool, linkType uint32, pkts []pkt) {
	be := binary.BigEndian
	var h [24]byte
	be.PutUint32(h[0:], 0xa1b2c3d4)
	if nano {
		be.PutUint32(h[0:], 0xa1b23c4d)
	}
	be.PutUint16(h[4:], 2)
	be.PutUint16(h[6:], 4)
	be.PutUint32(h[16:], 65535)
	be.PutUint32(h[20:], linkType)
	w.Write(h[:])
	for _, p := range pkts {
		var r [16]byte
		be.PutUint32(r[0:], uint32(p.ts.Unix()))
		frac := uint32(p.ts.Nanosecond())
		if !nano {
			frac /= 1000
		}
		be.PutUint32(r[4:], frac)
		be.PutUint32(r[8:], uint32(len(p.data)))
		be.PutUint32(r[12:], uint32(p.wire))
		w.Write(r[:])
		w.Write(p.data)
	}
}

// writeBigEndianPcapng writes a big-endian pcapng file: a Section Header
// Block, one Interface Description Block without options (so microsecond
// timestamps) and an Enhanced Packet Block per packet.
func writeBigEndianPcapng(w *bytes.Buffer, linkType uint32, pkts []pkt) {
	be := binary.BigEndian
	block := func(typ uint32, body []byte) {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		var h [8]byte
		be.PutUint32(h[0:], typ)
		be.PutUint32(h[4:], uint32(12+len(body)))
		w.Write(h[:])
		w.Write(body)
		w.Write(h[4:8])
	}
	shb := make([]byte, 16)
	be.PutUint32(shb[0:], 0x1a2b3c4d)
	be.PutUint16(shb[4:], 1)
	be.PutUint16(shb[6:], 0)
	be.PutUint64(shb[8:], ^uint64(0)) // section length unknown
	block(0x0a0d0d0a, shb)
	idb := make([]byte, 8)
	be.PutUint16(idb[0:], uint16(linkType))
	block(1, idb)
	for _, p := range pkts {
		epb := make([]byte, 20, 20+len(p.data))
		us := uint64(p.ts.UnixNano() / 1000)
		be.PutUint32(epb[4:], uint32(us>>32))
		be.PutUint32(epb[8:], uint32(us))
		be.PutUint32(epb[12:], uint32(len(p.data)))
		be.PutUint32(epb[16:], uint32(p.wire))
		block(6, append(epb, p.data...))
	}
}

// readAll reads src to its end and returns copies of the frames and the
// error that ended it.
func readAll(t testing.TB, src Source) ([]Frame, error) {
	t.Helper()
	var out []Frame
	for {
		var f Frame
		err := src.Next(&f)
		if err != nil {
			return out, err
		}
		f.Data = bytes.Clone(f.Data)
		out = append(out, f)
	}
}

// checkFrames compares read frames with the packets written.
func checkFrames(t *testing.T, got []Frame, want []pkt, link LinkType, nano bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("read %d frames, wrote %d", len(got), len(want))
	}
	for i, f := range got {
		w := want[i]
		wantTS := w.ts.UnixNano()
		if !nano {
			wantTS = wantTS / 1000 * 1000
		}
		if !bytes.Equal(f.Data, w.data) || f.WireLen != w.wire || f.TS != wantTS || f.Link != link || f.Iface != w.iface {
			t.Fatalf("frame %d: got len %d wire %d ts %d link %v iface %d; want len %d wire %d ts %d link %v iface %d (data equal: %v)",
				i, len(f.Data), f.WireLen, f.TS, f.Link, f.Iface, len(w.data), w.wire, wantTS, link, w.iface, bytes.Equal(f.Data, w.data))
		}
	}
}

func TestFromPcap(t *testing.T) {
	tests := []struct {
		n    uint32
		want LinkType
		name string
	}{
		{1, LinkEthernet, "Ethernet"},
		{113, LinkLinuxSLL, "Linux SLL"},
		{276, LinkLinuxSLL2, "Linux SLL2"},
		{101, LinkRaw, "Raw IP"},
		{12, LinkRaw, "Raw IP"},
		{14, LinkRaw, "Raw IP"},
		{228, LinkRaw, "Raw IP"},
		{229, LinkRaw, "Raw IP"},
		{0, LinkNull, "Null"},
		{108, LinkLoop, "Loop"},
		{105, 0, "LinkType(0)"},       // 802.11
		{127, 0, "LinkType(0)"},       // radiotap
		{65536 + 1, 0, "LinkType(0)"}, // upper bits must not alias
	}
	for _, tt := range tests {
		got, ok := FromPcap(tt.n)
		if got != tt.want || ok != (tt.want != 0) || got.String() != tt.name {
			t.Errorf("FromPcap(%d) = %v (%q), %v; want %v (%q)", tt.n, got, got.String(), ok, tt.want, tt.name)
		}
		if ok {
			back, ok2 := got.Pcap()
			if again, _ := FromPcap(back); !ok2 || again != got {
				t.Errorf("%v.Pcap() = %d, %v: does not map back", got, back, ok2)
			}
		}
	}
	if _, ok := LinkType(0).Pcap(); ok {
		t.Error("LinkType(0).Pcap() ok")
	}
	if s := LinkType(200).String(); s != "LinkType(200)" {
		t.Errorf("LinkType(200).String() = %q", s)
	}
}

// TestFileRoundTrip writes every supported link type in every file format
// and reads it back.
func TestFileRoundTrip(t *testing.T) {
	linkTypes := []struct {
		n    uint32
		want LinkType
	}{
		{1, LinkEthernet}, {113, LinkLinuxSLL}, {276, LinkLinuxSLL2}, {101, LinkRaw},
		{12, LinkRaw}, {14, LinkRaw}, {228, LinkRaw}, {229, LinkRaw}, {0, LinkNull}, {108, LinkLoop},
	}
	formats := []format{pcapMicroLE, pcapNanoLE, pcapMicroBE, pcapNanoBE, pcapngLE, pcapngBE}
	for _, lt := range linkTypes {
		for _, f := range formats {
			t.Run(fmt.Sprintf("%s/%d", f, lt.n), func(t *testing.T) {
				pkts := testPackets(13, byte(lt.n))
				path := writeFile(t, t.TempDir(), f, lt.n, pkts)
				src, err := OpenFile(path)
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				if src.Name() != path {
					t.Errorf("Name() = %q, want %q", src.Name(), path)
				}
				got, err := readAll(t, src)
				if err != io.EOF {
					t.Fatalf("read ended with %v, want io.EOF", err)
				}
				// pcapngBE has no if_tsresol option: microseconds.
				checkFrames(t, got, pkts, lt.want, f.nano() && f != pcapngBE)
				if err := src.Next(&Frame{}); err != io.EOF {
					t.Errorf("Next after the end = %v, want io.EOF again", err)
				}
				st := src.Stats()
				var bytes uint64
				for _, p := range pkts {
					bytes += uint64(p.wire)
				}
				if st != (Stats{Packets: uint64(len(pkts)), Bytes: bytes}) {
					t.Errorf("Stats() = %+v, want %d packets %d bytes", st, len(pkts), bytes)
				}
			})
		}
	}
}

// TestPcapngInterfaces checks per-interface link types: packets of an
// interface with an unsupported link type are skipped and counted.
func TestPcapngInterfaces(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, ifaces []layers.LinkType, pkts []pkt) string {
		var buf bytes.Buffer
		w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{LinkType: ifaces[0], TimestampResolution: 9}, pcapgo.DefaultNgWriterOptions)
		if err != nil {
			t.Fatal(err)
		}
		for _, lt := range ifaces[1:] {
			if _, err := w.AddInterface(pcapgo.NgInterface{LinkType: lt, TimestampResolution: 9}); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range pkts {
			ci := gopacket.CaptureInfo{Timestamp: p.ts, CaptureLength: len(p.data), Length: p.wire, InterfaceIndex: p.iface}
			if err := w.WritePacket(ci, p.data); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}

	// Interface 0: 802.11 (unsupported), 1: Ethernet, 2: SLL2, 3: raw.
	ifaces := []layers.LinkType{105, 1, 276, 101}
	links := []LinkType{0, LinkEthernet, LinkLinuxSLL2, LinkRaw}
	pkts := testPackets(20, 9)
	for i := range pkts {
		pkts[i].iface = i % 4 // the first packet is on the unsupported interface
	}
	src, err := OpenFile(write("mixed.pcapng", ifaces, pkts))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got, err := readAll(t, src)
	if err != io.EOF {
		t.Fatalf("read ended with %v, want io.EOF", err)
	}
	var want []pkt
	for _, p := range pkts {
		if p.iface != 0 {
			want = append(want, p)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("read %d frames, want %d", len(got), len(want))
	}
	for i, f := range got {
		if f.Iface != want[i].iface || f.Link != links[f.Iface] || !bytes.Equal(f.Data, want[i].data) || f.TS != want[i].ts.UnixNano() {
			t.Errorf("frame %d: iface %d link %v ts %d; want iface %d link %v ts %d", i, f.Iface, f.Link, f.TS, want[i].iface, links[want[i].iface], want[i].ts.UnixNano())
		}
	}
	if st := src.Stats(); st.Skipped != 5 || st.Packets != 15 {
		t.Errorf("Stats() = %+v, want 15 packets, 5 skipped", st)
	}

	// No supported interface: refused, naming the link types.
	path := write("wifi.pcapng", []layers.LinkType{105, 127}, []pkt{{data: []byte{1, 2, 3}, wire: 3, ts: time.Unix(1, 0), iface: 1}})
	_, err = OpenFile(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "no interface has a supported link type") ||
		!strings.Contains(err.Error(), "105") || !strings.Contains(err.Error(), "127") || !strings.Contains(err.Error(), "276 (LINUX_SLL2)") {
		t.Errorf("OpenFile(all unsupported) error = %v", err)
	}

	// An empty pcapng file (no packets) with a supported interface.
	src, err = OpenFile(write("empty.pcapng", []layers.LinkType{1}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Next(&Frame{}); err != io.EOF {
		t.Errorf("Next on a pcapng file without packets = %v, want io.EOF", err)
	}
	src.Close()
}

func TestOpenFileGzip(t *testing.T) {
	dir := t.TempDir()
	pkts := testPackets(10, 3)
	for _, f := range []format{pcapNanoLE, pcapngLE} {
		plain := writeFile(t, dir, f, 1, pkts)
		raw, err := os.ReadFile(plain)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(raw)
		zw.Close()
		path := plain + ".gz"
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := readAll(t, src)
		if err != io.EOF {
			t.Fatalf("%s: read ended with %v", path, err)
		}
		checkFrames(t, got, pkts, LinkEthernet, true)
		src.Close()
	}
}

func TestOpenFileStdin(t *testing.T) {
	pkts := testPackets(7, 5)
	path := writeFile(t, t.TempDir(), pcapMicroLE, 113, pkts)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = old }()
	src, err := OpenFile("-")
	if err != nil {
		t.Fatal(err)
	}
	if src.Name() != "-" {
		t.Errorf("Name() = %q", src.Name())
	}
	got, err := readAll(t, src)
	if err != io.EOF {
		t.Fatalf("read ended with %v", err)
	}
	checkFrames(t, got, pkts, LinkLinuxSLL, false)
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	// Close left standard input open.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Errorf("standard input was closed: %v", err)
	}
}

func TestOpenFileErrors(t *testing.T) {
	dir := t.TempDir()
	pcapHeader := func(linkType uint32) []byte {
		var h [24]byte
		binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
		binary.LittleEndian.PutUint16(h[4:], 2)
		binary.LittleEndian.PutUint16(h[6:], 4)
		binary.LittleEndian.PutUint32(h[16:], 65535)
		binary.LittleEndian.PutUint32(h[20:], linkType)
		return h[:]
	}
	badVersion := pcapHeader(1)
	badVersion[4] = 3
	tests := []struct {
		name     string
		content  []byte
		want     []string // substrings of the error
		truncErr bool     // errors.Is(err, ErrTruncated)
	}{
		{"text.txt", []byte("hello, this is not a capture\n"), []string{"not a pcap or pcapng file", "magic 0x68656c6c"}, false},
		{"empty.pcap", nil, []string{"empty file", "not a pcap or pcapng file"}, false},
		{"three.pcap", []byte{0xd4, 0xc3, 0xb2}, []string{"not a pcap or pcapng file", "only 3 bytes"}, false},
		{"wifi.pcap", pcapHeader(105), []string{"unsupported link type 105", "supported: ", "1 (ETHERNET)"}, false},
		{"usb.pcap", pcapHeader(220), []string{"unsupported link type 220"}, false},
		{"cut-header.pcap", pcapHeader(1)[:10], []string{"pcap file header", "middle of a packet record"}, true},
		{"cut-shb.pcapng", []byte{0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c}, []string{"pcapng file header"}, true},
		{"version.pcap", badVersion, []string{"pcap file header", "version"}, false},
		{"gzip-text.gz", gzipBytes([]byte("plain text inside gzip")), []string{"not a pcap or pcapng file"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			if err := os.WriteFile(path, tt.content, 0o644); err != nil {
				t.Fatal(err)
			}
			src, err := OpenFile(path)
			if err == nil {
				src.Close()
				t.Fatal("OpenFile succeeded")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "open capture "+path+": ") {
				t.Errorf("error %q does not start with %q", msg, "open capture "+path+": ")
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if errors.Is(err, ErrTruncated) != tt.truncErr {
				t.Errorf("errors.Is(%v, ErrTruncated) = %v", err, !tt.truncErr)
			}
		})
	}

	missing := filepath.Join(dir, "missing.pcap")
	_, err := OpenFile(missing)
	if err == nil || err.Error() != "open capture "+missing+": no such file or directory" || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenFile(missing) error = %v", err)
	}
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// blockOffsets returns the offsets of the blocks of a little-endian pcapng
// file, and the end.
func blockOffsets(t *testing.T, b []byte) []int {
	var offs []int
	for off := 0; off < len(b); {
		offs = append(offs, off)
		l := int(binary.LittleEndian.Uint32(b[off+4:]))
		if l < 12 {
			t.Fatalf("bad block length %d at %d", l, off)
		}
		off += l
	}
	return append(offs, len(b))
}

// TestTruncated cuts files in every part of the last packet record: all
// complete packets come first, then an ErrTruncated naming the file and
// the packet.
func TestTruncated(t *testing.T) {
	dir := t.TempDir()
	pkts := testPackets(3, 1)
	pkts[0].data, pkts[1].data, pkts[2].data = make([]byte, 100), make([]byte, 200), make([]byte, 300)
	for i := range pkts {
		pkts[i].wire = len(pkts[i].data)
	}

	pcapFull, _ := os.ReadFile(writeFile(t, dir, pcapNanoLE, 1, pkts))
	ngFull, _ := os.ReadFile(writeFile(t, dir, pcapngLE, 1, pkts))
	// pcap: 24-byte header, records of 16 + data bytes.
	p3 := 24 + 16 + 100 + 16 + 200
	// pcapng: SHB, IDB, 3 EPBs.
	blocks := blockOffsets(t, ngFull)
	if len(blocks) != 6 {
		t.Fatalf("pcapng has %d blocks, want 5", len(blocks)-1)
	}
	e3 := blocks[4]
	idb := blocks[1]

	tests := []struct {
		name      string
		content   []byte
		complete  int  // packets delivered before the error
		truncated bool // false: clean io.EOF
	}{
		{"pcap-whole", pcapFull, 3, false},
		{"pcap-at-record", pcapFull[:p3], 2, false},
		{"pcap-in-record-header", pcapFull[:p3+5], 2, true},
		{"pcap-after-record-header", pcapFull[:p3+16], 2, true},
		{"pcap-in-data", pcapFull[:p3+16+150], 2, true},
		{"pcap-one-byte-short", pcapFull[:len(pcapFull)-1], 2, true},
		{"pcapng-whole", ngFull, 3, false},
		{"pcapng-at-block", ngFull[:e3], 2, false},
		{"pcapng-in-block-header", ngFull[:e3+6], 2, true},
		{"pcapng-in-epb-header", ngFull[:e3+20], 2, true},
		{"pcapng-in-data", ngFull[:e3+28+150], 2, true},
		{"pcapng-in-trailer", ngFull[:len(ngFull)-2], 2, true},
		{"pcapng-in-idb", ngFull[:idb+10], 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			if err := os.WriteFile(path, tt.content, 0o644); err != nil {
				t.Fatal(err)
			}
			src, err := OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			got, err := readAll(t, src)
			checkFrames(t, got, pkts[:tt.complete], LinkEthernet, true)
			if !tt.truncated {
				if err != io.EOF {
					t.Fatalf("read ended with %v, want io.EOF", err)
				}
				return
			}
			if !errors.Is(err, ErrTruncated) {
				t.Fatalf("read ended with %v, want ErrTruncated", err)
			}
			wantMsg := fmt.Sprintf("read capture %s: packet %d: ", path, tt.complete+1)
			if !strings.HasPrefix(err.Error(), wantMsg) {
				t.Errorf("error %q does not start with %q", err, wantMsg)
			}
			if err2 := src.Next(&Frame{}); err2 != err {
				t.Errorf("Next after the error = %v, want the same error", err2)
			}
		})
	}
}

func TestFileClose(t *testing.T) {
	path := writeFile(t, t.TempDir(), pcapngLE, 1, testPackets(3, 0))
	src, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f Frame
	if err := src.Next(&f); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := src.Next(&f); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close = %v, want ErrClosed", err)
	}
	if st := src.Stats(); st.Packets != 1 {
		t.Errorf("Stats after Close = %+v", st)
	}
}

// TestFileNextAllocs proves that Next does not allocate per packet.
func TestFileNextAllocs(t *testing.T) {
	dir := t.TempDir()
	pkts := testPackets(3000, 2)
	for _, f := range []format{pcapMicroLE, pcapNanoBE, pcapngLE, pcapngBE} {
		t.Run(f.String(), func(t *testing.T) {
			src, err := OpenFile(writeFile(t, dir, f, 1, pkts))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			var fr Frame
			allocs := testing.AllocsPerRun(2500, func() {
				if err := src.Next(&fr); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("Next allocates %v times per packet", allocs)
			}
		})
	}
}

func TestLiveOptionsDefaults(t *testing.T) {
	o, err := LiveOptions{}.withDefaults(4096)
	if err != nil {
		t.Fatal(err)
	}
	if o.SnapLen != DefaultSnapLen || o.BlockSize != DefaultBlockSize || o.NumBlocks != DefaultNumBlocks || o.PollTimeout != DefaultPollTimeout {
		t.Errorf("defaults = %+v", o)
	}
	if ring := o.BlockSize * o.NumBlocks; ring != 4<<20 {
		t.Errorf("default ring = %d bytes, want 4 MiB", ring)
	}
	if _, err := (LiveOptions{}).withDefaults(16384); err != nil {
		t.Errorf("defaults with 16 KiB pages: %v", err)
	}
	bad := []struct {
		o    LiveOptions
		want string
	}{
		{LiveOptions{SnapLen: -1}, "snap length -1"},
		{LiveOptions{SnapLen: 300000}, "snap length 300000"},
		{LiveOptions{BlockSize: 5000}, "block size 5000 is not a multiple"},
		{LiveOptions{BlockSize: 4096, SnapLen: 4096}, "too small for snap length"},
		{LiveOptions{NumBlocks: 1}, "number of blocks 1"},
		{LiveOptions{NumBlocks: 1 << 20}, "exceeds 1 GiB"},
		{LiveOptions{PollTimeout: time.Microsecond}, "poll timeout"},
		{LiveOptions{PollTimeout: -time.Second}, "poll timeout"},
	}
	for _, b := range bad {
		if _, err := b.o.withDefaults(4096); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("withDefaults(%+v) = %v, want error with %q", b.o, err, b.want)
		}
	}
	for _, c := range []struct{ poll, want time.Duration }{
		{200 * time.Millisecond, 64 * time.Millisecond},
		{20 * time.Millisecond, 10 * time.Millisecond},
		{time.Millisecond, time.Millisecond},
	} {
		if got := blockTimeout(c.poll); got != c.want {
			t.Errorf("blockTimeout(%v) = %v, want %v", c.poll, got, c.want)
		}
	}
}

// BenchmarkFileNext reads a generated 100,000-packet pcap file.
func BenchmarkFileNext(b *testing.B) {
	const n = 100000
	sizes := []int{60, 1514, 590, 74, 1200, 66}
	pkts := make([]pkt, n)
	var total int
	base := time.Unix(1700000000, 0)
	for i := range pkts {
		d := make([]byte, sizes[i%len(sizes)])
		d[0] = byte(i)
		pkts[i] = pkt{data: d, wire: len(d), ts: base.Add(time.Duration(i) * time.Microsecond)}
		total += len(d)
	}
	path := writeFile(b, b.TempDir(), pcapMicroLE, 1, pkts)
	src, err := OpenFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(total / n))
	b.ReportAllocs()
	b.ResetTimer()
	var f Frame
	for i := 0; i < b.N; i++ {
		err := src.Next(&f)
		if err == io.EOF {
			b.StopTimer()
			src.Close()
			if src, err = OpenFile(path); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			err = src.Next(&f)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	src.Close()
}
