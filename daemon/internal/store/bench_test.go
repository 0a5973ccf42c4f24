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

// BenchmarkSeriesDay is GET /series over a LAN's day: 50,000 sessions,
// summed per 5 minutes by the database (series), against reading every
// row of the range, as the API did before (rows).
func BenchmarkSeriesDay(b *testing.B) {
	for _, be := range backends() {
		s := openStore(b, be.cfg(b))
		const n = 50000
		for c := 0; c < n; c += 1000 {
			recs := make([]record.Record, 0, 1000)
			for i := c; i < c+1000; i++ {
				recs = append(recs, &record.Session{Sensor: "r1", Proto: "tcp", ClientMAC: mac(i % 16),
					ClientIP: "192.0.2.10", ServerIP: "198.51.100.7", ClientPort: 50000, ServerPort: 443,
					StartTS: t0 + int64(i)*1700, EndTS: t0 + int64(i)*1700 + 500, BytesUp: 1000, BytesDown: 9000,
					PktsUp: 10, PktsDown: 12, Host: "www.example.org", EndReason: "fin", Timeline: make([]record.Step, 32)})
			}
			if err := s.Write(recs); err != nil {
				b.Fatal(err)
			}
			flush(b, s)
		}
		f := Filter{From: t0, To: t0 + 86_400_000}
		b.Run(be.name+"/series", func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Series(context.Background(), 5*time.Minute, "", f); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(be.name+"/rows", func(b *testing.B) {
			for b.Loop() {
				ff := f
				ff.Sort, ff.Limit = "time", 5000
				for {
					next, err := s.List(context.Background(), record.KindSession, ff, func(Row) error { return nil })
					if err != nil {
						b.Fatal(err)
					}
					if next == "" {
						break
					}
					ff.After = next
				}
			}
		})
	}
}
