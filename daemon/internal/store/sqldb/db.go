// Package sqldb is the SQL layer shared by tamon's database drivers: the
// schema and its migrations, batched inserts that never write a record
// twice, retention deletes, and the queries the API needs, written once for
// two dialects (MySQL/MariaDB and SQLite) so that both give the same
// results. Packages store/mysql and store/sqlite open a connection and hand
// it to New; package store drives the result.
//
// # Tables
//
// One table per record kind (sessions, dns, http, tls, icmp, apps, devices)
// with the record's field names as columns, an id key, and indexes for the
// API's filters: time, client_mac + time, host, app. Lists inside records
// (answers, timeline, ipv4, ipv6) are JSON text, the same text as in JSON
// Lines. Text is utf8mb4 with a binary collation on MySQL, so that both
// dialects compare and sort text the same way (byte order, case-sensitive).
//
// # Exactly once
//
// Every record but a device carries a stamp (run, seq) with a unique key:
// run identifies the writer that accepted the record, seq its position
// there. Writing a batch again after an unknown outcome (a connection lost
// during COMMIT) or replaying a spool inserts nothing twice. Devices are
// keyed by (sensor, mac) and upserted; the row keeps the values of the
// update with the newest last_seen, so applying updates again or out of
// order changes nothing.
//
// # Fitting values
//
// A value too long for its column is cut (text at a character boundary, a
// JSON list by whole elements), a counter above BIGINT is clamped, and
// invalid UTF-8 is replaced by U+FFFD as the JSON encoder does; each is
// counted in InsertResult, never rejected with its batch.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"tamon/daemon/internal/record"
)

// ErrRejected marks an insert error where the database refused the data
// itself (as opposed to being unreachable): retrying the same rows cannot
// succeed. Drivers classify their errors with Options.Rejected.
var ErrRejected = errors.New("database rejected the rows")

// Entry is a record with its write stamp. (Run, Seq) is unique across every
// writer: Run identifies the writer (a random number per store instance),
// Seq counts its records.
type Entry struct {
	Run, Seq int64
	Rec      record.Record
}

// InsertResult counts what an InsertBatch did.
type InsertResult struct {
	Inserted   int // new rows (devices: rows inserted or updated)
	Duplicates int // entries already in the table (written before)
	Truncated  int // values cut or clamped to fit their column
	Repaired   int // values whose invalid UTF-8 was replaced
}

// Options tune a DB.
type Options struct {
	// Rejected reports whether err means the database refused the data (a
	// data or constraint error) rather than failed to take it. Nil: never.
	Rejected func(err error) bool
	// ChunkRows caps the rows of one INSERT statement (default 500).
	ChunkRows int
	// Database is the database (schema) name on MySQL, for the migration
	// lock and the size query.
	Database string
}

// DB is a tamon database. It is safe for concurrent use; it owns the
// *sql.DB handed to New and closes it in Close.
type DB struct {
	sql     *sql.DB
	dialect Dialect
	opt     Options
	tables  [record.KindDevice + 1]*table
	now     func() time.Time

	stmtMu sync.Mutex
	stmts  [record.KindDevice + 1]*sql.Stmt // full-chunk INSERT per kind, prepared once
}

// New wraps an open database of the given dialect. It does not touch the
// database: call Migrate before anything else.
func New(db *sql.DB, d Dialect, opt Options) *DB {
	if opt.ChunkRows <= 0 {
		opt.ChunkRows = 500
	}
	return &DB{sql: db, dialect: d, opt: opt, tables: tables(), now: time.Now}
}

// Dialect returns the database's dialect.
func (db *DB) Dialect() Dialect { return db.dialect }

// SQL returns the underlying database handle (for tools and tests).
func (db *DB) SQL() *sql.DB { return db.sql }

// Close closes the database.
func (db *DB) Close() error {
	db.stmtMu.Lock()
	for i, st := range db.stmts {
		if st != nil {
			st.Close()
			db.stmts[i] = nil
		}
	}
	db.stmtMu.Unlock()
	return db.sql.Close()
}

// fullStmt returns the prepared INSERT of a full chunk into t. The server
// parses it once per connection; each execution sends the values in the
// binary protocol, which costs the server less than parsing literals.
func (db *DB) fullStmt(ctx context.Context, t *table, chunk int) (*sql.Stmt, error) {
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	if st := db.stmts[t.kind]; st != nil {
		return st, nil
	}
	st, err := db.sql.PrepareContext(ctx, db.insertSQL(t, chunk))
	if err != nil {
		return nil, err
	}
	db.stmts[t.kind] = st
	return st, nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.sql.PingContext(ctx) }

