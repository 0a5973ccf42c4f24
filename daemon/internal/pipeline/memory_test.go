package pipeline

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"tamon/daemon/internal/benchgen"
	"tamon/daemon/internal/capture"
	"tamon/daemon/internal/devices"
	"tamon/daemon/internal/flow"
	"tamon/daemon/internal/record"
)

// TestHeapPerOpenSession measures what one more open session costs the
// whole engine (session table, timeline, dissector state, device
// inventory), not only the session table: the live heap once every packet
// was processed and every session is still open (the source then holds
// back its end, as a quiet live link would), for two numbers of open TLS
// sessions (handshake, ClientHello, ServerHello, never closed); the
// difference divided by the difference in sessions is the marginal cost,
// free of fixed costs. The engine issue's budget is 400 bytes.
// (TestBytesPerSession in package flow bounds the table's part.)
func TestHeapPerOpenSession(t *testing.T) {
	dir := t.TempDir()
	heap := func(n int) uint64 {
		path := filepath.Join(dir, "open.pcap")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		bw := bufio.NewWriter(f)
		if _, err := benchgen.OpenSessions(bw, n, 1); err != nil {
			t.Fatal(err)
		}
		if err := bw.Flush(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		file, err := capture.OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		defer file.Close()
		src := &heldEOF{Source: file, release: make(chan struct{})}
		tlsRecords := make(chan struct{}, n)
		sink := SinkFunc(func(rs []record.Record) error {
			for _, r := range rs {
				if _, ok := r.(*record.TLS); ok {
					tlsRecords <- struct{}{}
				}
			}
			return nil
		})
		fc := flow.DefaultConfig()
		fc.MaxFlows = 200_000
		e := New(Config{Sensor: "t", Workers: 2, Flow: fc, Devices: devices.New(devices.Config{Sensor: "t"})}, sink)
		done := make(chan error, 1)
		go func() { done <- e.Run(context.Background(), src) }()
		// Each session's last packet is its ServerHello, which completes
		// its TLS record: n records mean every packet was processed.
		for range n {
			select {
			case <-tlsRecords:
			case err := <-done:
				t.Fatalf("engine ended before %d TLS records: %v", n, err)
			}
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if open := e.Stats().Flow.Open; open != uint64(n) {
			t.Fatalf("%d sessions open, want %d", open, n)
		}
		close(src.release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return ms.HeapAlloc
	}
	// Both below the dissector's limit of application states (maxApps per
	// worker), so that every session has one.
	const small, large = 5_000, 15_000
	h1, h2 := heap(small), heap(large)
	per := (float64(h2) - float64(h1)) / (large - small)
	t.Logf("live heap at end of input: %d open sessions %.1f MB, %d open sessions %.1f MB: %.0f bytes per open session",
		small, float64(h1)/1e6, large, float64(h2)/1e6, per)
	if per > 400 {
		t.Errorf("%.0f bytes per open session, budget 400", per)
	}
}

// heldEOF is a source that, at the end of its file, reports a quiet link
// (capture.ErrTimeout, as a live source does) until release is closed, and
// only then io.EOF.
type heldEOF struct {
	capture.Source
	release chan struct{}
}

func (h *heldEOF) Next(f *capture.Frame) error {
	err := h.Source.Next(f)
	if !errors.Is(err, io.EOF) {
		return err
	}
	select {
	case <-h.release:
		return err
	case <-time.After(time.Millisecond):
		return capture.ErrTimeout
	}
}
