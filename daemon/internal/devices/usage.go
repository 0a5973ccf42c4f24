package devices

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"tamon/daemon/internal/record"
)

// Visit is one entry of a device's visited-sites history: one name on one
// day, merged from every source (DNS lookups, and sessions whose host came
// from SNI, HTTP Host, QUIC or the DNS name map).
type Visit struct {
	Name      string // lower-case host name, without a trailing dot or port
	Day       int64  // start of the day, Unix ms, in Config.Location
	FirstSeen int64  // Unix ms
	LastSeen  int64
	Sessions  uint64 // sessions to the name that started that day
	Bytes     uint64 // their bytes, both directions
	Lookups   uint64 // successful DNS lookups of the name (A, AAAA, HTTPS)
}

// Usage is one line of a device's traffic breakdown by app or host.
type Usage struct {
	Name     string
	Sessions uint64
	Bytes    uint64 // both directions
}

// Rate is the recent throughput of one device.
type Rate struct {
	MAC  string  // primary MAC
	Name string  // alias, else host name
	Up   float64 // bytes per second sent by the device, over Config.RateWindow
	Down float64 // bytes per second received
}

// Session adds a finished session to the breakdowns of its client device:
// bytes by app and by host, and the visited-sites entry of its host on the
// day it started. Device totals (bytes_up, bytes_down) come from ObsTraffic,
// not from here. Pass each session once, with its final counters. A client
// MAC not in the inventory creates a device, which EmitPending (or the next
// Apply for it) reports. The strings of s are copied, not kept.
func (inv *Inventory) Session(s *record.Session) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	d := inv.touchText(s.ClientMAC, s.StartTS)
	if d == nil {
		return
	}
	d.seen(s.EndTS)
	inv.now = max(inv.now, s.EndTS)
	if inv.cfg.NoBreakdowns {
		return
	}
	bytes := s.BytesUp + s.BytesDown
	if s.App != "" {
		inv.count(&d.apps, s.App, 1, bytes)
	}
	if host := visitName(s.Host, false); host != "" {
		// A device's sessions come in runs to the same host: its counter
		// is kept at hand (counters are never deleted).
		if c := d.lastHost; c != nil && c.name == host {
			c.sessions++
			c.bytes += bytes
		} else {
			d.lastHost = inv.count(&d.hosts, host, 1, bytes)
		}
		inv.visitEntry(d, host, inv.dayOf(s.StartTS), s.StartTS, max(s.EndTS, s.StartTS), 1, bytes, 0)
	}
}

