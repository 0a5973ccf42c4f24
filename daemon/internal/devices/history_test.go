package devices

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, where the system has no zoneinfo

	"tamon/daemon/internal/record"
)

// storeCounts does what the store's Visits does (sqldb.DB.Visits), in Go:
// the sessions with a host and the lookups LookupVisits accepts of the
// given MACs, started in [from, to), summed per step, raw name and source.
func storeCounts(sessions []*record.Session, lookups []*record.DNS, macs []string, from, to, step int64) []VisitCount {
	type key struct {
		ts     int64
		name   string
		lookup bool
	}
	sums := map[key]*VisitCount{}
	add := func(k key, first, last int64, sessions, bytes, lookups uint64) {
		c := sums[k]
		if c == nil {
			c = &VisitCount{Name: k.name, Lookup: k.lookup, First: first, Last: last}
			sums[k] = c
		}
		c.First = min(c.First, first)
		c.Last = max(c.Last, last)
		c.Sessions += sessions
		c.Bytes += bytes
		c.Lookups += lookups
	}
	in := func(mac string, ts int64) bool { return slices.Contains(macs, mac) && ts >= from && ts < to }
	for _, s := range sessions {
		if s.Host != "" && in(s.ClientMAC, s.StartTS) {
			add(key{s.StartTS / step * step, s.Host, false}, s.StartTS, max(s.EndTS, s.StartTS), 1, s.BytesUp+s.BytesDown, 0)
		}
	}
	for _, d := range lookups {
		if LookupVisits(d.RCode, d.QType) && in(d.ClientMAC, d.TS) {
			add(key{d.TS / step * step, d.Query, true}, d.TS, d.TS, 0, 0, 1)
		}
	}
	keys := make([]key, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := cmp.Compare(a.ts, b.ts); c != 0 {
			return c
		}
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if a.lookup == b.lookup {
			return 0
		}
		if a.lookup {
			return 1
		}
		return -1
	})
	out := make([]VisitCount, len(keys))
	for i, k := range keys {
		out[i] = *sums[k]
	}
	return out
}

