//go:build !mips && !mipsle

package sqldb

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"
)

// openSQLite returns a migrated DB on a new SQLite file, with the
// connection options the sqlite driver package uses, and the *sql.DB under
// it for tests that write rows directly. The DB is closed at the end of
// the test.
func openSQLite(t *testing.T) (*DB, *sql.DB) {
	t.Helper()
	sdb, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "t.db")+"?_txlock=immediate&_pragma=case_sensitive_like(1)")
	if err != nil {
		t.Fatal(err)
	}
	db := New(sdb, SQLite, Options{})
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db, sdb
}
