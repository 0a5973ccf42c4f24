//go:build !mips && !mipsle

package sqlite

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
)

// TestOpenConcurrently: several daemons (two sensors, or a restart that
// overlaps the old process) open a new database file at the same moment
// and write to it at once. Every Open succeeds: setting a connection up
// (auto_vacuum, WAL) can meet another connection's lock that SQLite
// reports at once, without its busy timeout.
func TestOpenConcurrently(t *testing.T) {
	for round := range 40 {
		path := filepath.Join(t.TempDir(), "tamon.db")
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db, err := Open(context.Background(), path)
				if err != nil {
					errs[i] = err
					return
				}
				defer db.Close()
				// As the store's migration does, while others still open.
				_, errs[i] = db.SQL().Exec("CREATE TABLE IF NOT EXISTS t (x INTEGER); INSERT INTO t VALUES (1)")
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, open %d: %v", round, i, err)
			}
		}
	}
}
