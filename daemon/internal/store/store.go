// Package store keeps tamon's records in a database: schema migrations, a
// batching writer that never loses records (memory queue, disk spool,
// replay), retention, and the queries the API needs.
//
// # Writing
//
// Store is the engine's sink. Write stamps each record (see sqldb.Entry)
// and puts it in a bounded memory queue; when the queue is full, or while
// the spool still holds older records, it appends to the spool on disk
// instead. Write never waits for the database. One writer goroutine takes
// the queue, batches records by kind, and writes a batch when it reaches
// Config.BatchRows or its oldest record is Config.FlushEvery old, as
// multi-row INSERTs in one transaction (a backlog goes in transactions of
// up to ten batches: fewer commits). When the database fails, the
// writer retries the batch with backoff (1/4 s doubling to 30 s) while new
// records pile up in the queue and then in the spool; when the database is
// back, it writes the batch, the queue, then the spool, in that order,
// which is the order Write received them (devices excepted: see below).
// Records reach the database exactly once: a batch whose COMMIT was lost
// is written again and the database skips what it has (see package sqldb).
//
// Records are dropped only when the spool reaches Config.SpoolMaxMB (its
// oldest segment goes), or, without a spool, when the queue is full; each
// is counted in Stats.Dropped. A row the database refuses even alone (a
// data error that fitting values did not prevent) is counted in
// Stats.Rejected.
//
// # Closing
//
// Close stops Write, writes what is in memory to the database, and, when
// the database fails or Close's deadline comes near, appends the rest to
// the spool. The next Store on the same spool folder writes it to the
// database before anything newer. Device updates are upserted with
// "newest last_seen wins", so the order they arrive in does not matter.
//
// # Reading
//
// List, Top, Series and Visits answer the API from the database,
// concurrently with writing; see sqldb for what filters match. Both
// drivers give the same results.
//
// # Retention
//
// A purger removes rows older than Config.RetentionDays, counted back from
// the newest record or from now, whichever is earlier (so that loading an
// old capture, or a router clock that starts in 1970, wipes nothing), and,
// when the database is above Config.MaxSizeMB, the oldest rows of the
// table with the oldest data. It deletes 1,000 rows per statement and
// pauses between statements, so writes go on. MySQL reports its size from
// InnoDB statistics, which lag: a purge cycle there deletes at most 50,000
// rows, and the next cycle (5 minutes later) looks again.
package store

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"tamon/daemon/internal/record"
	"tamon/daemon/internal/store/mysql"
	"tamon/daemon/internal/store/spool"
	"tamon/daemon/internal/store/sqldb"
	"tamon/daemon/internal/store/sqlite"
)

// Filter selects rows of a list, top or series (see sqldb.Filter).
type Filter = sqldb.Filter

// Row is one row of a List: its id and record.
type Row = sqldb.Row

// TopItem is one key of Top.
type TopItem = sqldb.TopItem

// Point is one step of Series.
type Point = sqldb.Point

// VisitBucket is one row of Visits.
type VisitBucket = sqldb.VisitBucket

// MaxVisitBuckets bounds the rows of one Visits.
const MaxVisitBuckets = sqldb.MaxVisitBuckets

// ErrFilter marks a query the caller got wrong (the API answers 400).
var ErrFilter = sqldb.ErrFilter

// ErrTooMany marks, besides ErrFilter, a query over its bound of rows
// (Visits): a narrower one may do.
var ErrTooMany = sqldb.ErrTooMany

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("store closed")

// SQLiteAvailable reports whether this build has the SQLite driver (every
// target but mips and mipsle).
const SQLiteAvailable = sqlite.Available

