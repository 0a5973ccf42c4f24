package store

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tamon/daemon/internal/record"
	"tamon/daemon/internal/store/sqldb"
)

// proxy is a TCP proxy on loopback between a store and MariaDB. Cut closes
// every connection and refuses new ones (accepts and closes them) until
// Restore: the database looks away without stopping the shared server.
type proxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	up     bool
	conns  map[net.Conn]struct{}
	cuts   int
	closed bool
}

func startProxy(t testing.TB, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, target: target, up: true, conns: map[net.Conn]struct{}{}}
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) port() int { return p.l.Addr().(*net.TCPAddr).Port }

func (p *proxy) accept() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		up := p.up && !p.closed
		p.mu.Unlock()
		if !up {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if !p.up || p.closed {
			p.mu.Unlock()
			c.Close()
			s.Close()
			continue
		}
		p.conns[c], p.conns[s] = struct{}{}, struct{}{}
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			io.Copy(dst, src)
			dst.Close()
			src.Close()
			p.mu.Lock()
			delete(p.conns, dst)
			delete(p.conns, src)
			p.mu.Unlock()
		}
		go pipe(c, s)
		go pipe(s, c)
	}
}

// cut closes every connection and refuses new ones.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = false
	p.cuts++
	for c := range p.conns {
		c.Close()
	}
}

func (p *proxy) restore() {
	p.mu.Lock()
	p.up = true
	p.mu.Unlock()
}

func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.l.Close()
	p.cut()
}

// behindProxy returns a MySQL config for a new test database, reached
// through a proxy.
func behindProxy(t *testing.T) (Config, *proxy) {
	cfg := newDatabase(t)
	p := startProxy(t, net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	cfg.Host, cfg.Port = "127.0.0.1", p.port()
	return cfg, p
}

// checkSet fails unless every table holds the expected rows, each once,
// in any order.
func checkSet(t testing.TB, s *Store, recs []record.Record) {
	t.Helper()
	for _, k := range allKinds {
		want := expectedRows(recs, k)
		got := rowsJSON(listAll(t, s, k, Filter{}))
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			t.Errorf("%s: %s", sqldb.TableName(k), diffLines(want, got))
		}
	}
}

// writer writes recs in small batches at a steady pace until done, and
// returns the records Write accepted.
func writeSteadily(s *Store, recs []record.Record, batch int, pause time.Duration) []record.Record {
	var accepted []record.Record
	for i := 0; i < len(recs); i += batch {
		part := recs[i:min(i+batch, len(recs))]
		if err := s.Write(part); err != nil {
			break
		}
		accepted = append(accepted, part...)
		time.Sleep(pause)
	}
	return accepted
}

