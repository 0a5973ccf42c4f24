package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The differential tests read the same files with OpenFile (this
// package's pcap and pcapng readers) and with refOpenFile (gopacket's
// pcapgo, reference_test.go) and require the same frames, counters and
// ending. Where the readers differ on purpose the comparison says so:
//   - pcapgo reports a file cut inside a Name Resolution Block as an error
//     that wraps io.ErrUnexpectedEOF in text; OpenFile says ErrTruncated
//     as for every other cut;
//   - pcapgo computes a classic pcap microsecond fraction times 1000 in 32
//     bits, so fractions of 4,294,968 µs or more (invalid) wrap; OpenFile
//     does not (nor does ReadBatch);
//   - records longer than 1 MiB are refused by OpenFile (as by ReadBatch
//     and libpcap), read by pcapgo;
//   - a pcapng file whose every section has an unknown version: pcapgo
//     fails to open it (cut section header), OpenFile opens it and Next
//     says that no section has version 1.0;
//   - structurally corrupt pcapng files (block lengths that disagree with
//     the trailing length or the contents): OpenFile stops with an error,
//     pcapgo reads on across block boundaries.
// The generated files below avoid these cases; the fuzz test compares the
// frames of classic pcap files only, and checks pcapng for robustness.

// ending classifies how reading (or opening) ended.
type ending int

const (
	endEOF ending = iota
	endTruncated
	endError
	endOpenError
	endOpenTruncated
)

func (e ending) String() string {
	return [...]string{"EOF", "truncated", "error", "open error", "open truncated"}[e]
}

func classify(err error, atOpen bool) ending {
	trunc := errors.Is(err, ErrTruncated) || strings.Contains(err.Error(), "unexpected EOF")
	switch {
	case atOpen && trunc:
		return endOpenTruncated
	case atOpen:
		return endOpenError
	case err == io.EOF:
		return endEOF
	case trunc:
		return endTruncated
	}
	return endError
}

// reading is the result of reading a whole file.
type reading struct {
	frames []Frame
	stats  Stats
	end    ending
	err    error
}

// readSource reads src to its end; open is the error of opening it.
func readSource(src Source, openErr error) reading {
	if openErr != nil {
		return reading{end: classify(openErr, true), err: openErr}
	}
	defer src.Close()
	var r reading
	for n := 0; ; n++ {
		var f Frame
		err := src.Next(&f)
		if err != nil {
			r.end, r.err = classify(err, false), err
			if again := src.Next(&f); again != err {
				r.end, r.err = endError, fmt.Errorf("Next after %v returned %v", err, again)
			}
			break
		}
		f.Data = bytes.Clone(f.Data)
		r.frames = append(r.frames, f)
	}
	r.stats = src.Stats()
	return r
}

// readBoth reads the bytes b with both readers.
func readBoth(b []byte) (got, want reading) {
	s := &fileSource{name: "test"}
	err := s.open(bytes.NewReader(b))
	got = readSource(s, err)
	rs := &refFileSource{name: "test"}
	err = rs.open(bytes.NewReader(b))
	want = readSource(rs, err)
	return got, want
}

// compareReadings returns the first difference, or "".
func compareReadings(got, want reading) string {
	if got.end != want.end {
		return fmt.Sprintf("ends with %v (%v), pcapgo with %v (%v)", got.end, got.err, want.end, want.err)
	}
	if len(got.frames) != len(want.frames) {
		return fmt.Sprintf("%d frames, pcapgo %d", len(got.frames), len(want.frames))
	}
	for i := range got.frames {
		a, b := got.frames[i], want.frames[i]
		if !bytes.Equal(a.Data, b.Data) || a.WireLen != b.WireLen || a.TS != b.TS || a.Link != b.Link || a.Iface != b.Iface {
			return fmt.Sprintf("frame %d: len %d wire %d ts %d link %v iface %d; pcapgo len %d wire %d ts %d link %v iface %d",
				i, len(a.Data), a.WireLen, a.TS, a.Link, a.Iface, len(b.Data), b.WireLen, b.TS, b.Link, b.Iface)
		}
	}
	if got.stats != want.stats {
		return fmt.Sprintf("stats %+v, pcapgo %+v", got.stats, want.stats)
	}
	return ""
}

// TestDifferentialCorpus reads every corpus capture with both readers.
func TestDifferentialCorpus(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(corpusDir(t), "pcaps", "*"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no corpus captures: %v", err)
	}
	frames, ng := 0, 0
	for _, path := range paths {
		got := readSource(OpenFile(path))
		want := readSource(refOpenFile(path))
		if d := compareReadings(got, want); d != "" {
			t.Errorf("%s: %s", filepath.Base(path), d)
		}
		if got.end != endEOF {
			t.Errorf("%s: ends with %v", filepath.Base(path), got.err)
		}
		frames += len(got.frames)
		if s, err := OpenFile(path); err == nil {
			if s.(*fileSource).ng != nil {
				ng++
			}
			s.Close()
		}
	}
	if frames < 100000 || ng == 0 {
		t.Fatalf("only %d frames, %d pcapng files", frames, ng)
	}
	t.Logf("%d captures (%d pcapng), %d frames agree", len(paths), ng, frames)
}

// gen writes capture files with random contents, well-formed.
type gen struct {
	rng   *rand.Rand
	order interface {
		binary.ByteOrder
		binary.AppendByteOrder
	}
	b []byte
}

func (g *gen) u16(v uint16) []byte { return g.order.AppendUint16(nil, v) }
func (g *gen) u32(v uint32) []byte { return g.order.AppendUint32(nil, v) }
func (g *gen) u64(v uint64) []byte { return g.order.AppendUint64(nil, v) }

func (g *gen) bytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.rng.Uint32())
	}
	return b
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// options encodes pcapng options, with or without the end-of-options.
func (g *gen) options(opts [][2]any) []byte {
	var b []byte
	for _, o := range opts {
		v := o[1].([]byte)
		b = append(b, g.u16(uint16(o[0].(int)))...)
		b = append(b, g.u16(uint16(len(v)))...)
		b = pad4(append(b, v...))
	}
	if len(opts) > 0 && g.rng.IntN(3) > 0 {
		b = append(b, 0, 0, 0, 0)
	}
	return b
}