// TestMergeVisitsMatchesHistory: the same sessions and lookups, given to an
// Inventory (Session, DNS) and, summed per VisitStep as the store sums
// them, to MergeVisits, give the same history, around a local midnight in
// zones whose offsets are not whole hours, with a randomised MAC linked to
// the device half-way.
func TestMergeVisitsMatchesHistory(t *testing.T) {
	load := func(name string) *time.Location {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatalf("load zone %s: %v", name, err)
		}
		return loc
	}
	const (
		phone  = "da:a1:19:00:00:01" // locally administered
		phone2 = "3e:a1:19:00:00:02" // the same phone later: linked by client id
		other  = "00:11:22:33:44:55" // another device, never in the answer
		cid    = "ff:00:00:00:01:00:01"
	)
	// Names as records carry them: case, trailing dot, port, brackets;
	// names a lookup does not count (single-label, .local, .arpa) but a
	// session does; an empty host.
	names := []string{"Example.COM.", "example.com", "example.com:443", "video.example.net", "[2001:db8::1]",
		"printer.local", "wpad", "4.3.2.1.in-addr.arpa", "", "cdn.example.org", "example.com "}
	qtypes := []string{"A", "AAAA", "HTTPS", "MX", "A", "PTR", "AAAA"}
	rcodes := []string{"NOERROR", "NOERROR", "NXDOMAIN", "NOERROR", "SERVFAIL", "NOERROR"}
	// Times around midnight, in ms.
	offsets := []int64{-day - 5*minute, -3 * hour, -16 * minute, -15 * minute, -15*minute + 1, -7 * minute, -1, 0, 1,
		7 * minute, 15*minute - 1, 15 * minute, 16 * minute, 3 * hour, day - 1, day + 20*minute}

	cases := []struct {
		name string
		loc  *time.Location
		date [3]int // a local date whose midnight the records surround
	}{
		{"Kathmandu +5:45", load("Asia/Kathmandu"), [3]int{2025, 6, 15}},
		{"Eucla +8:45", load("Australia/Eucla"), [3]int{2025, 1, 2}},
		{"Chatham +13:45 summer", load("Pacific/Chatham"), [3]int{2025, 1, 20}},
		{"Chatham +12:45, summer time ends the day before", load("Pacific/Chatham"), [3]int{2025, 4, 7}},
		{"St Johns -2:30 summer", load("America/St_Johns"), [3]int{2025, 7, 1}},
		{"Kolkata +5:30", load("Asia/Kolkata"), [3]int{2024, 2, 29}},
		{"fixed +5:45", time.FixedZone("+0545", 5*3600+45*60), [3]int{2025, 6, 15}},
		{"fixed -9:30", time.FixedZone("-0930", -(9*3600 + 30*60)), [3]int{2025, 12, 31}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			midnight := time.Date(tc.date[0], time.Month(tc.date[1]), tc.date[2], 0, 0, 0, 0, tc.loc).UnixMilli()
			inv := New(Config{Location: tc.loc, HistoryDays: 30})
			var sessions []*record.Session
			var lookups []*record.DNS
			feed := func(mac string, i int, ts int64) {
				if i%3 == 0 {
					d := &record.DNS{Sensor: "r", TS: ts, ClientMAC: mac, Query: names[i%len(names)],
						QType: qtypes[i%len(qtypes)], RCode: rcodes[i%len(rcodes)]}
					lookups = append(lookups, d)
					inv.DNS(d)
					return
				}
				// Some sessions end after midnight, some have an end
				// before their start (clock steps).
				end := ts + int64(i%5)*4*minute - int64(i%7)*100
				s := &record.Session{Sensor: "r", ClientMAC: mac, StartTS: ts, EndTS: end, Host: names[i%len(names)],
					BytesUp: uint64(100 + i), BytesDown: uint64(1000 * (i%4 + 1)), App: "app"}
				sessions = append(sessions, s)
				inv.Session(s)
			}
			i := 0
			for _, mac := range []string{phone, other} {
				for _, off := range offsets {
					for range 3 {
						feed(mac, i, midnight+off)
						i++
					}
				}
			}
			// The phone comes back with a new MAC after midnight and is
			// linked to its device; its records count on the device.
			inv.Apply(dhcpObs(phone, midnight-day-6*minute, "pixel", cid, ""), nil)
			for _, off := range offsets[8:] {
				feed(phone2, i, midnight+off+30*minute)
				i++
			}
			inv.Apply(dhcpObs(phone2, midnight+day+21*minute, "pixel", cid, ""), nil)
			if inv.Primary(phone2) != phone {
				t.Fatalf("%s not linked to %s", phone2, phone)
			}
			for _, off := range offsets[:6] {
				feed(phone2, i, midnight+off+45*minute)
				i++
			}
			macs := inv.MACs(phone2)
			if !slices.Equal(macs, []string{phone, phone2}) {
				t.Fatalf("MACs(%s) = %v", phone2, macs)
			}
			windows := []struct {
				name     string
				from, to int64
			}{
				{"all", midnight - 3*day, midnight + 3*day},
				{"the day before", midnight - 2*hour, midnight - hour},
				{"the day after", midnight + hour, midnight + 2*hour},
				{"across midnight", midnight - 1, midnight},
				{"from midnight", midnight, midnight + day - 1},
			}
			sides := map[bool]bool{}
			for _, w := range windows {
				want := inv.History(phone2, w.from, w.to)
				start, end := HistorySpan(w.from, w.to, tc.loc)
				got := MergeVisits(storeCounts(sessions, lookups, macs, start, end, VisitStep.Milliseconds()), tc.loc)
				if !reflect.DeepEqual(want, got) {
					t.Errorf("%s: MergeVisits differs from History:\n%s", w.name, diffVisits(want, got))
				}
				if len(want) == 0 {
					t.Errorf("%s: no visits", w.name)
				}
				for _, v := range want {
					sides[v.Day >= midnight] = true
					// Only sessions make these names visits.
					if v.Name == "" || v.Lookups > 0 && (v.Name == "wpad" || strings.HasSuffix(v.Name, ".arpa") || strings.HasSuffix(v.Name, ".local")) {
						t.Errorf("%s: visit %+v", w.name, v)
					}
				}
			}
			if !sides[false] || !sides[true] {
				t.Errorf("visits on one side of midnight only: %v", sides)
			}
		})
	}
}