// TestOutage: MariaDB goes away twice while records keep coming (its
// connections cut, new ones refused); every record written before, during
// and after arrives exactly once, in order.
func TestOutage(t *testing.T) {
	cfg, p := behindProxy(t)
	cfg.SpoolPath = t.TempDir()
	cfg.FlushEvery = 50 * time.Millisecond
	cfg.BatchRows = 200
	cfg.QueueRecords = 300
	cfg.setDefaults()
	drv, err := openDriver(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	drv.Migrate(context.Background())
	s, err := newStore(cfg, &orderCheck{Driver: drv, t: t, last: map[record.Kind]int64{}})
	s.start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	recs := genRecords("r1", 1500, t0) // 9,500 records
	done := make(chan []record.Record)
	go func() { done <- writeSteadily(s, recs, 25, 3*time.Millisecond) }()
	time.Sleep(300 * time.Millisecond)
	p.cut()
	time.Sleep(700 * time.Millisecond)
	p.restore()
	time.Sleep(300 * time.Millisecond)
	// Cut again, repeatedly and briefly: some cuts land inside a COMMIT.
	for i := 0; i < 5; i++ {
		p.cut()
		time.Sleep(time.Duration(20+i*30) * time.Millisecond)
		p.restore()
		time.Sleep(80 * time.Millisecond)
	}
	accepted := <-done
	if len(accepted) != len(recs) {
		t.Fatalf("Write refused records: %d of %d accepted", len(accepted), len(recs))
	}
	flush(t, s)
	checkContents(t, s, recs)
	st := s.Stats()
	t.Logf("stats: %+v", st)
	if st.Retries == 0 || st.Spooled == 0 || st.Replayed != st.Spooled || st.Dropped != 0 || st.SpoolRecords != 0 {
		t.Errorf("want retries, records through the spool and all replayed, none dropped: %+v", st)
	}
	if !st.Connected || st.LastError == "" {
		t.Errorf("connected %v, last error %q", st.Connected, st.LastError)
	}
}

// TestRestart: SIGTERM during load while MariaDB is away: Close with a short
// deadline puts what is in memory into the spool; a new Store on the same
// spool writes it all, exactly once.
func TestRestart(t *testing.T) {
	cfg, p := behindProxy(t)
	cfg.SpoolPath = t.TempDir()
	cfg.FlushEvery = 50 * time.Millisecond
	cfg.QueueRecords = 2000
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	before := genRecords("r1", 100, t0)
	s.Write(before)
	flush(t, s)
	p.cut()
	load := genRecords("r1", 3000, t0+1_000_000)
	done := make(chan []record.Record)
	go func() { done <- writeSteadily(s, load, 20, time.Millisecond) }()
	time.Sleep(400 * time.Millisecond) // some in memory, some in the spool
	mid := s.Stats()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	start := time.Now()
	err = s.Close(ctx)
	cancel()
	took := time.Since(start)
	accepted := <-done
	if err != nil {
		t.Fatalf("close: %v", err)
	}
	if took > 1500*time.Millisecond {
		t.Errorf("close took %v with a 1 s deadline", took)
	}
	if mid.Queue == 0 || len(accepted) == 0 || len(accepted) == len(load) {
		t.Fatalf("the test wants records in memory at close and a load cut short: queue %d, accepted %d of %d", mid.Queue, len(accepted), len(load))
	}
	p.restore()
	s2 := openStore(t, cfg)
	flush(t, s2)
	checkSet(t, s2, slices.Concat(before, accepted))
	st := s2.Stats()
	if st.Replayed == 0 || st.Dropped != 0 {
		t.Errorf("restart stats: %+v", st)
	}
}

// faulty wraps a driver: while down, inserts fail before touching the
// database; every lossEvery-th insert succeeds but reports an error (a
// connection lost during COMMIT).
type faulty struct {
	Driver
	down      atomic.Bool
	lossEvery int64
	calls     atomic.Int64
	lost      atomic.Int64
}

func (f *faulty) InsertBatch(ctx context.Context, k record.Kind, e []sqldb.Entry) (sqldb.InsertResult, error) {
	if f.down.Load() {
		return sqldb.InsertResult{}, errors.New("injected: database away")
	}
	res, err := f.Driver.InsertBatch(ctx, k, e)
	if err == nil && f.lossEvery > 0 && f.calls.Add(1)%f.lossEvery == 0 {
		f.lost.Add(1)
		return sqldb.InsertResult{}, errors.New("injected: connection lost during commit")
	}
	return res, err
}

// openFaulty opens a store whose driver fails on demand.
func openFaulty(t *testing.T, cfg Config, lossEvery int64) (*Store, *faulty) {
	t.Helper()
	cfg.setDefaults()
	drv, err := openDriver(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := drv.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := &faulty{Driver: drv, lossEvery: lossEvery}
	s, err := newStore(cfg, &orderCheck{Driver: f, t: t, last: map[record.Kind]int64{}})
	if err != nil {
		t.Fatal(err)
	}
	return s.start(), f
}

// TestLostCommits: batches whose COMMIT went through but whose answer was
// lost are written again; the database keeps one copy (both drivers).
func TestLostCommits(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg Config) {
		cfg.FlushEvery = 20 * time.Millisecond
		cfg.BatchRows = 100
		s, f := openFaulty(t, cfg, 3)
		defer s.Close(context.Background())
		recs := genRecords("r1", 400, t0)
		writeSteadily(s, recs, 50, time.Millisecond)
		flush(t, s)
		checkContents(t, s, recs)
		st := s.Stats()
		if f.lost.Load() == 0 || st.Duplicates == 0 || st.Retries == 0 {
			t.Errorf("lost commits %d, duplicates %d, retries %d: want some of each", f.lost.Load(), st.Duplicates, st.Retries)
		}
	})
}

