package devices

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// VisitStep is the step of time VisitCounts are summed over: the longest
// step whose multiples (counted from the Unix epoch) never straddle a
// local midnight in a zone whose UTC offset is a whole number of quarter
// hours, as the offsets of the zones in use are (Asia/Kathmandu is 5:45
// ahead of UTC, Pacific/Chatham 12:45). A count that straddles one anyway
// (an old odd offset) goes to the day of its first time.
const VisitStep = 15 * time.Minute

// VisitCount is what a store keeps of one device's visits to one name in
// one step of time (at most VisitStep, within one local day): the sessions
// whose host was Name, or the DNS lookups of Name, as recorded.
type VisitCount struct {
	Name string // session host or DNS query, as recorded (MergeVisits normalises it)
	// Lookup says the count is of DNS lookups; they must be the ones
	// LookupVisits accepts (the store selects them). Otherwise it is of
	// sessions.
	Lookup   bool
	First    int64  // Unix ms: the earliest session start, or lookup
	Last     int64  // the latest session end (its start when later), or lookup
	Sessions uint64 // sessions (0 for lookups)
	Bytes    uint64 // their bytes, both directions
	Lookups  uint64 // lookups (0 for sessions)
}

// MergeVisits turns VisitCounts of one device (from every MAC it used) into
// its visited-sites history with the rules of Inventory.Session and
// Inventory.DNS: names normalised (lower case, no trailing dot, port or
// brackets); lookups of single-label, .local and .arpa names left out; one
// Visit per name and day in loc (the day of a count's First), summing
// sessions, bytes and lookups, with the earliest first and the latest last
// time. The order is History's: by day, then by bytes and lookups (most
// first), then by name. Fed the same sessions and lookups, it gives what
// History gives, without its memory bounds (Config.MaxVisits,
// Config.HistoryDays).
func MergeVisits(counts []VisitCount, loc *time.Location) []Visit {
	if loc == nil {
		loc = time.Local
	}
	idx := make(map[visitKey]int)
	var out []Visit
	var dayStart, dayEnd int64 // the day of the last count, cached
	for _, c := range counts {
		name := visitName(c.Name, c.Lookup)
		if name == "" {
			continue
		}
		if c.First < dayStart || c.First >= dayEnd || dayStart == dayEnd {
			dayStart, dayEnd = dayBounds(c.First, loc)
		}
		k := visitKey{name, dayStart}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, Visit{Name: name, Day: dayStart, FirstSeen: c.First, LastSeen: c.Last})
		}
		v := &out[i]
		v.FirstSeen = min(v.FirstSeen, c.First)
		v.LastSeen = max(v.LastSeen, c.Last)
		v.Sessions += c.Sessions
		v.Bytes += c.Bytes
		v.Lookups += c.Lookups
	}
	sortVisits(out)
	return out
}

// HistorySpan returns the times [start, end) whose sessions and lookups make
// up History(mac, from, to): the whole days in loc from the one holding
// from to the one holding to. start is at least 0.
func HistorySpan(from, to int64, loc *time.Location) (start, end int64) {
	if loc == nil {
		loc = time.Local
	}
	start, _ = dayBounds(from, loc)
	_, end = dayBounds(to, loc)
	return max(start, 0), end
}

// NextDay returns the start (Unix ms) of the day in loc after the one
// holding ts (Unix ms); loc nil is time.Local.
func NextDay(ts int64, loc *time.Location) int64 {
	if loc == nil {
		loc = time.Local
	}
	_, end := dayBounds(ts, loc)
	return end
}

// sortVisits sorts visits by day, then by bytes and lookups (most first),
// then by name.
func sortVisits(visits []Visit) {
	slices.SortFunc(visits, func(a, b Visit) int {
		if c := cmp.Compare(a.Day, b.Day); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Bytes, a.Bytes); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Lookups, a.Lookups); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}