func (g *gen) block(typ uint32, body []byte) {
	body = pad4(body)
	n := uint32(12 + len(body))
	g.b = append(g.b, g.u32(typ)...)
	g.b = append(g.b, g.u32(n)...)
	g.b = append(g.b, body...)
	g.b = append(g.b, g.u32(n)...)
}

// pcapng writes a random pcapng file: sections in both byte orders (some
// of an unknown version), interfaces of supported and unsupported link
// types with various snap lengths, timestamp resolutions and offsets,
// Enhanced, Simple and obsolete Packet Blocks with options, and Name
// Resolution, Interface Statistics, Decryption Secrets and custom blocks.
func (g *gen) pcapng() []byte {
	g.b = nil
	linkTypes := []uint32{1, 1, 113, 276, 101, 0, 108, 228, 12, 105, 127, 147}
	resolutions := []byte{6, 9, 3, 0, 12, 1, 0x80 | 10, 0x80 | 20, 0x80 | 30, 0x80 | 33, 0x80 | 40}
	for sec := range 1 + g.rng.IntN(3) {
		if g.rng.IntN(2) == 0 {
			g.order = binary.LittleEndian
		} else {
			g.order = binary.BigEndian
		}
		version := [2]uint16{1, 0}
		if sec > 0 && g.rng.IntN(5) == 0 {
			version = [2]uint16{[]uint16{1, 2, 3}[g.rng.IntN(3)], 2}
		}
		shb := append(g.u32(ngByteOrderMagic), g.u16(version[0])...)
		shb = append(shb, g.u16(version[1])...)
		shb = append(shb, g.u64(^uint64(0))...)
		shb = append(shb, g.options([][2]any{{4, []byte("tamon test")}, {2, []byte("hw")}}[:g.rng.IntN(3)])...)
		g.block(ngSectionHeader, shb)
		var snaps []uint32
		addIface := func() {
			lt := linkTypes[g.rng.IntN(len(linkTypes))]
			snap := []uint32{0, 65535, 262144, 96, 1500}[g.rng.IntN(5)]
			idb := append(g.u16(uint16(lt)), 0, 0)
			idb = append(idb, g.u32(snap)...)
			var opts [][2]any
			if g.rng.IntN(2) == 0 {
				opts = append(opts, [2]any{2, []byte("eth0")})
			}
			if g.rng.IntN(4) > 0 {
				opts = append(opts, [2]any{9, []byte{resolutions[g.rng.IntN(len(resolutions))]}})
			}
			if g.rng.IntN(4) == 0 {
				opts = append(opts, [2]any{14, g.u64(uint64(g.rng.IntN(100000)))})
			}
			if g.rng.IntN(3) == 0 {
				opts = append(opts, [2]any{1, []byte("a comment of odd length")})
			}
			g.rng.Shuffle(len(opts), func(i, j int) { opts[i], opts[j] = opts[j], opts[i] })
			g.block(ngInterface, append(idb, g.options(opts)...))
			snaps = append(snaps, snap)
		}
		for range 1 + g.rng.IntN(3) {
			addIface()
		}
		for range g.rng.IntN(40) {
			iface := g.rng.IntN(len(snaps))
			caplen := g.rng.IntN(200)
			wire := caplen
			if g.rng.IntN(3) == 0 {
				wire += g.rng.IntN(2000)
			}
			var ts uint64
			switch g.rng.IntN(3) {
			case 0:
				ts = g.rng.Uint64()
			case 1:
				ts = uint64(1_700_000_000+g.rng.IntN(1000))*1_000_000 + uint64(g.rng.IntN(1_000_000))
			default:
				ts = g.rng.Uint64N(1 << 40)
			}
			data := g.bytes(caplen)
			switch r := g.rng.IntN(20); {
			case r < 12: // Enhanced Packet Block
				epb := append(g.u32(uint32(iface)), g.u32(uint32(ts>>32))...)
				epb = append(epb, g.u32(uint32(ts))...)
				epb = append(epb, g.u32(uint32(caplen))...)
				epb = append(epb, g.u32(uint32(wire))...)
				epb = pad4(append(epb, data...))
				opts := [][2]any{{2, g.u32(1)}, {1, []byte("pkt")}, {4, g.u64(3)}, {5, g.u64(9)}, {6, g.u32(1)}, {3, append([]byte{2}, g.bytes(4)...)}}
				g.rng.Shuffle(len(opts), func(i, j int) { opts[i], opts[j] = opts[j], opts[i] })
				g.block(ngEnhancedPacket, append(epb, g.options(opts[:g.rng.IntN(len(opts)+1)])...))
			case r < 14: // Simple Packet Block: interface 0, cut to its snap length
				spb := g.u32(uint32(wire))
				n := wire
				if snaps[0] != 0 && uint32(n) > snaps[0] {
					n = int(snaps[0])
				}
				g.block(ngSimplePacket, append(spb, g.bytes(n)...))
			case r < 15: // obsolete Packet Block
				pb := append(g.u16(uint16(iface)), g.u16(0)...)
				pb = append(pb, g.u32(uint32(ts>>32))...)
				pb = append(pb, g.u32(uint32(ts))...)
				pb = append(pb, g.u32(uint32(caplen))...)
				pb = append(pb, g.u32(uint32(wire))...)
				pb = pad4(append(pb, data...))
				g.block(ngPacket, append(pb, g.options([][2]any{{1, []byte("old")}}[:g.rng.IntN(2)])...))
			case r < 16: // Interface Statistics Block
				isb := append(g.u32(uint32(iface)), g.u32(uint32(ts>>32))...)
				isb = append(isb, g.u32(uint32(ts))...)
				g.block(5, append(isb, g.options([][2]any{{4, g.u64(100)}, {5, g.u64(1)}, {2, g.u64(ts)}}[:g.rng.IntN(4)])...))
			case r < 17: // Name Resolution Block: an IPv4 name, the end
				rec := append([]byte{192, 0, 2, 1}, "host.example\x00"...)
				nrb := append(g.u16(1), g.u16(uint16(len(rec)))...)
				nrb = append(pad4(append(nrb, rec...)), 0, 0, 0, 0)
				g.block(4, nrb)
			case r < 18: // Decryption Secrets Block
				sec := g.bytes(g.rng.IntN(30))
				dsb := append(g.u32(0x544c534b), g.u32(uint32(len(sec)))...)
				g.block(0x0a, append(dsb, sec...))
			case r < 19: // custom blocks and an unknown type
				g.block([]uint32{0x00000bad, 0x40000bad, 0x80001234}[g.rng.IntN(3)], g.bytes(g.rng.IntN(40)))
			default: // another interface, mid-section
				addIface()
			}
		}
	}
	return g.b
}