// TestOutageAndRestartBothDrivers: the database away (injected), records
// through memory and spool, Close with the database still away, a new
// Store on the spool: everything arrives once (SQLite has no server to
// cut, so the failure is injected for both drivers).
func TestOutageAndRestartBothDrivers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg Config) {
		cfg.SpoolPath = t.TempDir()
		cfg.FlushEvery = 20 * time.Millisecond
		cfg.QueueRecords = 500
		cfg.SpoolMaxMB = 1
		s, f := openFaulty(t, cfg, 0)
		first := genRecords("r1", 200, t0)
		writeSteadily(s, first, 40, 0)
		flush(t, s)
		f.down.Store(true)
		second := genRecords("r1", 300, t0+10_000_000)
		writeSteadily(s, second, 40, time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := s.Close(ctx)
		cancel()
		if err != nil {
			t.Fatalf("close: %v", err)
		}
		s2 := openStore(t, cfg)
		flush(t, s2)
		checkSet(t, s2, slices.Concat(first, second))
		if st := s2.Stats(); st.Replayed == 0 || st.Dropped != 0 {
			t.Errorf("stats after restart: %+v", st)
		}
	})
}

// TestSpoolCap: a long outage fills the spool; its oldest records go, and
// are counted; what remains arrives once.
func TestSpoolCap(t *testing.T) {
	cfg := Config{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "t.db"), SpoolPath: t.TempDir(),
		SpoolMaxMB: 1, QueueRecords: 100, FlushEvery: 10 * time.Millisecond}
	s, f := openFaulty(t, cfg, 0)
	defer s.Close(context.Background())
	f.down.Store(true)
	recs := genRecords("r1", 3000, t0) // about 3 MB in the spool
	for i := 0; i < len(recs); i += 100 {
		s.Write(recs[i:min(i+100, len(recs))])
	}
	mid := s.Stats()
	if mid.Dropped == 0 || mid.SpoolBytes > 1<<20+256<<10 {
		t.Fatalf("spool over its cap without drops: %+v", mid)
	}
	f.down.Store(false)
	flush(t, s)
	st := s.Stats()
	var rows uint64
	for _, k := range allKinds {
		got := listAll(t, s, k, Filter{})
		if k != record.KindDevice {
			rows += uint64(len(got))
		}
		seen := map[string]bool{}
		for _, r := range got {
			j := jsonOf(r.Record)
			if seen[j] {
				t.Fatalf("%s twice: %s", k, j)
			}
			seen[j] = true
		}
	}
	var devices uint64
	for _, r := range recs {
		if r.Kind() == record.KindDevice {
			devices++
		}
	}
	// Every record is in the database or counted as dropped; the oldest
	// went (the newest session is there).
	if written := st.Rows["sessions"] + st.Rows["dns"] + st.Rows["http"] + st.Rows["tls"] + st.Rows["icmp"] + st.Rows["apps"]; written != rows {
		t.Errorf("rows counted %d, in the tables %d", written, rows)
	}
	if rows+st.Dropped < uint64(len(recs))-devices || rows+st.Dropped > uint64(len(recs)) {
		t.Errorf("%d rows + %d dropped do not account for %d records (%d devices)", rows, st.Dropped, len(recs), devices)
	}
	var newest record.Record
	for _, r := range recs {
		if r.Kind() == record.KindSession {
			newest = r
		}
	}
	sessions := rowsJSON(listAll(t, s, record.KindSession, Filter{}))
	if len(sessions) == 0 || sessions[len(sessions)-1] != jsonOf(newest) {
		t.Errorf("newest session missing")
	}
}

