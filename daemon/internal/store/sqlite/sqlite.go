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
	// Per connection: the busy timeout, durability, LIKE as MySQL's binary
	// collation, immediate write transactions. The file's own settings
	// (auto_vacuum, WAL) are set once below, not by every connection:
	// changing them takes locks that SQLite refuses at once, without its
	// busy timeout, while another process (a second sensor, a restart that
	// overlaps the old daemon) sets up or migrates the same file.
	dsn := path + "?_busy_timeout=10000&_synchronous=NORMAL" +
		"&_txlock=immediate&_pragma=case_sensitive_like(1)&_pragma=foreign_keys(0)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("storage.path %q: %w", path, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var mode string
	err = retryBusy(pctx, func() error {
		conn, err := db.Conn(pctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		// auto_vacuum first: the first table or the switch to WAL fixes it.
		if _, err := conn.ExecContext(pctx, "PRAGMA auto_vacuum = INCREMENTAL"); err != nil {
			return err
		}
		return conn.QueryRowContext(pctx, "PRAGMA journal_mode = WAL").Scan(&mode)
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("storage.path %q: open SQLite database: %w", path, err)
	}
	if mode != "wal" {
		db.Close()
		return nil, fmt.Errorf("storage.path %q: SQLite database in journal mode %q, not WAL", path, mode)
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(10 * time.Minute)
	return sqldb.New(db, sqldb.SQLite, sqldb.Options{}), nil
}

// retryBusy runs f until it does not fail with SQLITE_BUSY, or ctx ends.
func retryBusy(ctx context.Context, f func() error) error {
	for {
		err := f()
		var e interface{ Code() int }
		if err == nil || !errors.As(err, &e) || e.Code()&0xff != sqliteBusy {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// sqliteBusy is SQLITE_BUSY, the primary code of "database is locked".
const sqliteBusy = 5
