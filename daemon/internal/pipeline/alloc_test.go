package pipeline_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"tamon/daemon/internal/appid"
	"tamon/daemon/internal/benchgen"
	"tamon/daemon/internal/capture"
	"tamon/daemon/internal/pipeline"
	"tamon/daemon/internal/record"
)

// TestEngineAllocations runs the engine (decode, sessions, DNS, TLS, HTTP,
// QUIC, ICMP, app signatures, records, name map) over a generated home-LAN
// mix and bounds the heap allocations per packet: records are built in
// arenas, so the engine allocates far less than once per packet (decode and
// the session table allocate nothing: see their own tests). The device
// inventory is left out here: it allocates once per new device, name and
// day, which a 200k-packet capture is mostly made of (see BENCHMARKS.md for
// the whole daemon).
func TestEngineAllocations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mix.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	st, err := benchgen.Mix(w, benchgen.Options{Packets: 200000, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	w.Flush()
	f.Close()
	rules, _, err := appid.Load("../../../features.txt")
	if err != nil {
		t.Fatal(err)
	}
	run := func() ([]record.Record, pipeline.Stats, error) {
		src, err := capture.OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		var recs []record.Record
		e := pipeline.New(pipeline.Config{Sensor: "t", Workers: 2, Apps: rules},
			pipeline.SinkFunc(func(rs []record.Record) error { recs = append(recs, rs...); return nil }))
		err = e.Run(context.Background(), src)
		return recs, e.Stats(), err
	}
	run() // warm up: code paths, pools
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	recs, stats, err := run()
	runtime.ReadMemStats(&m1)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Frames != uint64(st.Packets) || len(recs) == 0 {
		t.Fatalf("read %d of %d frames, %d records", stats.Frames, st.Packets, len(recs))
	}
	// The test's own sink appends every record to a slice: subtract
	// nothing, it only makes the bound stricter.
	per := float64(m1.Mallocs-m0.Mallocs) / float64(stats.Frames)
	t.Logf("%d frames, %d records, %.4f allocations per packet", stats.Frames, len(recs), per)
	if per > 0.1 {
		t.Fatalf("%.4f allocations per packet, budget 0.1", per)
	}
}
