package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"tamon/daemon/internal/record"
)

// TestStoreBacked runs the API over a store loaded from a corpus capture by
// the engine, on SQLite and on MariaDB: every list with every filter,
// pagination, CSV against JSON, aggregates against the rows, injection
// strings, the auth matrix, status, history and metrics.
func TestStoreBacked(t *testing.T) {
	tools := newFakeTools(t)
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			fx := newFixture(t, b)
			kinds := map[record.Kind]int{}
			for _, r := range fx.recs {
				kinds[r.Kind()]++
			}
			for k := record.KindSession; k <= record.KindDevice; k++ {
				if kinds[k] < 10 {
					t.Fatalf("only %d %s records from %s: %v", kinds[k], k, mainCapture, kinds)
				}
			}
			t.Run("lists", func(t *testing.T) { testLists(t, fx) })
			t.Run("filters", func(t *testing.T) { testFilters(t, fx) })
			t.Run("pagination", func(t *testing.T) { testPagination(t, fx) })
			t.Run("csv", func(t *testing.T) { testCSV(t, fx) })
			t.Run("top", func(t *testing.T) { testTop(t, fx) })
			t.Run("series", func(t *testing.T) { testSeries(t, fx) })
			t.Run("injection", func(t *testing.T) { testInjection(t, fx) })
			t.Run("bad_params", func(t *testing.T) { testBadParams(t, fx) })
			t.Run("auth", func(t *testing.T) { testAuthMatrix(t, fx, tools) })
			t.Run("status", func(t *testing.T) { testStatus(t, fx) })
			t.Run("history", func(t *testing.T) { testHistory(t, fx) })
			t.Run("alias", func(t *testing.T) { testAlias(t, fx, tools) })
			t.Run("metrics", func(t *testing.T) { testMetrics(t, fx) })
		})
	}
}

// routeOf is the list route of a kind.
func routeOf(k record.Kind) string {
	for _, l := range listRoutes() {
		if l.kind == k {
			return l.name
		}
	}
	return ""
}

// listAll fetches every row of a list with extra parameters (pages of
// 1000), in answer order.
func listAll(t testing.TB, fx *fixture, route, params string) []json.RawMessage {
	t.Helper()
	var rows []json.RawMessage
	path := "/api/v1/" + route + "?limit=1000&" + params
	for {
		p := getPage(t, fx.ts.URL, path)
		rows = append(rows, p.Rows...)
		if p.Next == "" {
			return rows
		}
		path = "/api/v1/" + route + "?limit=1000&" + params + "&before=" + url.QueryEscape(p.Next)
	}
}

