package store

import (
	"context"
	"errors"
	"time"

	"tamon/daemon/internal/record"
	"tamon/daemon/internal/store/sqldb"
)

// Writer timing.
const (
	opTimeout   = 30 * time.Second // one InsertBatch
	backoffMin  = 250 * time.Millisecond
	backoffMax  = 30 * time.Second
	replayPause = 100 * time.Millisecond // when the spool has records but none to read
)

// batches are the writer's per-kind buffers and the time each started.
type batches struct {
	pend  [record.KindDevice + 1][]sqldb.Entry
	since [record.KindDevice + 1]time.Time
}

func (s *Store) isClosing() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// writer is the one goroutine that writes to the database. It owns the
// batches; it takes the queue under s.mu, and reads the spool only when the
// queue is empty (the queue holds older records than the spool).
func (s *Store) writer() {
	defer close(s.done)
	var b batches
	var taken, replayBuf []sqldb.Entry
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		n := s.take(&b, &taken)
		if !s.isClosing() {
			force := s.forcing.Load() > 0
			now := s.now()
			for k := range b.pend {
				if len(b.pend[k]) > 0 && (force || now.Sub(b.since[k]) >= s.cfg.FlushEvery) {
					if !s.flushKind(&b, record.Kind(k)) {
						break
					}
				}
			}
		}
		if s.isClosing() {
			s.finish(&b)
			return
		}
		if n > 0 {
			continue
		}
		if s.sp != nil && !s.sp.Empty() {
			// The queue is older than the spool. Records enter the queue
			// only while the spool is empty, so once the queue is seen
			// empty with records in the spool, it stays empty until the
			// spool is: read the spool then, not before.
			if s.flushAll(&b) && s.queueEmpty() {
				var progress bool
				replayBuf, progress = s.replay(replayBuf)
				if !progress {
					s.sleep(replayPause)
				}
			}
			continue
		}
		wait := time.Duration(-1)
		now := s.now()
		for k := range b.pend {
			if len(b.pend[k]) > 0 {
				d := s.cfg.FlushEvery - now.Sub(b.since[k])
				if wait < 0 || d < wait {
					wait = d
				}
			}
		}
		if wait >= 0 {
			timer.Reset(max(wait, time.Millisecond))
		}
		select {
		case <-s.wake:
		case <-timer.C:
		case <-s.closing:
		}
		timer.Stop()
	}
}

func (s *Store) queueEmpty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue) == 0
}

// take moves the queue into the batches, writing each batch that fills.
// It returns the number of records taken.
func (s *Store) take(b *batches, spare *[]sqldb.Entry) int {
	s.mu.Lock()
	taken := s.queue
	s.queue = (*spare)[:0]
	s.held.Add(int64(len(taken)))
	s.room.Broadcast()
	s.mu.Unlock()
	now := s.now()
	for _, e := range taken {
		k := e.Rec.Kind()
		if k < record.KindSession || k > record.KindDevice {
			s.held.Add(-1)
			s.counters.rejected.Add(1)
			continue
		}
		if len(b.pend[k]) == 0 {
			b.since[k] = now
		}
		b.pend[k] = append(b.pend[k], e)
	}
	n := len(taken)
	clear(taken)
	*spare = taken[:0]
	// Full batches go now. A backlog (the database was slow or away) goes
	// in transactions of up to txBatches batches: fewer commits, each
	// still bounded.
	for k := range b.pend {
		for len(b.pend[k]) >= s.cfg.BatchRows && !s.isClosing() {
			if !s.flushSome(b, record.Kind(k), txBatches*s.cfg.BatchRows) {
				break
			}
		}
	}
	return n
}

// txBatches bounds a transaction to this many batches when records wait.
const txBatches = 10

// flushKind writes the batch of kind k; false when Close interrupted it
// (the batch is kept).
func (s *Store) flushKind(b *batches, k record.Kind) bool {
	for len(b.pend[k]) > 0 {
		if !s.flushSome(b, k, txBatches*s.cfg.BatchRows) {
			return false
		}
	}
	return true
}

// flushSome writes the first max entries of kind k in one transaction.
func (s *Store) flushSome(b *batches, k record.Kind, max int) bool {
	entries := b.pend[k]
	part := entries[:min(max, len(entries))]
	if !s.insert(k, part) {
		return false
	}
	s.held.Add(-int64(len(part)))
	rest := copy(entries, entries[len(part):])
	clear(entries[rest:])
	b.pend[k] = entries[:rest]
	return true
}

