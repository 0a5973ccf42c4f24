package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"tamon/daemon/internal/record"
	"tamon/daemon/internal/store/sqldb"
)

// The reference: what each filter field matches per table, as
// sqldb.Filter documents it, evaluated in Go over the text the database
// keeps (AppendText).
type refTable struct {
	time, mac, host, app string
	ips, ports, q        []string
	lists                bool // ips are JSON lists
}

func refTables() map[record.Kind]refTable {
	return map[record.Kind]refTable{
		record.KindSession: {time: "start_ts", mac: "client_mac", host: "host", app: "app", ips: []string{"client_ip", "server_ip"},
			ports: []string{"client_port", "server_port"}, q: []string{"host", "app", "client_ip", "server_ip", "client_mac", "server_mac"}},
		record.KindDNS: {time: "ts", mac: "client_mac", host: "query", ips: []string{"client_ip", "server_ip"},
			q: []string{"query", "answers", "client_ip", "server_ip", "client_mac"}},
		record.KindHTTP: {time: "ts", mac: "client_mac", host: "host", ips: []string{"client_ip", "server_ip"}, ports: []string{"client_port", "server_port"},
			q: []string{"host", "uri", "user_agent", "referer", "content_type", "client_ip", "server_ip", "client_mac"}},
		record.KindTLS: {time: "ts", mac: "client_mac", host: "sni", ips: []string{"client_ip", "server_ip"}, ports: []string{"client_port", "server_port"},
			q: []string{"sni", "alpn", "version", "ja3", "ja3s", "ja4", "client_ip", "server_ip", "client_mac"}},
		record.KindICMP:   {time: "ts", mac: "client_mac", ips: []string{"src_ip", "dst_ip"}, q: []string{"src_ip", "dst_ip", "client_mac", "quoted"}},
		record.KindApp:    {time: "start_ts", mac: "client_mac", host: "host", app: "app", q: []string{"app", "host", "client_mac"}},
		record.KindDevice: {time: "last_seen", mac: "mac", host: "hostname", ips: []string{"ipv4", "ipv6"}, lists: true, q: []string{"mac", "alias", "hostname", "vendor", "ipv4", "ipv6", "os"}},
	}
}

// ref evaluates filters in Go, caching compiled patterns and column text.
type ref struct {
	wild map[string]*regexp.Regexp
	text map[record.Record]map[string]string
}

func newRef() *ref {
	return &ref{wild: map[string]*regexp.Regexp{}, text: map[record.Record]map[string]string{}}
}

// wildcard compiles a filter value to an anchored regexp.
func (rf *ref) wildcard(v string) *regexp.Regexp {
	if re, ok := rf.wild[v]; ok {
		return re
	}
	re := compileWildcard(v)
	rf.wild[v] = re
	return re
}

// columnText returns the stored text of each column of rec.
func (rf *ref) columnText(rec record.Record) map[string]string {
	if m, ok := rf.text[rec]; ok {
		return m
	}
	m := map[string]string{}
	text := AppendText(nil, rec)
	for i, c := range Columns(rec.Kind()) {
		m[c] = text[i]
	}
	rf.text[rec] = m
	return m
}

func compileWildcard(v string) *regexp.Regexp {
	parts := strings.Split(v, "*")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return regexp.MustCompile("^(?s:" + strings.Join(parts, ".*") + ")$")
}

// match reports whether rec passes f, or ok=false when f uses a field
// the table lacks (the store must answer ErrFilter).
func (rf *ref) match(rec record.Record, f Filter) (match, ok bool) {
	rt := refTables()[rec.Kind()]
	vals := rf.columnText(rec)
	num := func(c string) int64 { n, _ := strconv.ParseInt(vals[c], 10, 64); return n }
	anyOf := func(values []string, test func(v string) bool) bool {
		seen := false
		for _, v := range values {
			if v == "" {
				continue
			}
			seen = true
			if test(v) {
				return true
			}
		}
		return !seen
	}
	eqOrWild := func(col string) func(string) bool {
		return func(v string) bool { return rf.wildcard(v).MatchString(vals[col]) }
	}
	nonEmpty := func(vs []string) bool { return slices.ContainsFunc(vs, func(v string) bool { return v != "" }) }
	if (nonEmpty(f.Host) && rt.host == "") || (nonEmpty(f.App) && rt.app == "") ||
		(nonEmpty(f.IP) && len(rt.ips) == 0) || (len(f.Port) > 0 && len(rt.ports) == 0) {
		return false, false
	}
	match = (f.From == 0 || num(rt.time) >= f.From) && (f.To == 0 || num(rt.time) < f.To) &&
		anyOf(f.Sensor, eqOrWild("sensor")) && anyOf(f.MAC, eqOrWild(rt.mac))
	if rt.host != "" {
		match = match && anyOf(f.Host, eqOrWild(rt.host))
	}
	if rt.app != "" {
		match = match && anyOf(f.App, eqOrWild(rt.app))
	}
	match = match && anyOf(f.IP, func(v string) bool {
		for _, c := range rt.ips {
			if rt.lists {
				// An element of the JSON list.
				if rf.wildcard(`*"` + v + `"*`).MatchString(vals[c]) {
					return true
				}
			} else if rf.wildcard(v).MatchString(vals[c]) {
				return true
			}
		}
		return false
	})
	match = match && anyOf(f.Q, func(v string) bool {
		return slices.ContainsFunc(rt.q, func(c string) bool { return rf.wildcard("*" + v + "*").MatchString(vals[c]) })
	})
	if len(f.Port) > 0 {
		pm := false
		for _, p := range f.Port {
			for _, c := range rt.ports {
				pm = pm || num(c) == int64(p)
			}
		}
		match = match && pm
	}
	return match, true
}

