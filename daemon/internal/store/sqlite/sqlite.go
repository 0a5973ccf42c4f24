//go:build !mips && !mipsle

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers driver "sqlite"

	"tamon/daemon/internal/store/sqldb"
)

// Available reports whether this build has SQLite.
const Available = true

// Open opens (creating it and its folder when missing) the database file
// at path. Errors name storage.path.
func Open(ctx context.Context, path string) (*sqldb.DB, error) {
	if path == "" {
		return nil, errors.New("storage.path is empty: name the SQLite file")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("storage.path %q: '?' and '#' are not allowed in the file name", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("storage.path %q: create its folder: %w", path, err)
	}
	// The records are the LAN's browsing history: readable by root only.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600); err == nil {
		f.Close()
	}
	dsn := path + "?_busy_timeout=10000&_auto_vacuum=INCREMENTAL&_journal_mode=WAL&_synchronous=NORMAL" +
		"&_txlock=immediate&_pragma=case_sensitive_like(1)&_pragma=foreign_keys(0)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("storage.path %q: %w", path, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("storage.path %q: open SQLite database: %w", path, err)
	}
	var mode string
	if err := db.QueryRowContext(pctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		db.Close()
		return nil, fmt.Errorf("storage.path %q: not a SQLite database: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(10 * time.Minute)
	return sqldb.New(db, sqldb.SQLite, sqldb.Options{}), nil
}