func diffVisits(want, got []Visit) string {
	var b strings.Builder
	fmt.Fprintf(&b, "want %d visits, got %d\n", len(want), len(got))
	for i := range max(len(want), len(got)) {
		var w, g Visit
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		mark := " "
		if w != g {
			mark = "!"
		}
		fmt.Fprintf(&b, "%s want %+v\n  got  %+v\n", mark, w, g)
	}
	return b.String()
}

// TestMergeVisits: the rules, case by case.
func TestMergeVisits(t *testing.T) {
	loc := time.FixedZone("+0545", 5*3600+45*60)
	midnight := time.Date(2025, 6, 15, 0, 0, 0, 0, loc).UnixMilli()
	before := midnight - day
	cases := []struct {
		name   string
		counts []VisitCount
		want   []Visit
	}{
		{"nothing", nil, nil},
		{"names normalised and merged", []VisitCount{
			{Name: "Example.COM.", First: midnight + 10, Last: midnight + 20, Sessions: 1, Bytes: 100},
			{Name: "example.com:443", First: midnight + 5, Last: midnight + 50, Sessions: 2, Bytes: 50},
			{Name: "example.com", Lookup: true, First: midnight + 1, Last: midnight + 60, Lookups: 3},
		}, []Visit{{Name: "example.com", Day: midnight, FirstSeen: midnight + 1, LastSeen: midnight + 60, Sessions: 3, Bytes: 150, Lookups: 3}}},
		{"lookups of local names are no visits, sessions are", []VisitCount{
			{Name: "wpad", Lookup: true, First: midnight, Last: midnight, Lookups: 1},
			{Name: "printer.local", Lookup: true, First: midnight, Last: midnight, Lookups: 1},
			{Name: "1.0.0.10.in-addr.arpa.", Lookup: true, First: midnight, Last: midnight, Lookups: 1},
			{Name: "", Lookup: true, First: midnight, Last: midnight, Lookups: 1},
			{Name: "printer.local", First: midnight, Last: midnight + 1, Sessions: 1, Bytes: 9},
			{Name: "[2001:db8::1]:443", First: midnight, Last: midnight + 1, Sessions: 1, Bytes: 8},
		}, []Visit{
			{Name: "printer.local", Day: midnight, FirstSeen: midnight, LastSeen: midnight + 1, Sessions: 1, Bytes: 9},
			{Name: "2001:db8::1", Day: midnight, FirstSeen: midnight, LastSeen: midnight + 1, Sessions: 1, Bytes: 8},
		}},
		{"one entry per local day, by the first time", []VisitCount{
			{Name: "a.example", First: midnight - 1, Last: midnight + 5*minute, Sessions: 1, Bytes: 1},
			{Name: "a.example", First: midnight, Last: midnight, Sessions: 1, Bytes: 2},
			{Name: "a.example", First: before, Last: before, Lookup: true, Lookups: 1},
		}, []Visit{
			{Name: "a.example", Day: before, FirstSeen: before, LastSeen: midnight + 5*minute, Sessions: 1, Bytes: 1, Lookups: 1},
			{Name: "a.example", Day: midnight, FirstSeen: midnight, LastSeen: midnight, Sessions: 1, Bytes: 2},
		}},
		{"sorted by day, bytes, lookups, name", []VisitCount{
			{Name: "c.example", First: midnight, Last: midnight, Lookup: true, Lookups: 5},
			{Name: "b.example", First: midnight, Last: midnight, Lookup: true, Lookups: 5},
			{Name: "d.example", First: midnight, Last: midnight, Lookup: true, Lookups: 9},
			{Name: "e.example", First: midnight, Last: midnight, Sessions: 1, Bytes: 1},
			{Name: "z.example", First: before, Last: before, Lookup: true, Lookups: 1},
		}, []Visit{
			{Name: "z.example", Day: before, FirstSeen: before, LastSeen: before, Lookups: 1},
			{Name: "e.example", Day: midnight, FirstSeen: midnight, LastSeen: midnight, Sessions: 1, Bytes: 1},
			{Name: "d.example", Day: midnight, FirstSeen: midnight, LastSeen: midnight, Lookups: 9},
			{Name: "b.example", Day: midnight, FirstSeen: midnight, LastSeen: midnight, Lookups: 5},
			{Name: "c.example", Day: midnight, FirstSeen: midnight, LastSeen: midnight, Lookups: 5},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := MergeVisits(tc.counts, loc)
			if !reflect.DeepEqual(tc.want, got) {
				t.Errorf("%s", diffVisits(tc.want, got))
			}
		})
	}
}

