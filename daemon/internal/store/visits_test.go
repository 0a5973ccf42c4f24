package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"tamon/daemon/internal/record"
)

// TestVisits: Visits on SQLite and MariaDB, case by case, against answers
// written out by hand; both drivers answer alike.
func TestVisits(t *testing.T) {
	const (
		step = int64(15 * 60_000)
		m1   = "02:00:00:00:00:01"
		m2   = "02:00:00:00:00:02"
		m3   = "02:00:00:00:00:03"
	)
	b0 := int64(1_750_000_500_000) / step * step // a step's start
	b1, b9 := b0+step, b0+9*step
	sess := func(mac, sensor, host string, start, end int64, up, down uint64) *record.Session {
		return &record.Session{Sensor: sensor, Proto: "tcp", ClientMAC: mac, ClientIP: "192.0.2.1", ServerIP: "203.0.113.1",
			ServerPort: 443, StartTS: start, EndTS: end, BytesUp: up, BytesDown: down, Host: host, EndReason: "fin"}
	}
	dns := func(mac, sensor, query, qtype, rcode string, ts int64) *record.DNS {
		return &record.DNS{Sensor: sensor, TS: ts, ClientMAC: mac, ClientIP: "192.0.2.1", ServerIP: "192.0.2.254",
			Proto: "udp", Query: query, QType: qtype, RCode: rcode}
	}
	recs := []record.Record{
		sess(m1, "r1", "example.com", b0+1000, b0+5000, 100, 200),
		sess(m1, "r1", "example.com", b0+9000, b0+8000, 1, 2),        // ends before it starts: last is its start
		sess(m1, "r1", "example.com", b0+step-1, b1+600_000, 10, 20), // ends in a later step
		sess(m1, "r1", "", b0+2000, b0+3000, 7, 7),                   // no host: left out
		sess(m1, "r1", "Example.com", b0+3000, b0+4000, 5, 5),        // other bytes, other name
		sess(m1, "r1", "example.com ", b0+3500, b0+3600, 3, 3),       // so is a trailing space
		sess(m1, "r1", "视频.example.cn", b0+100, b0+200, 8, 9),
		sess(m1, "r1", "example.com", b1, b1+10, 1000, 1),
		sess(m1, "r1", "late.example", b9, b9+1, 4, 4),
		sess(m2, "r1", "example.com", b0+100, b0+150, 50, 50),
		sess(m3, "r2", "other.net", b0+200, b0+300, 60, 60),
		dns(m1, "r1", "example.com", "A", "NOERROR", b0+3000),
		dns(m1, "r1", "example.com", "AAAA", "NOERROR", b0+4000),
		dns(m1, "r1", "example.com", "HTTPS", "NOERROR", b0+500),
		dns(m1, "r1", "example.com", "MX", "NOERROR", b0+600),     // not an address
		dns(m1, "r1", "example.com", "A", "NXDOMAIN", b0+700),     // failed
		dns(m1, "r1", "gone.example", "AAAA", "SERVFAIL", b0+800), // failed
		dns(m1, "r1", "printer.local", "A", "NOERROR", b0+900),    // kept: the name rules are package devices'
		dns(m1, "r1", "example.com", "A", "NOERROR", b1+step-1),
		dns(m1, "r1", "late.example", "A", "NOERROR", b9-1),
		dns(m2, "r1", "example.com", "A", "NOERROR", b0+100),
		dns(m3, "r2", "other.net", "AAAA", "NOERROR", b0+250),
	}
	S, D := record.KindSession, record.KindDNS
	m1Rows := []VisitBucket{
		{TS: b0, Name: "Example.com", Kind: S, First: b0 + 3000, Last: b0 + 4000, Sessions: 1, Bytes: 10},
		{TS: b0, Name: "example.com", Kind: S, First: b0 + 1000, Last: b1 + 600_000, Sessions: 3, Bytes: 333},
		{TS: b0, Name: "example.com", Kind: D, First: b0 + 500, Last: b0 + 4000, Lookups: 3},
		{TS: b0, Name: "example.com ", Kind: S, First: b0 + 3500, Last: b0 + 3600, Sessions: 1, Bytes: 6},
		{TS: b0, Name: "printer.local", Kind: D, First: b0 + 900, Last: b0 + 900, Lookups: 1},
		{TS: b0, Name: "视频.example.cn", Kind: S, First: b0 + 100, Last: b0 + 200, Sessions: 1, Bytes: 17},
		{TS: b1, Name: "example.com", Kind: S, First: b1, Last: b1 + 10, Sessions: 1, Bytes: 1001},
		{TS: b1, Name: "example.com", Kind: D, First: b1 + step - 1, Last: b1 + step - 1, Lookups: 1},
		{TS: b9 - step, Name: "late.example", Kind: D, First: b9 - 1, Last: b9 - 1, Lookups: 1},
		{TS: b9, Name: "late.example", Kind: S, First: b9, Last: b9 + 1, Sessions: 1, Bytes: 8},
	}
	m2Rows := []VisitBucket{
		{TS: b0, Name: "example.com", Kind: S, First: b0 + 100, Last: b0 + 150, Sessions: 1, Bytes: 100},
		{TS: b0, Name: "example.com", Kind: D, First: b0 + 100, Last: b0 + 100, Lookups: 1},
	}
	m3Rows := []VisitBucket{
		{TS: b0, Name: "other.net", Kind: S, First: b0 + 200, Last: b0 + 300, Sessions: 1, Bytes: 120},
		{TS: b0, Name: "other.net", Kind: D, First: b0 + 250, Last: b0 + 250, Lookups: 1},
	}
	// Rows are per name, not per MAC: the MACs of one device add up.
	m12Rows := slices.Clone(m1Rows)
	m12Rows[1] = VisitBucket{TS: b0, Name: "example.com", Kind: S, First: b0 + 100, Last: b1 + 600_000, Sessions: 4, Bytes: 433}
	m12Rows[2] = VisitBucket{TS: b0, Name: "example.com", Kind: D, First: b0 + 100, Last: b0 + 4000, Lookups: 4}
	cases := []struct {
		name string
		step time.Duration
		f    Filter
		want []VisitBucket
		err  bool // ErrFilter
	}{
		{name: "one device", step: 15 * time.Minute, f: Filter{MAC: []string{m1}}, want: m1Rows},
		{name: "another device", step: 15 * time.Minute, f: Filter{MAC: []string{m2}}, want: m2Rows},
		{name: "two MACs of one device", step: 15 * time.Minute, f: Filter{MAC: []string{m1, m2}}, want: m12Rows},
		{name: "no such device", step: 15 * time.Minute, f: Filter{MAC: []string{"02:00:00:00:00:99"}}},
		{name: "time range: from inclusive, to exclusive", step: 15 * time.Minute, f: Filter{MAC: []string{m1}, From: b0 + 3000, To: b9},
			want: []VisitBucket{
				{TS: b0, Name: "Example.com", Kind: S, First: b0 + 3000, Last: b0 + 4000, Sessions: 1, Bytes: 10},
				{TS: b0, Name: "example.com", Kind: S, First: b0 + 9000, Last: b1 + 600_000, Sessions: 2, Bytes: 33},
				{TS: b0, Name: "example.com", Kind: D, First: b0 + 3000, Last: b0 + 4000, Lookups: 2},
				{TS: b0, Name: "example.com ", Kind: S, First: b0 + 3500, Last: b0 + 3600, Sessions: 1, Bytes: 6},
				m1Rows[6], m1Rows[7], m1Rows[8],
			}},
		{name: "sensor", step: 15 * time.Minute, f: Filter{Sensor: []string{"r2"}}, want: m3Rows},
		{name: "a wider step", step: time.Hour, f: Filter{MAC: []string{m3}}, want: []VisitBucket{
			{TS: b0 / 3_600_000 * 3_600_000, Name: "other.net", Kind: S, First: b0 + 200, Last: b0 + 300, Sessions: 1, Bytes: 120},
			{TS: b0 / 3_600_000 * 3_600_000, Name: "other.net", Kind: D, First: b0 + 250, Last: b0 + 250, Lookups: 1},
		}},
		{name: "ip is refused", step: 15 * time.Minute, f: Filter{MAC: []string{m1}, IP: []string{"192.0.2.1"}}, err: true},
		{name: "host is refused", step: 15 * time.Minute, f: Filter{Host: []string{"example.com"}}, err: true},
		{name: "app is refused", step: 15 * time.Minute, f: Filter{App: []string{"x"}}, err: true},
		{name: "q is refused", step: 15 * time.Minute, f: Filter{Q: []string{"x"}}, err: true},
		{name: "port is refused", step: 15 * time.Minute, f: Filter{Port: []int{443}}, err: true},
		{name: "a cursor is refused", step: 15 * time.Minute, f: Filter{After: "x"}, err: true},
		{name: "limit is refused", step: 15 * time.Minute, f: Filter{Limit: 5}, err: true},
		{name: "negative time is refused", step: 15 * time.Minute, f: Filter{From: -1}, err: true},
		{name: "a step below 1 ms is refused", step: time.Microsecond, f: Filter{}, err: true},
	}
	results := map[string][]string{}
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s := openStore(t, b.cfg(t))
			if err := s.Write(recs); err != nil {
				t.Fatal(err)
			}
			flush(t, s)
			for _, tc := range cases {
				got, err := s.Visits(context.Background(), tc.step, tc.f)
				if tc.err {
					if !errors.Is(err, ErrFilter) {
						t.Errorf("%s: err %v, want ErrFilter", tc.name, err)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: %v", tc.name, err)
					continue
				}
				if !slices.Equal(tc.want, got) {
					t.Errorf("%s:\n want %v\n got  %v", tc.name, tc.want, got)
				}
				results[b.name] = append(results[b.name], fmt.Sprintf("%s: %v", tc.name, got))
			}
		})
	}
	if !slices.Equal(results["sqlite"], results["mysql"]) {
		t.Errorf("drivers answer differently:\n%s", diffLines(results["sqlite"], results["mysql"]))
	}
}