// Driver is what a database driver provides; *sqldb.DB implements it for
// both MySQL and SQLite. Every method is safe for concurrent use.
type Driver interface {
	Dialect() sqldb.Dialect
	// Migrate creates or upgrades the schema; safe when several processes
	// migrate the same database at once.
	Migrate(ctx context.Context) error
	// InsertBatch writes entries of one kind in one transaction of
	// parameterised multi-row INSERTs; entries already written are
	// skipped, so a retry after an unknown outcome is safe.
	InsertBatch(ctx context.Context, kind record.Kind, entries []sqldb.Entry) (sqldb.InsertResult, error)
	List(ctx context.Context, kind record.Kind, f Filter, fn func(Row) error) (next string, err error)
	Top(ctx context.Context, by, metric string, f Filter, n int) ([]TopItem, error)
	Series(ctx context.Context, step time.Duration, by string, f Filter) ([]Point, error)
	Visits(ctx context.Context, step time.Duration, f Filter) ([]VisitBucket, error)
	// TimeRange returns the oldest and newest time of a kind's rows.
	TimeRange(ctx context.Context, kind record.Kind) (oldest, newest int64, ok bool, err error)
	// Purge deletes at most limit rows older than before (Unix ms).
	Purge(ctx context.Context, kind record.Kind, before int64, limit int) (int64, error)
	// PurgeOldest deletes the limit oldest rows.
	PurgeOldest(ctx context.Context, kind record.Kind, limit int) (int64, error)
	// Size returns the bytes the database uses (an estimate on MySQL).
	Size(ctx context.Context) (int64, error)
	// Compact returns free space to the file system where it can.
	Compact(ctx context.Context, pages int) error
	Ping(ctx context.Context) error
	Close() error
}

// *sqldb.DB is the driver of both dialects.
var _ Driver = (*sqldb.DB)(nil)