// DNS adds a successful lookup (rcode NOERROR, type A, AAAA or HTTPS) of a
// public name to the visited sites of the client device. Lookups of .local,
// reverse (.arpa) and single-label names are not visits.
func (inv *Inventory) DNS(r *record.DNS) {
	if !LookupVisits(r.RCode, r.QType) {
		return
	}
	name := visitName(r.Query, true)
	if name == "" {
		return
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	d := inv.touchText(r.ClientMAC, r.TS)
	if d == nil {
		return
	}
	inv.now = max(inv.now, r.TS)
	if inv.cfg.NoBreakdowns {
		return
	}
	inv.visitEntry(d, name, inv.dayOf(r.TS), r.TS, r.TS, 0, 0, 1)
}

// UserAgent takes an HTTP User-Agent sent by the device at mac at time ts as
// an OS or device-type hint ("Android 14", "iOS 17", "Windows", "Xbox", ...).
// User agents that say nothing known leave the hint as it was.
func (inv *Inventory) UserAgent(mac string, ua string, ts int64) {
	m, ok := ParseMAC(mac)
	if !ok || !usable(m) || ua == "" {
		return
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	d := inv.touch(m, ts)
	inv.now = max(inv.now, ts)
	if ua == d.lastUA {
		return
	}
	d.lastUA = strings.Clone(ua)
	if hint := userAgentHint(ua); hint != "" {
		d.setHint(hintUserAgent, hint)
	}
}

// touch returns the device of mac, created if needed, seen at ts.
// touchText is touch for a MAC in text, as records carry it; nil when the
// text is not a usable MAC. Records come in runs from the same device, so
// the device of the last call is kept at hand (remove and link forget it).
func (inv *Inventory) touchText(text string, ts int64) *device {
	if d := inv.lastDev; d != nil && d.macText == text {
		d.seen(ts)
		return d
	}
	mac, ok := ParseMAC(text)
	if !ok || !usable(mac) {
		return nil
	}
	d := inv.touch(mac, ts)
	inv.lastDev = d
	return d
}

func (inv *Inventory) touch(mac [6]byte, ts int64) *device {
	d := inv.find(mac)
	if d == nil {
		d = inv.create(mac, ts)
	}
	d.seen(ts)
	return d
}

// LookupVisits reports whether a DNS lookup with this rcode and qtype can
// be a visit: a successful (NOERROR) lookup of an address (A, AAAA) or of
// a service binding (HTTPS). Whether its name counts is visitName's rule.
func LookupVisits(rcode, qtype string) bool {
	if rcode != "NOERROR" {
		return false
	}
	switch qtype {
	case "A", "AAAA", "HTTPS":
		return true
	}
	return false
}

// visitName returns the name under which a session's host (lookup false)
// or a DNS query (lookup true) counts in the visited sites, normalised by
// hostName; "" when it is no visit: no name, or for a lookup a
// single-label, .local or reverse (.arpa) name.
func visitName(name string, lookup bool) string {
	name = hostName(name)
	if lookup && (!strings.Contains(name, ".") || strings.HasSuffix(name, ".local") || strings.HasSuffix(name, ".arpa")) {
		return ""
	}
	return name
}

// hostName normalises a host for counting: lower-case, no trailing dot, no
// port, no IPv6 brackets; "" if nothing is left or it is too long.
func hostName(h string) string {
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			h = h[1:i]
		}
	} else if i := strings.IndexByte(h, ':'); i >= 0 && strings.Count(h, ":") == 1 {
		h = h[:i]
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return ""
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

// count adds to the counter of name in *m, made on first use. Past
// MaxHosts names, new names count under Other.
func (inv *Inventory) count(m *map[string]*counter, name string, sessions, bytes uint64) *counter {
	if *m == nil {
		*m = make(map[string]*counter)
	}
	c := (*m)[name]
	if c == nil {
		if len(*m) >= inv.cfg.MaxHosts {
			name = Other
			c = (*m)[Other]
		}
		if c == nil {
			c = &counter{name: strings.Clone(name)}
			(*m)[c.name] = c
		}
	}
	c.sessions += sessions
	c.bytes += bytes
	return c
}

// visitEntry merges one visit into d's history.
func (inv *Inventory) visitEntry(d *device, name string, day, first, last int64, sessions, bytes, lookups uint64) {
	if v := d.lastVisit; v != nil && v.Day == day && v.Name == name {
		v.FirstSeen = min(v.FirstSeen, first)
		v.LastSeen = max(v.LastSeen, last)
		v.Sessions += sessions
		v.Bytes += bytes
		v.Lookups += lookups
		return
	}
	if d.visits == nil {
		d.visits = make(map[visitKey]*Visit)
	}
	v := d.visits[visitKey{name, day}]
	if v == nil {
		if len(d.visits) >= inv.cfg.MaxVisits && !dropOldestDay(d, day) {
			inv.stats.VisitsDropped++
			return
		}
		name = strings.Clone(name)
		v = &Visit{Name: name, Day: day, FirstSeen: first, LastSeen: last}
		d.visits[visitKey{name, day}] = v
	}
	v.FirstSeen = min(v.FirstSeen, first)
	v.LastSeen = max(v.LastSeen, last)
	v.Sessions += sessions
	v.Bytes += bytes
	v.Lookups += lookups
	d.lastVisit = v
}

// dropOldestDay removes the entries of d's oldest day if that day is before
// day, and reports whether it did.
func dropOldestDay(d *device, day int64) bool {
	if d.fullDay == day && day != 0 {
		return false // found full with nothing older for this day before, and nothing was deleted since
	}
	oldest := day
	for k := range d.visits {
		oldest = min(oldest, k.day)
	}
	if oldest >= day {
		d.fullDay = day
		return false
	}
	d.fullDay = 0
	for k := range d.visits {
		if k.day == oldest {
			delete(d.visits, k)
		}
	}
	d.lastVisit = nil
	return true
}

// dayOf returns the start of the day of ts, caching the last day. It
// writes the cache, so it is only called with the write lock held.
func (inv *Inventory) dayOf(ts int64) int64 {
	if ts >= inv.dayStart && ts < inv.dayEnd {
		return inv.dayStart
	}
	inv.dayStart, inv.dayEnd = dayBounds(ts, inv.cfg.Location)
	return inv.dayStart
}

// dayBounds returns the start and end (Unix ms) of the day holding ts in
// loc; days of 23 or 25 hours are handled.
func dayBounds(ts int64, loc *time.Location) (start, end int64) {
	t := time.UnixMilli(ts).In(loc)
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc).UnixMilli(), time.Date(y, m, d+1, 0, 0, 0, 0, loc).UnixMilli()
}

// History returns the visited sites of the device that mac belongs to, for
// the days from the one holding from to the one holding to: sorted by day,
// then by bytes and lookups (most first), then by name.
func (inv *Inventory) History(mac string, from, to int64) []Visit {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	d := inv.findText(mac)
	if d == nil {
		return nil
	}
	first, _ := dayBounds(from, inv.cfg.Location)
	var out []Visit
	for _, v := range d.visits {
		if v.Day >= first && v.Day <= to {
			out = append(out, *v)
		}
	}
	sortVisits(out)
	return out
}

// Usage returns the traffic of the device that mac belongs to by app and by
// host, most bytes first, from the sessions passed to Session.
func (inv *Inventory) Usage(mac string) (apps, hosts []Usage) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	d := inv.findText(mac)
	if d == nil {
		return nil, nil
	}
	return usageList(d.apps), usageList(d.hosts)
}