// testFilters are the filters the query tests run, on every table.
func testFilters() []struct {
	name string
	f    Filter
} {
	return []struct {
		name string
		f    Filter
	}{
		{"all", Filter{}},
		{"mac", Filter{MAC: []string{mac(3)}}},
		{"mac wildcard", Filter{MAC: []string{"02:00:00:00:00:0*"}}},
		{"mac alternatives", Filter{MAC: []string{mac(1), "", mac(2)}}},
		{"mac upper case matches nothing", Filter{MAC: []string{strings.ToUpper(mac(10))}}},
		{"ip", Filter{IP: []string{"192.0.2.5"}}},
		{"ip server", Filter{IP: []string{"203.0.113.7"}}},
		{"ip v6 wildcard", Filter{IP: []string{"2001:db8::*"}}},
		{"port", Filter{Port: []int{443}}},
		{"ports", Filter{Port: []int{80, 53}}},
		{"host", Filter{Host: []string{"视频.example.cn"}}},
		{"host suffix", Filter{Host: []string{"*.example.net"}}},
		{"host underscore is literal", Filter{Host: []string{"a_*"}}},
		{"host percent is literal", Filter{Host: []string{"100%*"}}},
		{"host escape char is literal", Filter{Host: []string{"x!y*"}}},
		{"host case-sensitive", Filter{Host: []string{"upper.example.com"}}},
		{"host case wildcard", Filter{Host: []string{"UPPER*"}}},
		{"host empty matches all", Filter{Host: []string{""}}},
		{"app", Filter{App: []string{"微信"}}},
		{"app underscore", Filter{App: []string{"app_*"}}},
		{"app percent", Filter{App: []string{"app%2", "netflix"}}},
		{"q", Filter{Q: []string{"example.org"}}},
		{"q chinese", Filter{Q: []string{"测试"}}},
		{"q percent", Filter{Q: []string{"%"}}},
		{"q underscore", Filter{Q: []string{"_b"}}},
		{"q wildcard inside", Filter{Q: []string{"cdn*com"}}},
		{"sensor", Filter{Sensor: []string{"r1"}}},
		{"sensor other", Filter{Sensor: []string{"r2"}}},
		{"from", Filter{From: t0 + 20_000}},
		{"to", Filter{To: t0 + 20_000}},
		{"range", Filter{From: t0 + 10_000, To: t0 + 30_000}},
		{"combined", Filter{MAC: []string{mac(2), mac(4)}, Host: []string{"*example*"}, From: t0 + 5000, Q: []string{"e"}}},
	}
}

// loadTestData writes the query test data (two sensors) and returns it.
func loadTestData(t *testing.T, s *Store) []record.Record {
	recs := slices.Concat(genRecords("r1", 90, t0), genRecords("r2", 30, t0+7000))
	if err := s.Write(recs); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	return recs
}

