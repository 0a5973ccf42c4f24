package benchgen

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// writeMixFile writes a mix of n packets to a file in dir.
func writeMixFile(tb testing.TB, dir string, n int, seed uint64) (string, Stats) {
	tb.Helper()
	path := filepath.Join(dir, "mix.pcap")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	st, err := Mix(f, Options{Packets: n, Seed: seed})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatal(err)
	}
	return path, st
}

// bareLoops are the two bare loops, which must see the same frames and
// layers.
var bareLoops = []struct {
	name string
	fn   func(path string) (BareResult, error)
}{
	{"BareDecode", BareDecode},
	{"BareDecodeHandoff", BareDecodeHandoff},
}

func TestBareDecode(t *testing.T) {
	dir := t.TempDir()
	mixPath, mixStats := writeMixFile(t, dir, 50000, 11)
	openPath := filepath.Join(dir, "open.pcap")
	f, err := os.Create(openPath)
	if err != nil {
		t.Fatal(err)
	}
	openStats, err := OpenSessions(f, 2000, 5)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		st   Stats
	}{
		{"mix", mixPath, mixStats},
		{"open sessions", openPath, openStats},
	}
	for _, tc := range tests {
		for _, loop := range bareLoops {
			t.Run(tc.name+"/"+loop.name, func(t *testing.T) {
				res, err := loop.fn(tc.path)
				if err != nil {
					t.Fatal(err)
				}
				want := []struct {
					what      string
					got, want uint64
				}{
					{"packets", res.Packets, uint64(tc.st.Packets)},
					{"bytes", res.Bytes, uint64(tc.st.Bytes)},
					{"Ethernet layers", res.Layers[LayerEthernet], uint64(tc.st.Packets)},
					{"Dot1Q layers", res.Layers[LayerDot1Q], uint64(tc.st.VLANPackets)},
					{"IPv6 layers", res.Layers[LayerIPv6], uint64(tc.st.IPv6Packets)},
					{"IPv4+IPv6 layers", res.Layers[LayerIPv4] + res.Layers[LayerIPv6], uint64(tc.st.Packets)},
					{"TCP+UDP+ICMP layers", res.Layers[LayerTCP] + res.Layers[LayerUDP] + res.Layers[LayerICMP], uint64(tc.st.Packets)},
				}
				for _, w := range want {
					if w.got != w.want {
						t.Errorf("%s: %d, want %d", w.what, w.got, w.want)
					}
				}
				if res.Elapsed <= 0 {
					t.Errorf("Elapsed %v", res.Elapsed)
				}
			})
		}
	}
}

func TestBareDecodeErrors(t *testing.T) {
	dir := t.TempDir()
	notPcap := filepath.Join(dir, "text")
	if err := os.WriteFile(notPcap, []byte("this is not a capture file at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, loop := range bareLoops {
		for _, path := range []string{filepath.Join(dir, "missing"), notPcap} {
			if _, err := loop.fn(path); err == nil {
				t.Errorf("%s(%s): no error", loop.name, path)
			}
		}
	}
}

// TestBareDecodeAllocs checks that the decode loop does not allocate per
// packet: a file five times larger costs no more allocations.
func TestBareDecodeAllocs(t *testing.T) {
	small, _ := writeMixFile(t, t.TempDir(), 10000, 1)
	large, st := writeMixFile(t, t.TempDir(), 50000, 1)
	for _, loop := range bareLoops {
		allocs := func(path string) float64 {
			return testing.AllocsPerRun(2, func() {
				if _, err := loop.fn(path); err != nil {
					t.Fatal(err)
				}
			})
		}
		a, b := allocs(small), allocs(large)
		t.Logf("%s: allocations per file: %.0f (10k packets), %.0f (%d packets)", loop.name, a, b, st.Packets)
		if perPacket := (b - a) / float64(st.Packets-10000); perPacket > 0.001 {
			t.Errorf("%s: %.4f allocations per packet", loop.name, perPacket)
		}
	}
}

// benchPcap is the capture BenchmarkBareDecode reads: $TAMON_BENCH_PCAP,
// or a generated 200k-packet mix.
func benchPcap(b *testing.B) string {
	if p := os.Getenv("TAMON_BENCH_PCAP"); p != "" {
		return p
	}
	p, _ := writeMixFile(b, b.TempDir(), 200000, 1)
	return p
}

func BenchmarkBareDecode(b *testing.B) {
	path := benchPcap(b)
	b.ReportAllocs()
	var packets, bytes uint64
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for b.Loop() {
		res, err := BareDecode(path)
		if err != nil {
			b.Fatal(err)
		}
		packets += res.Packets
		bytes += res.Bytes
	}
	runtime.ReadMemStats(&ms1)
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(packets)/sec, "packets/s")
	b.ReportMetric(float64(bytes)/sec/1e6, "MB/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(packets), "allocs/packet")
}

func BenchmarkMix(b *testing.B) {
	const n = 100000
	packets, bytes := 0, 0
	for b.Loop() {
		st, err := Mix(io.Discard, Options{Packets: n, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		packets += st.Packets
		bytes += st.Bytes
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(packets)/sec, "packets/s")
	b.ReportMetric(float64(bytes)/sec/1e6, "MB/s")
}

func BenchmarkOpenSessions(b *testing.B) {
	const n = 20000
	packets := 0
	for b.Loop() {
		st, err := OpenSessions(io.Discard, n, 1)
		if err != nil {
			b.Fatal(err)
		}
		packets += st.Packets
	}
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
}