// pcap writes a random classic pcap file in one of the four variants.
func (g *gen) pcap() []byte {
	g.order = binary.LittleEndian
	if g.rng.IntN(2) == 0 {
		g.order = binary.BigEndian
	}
	nano := g.rng.IntN(2) == 0
	magic := uint32(magicPcapMicroBE)
	if nano {
		magic = magicPcapNanoBE
	}
	snap := []uint32{65535, 262144, 96, 0, 524288}[g.rng.IntN(5)]
	lt := []uint32{1, 1, 113, 276, 101, 0, 108, 228, 12}[g.rng.IntN(9)]
	b := g.u32(magic) // the magic as the writer's byte order writes it
	b = append(b, g.u16(2)...)
	b = append(b, g.u16(4)...)
	b = append(b, make([]byte, 8)...)
	b = append(b, g.u32(snap)...)
	b = append(b, g.u32(lt)...)
	for range g.rng.IntN(40) {
		caplen := g.rng.IntN(300)
		if g.rng.IntN(50) == 0 {
			caplen = 262144 + g.rng.IntN(300000) // over the snap length (an error if above 262,144 and the snap length)
		}
		wire := caplen + g.rng.IntN(2)*g.rng.IntN(1000)
		frac := uint32(g.rng.IntN(1_000_000))
		if nano {
			frac = uint32(g.rng.IntN(1_000_000_000))
		}
		b = append(b, g.u32(uint32(1_700_000_000+g.rng.IntN(100000)))...)
		b = append(b, g.u32(frac)...)
		b = append(b, g.u32(uint32(caplen))...)
		b = append(b, g.u32(uint32(wire))...)
		b = append(b, g.bytes(caplen)...)
	}
	return b
}

