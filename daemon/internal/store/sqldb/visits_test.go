//go:build !mips && !mipsle

package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// TestVisitsBound: Visits answers at most MaxVisitBuckets rows and refuses
// (ErrFilter) a query that has more. (TestVisits in package store checks
// the rows themselves, on both dialects.)
func TestVisitsBound(t *testing.T) {
	sdb, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "t.db")+"?_txlock=immediate&_pragma=case_sensitive_like(1)")
	if err != nil {
		t.Fatal(err)
	}
	db := New(sdb, SQLite, Options{})
	defer db.Close()
	ctx := context.Background()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// MaxVisitBuckets+1 lookups, 1 ms apart: one row each at a 1 ms step.
	const t0 = int64(1_750_000_000_000)
	if _, err := sdb.ExecContext(ctx, `WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < ?)
		INSERT INTO dns (run, seq, sensor, ts, client_mac, query, qtype, rcode, answers)
		SELECT 1, x, 'r', ? + x, '02:00:00:00:00:01', 'example.com', 'A', 'NOERROR', '[]' FROM c`, MaxVisitBuckets, t0); err != nil {
		t.Fatal(err)
	}
	mac := []string{"02:00:00:00:00:01"}
	cases := []struct {
		name  string
		f     Filter
		rows  int
		wantE bool
	}{
		{"exactly the bound", Filter{MAC: mac, To: t0 + MaxVisitBuckets}, MaxVisitBuckets, false},
		{"one row more", Filter{MAC: mac}, 0, true},
		{"a few", Filter{MAC: mac, From: t0 + 10, To: t0 + 13}, 3, false},
	}
	for _, tc := range cases {
		got, err := db.Visits(ctx, time.Millisecond, tc.f)
		if tc.wantE {
			if !errors.Is(err, ErrFilter) || got != nil {
				t.Errorf("%s: %d rows, err %v; want ErrFilter", tc.name, len(got), err)
			}
			continue
		}
		if err != nil || len(got) != tc.rows {
			t.Errorf("%s: %d rows, err %v; want %d", tc.name, len(got), err, tc.rows)
		}
	}
}