// TableName returns the table of kind k ("" for an unknown kind).
func TableName(k record.Kind) string {
	if t := tables()[kindIndex(k)]; t != nil {
		return t.name
	}
	return ""
}

func kindIndex(k record.Kind) int {
	if k > record.KindDevice {
		return 0
	}
	return int(k)
}

func (db *DB) table(k record.Kind) (*table, error) {
	if t := db.tables[kindIndex(k)]; t != nil {
		return t, nil
	}
	return nil, fmt.Errorf("no table for record kind %d", k)
}

// Columns returns the columns of kind k's table in record field order, as
// in JSON Lines (without id).
func Columns(k record.Kind) []string {
	t := tables()[kindIndex(k)]
	if t == nil {
		return nil
	}
	out := make([]string, len(t.cols))
	for i, c := range t.cols {
		out[i] = c.name
	}
	return out
}

// AppendText appends the values of rec as the database stores them (fitted
// to their columns), as text in Columns order: for CSV.
func AppendText(dst []string, rec record.Record) []string {
	t := tables()[kindIndex(rec.Kind())]
	if t == nil {
		return dst
	}
	w := rowArgs{cols: t.cols}
	t.put(&w, rec)
	return formatText(dst, w.args)
}

// Migrate creates and upgrades the schema: it applies, in order, every
// migration not yet listed in schema_migrations. Two processes migrating
// the same database at once are serialised (GET_LOCK on MySQL, an
// immediate transaction on SQLite), so each step runs once.
func (db *DB) Migrate(ctx context.Context) error {
	if db.dialect == MySQL {
		return db.migrateMySQL(ctx)
	}
	return db.migrateSQLite(ctx)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (db *DB) applyMigrations(ctx context.Context, ex execer) error {
	if _, err := ex.ExecContext(ctx, migrationsDDL(db.dialect)); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	rows, err := ex.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	done := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		done[v] = true
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	for _, m := range migrations() {
		if done[m.version] {
			continue
		}
		for _, stmt := range m.stmts(db.dialect, db.tables) {
			if _, err := ex.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migration %d (%s): %s: %w", m.version, m.name, firstLine(stmt), err)
			}
		}
		if _, err := ex.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			m.version, m.name, db.now().UnixMilli()); err != nil {
			return fmt.Errorf("migration %d (%s): record it: %w", m.version, m.name, err)
		}
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func (db *DB) migrateMySQL(ctx context.Context) error {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: connect: %w", err)
	}
	defer conn.Close()
	// GET_LOCK names are server-wide: qualify with the database.
	lock := "tamon.migrate." + db.opt.Database
	if len(lock) > 64 {
		lock = lock[:64]
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 60)", lock).Scan(&got); err != nil {
		return fmt.Errorf("migrate: take lock %q: %w", lock, err)
	}
	if !got.Valid || got.Int64 != 1 {
		return fmt.Errorf("migrate: lock %q still held by another process after 60 s", lock)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK(?)", lock) //nolint:errcheck // the lock also ends with the connection
	if err := db.applyMigrations(ctx, conn); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

func (db *DB) migrateSQLite(ctx context.Context) error {
	// The driver begins transactions IMMEDIATE (see store/sqlite): the
	// write lock is taken before schema_migrations is read.
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	if err := db.applyMigrations(ctx, tx); err != nil {
		tx.Rollback()
		return fmt.Errorf("migrate: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}

// Version returns the newest applied migration.
func (db *DB) Version(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := db.sql.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return int(v.Int64), nil
}

// chunkRows is the number of rows of one INSERT of table t: at most
// opt.ChunkRows, and within SQLite's 32,766 parameters.
func (db *DB) chunkRows(t *table) int {
	n := db.opt.ChunkRows
	per := len(t.cols) + 2
	if maxRows := 32766 / per; n > maxRows {
		n = maxRows
	}
	return n
}

// insertSQL returns the INSERT statement of n rows into t.
func (db *DB) insertSQL(t *table, n int) string {
	var b strings.Builder
	b.Grow(64 + n*(3*len(t.cols)+12))
	b.WriteString("INSERT INTO ")
	b.WriteString(t.name)
	b.WriteString(" (")
	row := "("
	if t.stamped {
		b.WriteString("run, seq, ")
		row += "?,?,"
	}
	for i, c := range t.cols {
		if i > 0 {
			b.WriteString(", ")
			row += ","
		}
		b.WriteString(c.name)
		row += "?"
	}
	row += ")"
	b.WriteString(") VALUES ")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	switch {
	case t.stamped && db.dialect == MySQL:
		b.WriteString(" ON DUPLICATE KEY UPDATE id = id")
	case t.stamped:
		b.WriteString(" ON CONFLICT (run, seq) DO NOTHING")
	default:
		b.WriteString(db.deviceUpsert(t))
	}
	return b.String()
}

// deviceUpsert is the conflict clause of devices: the update with the
// newest last_seen wins each column, first_seen keeps the oldest.
func (db *DB) deviceUpsert(t *table) string {
	var b strings.Builder
	if db.dialect == MySQL {
		// MySQL assigns left to right and later assignments see earlier
		// ones: last_seen goes last so that every test compares with the
		// row's old value.
		b.WriteString(" ON DUPLICATE KEY UPDATE ")
		for _, c := range t.cols {
			switch c.name {
			case "sensor", "mac", "last_seen":
				continue
			case "first_seen":
				b.WriteString("first_seen = LEAST(first_seen, VALUES(first_seen)), ")
			default:
				fmt.Fprintf(&b, "%s = IF(VALUES(last_seen) >= last_seen, VALUES(%s), %s), ", c.name, c.name, c.name)
			}
		}
		b.WriteString("last_seen = GREATEST(last_seen, VALUES(last_seen))")
		return b.String()
	}
	b.WriteString(" ON CONFLICT (sensor, mac) DO UPDATE SET ")
	first := true
	for _, c := range t.cols {
		if c.name == "sensor" || c.name == "mac" {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		switch c.name {
		case "first_seen":
			b.WriteString("first_seen = MIN(first_seen, excluded.first_seen)")
		case "last_seen":
			b.WriteString("last_seen = MAX(last_seen, excluded.last_seen)")
		default:
			fmt.Fprintf(&b, "%s = CASE WHEN excluded.last_seen >= last_seen THEN excluded.%s ELSE %s END", c.name, c.name, c.name)
		}
	}
	return b.String()
}

// InsertBatch writes entries, all of kind k, in one transaction of
// multi-row INSERTs of at most Options.ChunkRows rows each. Entries already
// in the table are skipped (see the package doc). On error nothing is
// written, or, when the error came while committing, perhaps everything:
// writing the same entries again is always safe. An error wrapping
// ErrRejected means the database refused the data.
func (db *DB) InsertBatch(ctx context.Context, k record.Kind, entries []Entry) (InsertResult, error) {
	var res InsertResult
	t, err := db.table(k)
	if err != nil {
		return res, err
	}
	if len(entries) == 0 {
		return res, nil
	}
	chunk := db.chunkRows(t)
	w := rowArgs{cols: t.cols}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return res, db.classify(fmt.Errorf("insert into %s: begin: %w", t.name, err))
	}
	// MySQL: full chunks through a prepared statement (see fullStmt).
	prepared := db.dialect == MySQL
	fullSQL := ""
	for i := 0; i < len(entries); i += chunk {
		part := entries[i:min(i+chunk, len(entries))]
		w.args = w.args[:0]
		for _, e := range part {
			if t.stamped {
				w.args = append(w.args, e.Run, e.Seq)
			}
			w.i = 0
			if !t.put(&w, e.Rec) {
				tx.Rollback()
				return InsertResult{}, fmt.Errorf("insert into %s: record of kind %s", t.name, e.Rec.Kind())
			}
		}
		var r sql.Result
		var err error
		if len(part) == chunk && prepared {
			var st *sql.Stmt
			st, err = db.fullStmt(ctx, t, chunk)
			if err == nil {
				r, err = tx.StmtContext(ctx, st).ExecContext(ctx, w.args...)
			}
		} else {
			var q string
			if len(part) == chunk {
				if fullSQL == "" {
					fullSQL = db.insertSQL(t, chunk)
				}
				q = fullSQL
			} else {
				q = db.insertSQL(t, len(part))
			}
			r, err = tx.ExecContext(ctx, q, w.args...)
		}
		if err != nil {
			tx.Rollback()
			return InsertResult{}, db.classify(fmt.Errorf("insert %d rows into %s: %w", len(part), t.name, err))
		}
		if t.stamped {
			n, err := r.RowsAffected()
			if err != nil {
				tx.Rollback()
				return InsertResult{}, fmt.Errorf("insert %d rows into %s: rows affected: %w", len(part), t.name, err)
			}
			res.Inserted += int(n)
			res.Duplicates += len(part) - int(n)
		} else {
			res.Inserted += len(part)
		}
	}
	if err := tx.Commit(); err != nil {
		return InsertResult{}, db.classify(fmt.Errorf("insert %d rows into %s: commit: %w", len(entries), t.name, err))
	}
	res.Truncated, res.Repaired = w.truncated, w.repaired
	return res, nil
}

func (db *DB) classify(err error) error {
	if db.opt.Rejected != nil && db.opt.Rejected(err) {
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	return err
}