// TestDifferentialGenerated reads random well-formed pcap and pcapng files,
// whole and cut at random places, with both readers.
func TestDifferentialGenerated(t *testing.T) {
	g := &gen{rng: rand.New(rand.NewPCG(3, 5))}
	files, frames, cuts := 0, 0, 0
	n := 400
	if testing.Short() {
		n = 60
	}
	for i := range n {
		var b []byte
		if i%3 == 0 {
			b = g.pcap()
		} else {
			b = g.pcapng()
		}
		files++
		got, want := readBoth(b)
		if d := compareReadings(got, want); d != "" {
			t.Fatalf("file %d (%d bytes): %s", i, len(b), d)
		}
		frames += len(got.frames)
		for range 4 {
			cut := g.rng.IntN(len(b) + 1)
			got, want := readBoth(b[:cut])
			if d := compareReadings(got, want); d != "" {
				os.WriteFile(filepath.Join(t.TempDir(), "cut"), b[:cut], 0o644)
				t.Fatalf("file %d (%d bytes) cut at %d: %s", i, len(b), cut, d)
			}
			cuts++
		}
	}
	if frames < 1000 {
		t.Fatalf("only %d frames in %d files", frames, files)
	}
	t.Logf("%d files (%d frames), %d cut files agree", files, frames, cuts)
}