// Config sets up a Store. Zero values take the defaults named.
type Config struct {
	// Driver is "sqlite" or "mysql"; "" means sqlite where this build has
	// it, else mysql.
	Driver string
	// Path is the SQLite file.
	Path string
	// Host, Port, User, Password and Database reach MySQL (127.0.0.1:3306).
	Host     string
	Port     int
	User     string
	Password string
	Database string
	// RetentionDays: rows older than this go (0: kept forever).
	RetentionDays int
	// MaxSizeMB caps the database size (0: no cap).
	MaxSizeMB int
	// SpoolPath is the spool folder; "" means no spool: records that do
	// not fit the queue are dropped and counted.
	SpoolPath string
	// SpoolMaxMB caps the spool (default 16).
	SpoolMaxMB int
	// BatchRows is the batch size that triggers a write (default 1000).
	BatchRows int
	// FlushEvery is the age that triggers a write (default 1 s on MySQL;
	// 5 s on SQLite, which may sit on flash: fewer, larger commits).
	FlushEvery time.Duration
	// QueueRecords bounds the memory queue (default 10,000 records). The
	// writer holds, besides, the batches it is writing: about BatchRows
	// records per kind, plus one queue's worth.
	QueueRecords int
	// WaitForRoom makes Write wait for room in the queue instead of
	// sending records to the spool (or dropping them): for reading a
	// capture file, where the reader may wait and nothing must be lost.
	// Live capture leaves it false: Write then never waits.
	WaitForRoom bool
	// Logger receives the store's few log lines (nil: none).
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Driver == "" {
		c.Driver = "mysql"
		if sqlite.Available {
			c.Driver = "sqlite"
		}
	}
	if c.SpoolMaxMB <= 0 {
		c.SpoolMaxMB = 16
	}
	if c.BatchRows <= 0 {
		c.BatchRows = 1000
	}
	if c.FlushEvery <= 0 {
		c.FlushEvery = time.Second
		if c.Driver == "sqlite" {
			c.FlushEvery = 5 * time.Second
		}
	}
	if c.QueueRecords <= 0 {
		c.QueueRecords = 10000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// Stats are the store's counters, for the API's status.
type Stats struct {
	Driver       string            `json:"driver"`
	Connected    bool              `json:"connected"`     // the last database operation succeeded
	Queue        int64             `json:"queue"`         // records in memory (queue and batches being written)
	SpoolRecords int64             `json:"spool_records"` // records in the spool, not yet in the database
	SpoolBytes   int64             `json:"spool_bytes"`
	Spooled      uint64            `json:"spooled"`  // records ever sent to the spool
	Replayed     uint64            `json:"replayed"` // records written from the spool
	Dropped      uint64            `json:"dropped"`  // records lost: spool cap reached (or no spool and queue full)
	Rejected     uint64            `json:"rejected"` // records the database refused even alone
	Truncated    uint64            `json:"truncated"`
	Repaired     uint64            `json:"repaired"`   // values with invalid UTF-8 replaced
	Duplicates   uint64            `json:"duplicates"` // records the database already had (retries, replays)
	Retries      uint64            `json:"retries"`
	Purged       uint64            `json:"purged"`        // rows removed by retention
	SpoolCorrupt uint64            `json:"spool_corrupt"` // bytes of damaged spool frames skipped
	LastError    string            `json:"last_error"`
	LastErrorAt  int64             `json:"last_error_at"` // Unix ms
	Rows         map[string]uint64 `json:"rows"`          // rows written per table
}

// Store writes records to a database and answers queries. See the package
// doc. Its methods are safe for concurrent use.
type Store struct {
	cfg Config
	drv Driver
	sp  *spool.Spool
	log *slog.Logger
	run int64
	now func() time.Time

	mu     sync.Mutex
	room   *sync.Cond // on mu: the writer took the queue, or Close began
	seq    int64
	queue  []sqldb.Entry
	over   []sqldb.Entry // Write's buffer for the spool
	closed bool

	wake         chan struct{} // a Write or Flush happened (capacity 1)
	closing      chan struct{} // closed by Close
	opCtx        context.Context
	opCancel     context.CancelFunc // aborts database calls when Close runs out of time
	done         chan struct{}      // the writer ended
	purgeEnd     chan struct{}      // the purger ended
	stopOnce     sync.Once
	purgeStarted atomic.Bool

	// Retention timing (tests shorten it).
	purgeFirst, purgeEvery time.Duration

	down     time.Time    // writer only: when the database started failing
	held     atomic.Int64 // records the writer holds (taken from the queue, not yet written)
	forcing  atomic.Int32 // Flush calls waiting: write batches at once
	conn     atomic.Bool
	counters struct {
		spooled, replayed, dropped, rejected, truncated, repaired, duplicates, retries, purged atomic.Uint64
		rows                                                                                   [record.KindDevice + 1]atomic.Uint64
	}
	errMu     sync.Mutex
	lastErr   string
	lastErrAt time.Time
}

// Open opens the configured database, runs its migrations, opens the spool
// and starts the writer and the purger.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg.setDefaults()
	drv, err := openDriver(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := drv.Migrate(ctx); err != nil {
		drv.Close()
		return nil, fmt.Errorf("storage: %s: %w", cfg.Driver, err)
	}
	s, err := newStore(cfg, drv)
	if err != nil {
		return nil, err
	}
	return s.start(), nil
}

// openDriver connects to the configured database.
func openDriver(ctx context.Context, cfg Config) (Driver, error) {
	switch cfg.Driver {
	case "sqlite":
		db, err := sqlite.Open(ctx, cfg.Path)
		if err != nil {
			return nil, err
		}
		return db, nil
	case "mysql":
		db, err := mysql.Open(ctx, mysql.Config{
			Host: cfg.Host, Port: cfg.Port, User: cfg.User, Password: cfg.Password, Database: cfg.Database,
			Logger: cfg.Logger,
		})
		if err != nil {
			return nil, err
		}
		return db, nil
	}
	return nil, fmt.Errorf("storage.driver %q: not sqlite or mysql", cfg.Driver)
}

// newStore starts a Store on a migrated driver.
func newStore(cfg Config, drv Driver) (*Store, error) {
	cfg.setDefaults()
	s := &Store{
		cfg: cfg, drv: drv, log: cfg.Logger, now: time.Now,
		wake: make(chan struct{}, 1), closing: make(chan struct{}), done: make(chan struct{}), purgeEnd: make(chan struct{}),
		purgeFirst: 30 * time.Second, purgeEvery: 5 * time.Minute,
	}
	if cfg.SpoolPath != "" {
		sp, err := spool.Open(cfg.SpoolPath, int64(cfg.SpoolMaxMB)<<20)
		if err != nil {
			drv.Close()
			return nil, fmt.Errorf("storage: %w", err)
		}
		s.sp = sp
		if st := sp.Stats(); st.Records > 0 {
			s.log.Info("spool holds records from an earlier run; writing them first", "records", st.Records, "bytes", st.Bytes)
		}
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		drv.Close()
		return nil, fmt.Errorf("storage: random writer id: %w", err)
	}
	s.run = int64(binary.LittleEndian.Uint64(b[:])>>1) | 1
	s.room = sync.NewCond(&s.mu)
	s.conn.Store(true)
	s.opCtx, s.opCancel = context.WithCancel(context.Background())
	go s.writer()
	return s, nil
}

// start runs the purger; separate from newStore so that tests can set its
// timing first.
func (s *Store) start() *Store {
	s.purgeStarted.Store(true)
	go s.purger()
	return s
}

// Write hands records to the store. It copies the record pointers (recs
// may be reused by the caller; the records themselves must not change, as
// package record promises) and returns at once, unless Config.WaitForRoom
// is set and the queue is full: database trouble never reaches the
// caller. It fails only after Close.
func (s *Store) Write(recs []record.Record) error {
	if len(recs) == 0 {
		return nil
	}
	s.mu.Lock()
	for len(recs) > 0 {
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		room := 0
		if s.sp == nil || s.sp.Empty() {
			// The queue is older than the spool: it takes records only
			// while the spool is empty, or the order would break.
			room = s.cfg.QueueRecords - len(s.queue)
		}
		i := 0
		for ; i < len(recs) && i < room; i++ {
			s.seq++
			s.queue = append(s.queue, sqldb.Entry{Run: s.run, Seq: s.seq, Rec: recs[i]})
		}
		recs = recs[i:]
		if len(recs) == 0 {
			break
		}
		if s.cfg.WaitForRoom {
			s.signal()
			s.room.Wait()
			continue
		}
		over := s.over[:0]
		for _, r := range recs {
			s.seq++
			over = append(over, sqldb.Entry{Run: s.run, Seq: s.seq, Rec: r})
		}
		s.toSpool(over)
		clear(over)
		s.over = over[:0]
		break
	}
	s.mu.Unlock()
	s.signal()
	return nil
}

// toSpool appends entries to the spool, counting what it cannot keep.
func (s *Store) toSpool(entries []sqldb.Entry) {
	if s.sp == nil {
		s.counters.dropped.Add(uint64(len(entries)))
		return
	}
	n, err := s.sp.Append(entries)
	s.counters.spooled.Add(uint64(n))
	if err != nil {
		s.counters.dropped.Add(uint64(len(entries) - n))
		s.noteErr(err)
	}
}

func (s *Store) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Store) noteErr(err error) {
	s.errMu.Lock()
	s.lastErr, s.lastErrAt = err.Error(), s.now()
	s.errMu.Unlock()
}

// Flush returns once every record written before it is in the database,
// writing batches without waiting for FlushEvery; or when ctx ends, with
// what is left. Under continuous writing it waits until a moment when
// nothing is left.
func (s *Store) Flush(ctx context.Context) error {
	s.forcing.Add(1)
	defer s.forcing.Add(-1)
	s.signal()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.drained() {
			return nil
		}
		select {
		case <-ctx.Done():
			st := s.Stats()
			return fmt.Errorf("flush store: %w (%d records in memory, %d in the spool; last error: %s)", ctx.Err(), st.Queue, st.SpoolRecords, st.LastError)
		case <-s.done:
			if s.drained() {
				return nil
			}
			return fmt.Errorf("flush store: %w", ErrClosed)
		case <-tick.C:
			s.signal()
		}
	}
}