func TestHistorySpan(t *testing.T) {
	ktm := time.FixedZone("+0545", 5*3600+45*60)
	midnight := time.Date(2025, 6, 15, 0, 0, 0, 0, ktm).UnixMilli()
	cases := []struct {
		name               string
		from, to           int64
		wantStart, wantEnd int64
	}{
		{"one day", midnight + hour, midnight + 2*hour, midnight, midnight + day},
		{"from midnight to the next", midnight, midnight + day, midnight, midnight + 2*day},
		{"across midnight", midnight - 1, midnight, midnight - day, midnight + day},
		{"from 0: never negative", 0, midnight, 0, midnight + day},
	}
	for _, tc := range cases {
		start, end := HistorySpan(tc.from, tc.to, ktm)
		if start != tc.wantStart || end != tc.wantEnd {
			t.Errorf("%s: HistorySpan(%d, %d) = %d, %d; want %d, %d", tc.name, tc.from, tc.to, start, end, tc.wantStart, tc.wantEnd)
		}
	}
}

func TestNextDay(t *testing.T) {
	ktm := time.FixedZone("+0545", 5*3600+45*60)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	at := func(loc *time.Location, y int, m time.Month, d, h int) int64 {
		return time.Date(y, m, d, h, 0, 0, 0, loc).UnixMilli()
	}
	cases := []struct {
		name string
		ts   int64
		loc  *time.Location
		want int64
	}{
		{"noon", at(ktm, 2025, 6, 15, 12), ktm, at(ktm, 2025, 6, 16, 0)},
		{"midnight: the day it starts", at(ktm, 2025, 6, 15, 0), ktm, at(ktm, 2025, 6, 16, 0)},
		{"a millisecond before midnight", at(ktm, 2025, 6, 16, 0) - 1, ktm, at(ktm, 2025, 6, 16, 0)},
		{"a 23-hour day", at(berlin, 2025, 3, 30, 1), berlin, at(berlin, 2025, 3, 30, 0) + 23*hour},
		{"a 25-hour day", at(berlin, 2025, 10, 26, 1), berlin, at(berlin, 2025, 10, 26, 0) + 25*hour},
		{"zero, UTC", 0, time.UTC, day},
	}
	for _, tc := range cases {
		if got := NextDay(tc.ts, tc.loc); got != tc.want {
			t.Errorf("%s: NextDay(%d) = %d, want %d", tc.name, tc.ts, got, tc.want)
		}
	}
}

func TestMACs(t *testing.T) {
	const (
		phone  = "da:a1:19:00:00:01"
		phone2 = "3e:a1:19:00:00:02"
		laptop = "00:11:22:33:44:55"
		cid    = "ff:00:00:00:01:00:01"
	)
	inv := New(Config{})
	inv.Apply(dhcpObs(phone, t0, "pixel", cid, ""), nil)
	inv.Apply(traffic(laptop, t0, "", 1, 1), nil)
	inv.Apply(traffic(phone2, t0+day, "", 1, 1), nil)
	inv.Apply(dhcpObs(phone2, t0+day+1, "pixel", cid, ""), nil)
	cases := []struct {
		mac  string
		want []string
	}{
		{phone, []string{phone, phone2}},
		{strings.ToUpper(phone2), []string{phone, phone2}},
		{"3E-A1-19-00-00-02", []string{phone, phone2}},
		{laptop, []string{laptop}},
		{"02:00:00:00:00:99", []string{"02:00:00:00:00:99"}},
		{"02-00-00-00-00-AB", []string{"02:00:00:00:00:ab"}},
		{"not a mac", nil},
		{"", nil},
	}
	for _, tc := range cases {
		if got := inv.MACs(tc.mac); !slices.Equal(got, tc.want) {
			t.Errorf("MACs(%q) = %v, want %v", tc.mac, got, tc.want)
		}
	}
}