// FuzzFile reads arbitrary bytes as a capture file. Whatever the input:
// no panic, frames that respect the Frame contract, a final error that
// stays, counters that match; for classic pcap files the frames of pcapgo.
func FuzzFile(f *testing.F) {
	g := &gen{rng: rand.New(rand.NewPCG(1, 2))}
	for range 12 {
		f.Add(g.pcap())
		f.Add(g.pcapng())
	}
	for _, name := range []string{"arkime_http-simple-get.pcap", "ndpi_dns.pcap"} {
		b, err := os.ReadFile(filepath.Join(corpusDir(f), "pcaps", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 4096)])
	}
	f.Add(gzipBytes(g.pcapng()))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := &fileSource{name: "fuzz"}
		err := s.open(bytes.NewReader(b))
		got := readSource(s, err)
		var bytesSum uint64
		for i, fr := range got.frames {
			if fr.Link == 0 || len(fr.Data) > fr.WireLen || fr.WireLen < 0 {
				t.Fatalf("frame %d: link %v, %d bytes, %d on the wire", i, fr.Link, len(fr.Data), fr.WireLen)
			}
			bytesSum += uint64(fr.WireLen)
		}
		if err == nil && (got.stats.Packets != uint64(len(got.frames)) || got.stats.Bytes != bytesSum) {
			t.Fatalf("stats %+v for %d frames of %d bytes", got.stats, len(got.frames), bytesSum)
		}
		if len(got.frames) > len(b)/12+1 {
			t.Fatalf("%d frames from %d bytes", len(got.frames), len(b))
		}
		if err != nil || !s.classic {
			return
		}
		// Classic pcap: pcapgo's frames, up to the first error of either.
		rs := &refFileSource{name: "fuzz"}
		want := readSource(rs, rs.open(bytes.NewReader(b)))
		for i := range min(len(got.frames), len(want.frames)) {
			a, w := got.frames[i], want.frames[i]
			wrapped := !s.nano && a.TS != w.TS && a.TS%1e9 != w.TS%1e9 // a fraction of 4,294,968 µs or more
			if !bytes.Equal(a.Data, w.Data) || a.WireLen != w.WireLen || (a.TS != w.TS && !wrapped) || a.Link != w.Link {
				t.Fatalf("frame %d differs from pcapgo's", i)
			}
		}
		if len(got.frames) != len(want.frames) && got.end == want.end && got.end != endError {
			t.Fatalf("%d frames (%v), pcapgo %d (%v)", len(got.frames), got.err, len(want.frames), want.err)
		}
	})
}

