package pipeline_test

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"tamon/daemon/internal/benchgen"
)

// TestEngineAllocations runs the whole engine (decode, sessions, DNS,
// records, name map) over a generated home-LAN mix and bounds the heap
// allocations per packet: records are built in arenas, so the engine
// allocates far less than once per packet (decode and the session table
// allocate nothing: see their own tests).
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
	runFile(t, path, 2) // warm up: code paths, pools
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	recs, stats, err := runFile(t, path, 2)
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
