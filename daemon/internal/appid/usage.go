package appid

import (
	"time"

	"tamon/daemon/internal/intern"
	"tamon/daemon/internal/record"
)

// DefaultAppTimeout is the app_timeout used when none (or a non-positive
// one) is given.
const DefaultAppTimeout = 300 * time.Second

// maxHosts bounds the distinct host names counted per usage.
const maxHosts = 8

type usageKey struct{ mac, app string }

type hostCount struct {
	name string
	n    uint32
}

// usage is one open app-usage session.
type usage struct {
	key        usageKey
	start, end int64 // ms
	sessions   uint64
	bytes      uint64
	hosts      []hostCount // first seen first
}

// Usage keeps the app-usage sessions of each device (client MAC) and
// application, as the prototype did with app_timeout: a usage starts with
// the first session of the app seen from the device, is extended by every
// later session that starts less than the timeout after the usage's last
// traffic, and ends once there was no traffic of that app from that device
// for the timeout. Its record spans from the first session's start to the
// last session's end and counts the sessions and their bytes (both
// directions); its host is the most frequent host of its sessions (the
// first seen on a tie).
//
// Time is packet time, passed in by the caller: the same sessions in the
// same order always give the same records in the same order. Records are
// emitted in the order their usages started (first Observe), and a usage
// ended by Observe (a new session of the same app after a gap) is emitted by
// the next Expire or Flush, before the others.
//
// A Usage is owned by one goroutine. The records it emits are new values
// that the caller may keep.
type Usage struct {
	names   intern.Table // private copies of MACs and hosts
	timeout int64        // ms
	sensor  string
	open    map[usageKey]*usage
	order   []*usage // open usages, in start order
	closed  []*usage // ended by Observe, not emitted yet
	minEnd  int64    // no open usage ended before this (a lower bound)
}

// NewUsage returns a Usage that ends a usage after timeout without traffic
// (non-positive: DefaultAppTimeout) and writes sensor into its records.
func NewUsage(timeout time.Duration, sensor string) *Usage {
	u := &Usage{sensor: sensor, open: make(map[usageKey]*usage)}
	u.SetTimeout(timeout)
	return u
}

// SetTimeout changes the timeout (on reload); it applies from the next
// Observe or Expire. Non-positive means DefaultAppTimeout.
func (u *Usage) SetTimeout(d time.Duration) {
	if d <= 0 {
		d = DefaultAppTimeout
	}
	u.timeout = d.Milliseconds()
}

// Observe adds a finished session whose App is set (sessions without an app
// are ignored) to the usage of its client MAC and app, starting one if
// there is none, or if the session started a full timeout or more after the
// usage's last traffic (the old usage then ends). Sessions may come in any
// order of start time; a usage spans the earliest start and the latest end.
func (u *Usage) Observe(s *record.Session) {
	if s.App == "" {
		return
	}
	// Private copies (interned): the record's strings may live in a large
	// engine arena that long-lived usages must not keep alive.
	k := usageKey{u.names.String(s.ClientMAC), s.App}
	cur := u.open[k]
	if cur != nil && s.StartTS-cur.end >= u.timeout {
		u.closed = append(u.closed, cur)
		u.removeOpen(cur)
		cur = nil
	}
	if cur == nil {
		cur = &usage{key: k, start: s.StartTS, end: s.EndTS}
		u.open[k] = cur
		u.order = append(u.order, cur)
		if len(u.order) == 1 || cur.end < u.minEnd {
			u.minEnd = cur.end
		}
	}
	cur.start = min(cur.start, s.StartTS)
	cur.end = max(cur.end, s.EndTS, s.StartTS)
	cur.sessions++
	cur.bytes += s.BytesUp + s.BytesDown
	cur.countHost(u.names.String(s.Host))
}

// removeOpen drops x from the open usages.
func (u *Usage) removeOpen(x *usage) {
	delete(u.open, x.key)
	for i, o := range u.order {
		if o == x {
			u.order = append(u.order[:i], u.order[i+1:]...)
			break
		}
	}
}

func (x *usage) countHost(h string) {
	if h == "" {
		return
	}
	for i := range x.hosts {
		if x.hosts[i].name == h {
			x.hosts[i].n++
			return
		}
	}
	if len(x.hosts) < maxHosts {
		// A copy: the record's string may live in a large engine arena
		// that this long-lived entry must not keep alive.
		x.hosts = append(x.hosts, hostCount{h, 1})
	}
}

func (x *usage) host() string {
	best := -1
	for i, h := range x.hosts {
		if best < 0 || h.n > x.hosts[best].n {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return x.hosts[best].name
}

func (u *Usage) record(x *usage) *record.App {
	return &record.App{
		Sensor:    u.sensor,
		ClientMAC: x.key.mac,
		App:       x.key.app,
		StartTS:   x.start,
		EndTS:     x.end,
		Host:      x.host(),
		Sessions:  x.sessions,
		Bytes:     x.bytes,
	}
}

// Expire emits, then forgets, the usages ended by Observe and every usage
// without traffic for the timeout at time now (Unix ms): now - end >=
// timeout. Cheap when nothing is due.
func (u *Usage) Expire(now int64, emit func(*record.App)) {
	u.emitClosed(emit)
	if len(u.order) == 0 || now-u.minEnd < u.timeout {
		return
	}
	kept := u.order[:0]
	minEnd := int64(0)
	for _, x := range u.order {
		if now-x.end >= u.timeout {
			delete(u.open, x.key)
			emit(u.record(x))
			continue
		}
		if len(kept) == 0 || x.end < minEnd {
			minEnd = x.end
		}
		kept = append(kept, x)
	}
	clear(u.order[len(kept):])
	u.order = kept
	u.minEnd = minEnd
}

// Flush emits every usage, open or ended, and forgets them: for the end of
// the input and for shutdown.
func (u *Usage) Flush(emit func(*record.App)) {
	u.emitClosed(emit)
	for _, x := range u.order {
		emit(u.record(x))
	}
	clear(u.order)
	u.order = u.order[:0]
	clear(u.open)
}

func (u *Usage) emitClosed(emit func(*record.App)) {
	for _, x := range u.closed {
		emit(u.record(x))
	}
	clear(u.closed)
	u.closed = u.closed[:0]
}
