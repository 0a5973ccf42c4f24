package capture

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// readAllBatches reads a source with ReadBatch through a buffer of size n.
func readAllBatches(t *testing.T, s BatchReader, n int) ([]Frame, error) {
	t.Helper()
	var out []Frame
	for {
		buf := make([]byte, n) // a fresh buffer per batch: frames keep theirs
		fs, err := s.ReadBatch(buf, nil)
		out = append(out, fs...)
		if err != nil {
			return out, err
		}
	}
}

func readAllNext(t *testing.T, s Source) ([]Frame, error) {
	t.Helper()
	var out []Frame
	for {
		var f Frame
		err := s.Next(&f)
		if err != nil {
			return out, err
		}
		f.Data = append([]byte(nil), f.Data...)
		out = append(out, f)
	}
}

// ReadBatch gives exactly the frames of Next for every classic pcap of
// the corpus, whatever the buffer size, and reports a cut file the same way.
func TestReadBatchMatchesNext(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(corpusDir(t), "pcaps", "*"))
	batched := 0
	for _, p := range paths {
		for _, size := range []int{1 << 20, 300 << 10} {
			a, err := OpenFile(p)
			if err != nil {
				t.Fatal(err)
			}
			br, ok := AsBatchReader(a)
			if !ok {
				a.Close()
				continue
			}
			batched++
			b, _ := OpenFile(p)
			fa, ea := readAllBatches(t, br, size)
			fb, eb := readAllNext(t, b)
			compareFrames(t, filepath.Base(p), fa, fb, ea, eb)
			if br.Stats() != b.Stats() {
				t.Errorf("%s: stats %+v vs %+v", p, br.Stats(), b.Stats())
			}
			a.Close()
			b.Close()
		}
	}
	if batched < 80 {
		t.Fatalf("only %d corpus reads used ReadBatch", batched)
	}
	full, err := os.ReadFile(filepath.Join(corpusDir(t), "pcaps", "arkime_http-simple-get.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{len(full) - 1, len(full) - 20, 40, 30} {
		p := filepath.Join(t.TempDir(), "cut.pcap")
		os.WriteFile(p, full[:cut], 0o644)
		a, _ := OpenFile(p)
		br, _ := AsBatchReader(a)
		b, _ := OpenFile(p)
		fa, ea := readAllBatches(t, br, 1<<18)
		fb, eb := readAllNext(t, b)
		compareFrames(t, "cut", fa, fb, ea, eb)
		if !errors.Is(ea, ErrTruncated) {
			t.Errorf("cut at %d: %v, want ErrTruncated", cut, ea)
		}
	}
	// pcapng has no batch reading.
	if s, err := OpenFile(filepath.Join(corpusDir(t), "pcaps", "ndpi_dns.pcap")); err == nil {
		if _, ok := AsBatchReader(s); ok {
			t.Error("pcapng file offers ReadBatch")
		}
		s.Close()
	}
}

func compareFrames(t *testing.T, name string, fa, fb []Frame, ea, eb error) {
	t.Helper()
	if len(fa) != len(fb) {
		t.Fatalf("%s: %d frames by batch, %d by Next", name, len(fa), len(fb))
	}
	for i := range fa {
		a, b := fa[i], fb[i]
		if !bytes.Equal(a.Data, b.Data) || a.WireLen != b.WireLen || a.TS != b.TS || a.Link != b.Link {
			t.Fatalf("%s frame %d differs", name, i)
		}
	}
	if errors.Is(ea, io.EOF) != errors.Is(eb, io.EOF) || errors.Is(ea, ErrTruncated) != errors.Is(eb, ErrTruncated) {
		t.Fatalf("%s: batch ends with %v, Next with %v", name, ea, eb)
	}
}

func BenchmarkReadBatch(b *testing.B) {
	const n = 100000
	sizes := []int{60, 1514, 590, 74, 1200, 66}
	pkts := make([]pkt, n)
	base := time.Unix(1700000000, 0)
	for i := range pkts {
		d := make([]byte, sizes[i%len(sizes)])
		pkts[i] = pkt{data: d, wire: len(d), ts: base.Add(time.Duration(i) * time.Microsecond)}
	}
	path := writeFile(b, b.TempDir(), pcapMicroLE, 1, pkts)
	buf := make([]byte, 1<<20)
	var frames []Frame
	b.ReportAllocs()
	for b.Loop() {
		s, _ := OpenFile(path)
		br, _ := AsBatchReader(s)
		for {
			var err error
			frames, err = br.ReadBatch(buf, frames[:0])
			if err != nil {
				break
			}
		}
		s.Close()
	}
}

// ReadBatch reads classic pcap files of both byte orders and resolutions
// as Next does (the corpus has only little-endian ones).
func TestReadBatchByteOrders(t *testing.T) {
	pkts := testPackets(200, 9)
	for _, f := range []format{pcapMicroLE, pcapNanoLE, pcapMicroBE, pcapNanoBE} {
		path := writeFile(t, t.TempDir(), f, 1, pkts)
		a, err := OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		br, ok := AsBatchReader(a)
		if !ok {
			t.Fatalf("%s: no batch reader", f)
		}
		b, _ := OpenFile(path)
		fa, ea := readAllBatches(t, br, 8<<10)
		fb, eb := readAllNext(t, b)
		if len(fa) != len(pkts) {
			t.Fatalf("%s: %d frames, want %d", f, len(fa), len(pkts))
		}
		compareFrames(t, f.String(), fa, fb, ea, eb)
		for i, p := range pkts {
			want := p.ts.UnixNano()
			if !f.nano() {
				want = p.ts.Truncate(time.Microsecond).UnixNano()
			}
			if fa[i].TS != want || fa[i].WireLen != p.wire || len(fa[i].Data) != len(p.data) {
				t.Fatalf("%s frame %d: ts %d wire %d len %d, want %d %d %d", f, i, fa[i].TS, fa[i].WireLen,
					len(fa[i].Data), want, p.wire, len(p.data))
			}
		}
		a.Close()
		b.Close()
	}
}