// testLists: every list from 0 equals the engine's records; the default
// range is the last 24 h before the server's clock; from/to select by the
// kind's time column.
func testLists(t *testing.T, fx *fixture) {
	for k := record.KindSession; k <= record.KindDevice; k++ {
		want := ofKind(fx.recs, k)
		rows := listAll(t, fx, routeOf(k), "from=0")
		if d := diffSets(sortedRaw(rows), sortedJSON(t, want)); d != "" {
			t.Errorf("%s from=0: %s", k, d)
		}
		// Newest first.
		for i := 1; i < len(rows); i++ {
			if rowTime(t, k, rows[i]) > rowTime(t, k, rows[i-1]) {
				t.Fatalf("%s: row %d is newer than row %d", k, i, i-1)
			}
		}
		// The default range: the last 24 h.
		var day []record.Record
		for _, r := range want {
			if timeOf(r) >= fx.now-86400_000 {
				day = append(day, r)
			}
		}
		if d := diffSets(sortedRaw(listAll(t, fx, routeOf(k), "")), sortedJSON(t, day)); d != "" {
			t.Errorf("%s default range: %s", k, d)
		}
		// from/to: the middle half of the records' times, as RFC 3339 and ms.
		times := make([]int64, len(want))
		for i, r := range want {
			times[i] = timeOf(r)
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		from, to := times[len(times)/4], times[3*len(times)/4]
		if from == to {
			to++
		}
		var mid []record.Record
		for _, r := range want {
			if tt := timeOf(r); tt >= from && tt < to {
				mid = append(mid, r)
			}
		}
		fromText := fmt.Sprintf("%d", from)
		if from%1000 == 0 {
			fromText = url.QueryEscape(timeRFC3339(from))
		}
		if d := diffSets(sortedRaw(listAll(t, fx, routeOf(k), "from="+fromText+"&to="+strconv.FormatInt(to, 10))), sortedJSON(t, mid)); d != "" {
			t.Errorf("%s from %d to %d: %s", k, from, to, d)
		}
	}
}

func rowTime(t testing.TB, k record.Kind, raw json.RawMessage) int64 {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	col := map[record.Kind]string{record.KindSession: "start_ts", record.KindApp: "start_ts", record.KindDevice: "last_seen"}[k]
	if col == "" {
		col = "ts"
	}
	return int64(m[col].(float64))
}

// filterCases returns filter values taken from the records of kind k:
// exact values, wildcard patterns, alternatives, and values that match
// nothing.
func filterCases(t testing.TB, recs []record.Record, k record.Kind) map[string][]string {
	common := func(name string) []string {
		count := map[string]int{}
		for _, r := range recs {
			var obj map[string]json.RawMessage
			json.Unmarshal([]byte(dataJSON(t, r)), &obj)
			for _, c := range fieldSets()[k][name] {
				c = strings.TrimSuffix(c, "[]")
				raw := obj[c]
				if len(raw) == 0 {
					continue
				}
				if raw[0] == '[' {
					var list []string
					json.Unmarshal(raw, &list)
					for _, v := range list {
						count[v]++
					}
					continue
				}
				var v string
				if raw[0] == '"' {
					json.Unmarshal(raw, &v)
				} else {
					v = string(raw)
				}
				if v != "" && v != "0" {
					count[v]++
				}
			}
		}
		vals := make([]string, 0, len(count))
		for v := range count {
			vals = append(vals, v)
		}
		sort.Slice(vals, func(i, j int) bool {
			if count[vals[i]] != count[vals[j]] {
				return count[vals[i]] > count[vals[j]]
			}
			return vals[i] < vals[j]
		})
		return vals
	}
	out := map[string][]string{}
	for _, name := range []string{"mac", "ip", "port", "host", "app"} {
		vals := common(name)
		if len(vals) == 0 {
			continue
		}
		none := "no-such-value"
		if name == "port" {
			none = "65000"
		}
		cases := []string{vals[0], none}
		if len(vals) > 1 {
			cases = append(cases, vals[0]+","+vals[1], " "+vals[len(vals)-1]+" ; "+vals[0])
		}
		if name != "port" && len(vals[0]) > 3 {
			cases = append(cases, vals[0][:3]+"*", "*"+vals[0][len(vals[0])-3:], vals[0][:1]+"*"+vals[0][len(vals[0])-1:])
		}
		if name == "mac" {
			cases = append(cases, strings.ToUpper(vals[0]))
		}
		out[name] = cases
	}
	out["q"] = []string{"apple", "192.168", "1*3", "a,b", "no-such-text"}
	out["sensor"] = []string{"corpus", "other", "c*s"}
	return out
}

// testFilters: each list with each filter returns exactly the records the
// contract selects; a filter the kind has not is a 400 naming it.
func testFilters(t *testing.T, fx *fixture) {
	n := 0
	for k := record.KindSession; k <= record.KindDevice; k++ {
		want := ofKind(fx.recs, k)
		idx := indexRecords(t, want)
		cases := filterCases(t, want, k)
		for _, name := range []string{"mac", "ip", "port", "host", "app", "q", "sensor"} {
			vals := cases[name]
			if _, applies := fieldSets()[k][name]; !applies {
				vals = []string{"x"}
				if name == "port" {
					vals = []string{"80"}
				}
			}
			for _, v := range vals {
				path := "/api/v1/" + routeOf(k) + "?from=0&limit=1000&" + name + "=" + url.QueryEscape(v)
				code, body, _ := get(t, fx.ts.URL, path)
				sel, applies := selectJSON(idx, compileFilter(name, v))
				if !applies {
					if code != 400 || !strings.Contains(string(body), name) {
						t.Errorf("%s: %d %s, want 400 naming %s", path, code, body, name)
					}
					continue
				}
				if code != 200 {
					t.Errorf("%s: %d %s", path, code, body)
					continue
				}
				var p page
				json.Unmarshal(body, &p)
				if d := diffSets(sortedRaw(p.Rows), sel); d != "" {
					t.Errorf("%s: %s", path, d)
				}
				n++
			}
		}
	}
	// Filters combine with AND.
	sessions := ofKind(fx.recs, record.KindSession)
	c := filterCases(t, sessions, record.KindSession)
	mac, port := c["mac"][0], c["port"][0]
	var sel []record.Record
	for _, r := range sessions {
		m1, _ := expectMatch(t, r, "mac", mac)
		m2, _ := expectMatch(t, r, "port", port)
		if m1 && m2 {
			sel = append(sel, r)
		}
	}
	rows := listAll(t, fx, "sessions", "from=0&mac="+url.QueryEscape(mac)+"&port="+port)
	if d := diffSets(sortedRaw(rows), sortedJSON(t, sel)); d != "" || len(sel) == 0 {
		t.Errorf("mac=%s&port=%s: %s (want %d rows)", mac, port, d, len(sel))
	}
	if n < 150 {
		t.Errorf("only %d filter cases ran", n)
	}
}

// testPagination: pages of 7 rows in both orders neither skip nor repeat
// rows; cursors work with either sort and either direction.
func testPagination(t *testing.T, fx *fixture) {
	for k := record.KindSession; k <= record.KindDevice; k++ {
		want := sortedJSON(t, ofKind(fx.recs, k))
		size := 7
		if len(want) < 40 {
			size = 3
		}
		route := "/api/v1/" + routeOf(k) + "?from=0&limit=" + strconv.Itoa(size)
		// Newest first, before=next.
		var desc []string
		var cursors []string // cursors[i]: next of page i (its last row is desc[size*(i+1)-1])
		p := getPage(t, fx.ts.URL, route)
		for {
			if len(p.Rows) > size {
				t.Fatalf("%s: page of %d rows", k, len(p.Rows))
			}
			desc = append(desc, rawStrings(p.Rows)...)
			if p.Next == "" {
				break
			}
			if len(p.Rows) != size {
				t.Fatalf("%s: short page (%d) with a next cursor", k, len(p.Rows))
			}
			cursors = append(cursors, p.Next)
			p = getPage(t, fx.ts.URL, route+"&before="+url.QueryEscape(p.Next))
		}
		got := append([]string(nil), desc...)
		sort.Strings(got)
		if d := diffSets(got, want); d != "" {
			t.Fatalf("%s newest-first pages: %s", k, d)
		}
		checkOrder(t, k, desc, true)
		// Oldest first, after=next: the same rows turned around.
		var asc []string
		p = getPage(t, fx.ts.URL, route+"&sort=-ts")
		for {
			asc = append(asc, rawStrings(p.Rows)...)
			if p.Next == "" {
				break
			}
			p = getPage(t, fx.ts.URL, route+"&sort=-ts&after="+url.QueryEscape(p.Next))
		}
		checkOrder(t, k, asc, false)
		got = append([]string(nil), asc...)
		sort.Strings(got)
		if d := diffSets(got, want); d != "" {
			t.Fatalf("%s oldest-first pages: %s", k, d)
		}
		if len(cursors) < 2 {
			t.Fatalf("%s: only %d pages", k, len(cursors)+1)
		}
		// A cursor made newest-first, used the other ways. Its row is
		// desc[at].
		ci := len(cursors) / 2
		c := url.QueryEscape(cursors[ci])
		at := size*(ci+1) - 1
		newer := desc[max(0, at-size):at] // the size rows just newer, newest first
		older := desc[at+1 : min(len(desc), at+1+size)]
		checks := []struct {
			params string
			want   []string
		}{
			{"&after=" + c, newer},
			{"&sort=-ts&after=" + c, reversed(newer)},
			{"&sort=-ts&before=" + c, reversed(older)},
			{"&before=" + c, older},
		}
		for _, ch := range checks {
			p := getPage(t, fx.ts.URL, route+ch.params)
			if strings.Join(rawStrings(p.Rows), "\n") != strings.Join(ch.want, "\n") {
				t.Errorf("%s %s: got %d rows, want the %d next to the cursor", k, ch.params, len(p.Rows), len(ch.want))
			}
		}
		// Walking newer from that cursor, oldest first, reaches the newest
		// row without a gap (the LuCI live page does this).
		var walk []string
		p = getPage(t, fx.ts.URL, route+"&sort=-ts&after="+c)
		for {
			walk = append(walk, rawStrings(p.Rows)...)
			if p.Next == "" {
				break
			}
			p = getPage(t, fx.ts.URL, route+"&sort=-ts&after="+url.QueryEscape(p.Next))
		}
		if strings.Join(walk, "\n") != strings.Join(reversed(desc[:at]), "\n") {
			t.Errorf("%s: walking newer from a cursor gave %d rows, want %d", k, len(walk), at)
		}
	}
}

func reversed(v []string) []string {
	out := make([]string, len(v))
	for i, s := range v {
		out[len(v)-1-i] = s
	}
	return out
}

func checkOrder(t *testing.T, k record.Kind, rows []string, desc bool) {
	t.Helper()
	for i := 1; i < len(rows); i++ {
		a, b := rowTime(t, k, json.RawMessage(rows[i-1])), rowTime(t, k, json.RawMessage(rows[i]))
		if desc && b > a || !desc && b < a {
			t.Fatalf("%s: rows %d and %d out of order (%d, %d)", k, i-1, i, a, b)
		}
	}
}

// testCSV: each CSV has the JSON's rows, field by field, and its cursor.
func testCSV(t *testing.T, fx *fixture) {
	for k := record.KindSession; k <= record.KindDevice; k++ {
		for _, params := range []string{"from=0&limit=1000", "from=0&limit=5&sort=-ts", "from=0&limit=50&q=1"} {
			path := "/api/v1/" + routeOf(k) + "?" + params
			p := getPage(t, fx.ts.URL, path)
			code, body, hdr := get(t, fx.ts.URL, strings.Replace(path, "?", ".csv?", 1))
			if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") {
				t.Fatalf("%s CSV: %d %s %.200s", k, code, hdr.Get("Content-Type"), body)
			}
			if hdr.Get("X-Tamon-Next") != p.Next {
				t.Errorf("%s CSV: X-Tamon-Next %q, JSON next %q", path, hdr.Get("X-Tamon-Next"), p.Next)
			}
			lines, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
			if err != nil {
				t.Fatalf("%s CSV: %v", path, err)
			}
			if len(lines) != len(p.Rows)+1 {
				t.Fatalf("%s: CSV has %d lines, JSON %d rows", path, len(lines), len(p.Rows))
			}
			for i, raw := range p.Rows {
				keys, cells := jsonCells(t, raw)
				if strings.Join(keys, ",") != strings.Join(lines[0], ",") {
					t.Fatalf("%s: CSV header %v, JSON fields %v", path, lines[0], keys)
				}
				for j := range cells {
					if cells[j] != lines[i+1][j] {
						t.Errorf("%s row %d %s: CSV %q, JSON %q", path, i, keys[j], lines[i+1][j], cells[j])
					}
				}
			}
		}
	}
}