// TestNoSpool: without a spool, records beyond the queue are dropped and
// counted, and Close says so.
func TestNoSpool(t *testing.T) {
	cfg := Config{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "t.db"), QueueRecords: 50, FlushEvery: 10 * time.Millisecond}
	s, f := openFaulty(t, cfg, 0)
	f.down.Store(true)
	s.Write(genRecords("r1", 30, t0)) // 190 records
	if st := s.Stats(); st.Dropped == 0 {
		t.Errorf("no drops past the queue: %+v", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := s.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "dropped") {
		t.Errorf("close: %v, want an error counting dropped records", err)
	}
}

// TestRejectedRow: a row the database refuses (injected) is isolated by
// halving the batch; the others are written.
func TestRejectedRow(t *testing.T) {
	cfg := Config{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "t.db"), FlushEvery: 10 * time.Millisecond}
	cfg.setDefaults()
	drv, err := openDriver(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	drv.Migrate(context.Background())
	r := &rejecting{Driver: drv, bad: "bad.example"}
	s, err := newStore(cfg, r)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	recs := genRecords("r1", 20, t0)
	var sess []record.Record
	for _, x := range recs {
		if x.Kind() == record.KindSession {
			sess = append(sess, x)
		}
	}
	bad := *sess[7].(*record.Session)
	bad.Host = "bad.example"
	sess[7] = &bad
	s.Write(sess)
	flush(t, s)
	got := listAll(t, s, record.KindSession, Filter{})
	if len(got) != len(sess)-1 || s.Stats().Rejected != 1 {
		t.Errorf("%d rows of %d, rejected %d: want all but the bad one", len(got), len(sess), s.Stats().Rejected)
	}
}

type rejecting struct {
	Driver
	bad string
}

func (r *rejecting) InsertBatch(ctx context.Context, k record.Kind, e []sqldb.Entry) (sqldb.InsertResult, error) {
	for _, x := range e {
		if s, ok := x.Rec.(*record.Session); ok && s.Host == r.bad {
			return sqldb.InsertResult{}, errors.Join(sqldb.ErrRejected, errors.New("injected: data too long"))
		}
	}
	return r.Driver.InsertBatch(ctx, k, e)
}

func TestRetentionByAge(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg Config) {
		cfg.RetentionDays = 2
		s := openStore(t, cfg)
		day := int64(24 * 3600 * 1000)
		old := genRecords("r0", 30, t0-5*day)
		recent := genRecords("r1", 30, t0)
		s.Write(slices.Concat(old, recent))
		flush(t, s)
		if err := s.purge(context.Background(), time.UnixMilli(t0+day)); err != nil {
			t.Fatal(err)
		}
		// Devices: the old ones' last_seen is 5 days old too; some MACs
		// were seen again recently.
		checkSet(t, s, recent)
		if s.Stats().Purged == 0 {
			t.Error("purged 0")
		}
	})
}

// TestRetentionKeepsOldCaptures: retention counts back from the newest
// record when it is older than now (an old capture, a router clock in
// 1970); nothing goes.
func TestRetentionKeepsOldCaptures(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg Config) {
		cfg.RetentionDays = 1
		s := openStore(t, cfg)
		recs := genRecords("r1", 30, t0)
		s.Write(recs)
		flush(t, s)
		for _, now := range []time.Time{time.UnixMilli(t0 + 400*24*3600*1000), time.Unix(0, 0)} {
			if err := s.purge(context.Background(), now); err != nil {
				t.Fatal(err)
			}
		}
		checkContents(t, s, recs)
	})
}