func usageList(m map[string]*counter) []Usage {
	out := make([]Usage, 0, len(m))
	for name, c := range m {
		out = append(out, Usage{name, c.sessions, c.bytes})
	}
	slices.SortFunc(out, func(a, b Usage) int {
		if c := cmp.Compare(b.Bytes, a.Bytes); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// Advance moves the inventory's clock (Unix ms) forward to at while no
// traffic comes in but time goes on (a replay that has ended), so that
// Rates falls to nothing once its window has passed instead of repeating
// the last one. An earlier time is ignored.
func (inv *Inventory) Advance(at int64) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.now = max(inv.now, at)
}

// Rates returns the devices that sent or received bytes during the last
// Config.RateWindow of packet time (ending at the latest packet time the
// inventory saw, its current second included), with their average bytes per
// second; busiest first.
func (inv *Inventory) Rates() []Rate {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	w := int64(inv.cfg.RateWindow / time.Second)
	now := inv.now / 1000
	var out []Rate
	for _, d := range inv.devs {
		var up, down uint64
		for _, b := range d.rates {
			if b.sec > now-w && b.sec <= now {
				up += b.up
				down += b.down
			}
		}
		if up+down == 0 {
			continue
		}
		name := d.alias
		if name == "" {
			name = d.hostname()
		}
		out = append(out, Rate{d.macText, name, float64(up) / float64(w), float64(down) / float64(w)})
	}
	slices.SortFunc(out, func(a, b Rate) int {
		if c := cmp.Compare(b.Up+b.Down, a.Up+a.Down); c != 0 {
			return c
		}
		return strings.Compare(a.MAC, b.MAC)
	})
	return out
}