// jsonCells turns a JSON row into field names and the cells the contract
// promises: text as is (an apostrophe before a leading = + - @ tab CR),
// numbers and booleans as written, nested values as their JSON text.
func jsonCells(t testing.TB, raw json.RawMessage) ([]string, []string) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.Token() // {
	var keys, cells []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if v[0] == '"' {
			var s string
			json.Unmarshal(v, &s)
			if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
				s = "'" + s
			}
			cells = append(cells, s)
		} else {
			cells = append(cells, string(v))
		}
	}
	return keys, cells
}

// injections are filter values that would change an SQL statement if they
// reached its text.
func injections() []string {
	return []string{
		`' OR '1'='1`, `" OR ""="`, `%`, `_`, `%%`, `a_b%`, `'; DROP TABLE sessions; --`,
		`\`, `\%`, `!`, `!%`, `') UNION SELECT 1,2,3 --`, `%' OR 1=1 --`, "\x00", `*' OR '*`,
		`1; DELETE FROM dns`, `$(reboot)`, "' OR sleep(5) --",
	}
}

// testInjection: injection strings in every filter select exactly what
// their literal text selects, and the tables are unchanged afterwards.
func testInjection(t *testing.T, fx *fixture) {
	before := map[record.Kind]int{}
	for k := record.KindSession; k <= record.KindDevice; k++ {
		before[k] = len(listAll(t, fx, routeOf(k), "from=0"))
	}
	for k := record.KindSession; k <= record.KindDevice; k++ {
		idx := indexRecords(t, ofKind(fx.recs, k))
		for _, name := range []string{"mac", "ip", "host", "app", "q", "sensor"} {
			for _, v := range injections() {
				path := "/api/v1/" + routeOf(k) + "?from=0&limit=1000&" + name + "=" + url.QueryEscape(v)
				code, body, _ := get(t, fx.ts.URL, path)
				sel, applies := selectJSON(idx, compileFilter(name, v))
				if !applies || strings.ContainsRune(v, 0) {
					if code != 400 || !strings.Contains(string(body), name) {
						t.Errorf("%s: %d %s, want 400 naming %s", path, code, body, name)
					}
					continue
				}
				if code != 200 {
					t.Errorf("%s: %d %s", path, code, body)
					continue
				}
				var p page
				json.Unmarshal(body, &p)
				if d := diffSets(sortedRaw(p.Rows), sel); d != "" {
					t.Errorf("%s: %s", path, d)
				}
			}
		}
		for _, v := range []string{"80 OR 1=1", "80;DROP", "-1", "65536", "*"} {
			path := "/api/v1/" + routeOf(k) + "?from=0&port=" + url.QueryEscape(v)
			if code, body, _ := get(t, fx.ts.URL, path); code != 400 || !strings.Contains(string(body), "port") {
				t.Errorf("%s: %d %s, want 400 naming port", path, code, body)
			}
		}
	}
	for k := record.KindSession; k <= record.KindDevice; k++ {
		if n := len(listAll(t, fx, routeOf(k), "from=0")); n != before[k] {
			t.Errorf("%s: %d rows after the injection strings, %d before", k, n, before[k])
		}
	}
}

// testBadParams: unknown parameters, bad times, limits and cursors are 400s
// naming the parameter.
func testBadParams(t *testing.T, fx *fixture) {
	good := getPage(t, fx.ts.URL, "/api/v1/sessions?from=0&limit=3")
	dnsCursor := getPage(t, fx.ts.URL, "/api/v1/dns?from=0&limit=3").Next
	cases := []struct{ path, name string }{
		{"/api/v1/sessions?colour=red", `"colour"`},
		{"/api/v1/sessions?from=yesterday", "from"},
		{"/api/v1/sessions?from=-5", "from"},
		{"/api/v1/sessions?to=2026-13-01T00:00:00Z", "to"},
		{"/api/v1/sessions?from=2000&to=1000", "to"},
		{"/api/v1/sessions?limit=0", "limit"},
		{"/api/v1/sessions?limit=1001", "limit"},
		{"/api/v1/sessions.csv?limit=100001", "limit"},
		{"/api/v1/sessions?limit=ten", "limit"},
		{"/api/v1/sessions?sort=host", "sort"},
		{"/api/v1/sessions?before=zzz!", "before"},
		{"/api/v1/sessions?after=d" + strings.Repeat("A", 50), "after"},
		{"/api/v1/sessions?before=" + url.QueryEscape(dnsCursor), "before"},
		{"/api/v1/sessions?before=" + url.QueryEscape(good.Next) + "&after=" + url.QueryEscape(good.Next), "before"},
		{"/api/v1/sessions?mac=a&mac=b", "mac"},
		{"/api/v1/sessions.csv?sort=-ts&limit=5000&before=" + url.QueryEscape(good.Next), "limit"},
		{"/api/v1/sessions?q=" + strings.Repeat("x", 1025), "q"},
		{"/api/v1/sessions?host=%ff%fe", "host"},
		{"/api/v1/sessions?q=" + strings.Repeat("a,", 40), "q"},
		{"/api/v1/top?by=week", "by"},
		{"/api/v1/top?metric=packets", "metric"},
		{"/api/v1/top?n=0", "n"},
		{"/api/v1/series?step=0", "step"},
		{"/api/v1/series?step=60", "step"},
		{"/api/v1/series?from=0&step=1s", "step"},
		{"/api/v1/series?by=total&key=x", "key"},
		{"/api/v1/series?by=device&key=nope", "key"},
		{"/api/v1/active?from=0", `"from"`},
		{"/api/v1/active?limit=20000", "limit"},
		{"/api/v1/status?x=1", `"x"`},
		{"/api/v1/devices/zz/history", "mac"},
		{"/api/v1/devices/00:04:76:96:7b:da/history?limit=0", "limit"},
	}
	for _, c := range cases {
		code, body, _ := get(t, fx.ts.URL, c.path)
		var e struct{ Error string }
		json.Unmarshal(body, &e)
		if code != 400 || !strings.Contains(e.Error, c.name) {
			t.Errorf("GET %.80s: %d %s, want 400 naming %s", c.path, code, body, c.name)
		}
	}
	if code, body, _ := get(t, fx.ts.URL, "/api/v1/nothing"); code != 404 {
		t.Errorf("unknown route: %d %s", code, body)
	}
	if code, body, hdr := do(t, "POST", fx.ts.URL+"/api/v1/sessions", "Bearer "+testToken, nil); code != 405 || hdr.Get("Allow") != "GET" {
		t.Errorf("POST /sessions: %d %s (Allow %q)", code, body, hdr.Get("Allow"))
	}
}

func timeRFC3339(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
}
