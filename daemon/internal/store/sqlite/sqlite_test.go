//go:build !mips && !mipsle

package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "dir", "tamon.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	var mode string
	var vacuum, csl int
	q := db.SQL()
	if err := q.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q, %v", mode, err)
	}
	if err := q.QueryRow("PRAGMA auto_vacuum").Scan(&vacuum); err != nil || vacuum != 2 {
		t.Errorf("auto_vacuum %d, %v", vacuum, err)
	}
	// LIKE is case-sensitive, as MySQL's binary collation.
	if err := q.QueryRow("SELECT 'ABC' LIKE 'abc'").Scan(&csl); err != nil || csl != 0 {
		t.Errorf("'ABC' LIKE 'abc' = %d, %v: want case-sensitive", csl, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("database file: %v, %v: want mode 0600", fi.Mode(), err)
	}
	if !Available {
		t.Error("Available false in a build with SQLite")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o600)
	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 1000)), 0o600)
	for _, tt := range []struct{ path, want string }{
		{"", "storage.path is empty"},
		{filepath.Join(dir, "a?b.db"), "not allowed"},
		{filepath.Join(file, "x.db"), "create its folder"},
		{garbage, "storage.path"},
	} {
		db, err := Open(context.Background(), tt.path)
		if err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", tt.path)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%q): %v, want %q", tt.path, err, tt.want)
		}
	}
}