func TestRetentionBySize(t *testing.T) {
	cfg := Config{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "t.db"), MaxSizeMB: 1, BatchRows: 2000}
	s := openStore(t, cfg)
	var recs []record.Record
	for i, r := range genRecords("r1", 3000, t0) {
		if ss, ok := r.(*record.Session); ok {
			c := *ss
			c.Host = strings.Repeat("h", 200) + strconv.Itoa(i)
			recs = append(recs, &c)
		}
	}
	s.Write(recs)
	flush(t, s)
	ctx := context.Background()
	size, _ := s.drv.Size(ctx)
	if size <= 1<<20 {
		t.Fatalf("test data of %d bytes: want more than the 1 MB cap", size)
	}
	if err := s.purge(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	after, _ := s.drv.Size(ctx)
	if after > 1<<20 {
		t.Errorf("size %d after purge, cap %d", after, 1<<20)
	}
	rows := listAll(t, s, record.KindSession, Filter{})
	if len(rows) == 0 || len(rows) == len(recs) {
		t.Fatalf("%d rows of %d left", len(rows), len(recs))
	}
	// The newest stay, the oldest went.
	want := expectedRows(recs, record.KindSession)
	if got := rowsJSON(rows); !slices.Equal(want[len(want)-len(got):], got) {
		t.Errorf("kept rows are not the newest")
	}
	if st := s.Stats(); st.Purged != uint64(len(recs)-len(rows)) {
		t.Errorf("purged %d, rows gone %d", st.Purged, len(recs)-len(rows))
	}
}

// TestPurgerRuns: the purger goroutine runs on its own.
func TestPurgerRuns(t *testing.T) {
	cfg := Config{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "t.db"), RetentionDays: 1, FlushEvery: 10 * time.Millisecond}
	cfg.setDefaults()
	drv, err := openDriver(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	drv.Migrate(context.Background())
	s, err := newStore(cfg, drv)
	if err != nil {
		t.Fatal(err)
	}
	s.purgeFirst, s.purgeEvery = 10*time.Millisecond, 10*time.Millisecond
	s.start()
	defer s.Close(context.Background())
	day := int64(24 * 3600 * 1000)
	s.Write(slices.Concat(genRecords("r1", 10, t0-3*day), genRecords("r1", 10, t0)))
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Purged == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if s.Stats().Purged == 0 {
		t.Error("purger did not run")
	}
}

// orderCheck fails the test when the writer hands the database records of
// a kind out of write order: within a batch, or a batch older than the
// last one written (a retry of the same batch excepted).
type orderCheck struct {
	Driver
	t    *testing.T
	mu   sync.Mutex
	last map[record.Kind]int64
}

func (o *orderCheck) InsertBatch(ctx context.Context, k record.Kind, e []sqldb.Entry) (sqldb.InsertResult, error) {
	o.mu.Lock()
	for i := 1; i < len(e); i++ {
		if e[i].Seq <= e[i-1].Seq {
			o.t.Errorf("%s batch out of order at %d: %d after %d", k, i, e[i].Seq, e[i-1].Seq)
			break
		}
	}
	if len(e) > 0 && k != record.KindDevice && e[0].Seq <= o.last[k] {
		o.t.Errorf("%s batch starts at %d, after a batch that ended at %d", k, e[0].Seq, o.last[k])
	}
	o.mu.Unlock()
	res, err := o.Driver.InsertBatch(ctx, k, e)
	if err == nil && len(e) > 0 && k != record.KindDevice {
		o.mu.Lock()
		o.last[k] = e[len(e)-1].Seq
		o.mu.Unlock()
	}
	return res, err
}

// TestWaitForRoom: reading a file, Write waits while the database is away
// instead of spooling or dropping; nothing is lost.
func TestWaitForRoom(t *testing.T) {
	cfg := Config{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "t.db"), QueueRecords: 100, BatchRows: 50, WaitForRoom: true, FlushEvery: 10 * time.Millisecond}
	s, f := openFaulty(t, cfg, 0)
	defer s.Close(context.Background())
	f.down.Store(true)
	recs := genRecords("r1", 300, t0)
	done := make(chan error)
	go func() { done <- s.Write(recs) }()
	select {
	case err := <-done:
		t.Fatalf("Write of %d records returned (%v) with the database away and a queue of 100", len(recs), err)
	case <-time.After(300 * time.Millisecond):
	}
	f.down.Store(false)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	checkContents(t, s, recs)
	if st := s.Stats(); st.Dropped != 0 || st.Spooled != 0 {
		t.Errorf("stats: %+v", st)
	}
}
