package main

import (
	"bufio"
	"bytes"
	"encoding/json"
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
	tests := []struct {
		name      string
		limit     int // bytes the writer takes before it fails; 0: no limit
		flushEach bool
		batches   int
		wantErr   bool
		bufSize   int // of the bufio.Writer
		pad       int // bytes added to each query name
	}{
		{"many batches, in order", 0, false, 40, false, 512, 0},
		{"flush after each batch", 0, true, 5, false, 512, 0},
		{"writer fails", 2000, true, 40, true, 512, 0},
		// Records encoded in the writer's own buffer, and records longer
		// than the writer's buffer.
		{"records in a large buffer", 0, false, 40, false, 64 << 10, 0},
		{"records longer than the buffer", 0, false, 4, false, 512, 3000},
		{"records longer than the room kept", 0, false, 4, false, 64 << 10, jsonRoom + 100},
	}
	for _, tt := range tests {
		batch := func(from, n int) []record.Record {
			var rs []record.Record
			for i := from; i < from+n; i++ {
				rs = append(rs, &record.DNS{Sensor: "t", TS: int64(i), Query: fmt.Sprintf("q%d.example", i) + strings.Repeat("x", tt.pad)})
			}
			return rs
		}
		t.Run(tt.name, func(t *testing.T) {
			w := &failAfter{n: 1 << 30}
			if tt.limit > 0 {
				w.n = tt.limit
			}
			out := bufio.NewWriterSize(w, tt.bufSize)
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
				if !strings.Contains(l, fmt.Sprintf(`"query":"q%d.example%s"`, i, strings.Repeat("x", tt.pad))) || !json.Valid([]byte(l)) {
					t.Fatalf("line %d out of order: %s", i, l)
				}
			}
			if err := s.Write(batch(0, 1)); err == nil {
				t.Error("Write after Close succeeded")
			}
		})
	}
}