func (s *Store) drained() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue) == 0 && s.held.Load() == 0 && (s.sp == nil || s.sp.Empty())
}

// Close stops Write, then writes what is in memory: to the database while
// it works and ctx leaves time (its deadline less a margin for the spool),
// else to the spool. It returns an error when records had to be dropped
// (no spool, or the spool failed), never silently. The spool's records
// stay for the next Store on the same folder.
func (s *Store) Close(ctx context.Context) error {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.room.Broadcast()
	s.mu.Unlock()
	if already {
		<-s.done
		return nil
	}
	dropped := s.counters.dropped.Load()
	s.stopOnce.Do(func() { close(s.closing) })
	if dl, ok := ctx.Deadline(); ok {
		// Leave a fifth of the time (at most 2 s) to write to the spool.
		margin := min(time.Until(dl)/5, 2*time.Second)
		t := time.AfterFunc(time.Until(dl)-margin, s.opCancel)
		defer t.Stop()
	}
	<-s.done
	<-s.purgeEndOrNone()
	s.opCancel()
	var errs []error
	if s.sp != nil {
		if err := s.sp.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.drv.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close database: %w", err))
	}
	if n := s.counters.dropped.Load() - dropped; n > 0 {
		errs = append(errs, fmt.Errorf("close store: %d records dropped (database unavailable, no room in the spool)", n))
	}
	return errors.Join(errs...)
}

