//go:build !mips && !mipsle

package sqldb

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// TestVisitsBound: Visits answers at most its bound of rows and refuses
// (ErrFilter) a query that has more. The bound is MaxVisitBuckets; the
// cases use a small one, as Visits does through visits. (TestVisits in
// package store checks the rows themselves, on both dialects.)
func TestVisitsBound(t *testing.T) {
	db, sdb := openSQLite(t)
	ctx := context.Background()
	// 50 lookups, 1 ms apart: one row each at a 1 ms step; and 50 sessions
	// 1 ms apart, in other rows.
	const t0, n, bound = int64(1_750_000_000_000), 50, 60
	if _, err := sdb.ExecContext(ctx, `WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < ?)
		INSERT INTO dns (run, seq, sensor, ts, client_mac, query, qtype, rcode, answers)
		SELECT 1, x, 'r', ? + x, '02:00:00:00:00:01', 'example.com', 'A', 'NOERROR', '[]' FROM c`, n-1, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := sdb.ExecContext(ctx, `WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < ?)
		INSERT INTO sessions (run, seq, sensor, start_ts, end_ts, client_mac, host, timeline)
		SELECT 2, x, 'r', ? + x, ? + x, '02:00:00:00:00:01', 'example.com', '[]' FROM c`, n-1, t0, t0); err != nil {
		t.Fatal(err)
	}
	mac := []string{"02:00:00:00:00:01"}
	cases := []struct {
		name string
		f    Filter
		rows int // -1: ErrFilter
	}{
		{"exactly the bound", Filter{MAC: mac, To: t0 + 30}, 60},
		{"above the bound", Filter{MAC: mac}, -1},
		{"a few", Filter{MAC: mac, From: t0 + 10, To: t0 + 13}, 6},
	}
	for _, tc := range cases {
		got, err := db.visits(ctx, time.Millisecond, tc.f, bound)
		if tc.rows < 0 {
			if !errors.Is(err, ErrFilter) || !errors.Is(err, ErrTooMany) || got != nil || !strings.Contains(err.Error(), "more than 60 rows") {
				t.Errorf("%s: %d rows, err %v; want ErrFilter", tc.name, len(got), err)
			}
			continue
		}
		if err != nil || len(got) != tc.rows {
			t.Errorf("%s: %d rows, err %v; want %d", tc.name, len(got), err, tc.rows)
		}
	}
	// Visits uses MaxVisitBuckets: all 100 rows.
	if got, err := db.Visits(ctx, time.Millisecond, Filter{MAC: mac}); err != nil || len(got) != 2*n {
		t.Errorf("Visits: %d rows, err %v; want %d", len(got), err, 2*n)
	}
}