// TestFileCorrupt checks what the readers say about damaged files, and
// reads records and blocks longer than the read buffer.
func TestFileCorrupt(t *testing.T) {
	le := binary.LittleEndian
	g := &gen{rng: rand.New(rand.NewPCG(9, 9)), order: le}
	shb := func(order binary.ByteOrder, major uint16) {
		b := append(g.u32(ngByteOrderMagic), g.u16(major)...)
		b = append(b, g.u16(0)...)
		g.block(ngSectionHeader, append(b, g.u64(^uint64(0))...))
	}
	idb := func(lt uint16, opts [][2]any) {
		g.block(ngInterface, append(append(g.u16(lt), 0, 0, 0, 0, 0, 0), g.options(opts)...))
	}
	epb := func(iface uint32, caplen uint32, data []byte, opts [][2]any) {
		b := append(g.u32(iface), 0, 0, 0, 0, 0, 0, 0, 0)
		b = append(b, g.u32(caplen)...)
		b = append(b, g.u32(uint32(len(data)))...)
		g.block(ngEnhancedPacket, append(pad4(append(b, data...)), g.options(opts)...))
	}
	file := func(build func()) []byte {
		g.b = nil
		shb(le, 1)
		build()
		return g.b
	}
	pcapFile := func(snap uint32, caplens ...uint32) []byte {
		b := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
		b = append(b, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0)
		b = binary.LittleEndian.AppendUint32(b, snap)
		b = binary.LittleEndian.AppendUint32(b, 1)
		for _, c := range caplens {
			b = append(b, 1, 0, 0, 0, 2, 0, 0, 0)
			b = binary.LittleEndian.AppendUint32(b, c)
			b = binary.LittleEndian.AppendUint32(b, c)
			b = append(b, bytes.Repeat([]byte{0xab}, int(c))...)
		}
		return b
	}
	big := bytes.Repeat([]byte{7}, 1_040_000)
	tests := []struct {
		name    string
		b       []byte
		frames  int
		want    string // in the error; "" for io.EOF
		trunc   bool
		samePkt bool // pcapgo reads the same frames and ends the same way
	}{
		{"short block", file(func() { idb(1, nil); g.b = append(g.b, 6, 0, 0, 0, 8, 0, 0, 0) }), 0, "length 8, shorter than 12", false, false},
		{"trailing length", file(func() { idb(1, nil); epb(0, 4, []byte{1, 2, 3, 4}, nil); g.b[len(g.b)-4]++ }), 0, "trailing length", false, false},
		{"caplen past block", file(func() { idb(1, nil); epb(0, 400, []byte{1, 2, 3, 4}, nil) }), 0, "captured length 400 exceeds its block", false, false},
		{"unknown interface", file(func() { idb(1, nil); epb(5, 4, []byte{1, 2, 3, 4}, nil) }), 0, "interface 5", false, false},
		{"simple packet first", file(func() { g.block(ngSimplePacket, g.u32(0)) }), 0, "before any interface", false, false},
		{"bad byte order", file(func() { idb(1, nil); g.block(ngSectionHeader, make([]byte, 16)) }), 0, "byte-order magic", false, false},
		{"resolution", file(func() { idb(1, [][2]any{{9, []byte{0x40}}}) }), 0, "too fine", false, false},
		{"huge block", file(func() { idb(1, nil); g.b = append(g.b, 6, 0, 0, 0, 0, 0, 0, 0x40) }), 0, "not plausible", false, false},
		{"only unknown versions", func() []byte { g.b = nil; shb(le, 2); idb(1, nil); epb(0, 1, []byte{1}, nil); return g.b }(), 0, "no section of pcapng version 1.0", false, false},
		{"cut in a skipped block", file(func() { idb(1, nil); g.block(0x0bad, make([]byte, 40)); g.b = g.b[:len(g.b)-10] }), 0, "middle of a packet record", true, true},
		{"blocks longer than the buffer", file(func() {
			idb(1, nil)
			epb(0, uint32(len(big)), big, [][2]any{{1, bytes.Repeat([]byte("c"), 20000)}})
			epb(0, 3, []byte{1, 2, 3}, nil)
			epb(0, uint32(len(big)), big, [][2]any{{1, bytes.Repeat([]byte("d"), 30000)}})
		}), 3, "", false, true},
		{"pcap record of 1 MiB", pcapFile(2<<20, 10, 1<<20, 20), 3, "", false, true},
		{"pcap record over 1 MiB", pcapFile(2<<20, 10, 1<<20+1), 1, "not plausible", false, false},
		{"pcap caplen over snap length", pcapFile(1000, 10, 300000), 1, "exceeds the snap length", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, want := readBoth(tt.b)
			if len(got.frames) != tt.frames {
				t.Errorf("%d frames, want %d (%v)", len(got.frames), tt.frames, got.err)
			}
			switch {
			case tt.want == "" && got.end != endEOF:
				t.Errorf("ends with %v", got.err)
			case tt.want != "" && (got.err == nil || !strings.Contains(got.err.Error(), tt.want)):
				t.Errorf("ends with %v, want an error with %q", got.err, tt.want)
			case tt.want != "" && errors.Is(got.err, ErrTruncated) != tt.trunc:
				t.Errorf("errors.Is(%v, ErrTruncated) = %v", got.err, !tt.trunc)
			case tt.want != "" && !strings.HasPrefix(got.err.Error(), "read capture test: packet "):
				t.Errorf("error %q does not name the file and the packet", got.err)
			}
			if tt.samePkt {
				if d := compareReadings(got, want); d != "" {
					t.Error(d)
				}
			}
		})
	}
}
