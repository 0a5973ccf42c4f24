package store

import (
	"context"
	"fmt"
	"time"

	"tamon/daemon/internal/record"
)

// Retention pacing.
const (
	purgeRows       = 1000                  // rows per DELETE
	purgePause      = 20 * time.Millisecond // between DELETEs, so that writes go on
	purgeCycleRows  = 50000                 // size purge: rows per cycle at most
	sizeTargetRatio = 0.9                   // size purge goes down to 90% of the cap
	dayMs           = 24 * 3600 * 1000
)

// purger runs retention every purgeEvery until Close.
func (s *Store) purger() {
	defer close(s.purgeEnd)
	if s.cfg.RetentionDays <= 0 && s.cfg.MaxSizeMB <= 0 {
		return
	}
	t := time.NewTimer(s.purgeFirst)
	defer t.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-t.C:
		}
		if err := s.purge(s.opCtx, s.now()); err != nil && !s.isClosing() {
			s.noteErr(err)
			s.log.Warn("retention", "err", err)
		}
		t.Reset(s.purgeEvery)
	}
}

// purge runs one retention cycle, at time now: by age, then by size.
func (s *Store) purge(ctx context.Context, now time.Time) error {
	if days := s.cfg.RetentionDays; days > 0 {
		var newest int64
		for k := record.KindSession; k <= record.KindDevice; k++ {
			_, hi, ok, err := s.drv.TimeRange(ctx, k)
			if err != nil {
				return fmt.Errorf("retention: %w", err)
			}
			if ok && hi > newest {
				newest = hi
			}
		}
		cutoff := min(newest, now.UnixMilli()) - int64(days)*dayMs
		for k := record.KindSession; k <= record.KindDevice && !s.isClosing(); k++ {
			for {
				n, err := s.drv.Purge(ctx, k, cutoff, purgeRows)
				if err != nil {
					return fmt.Errorf("retention: %w", err)
				}
				s.counters.purged.Add(uint64(n))
				if n < purgeRows || !s.sleep(purgePause) {
					break
				}
			}
		}
	}
	if s.cfg.MaxSizeMB > 0 {
		if err := s.purgeSize(ctx); err != nil {
			return fmt.Errorf("retention: %w", err)
		}
	}
	return nil
}

// purgeSize deletes the oldest rows while the database is above the
// target size: each round from the table whose oldest row is oldest
// (devices are an inventory and stay).
func (s *Store) purgeSize(ctx context.Context) error {
	target := int64(float64(int64(s.cfg.MaxSizeMB)<<20) * sizeTargetRatio)
	deleted := int64(0)
	for deleted < purgeCycleRows {
		size, err := s.drv.Size(ctx)
		if err != nil {
			return err
		}
		if size <= target {
			break
		}
		kind, found := record.Kind(0), false
		var oldest int64
		for k := record.KindSession; k < record.KindDevice; k++ {
			lo, _, ok, err := s.drv.TimeRange(ctx, k)
			if err != nil {
				return err
			}
			if ok && (!found || lo < oldest) {
				kind, oldest, found = k, lo, true
			}
		}
		if !found {
			break
		}
		n, err := s.drv.PurgeOldest(ctx, kind, purgeRows)
		if err != nil {
			return err
		}
		s.counters.purged.Add(uint64(n))
		deleted += n
		if n == 0 || !s.sleep(purgePause) {
			break
		}
	}
	if deleted > 0 {
		return s.drv.Compact(ctx, 1<<20)
	}
	return nil
}