func TestFilters(t *testing.T) {
	results := map[string][]string{}
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s := openStore(t, b.cfg(t))
			recs := loadTestData(t, s)
			rf := newRef()
			for _, k := range allKinds {
				all := expectedItems(recs, k)
				for _, tf := range testFilters() {
					var want []string
					applies := true
					for _, it := range all {
						m, ok := rf.match(it.r, tf.f)
						applies = applies && ok
						if m {
							want = append(want, jsonOf(it.r))
						}
					}
					name := sqldb.TableName(k) + "/" + tf.name
					var got []string
					f := tf.f
					f.Sort, f.Limit = "time", sqldb.MaxLimit
					_, err := s.List(context.Background(), k, f, func(r Row) error {
						got = append(got, jsonOf(r.Record))
						return nil
					})
					if !applies {
						if !errors.Is(err, ErrFilter) {
							t.Errorf("%s: err %v, want ErrFilter", name, err)
						}
						continue
					}
					if err != nil {
						t.Errorf("%s: %v", name, err)
						continue
					}
					if !slices.Equal(want, got) {
						t.Errorf("%s: %s", name, diffLines(want, got))
					}
					results[b.name] = append(results[b.name], name+": "+strings.Join(got, "\n"))
				}
			}
		})
	}
	if !slices.Equal(results["sqlite"], results["mysql"]) {
		t.Errorf("drivers answer differently:\n%s", diffLines(results["sqlite"], results["mysql"]))
	}
}

// sortValue returns a record's value of a sort column, as the database
// orders it (numbers as numbers, text by bytes).
func sortKey(rec record.Record, col string) (int64, string, bool) {
	if col == "time" {
		return timeOf(rec), "", false
	}
	for i, c := range Columns(rec.Kind()) {
		if c == col {
			v := AppendText(nil, rec)[i]
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && !isTextColumn(col) {
				return n, "", false
			}
			return 0, v, true
		}
	}
	panic("no column " + col)
}

func isTextColumn(col string) bool {
	switch col {
	case "host", "sni", "app", "client_mac", "query", "mac", "client_ip", "alias":
		return true
	}
	return false
}

func TestPagination(t *testing.T) {
	sorts := map[record.Kind][]string{
		record.KindSession: {"", "time", "-host", "host", "bytes_up", "-client_ip", "id", "-id"},
		record.KindDNS:     {"", "query", "-rtt_ms"},
		record.KindApp:     {"-app", "sessions"},
		record.KindDevice:  {"", "mac", "-alias"},
	}
	forEachBackend(t, func(t *testing.T, cfg Config) {
		s := openStore(t, cfg)
		recs := loadTestData(t, s)
		for k, list := range sorts {
			for _, sortBy := range list {
				for _, limit := range []int{3, 17} {
					name := fmt.Sprintf("%s sort %q limit %d", sqldb.TableName(k), sortBy, limit)
					items := expectedItems(recs, k)
					col, desc := strings.TrimPrefix(sortBy, "-"), strings.HasPrefix(sortBy, "-") || sortBy == ""
					if col == "" {
						col = "time"
					}
					slices.SortStableFunc(items, func(a, b item) int {
						c := cmp.Compare(a.pos, b.pos)
						if col != "id" {
							an, as, _ := sortKey(a.r, col)
							bn, bs, _ := sortKey(b.r, col)
							c = cmp.Or(cmp.Compare(an, bn), strings.Compare(as, bs), c)
						}
						if desc {
							return -c
						}
						return c
					})
					var want []string
					for _, it := range items {
						want = append(want, jsonOf(it.r))
					}
					// Forward, page by page.
					var got []string
					var cursors []string
					f := Filter{Sort: sortBy, Limit: limit}
					for pages := 0; ; pages++ {
						n := 0
						next, err := s.List(context.Background(), k, f, func(r Row) error {
							got = append(got, jsonOf(r.Record))
							n++
							return nil
						})
						if err != nil {
							t.Fatalf("%s: %v", name, err)
						}
						if n > limit || (next != "" && n != limit) {
							t.Fatalf("%s: page of %d rows, next %q", name, n, next)
						}
						if next == "" {
							break
						}
						cursors = append(cursors, next)
						f.After = next
						if pages > len(want) {
							t.Fatalf("%s: no end", name)
						}
					}
					if !slices.Equal(want, got) {
						t.Errorf("%s forward: %s", name, diffLines(want, got))
						continue
					}
					if len(cursors) == 0 {
						continue
					}
					// Backward from the last cursor: every row before it.
					lastCursor := cursors[len(cursors)-1]
					end := len(cursors) * limit // the row of lastCursor is want[end-1]
					var back []string
					f = Filter{Sort: sortBy, Limit: limit, Before: lastCursor}
					for {
						var page []string
						next, err := s.List(context.Background(), k, f, func(r Row) error {
							page = append(page, jsonOf(r.Record))
							return nil
						})
						if err != nil {
							t.Fatalf("%s backward: %v", name, err)
						}
						back = append(page, back...)
						if next == "" {
							break
						}
						f.Before = next
					}
					if !slices.Equal(want[:end-1], back) {
						t.Errorf("%s backward: %s", name, diffLines(want[:end-1], back))
					}
				}
			}
		}
	})
}