func (s *Store) flushAll(b *batches) bool {
	for k := range b.pend {
		if !s.flushKind(b, record.Kind(k)) {
			return false
		}
	}
	return true
}

// insert writes entries of kind k, retrying with backoff while the
// database fails. It returns true once they are written (or, for rows the
// database refuses even alone, counted as rejected), false when Close
// interrupted it; closing, it tries once.
func (s *Store) insert(k record.Kind, entries []sqldb.Entry) bool {
	backoff := backoffMin
	for {
		if s.opCtx.Err() != nil {
			return false
		}
		ctx, cancel := context.WithTimeout(s.opCtx, opTimeout)
		res, err := s.drv.InsertBatch(ctx, k, entries)
		cancel()
		if err == nil {
			s.account(k, res)
			if !s.down.IsZero() {
				s.log.Info("database back", "after_seconds", s.now().Sub(s.down).Seconds())
				s.down = time.Time{}
			}
			s.conn.Store(true)
			return true
		}
		if errors.Is(err, sqldb.ErrRejected) {
			return s.bisect(k, entries, err)
		}
		s.noteErr(err)
		s.conn.Store(false)
		if s.down.IsZero() {
			s.down = s.now()
			s.log.Warn("database write failed; records wait in memory and the spool", "err", err)
		}
		if s.isClosing() {
			return false
		}
		s.counters.retries.Add(1)
		select {
		case <-time.After(backoff):
		case <-s.closing:
			return false
		}
		backoff = min(backoff*2, backoffMax)
	}
}

// bisect writes a batch the database refused in halves, down to single
// rows; a row refused alone is counted in Rejected and let go.
func (s *Store) bisect(k record.Kind, entries []sqldb.Entry, err error) bool {
	if len(entries) == 1 {
		s.counters.rejected.Add(1)
		s.noteErr(err)
		s.log.Warn("database refused a record", "kind", k.String(), "err", err)
		return true
	}
	h := len(entries) / 2
	return s.insert(k, entries[:h]) && s.insert(k, entries[h:])
}

func (s *Store) account(k record.Kind, res sqldb.InsertResult) {
	s.counters.rows[k].Add(uint64(res.Inserted))
	s.counters.duplicates.Add(uint64(res.Duplicates))
	s.counters.truncated.Add(uint64(res.Truncated))
	s.counters.repaired.Add(uint64(res.Repaired))
}

// replay writes one batch of records from the spool, in order, and lets
// the spool go of them. It reports whether it made progress.
func (s *Store) replay(buf []sqldb.Entry) ([]sqldb.Entry, bool) {
	entries, pos, err := s.sp.Read(s.cfg.BatchRows, buf[:0])
	if err != nil {
		s.noteErr(err)
		return entries, false
	}
	if pos.Records() == 0 {
		return entries, false
	}
	var sub []sqldb.Entry
	for k := record.KindSession; k <= record.KindDevice; k++ {
		sub = sub[:0]
		for _, e := range entries {
			if e.Rec.Kind() == k {
				sub = append(sub, e)
			}
		}
		if len(sub) == 0 {
			continue
		}
		if !s.insert(k, sub) {
			// Closing: the records stay in the spool for the next run,
			// unless the size cap dropped their segment meanwhile.
			if !s.sp.Holds(pos) {
				s.toSpool(entries)
			}
			s.sp.Rewind()
			clear(entries)
			return entries[:0], true
		}
	}
	if err := s.sp.Commit(pos); err != nil {
		s.noteErr(err)
	}
	s.counters.replayed.Add(uint64(len(entries)))
	clear(entries)
	return entries[:0], true
}

// finish runs at Close: what is in memory goes to the database while it
// works and time allows, the rest to the spool.
func (s *Store) finish(b *batches) {
	var spare []sqldb.Entry
	s.take(b, &spare) // Write is closed: this is the last of the queue
	var rest []sqldb.Entry
	dbOK := true
	for k := range b.pend {
		entries := b.pend[k]
		if len(entries) == 0 {
			continue
		}
		if dbOK && s.insert(record.Kind(k), entries) {
			s.held.Add(-int64(len(entries)))
			continue
		}
		dbOK = false
		rest = append(rest, entries...)
	}
	if len(rest) > 0 {
		s.toSpool(rest)
		s.held.Add(-int64(len(rest)))
		s.log.Warn("database unavailable at close; records kept in the spool", "records", len(rest))
	}
	if s.sp != nil {
		if err := s.sp.Sync(); err != nil {
			s.noteErr(err)
		}
	}
}

// sleep waits d, or less when Close starts.
func (s *Store) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.closing:
		return false
	}
}
