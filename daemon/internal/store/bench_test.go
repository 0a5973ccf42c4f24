package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"tamon/daemon/internal/record"
	"tamon/daemon/internal/store/sqldb"
)

// discard is a driver that takes every batch at once.
type discard struct{ Driver }

func (discard) Dialect() sqldb.Dialect { return sqldb.SQLite }
func (discard) InsertBatch(_ context.Context, _ record.Kind, e []sqldb.Entry) (sqldb.InsertResult, error) {
	return sqldb.InsertResult{Inserted: len(e)}, nil
}
func (discard) Close() error { return nil }

// BenchmarkWrite: the engine's side of the sink, with a database that
// keeps up: Write of 64-record batches.
func BenchmarkWrite(b *testing.B) {
	s, err := newStore(Config{Driver: "sqlite", QueueRecords: 1 << 20}, discard{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(context.Background())
	recs := genRecords("r1", 11, t0)[:64]
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Write(recs); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s.Flush(ctx)
	b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkSQLite: session rows per second into SQLite through the store.
func BenchmarkSQLite(b *testing.B) {
	s := openStore(b, Config{Driver: "sqlite", Path: filepath.Join(b.TempDir(), "b.db")})
	var sess []record.Record
	for _, r := range genRecords("r1", 2000, t0) {
		if r.Kind() == record.KindSession {
			sess = append(sess, r)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Write(sess)
		flush(b, s)
	}
	b.ReportMetric(float64(b.N*len(sess))/b.Elapsed().Seconds(), "rows/s")
}