// refAggregate computes Top's and Series' answers in Go.
func refAggregate(rf *ref, recs []record.Record, f Filter, key func(*record.Session) string, step int64) (map[string][2]int64, map[[2]string][4]int64) {
	tot := map[string][2]int64{}
	ser := map[[2]string][4]int64{} // bytes, sessions, up, down
	for _, it := range expectedItems(recs, record.KindSession) {
		if m, _ := rf.match(it.r, f); !m {
			continue
		}
		s := it.r.(*record.Session)
		k := key(s)
		b := int64(s.BytesUp + s.BytesDown)
		v := tot[k]
		tot[k] = [2]int64{v[0] + b, v[1] + 1}
		if step > 0 {
			sk := [2]string{strconv.FormatInt(s.StartTS/step*step, 10), k}
			v := ser[sk]
			ser[sk] = [4]int64{v[0] + b, v[1] + 1, v[2] + int64(s.BytesUp), v[3] + int64(s.BytesDown)}
		}
	}
	return tot, ser
}

func TestTopAndSeries(t *testing.T) {
	keys := map[string]func(*record.Session) string{
		"device": func(s *record.Session) string { return s.ClientMAC },
		"app":    func(s *record.Session) string { return s.App },
		"host":   func(s *record.Session) string { return s.Host },
		"":       func(*record.Session) string { return "" },
	}
	filters := []Filter{{}, {From: t0 + 10_000, To: t0 + 40_000}, {Sensor: []string{"r2"}}, {MAC: []string{mac(1), mac(5)}}}
	results := map[string][]string{}
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s := openStore(t, b.cfg(t))
			recs := loadTestData(t, s)
			rf := newRef()
			for fi, f := range filters {
				for _, by := range []string{"", "app", "device", "host"} {
					key := keys[by]
					tot, ser := refAggregate(rf, recs, f, key, 7000)
					if by != "" {
						for _, metric := range []string{"bytes", "sessions"} {
							var want []TopItem
							for k, v := range tot {
								want = append(want, TopItem{Key: k, Bytes: v[0], Sessions: v[1]})
							}
							slices.SortFunc(want, func(a, b TopItem) int {
								if metric == "bytes" {
									return cmp.Or(-cmp.Compare(a.Bytes, b.Bytes), strings.Compare(a.Key, b.Key))
								}
								return cmp.Or(-cmp.Compare(a.Sessions, b.Sessions), strings.Compare(a.Key, b.Key))
							})
							want = want[:min(len(want), 4)]
							got, err := s.Top(context.Background(), by, metric, f, 4)
							if err != nil {
								t.Fatal(err)
							}
							if !slices.Equal(want, got) {
								t.Errorf("filter %d top %s by %s:\n want %v\n got  %v", fi, by, metric, want, got)
							}
							results[b.name] = append(results[b.name], fmt.Sprint(got))
						}
					}
					var want []Point
					for k, v := range ser {
						ts, _ := strconv.ParseInt(k[0], 10, 64)
						want = append(want, Point{TS: ts, Key: k[1], Bytes: v[0], Up: v[2], Down: v[3], Sessions: v[1]})
					}
					slices.SortFunc(want, func(a, b Point) int { return cmp.Or(cmp.Compare(a.TS, b.TS), strings.Compare(a.Key, b.Key)) })
					got, err := s.Series(context.Background(), 7*time.Second, by, f)
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(want, got) {
						t.Errorf("filter %d series by %q:\n want %v\n got  %v", fi, by, want, got)
					}
					results[b.name] = append(results[b.name], fmt.Sprint(got))
					if by != "" {
						// Limited to the 2 keys with the most bytes.
						top, _ := s.Top(context.Background(), by, "bytes", f, 2)
						var keep []Point
						for _, p := range want {
							if slices.ContainsFunc(top, func(it TopItem) bool { return it.Key == p.Key }) {
								keep = append(keep, p)
							}
						}
						f2 := f
						f2.Limit = 2
						got, err := s.Series(context.Background(), 7*time.Second, by, f2)
						if err != nil {
							t.Fatal(err)
						}
						if !slices.Equal(keep, got) {
							t.Errorf("filter %d series by %q, 2 keys:\n want %v\n got  %v", fi, by, keep, got)
						}
					}
				}
			}
		})
	}
	if !slices.Equal(results["sqlite"], results["mysql"]) {
		t.Errorf("drivers answer differently:\n%s", diffLines(results["sqlite"], results["mysql"]))
	}
}
