package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"tamon/daemon/internal/record"
)

// Purge deletes at most limit rows of kind k whose time column is before
// before (Unix ms), and returns how many it deleted. Small limits keep each
// delete short, so that a purge never holds up the writer for long.
func (db *DB) Purge(ctx context.Context, k record.Kind, before int64, limit int) (int64, error) {
	t, err := db.table(k)
	if err != nil {
		return 0, err
	}
	var q string
	if db.dialect == MySQL {
		q = "DELETE FROM " + t.name + " WHERE " + t.timeCol + " < ? LIMIT ?"
	} else {
		q = "DELETE FROM " + t.name + " WHERE id IN (SELECT id FROM " + t.name + " WHERE " + t.timeCol + " < ? LIMIT ?)"
	}
	return db.delete(ctx, t, q, before, limit)
}

// PurgeOldest deletes the limit oldest rows of kind k (by its time column)
// and returns how many it deleted.
func (db *DB) PurgeOldest(ctx context.Context, k record.Kind, limit int) (int64, error) {
	t, err := db.table(k)
	if err != nil {
		return 0, err
	}
	var q string
	if db.dialect == MySQL {
		q = "DELETE FROM " + t.name + " ORDER BY " + t.timeCol + ", id LIMIT ?"
	} else {
		q = "DELETE FROM " + t.name + " WHERE id IN (SELECT id FROM " + t.name + " ORDER BY " + t.timeCol + ", id LIMIT ?)"
	}
	return db.delete(ctx, t, q, limit)
}

func (db *DB) delete(ctx context.Context, t *table, q string, args ...any) (int64, error) {
	res, err := db.sql.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("purge %s: %w", t.name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("purge %s: rows affected: %w", t.name, err)
	}
	return n, nil
}

// TimeRange returns the oldest and newest time of kind k's rows; ok is
// false when the table is empty.
func (db *DB) TimeRange(ctx context.Context, k record.Kind) (oldest, newest int64, ok bool, err error) {
	t, err := db.table(k)
	if err != nil {
		return 0, 0, false, err
	}
	var lo, hi sql.NullInt64
	if err := db.sql.QueryRowContext(ctx, "SELECT MIN("+t.timeCol+"), MAX("+t.timeCol+") FROM "+t.name).Scan(&lo, &hi); err != nil {
		return 0, 0, false, fmt.Errorf("time range of %s: %w", t.name, err)
	}
	return lo.Int64, hi.Int64, lo.Valid, nil
}

// Size returns the bytes the database uses: on SQLite the pages in use
// (free pages excluded); on MySQL data and index length of the database's
// tables from information_schema, an estimate that InnoDB refreshes lazily.
func (db *DB) Size(ctx context.Context) (int64, error) {
	if db.dialect == MySQL {
		var n sql.NullInt64
		err := db.sql.QueryRowContext(ctx, "SELECT SUM(data_length + index_length) FROM information_schema.tables WHERE table_schema = DATABASE()").Scan(&n)
		if err != nil {
			return 0, fmt.Errorf("database size: %w", err)
		}
		return n.Int64, nil
	}
	var pages, free, size int64
	for _, p := range []struct {
		name string
		v    *int64
	}{{"page_count", &pages}, {"freelist_count", &free}, {"page_size", &size}} {
		if err := db.sql.QueryRowContext(ctx, "PRAGMA "+p.name).Scan(p.v); err != nil {
			return 0, fmt.Errorf("database size: %s: %w", p.name, err)
		}
	}
	return (pages - free) * size, nil
}

// Compact gives free pages back to the file system (SQLite in incremental
// auto-vacuum mode, at most pages pages); elsewhere it does nothing.
func (db *DB) Compact(ctx context.Context, pages int) error {
	if db.dialect != SQLite {
		return nil
	}
	// incremental_vacuum returns a row per step: drain it.
	rows, err := db.sql.QueryContext(ctx, "PRAGMA incremental_vacuum("+strconv.Itoa(max(pages, 1))+")")
	if err != nil {
		return fmt.Errorf("incremental vacuum: %w", err)
	}
	for rows.Next() {
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("incremental vacuum: %w", err)
	}
	return rows.Err()
}