// purgeEndOrNone returns a channel that is closed once the purger ended
// (at once when it never ran).
func (s *Store) purgeEndOrNone() <-chan struct{} {
	if s.purgeStarted.Load() {
		return s.purgeEnd
	}
	ch := make(chan struct{})
	close(ch)
	return ch
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	st := Stats{
		Driver:     s.drv.Dialect().String(),
		Connected:  s.conn.Load(),
		Spooled:    s.counters.spooled.Load(),
		Replayed:   s.counters.replayed.Load(),
		Dropped:    s.counters.dropped.Load(),
		Rejected:   s.counters.rejected.Load(),
		Truncated:  s.counters.truncated.Load(),
		Repaired:   s.counters.repaired.Load(),
		Duplicates: s.counters.duplicates.Load(),
		Retries:    s.counters.retries.Load(),
		Purged:     s.counters.purged.Load(),
		Rows:       make(map[string]uint64, int(record.KindDevice)),
	}
	s.mu.Lock()
	st.Queue = int64(len(s.queue)) + s.held.Load()
	s.mu.Unlock()
	if s.sp != nil {
		sp := s.sp.Stats()
		st.SpoolRecords, st.SpoolBytes, st.SpoolCorrupt = sp.Records, sp.Bytes, sp.Corrupt
		st.Dropped += sp.Dropped
	}
	for k := record.KindSession; k <= record.KindDevice; k++ {
		st.Rows[sqldb.TableName(k)] = s.counters.rows[k].Load()
	}
	s.errMu.Lock()
	st.LastError = s.lastErr
	if !s.lastErrAt.IsZero() {
		st.LastErrorAt = s.lastErrAt.UnixMilli()
	}
	s.errMu.Unlock()
	return st
}

// List streams the rows of kind's table that f selects to fn, and returns
// the cursor of the next page (see sqldb.DB.List).
func (s *Store) List(ctx context.Context, kind record.Kind, f Filter, fn func(Row) error) (next string, err error) {
	return s.drv.List(ctx, kind, f, fn)
}

// Top returns the n devices, apps or hosts with the most bytes or
// sessions (see sqldb.DB.Top).
func (s *Store) Top(ctx context.Context, by, metric string, f Filter, n int) ([]TopItem, error) {
	return s.drv.Top(ctx, by, metric, f, n)
}

// Series returns bytes and sessions per step, split by device, app or host
// or not split (see sqldb.DB.Series).
func (s *Store) Series(ctx context.Context, step time.Duration, by string, f Filter) ([]Point, error) {
	return s.drv.Series(ctx, step, by, f)
}

// Visits returns the sessions (by host) and successful DNS lookups (by
// name) of the devices f selects, per step of time: what a device's
// visited-sites history is made of (see sqldb.DB.Visits).
func (s *Store) Visits(ctx context.Context, step time.Duration, f Filter) ([]VisitBucket, error) {
	return s.drv.Visits(ctx, step, f)
}

// Columns returns the columns of kind's table, in record field order (for
// a CSV header).
func Columns(kind record.Kind) []string { return sqldb.Columns(kind) }

// AppendText appends rec's values as text in Columns order, as the
// database keeps them (for a CSV row).
func AppendText(dst []string, rec record.Record) []string { return sqldb.AppendText(dst, rec) }
