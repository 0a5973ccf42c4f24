package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"tamon/daemon/internal/record"
)

// failAfter is a writer that fails once it has taken n bytes.
type failAfter struct {
	n   int
	buf bytes.Buffer
}

func (f *failAfter) Write(p []byte) (int, error) {
	if f.buf.Len()+len(p) > f.n {
		return 0, errors.New("disk full")
	}
	return f.buf.Write(p)
}

func TestJSONSink(t *testing.T) {
	batch := func(from, n int) []record.Record {
		var rs []record.Record
		for i := from; i < from+n; i++ {
			rs = append(rs, &record.DNS{Sensor: "t", TS: int64(i), Query: fmt.Sprintf("q%d.example", i)})
		}
		return rs
	}
	tests := []struct {
		name      string
		limit     int // bytes the writer takes before it fails; 0: no limit
		flushEach bool
		batches   int
		wantErr   bool
	}{
		{"many batches, in order", 0, false, 40, false},
		{"flush after each batch", 0, true, 5, false},
		{"writer fails", 2000, true, 40, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &failAfter{n: 1 << 30}
			if tt.limit > 0 {
				w.n = tt.limit
			}
			out := bufio.NewWriterSize(w, 512)
			s := newJSONSink(out, tt.flushEach)
			var firstErr error
			for b := range tt.batches {
				recs := batch(b*10, 10)
				err := s.Write(recs)
				clear(recs) // the caller reuses its slice: the sink must have copied it
				if err != nil && firstErr == nil {
					firstErr = err
				}
			}
			cerr := s.Close()
			if cerr == nil && !tt.wantErr {
				cerr = out.Flush()
			}
			if tt.wantErr {
				if cerr == nil {
					t.Fatal("Close: no error from a failing writer")
				}
				return
			}
			if cerr != nil || firstErr != nil {
				t.Fatalf("Write %v, Close %v", firstErr, cerr)
			}
			lines := strings.Split(strings.TrimSuffix(w.buf.String(), "\n"), "\n")
			if len(lines) != tt.batches*10 {
				t.Fatalf("%d lines, want %d", len(lines), tt.batches*10)
			}
			for i, l := range lines {
				if !strings.Contains(l, fmt.Sprintf(`"query":"q%d.example"`, i)) {
					t.Fatalf("line %d out of order: %s", i, l)
				}
			}
			if err := s.Write(batch(0, 1)); err == nil {
				t.Error("Write after Close succeeded")
			}
		})
	}
}
