package harness

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// AliasStore is where the alias route writes: the UCI file (UCI.SetAlias).
type AliasStore interface {
	SetAlias(mac, name string) error
	Aliases() (map[string]string, error)
}

// FakeAPI serves docs/api.md (/api/v1/...) from a Dataset held in memory:
// lists with filters, keyset pagination and CSV, active sessions, top and
// series aggregates, device history, the alias route, status, metrics and
// the /stream WebSocket. It stands in for tamond's API in the harness until
// that lands; the pages reach it the same way (the port from luci.tamon
// info, Bearer = LuCI session id). Safe for concurrent use.
//
// Pagination: a cursor names a row; "next" is the cursor of the last row of
// the answer ("" when it has none); before=C gives rows older than C,
// after=C rows newer than C, each in the asked sort order.
type FakeAPI struct {
	// Auth checks a Bearer token (or the stream's auth token) for level
	// "read" or "write". Nil allows everything.
	Auth func(token, level string) bool
	// AllowOrigin says whether a browser origin may call the API (CORS and
	// the WebSocket Origin check). Nil allows none but same-origin requests.
	AllowOrigin func(origin string) bool
	// Aliases receives the alias route's writes; nil refuses them.
	Aliases AliasStore
	// NoWebSocket makes /stream refuse the upgrade, to test the pages'
	// polling fallback.
	NoWebSocket bool
	// Sensor names the sensor in /status.
	Sensor string
	// Offload is reported as status.capture.offload.
	Offload map[string]any

	mu      sync.Mutex
	rows    map[string][]*entry // kind -> ascending (time, seq)
	fields  map[string][]string
	seq     int64
	start   time.Time
	reloads int
	subs    map[*subscriber]struct{}
	recent  []rateSample // traffic published in the last seconds
	quit    chan struct{}
	closed  sync.Once
}

type entry struct {
	seq int64
	t   int64
	row Row
}

type rateSample struct {
	at       time.Time
	mac      string
	up, down int64
}

// kinds of the list routes: route name -> record kind.
var listKinds = map[string]string{
	"sessions": "session", "dns": "dns", "http": "http", "tls": "tls", "icmp": "icmp", "apps": "app", "devices": "device",
}

// timeKey is the field lists filter and sort on.
func timeKey(kind string) string {
	switch kind {
	case "session", "app":
		return "start_ts"
	case "device":
		return "last_seen"
	}
	return "ts"
}

// NewFakeAPI returns an API over ds (its rows are taken over, not copied).
func NewFakeAPI(ds *Dataset) *FakeAPI {
	f := &FakeAPI{rows: map[string][]*entry{}, fields: map[string][]string{}, start: time.Now(), subs: map[*subscriber]struct{}{}, Sensor: "demo", quit: make(chan struct{})}
	for kind, rows := range ds.Rows {
		tk := timeKey(kind)
		if kind == "device" {
			rows = latestPerMAC(rows)
		}
		for _, r := range rows {
			f.seq++
			f.rows[kind] = append(f.rows[kind], &entry{seq: f.seq, t: i64(r, tk), row: r})
		}
		sort.SliceStable(f.rows[kind], func(i, j int) bool { return f.rows[kind][i].t < f.rows[kind][j].t })
	}
	for k, v := range ds.Fields {
		f.fields[k] = slices.Clone(v)
	}
	return f
}

// Close ends every stream connection.
func (f *FakeAPI) Close() { f.closed.Do(func() { close(f.quit) }) }

// latestPerMAC keeps the last device record of each MAC: the engine writes
// one whenever a device changes.
func latestPerMAC(rows []Row) []Row {
	idx := map[string]int{}
	var out []Row
	for _, r := range rows {
		if i, ok := idx[s(r, "mac")]; ok {
			out[i] = r
			continue
		}
		idx[s(r, "mac")] = len(out)
		out = append(out, r)
	}
	return out
}

// ApplyAliases sets the alias field of device rows from the alias store, as
// the daemon does on reload.
func (f *FakeAPI) ApplyAliases() error {
	if f.Aliases == nil {
		return nil
	}
	al, err := f.Aliases.Aliases()
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.rows["device"] {
		e.row["alias"] = al[s(e.row, "mac")]
	}
	f.reloads++
	return nil
}

// Count returns the number of rows of a kind.
func (f *FakeAPI) Count(kind string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.rows[kind])
}

// Device returns a copy of the device row of mac.
func (f *FakeAPI) Device(mac string) (Row, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.rows["device"] {
		if s(e.row, "mac") == mac {
			return cloneRow(e.row), true
		}
	}
	return nil, false
}

// Rows returns copies of the rows of a kind, oldest first.
func (f *FakeAPI) Rows(kind string) []Row {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Row, 0, len(f.rows[kind]))
	for _, e := range f.rows[kind] {
		out = append(out, cloneRow(e.row))
	}
	return out
}

func cloneRow(r Row) Row {
	b, _ := json.Marshal(r)
	var out map[string]any
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	d.Decode(&out)
	c := Row{}
	for k, v := range out {
		c[k] = normalize(v)
	}
	return c
}

// Publish adds a record as the engine would write it now, and sends it to
// the stream's subscribers. A device record replaces the row of its MAC.
func (f *FakeAPI) Publish(kind string, r Row) {
	f.mu.Lock()
	f.seq++
	e := &entry{seq: f.seq, t: i64(r, timeKey(kind)), row: r}
	if kind == "device" {
		f.rows[kind] = slices.DeleteFunc(f.rows[kind], func(x *entry) bool { return s(x.row, "mac") == s(r, "mac") })
	}
	l := f.rows[kind]
	i := sort.Search(len(l), func(i int) bool { return l[i].t > e.t })
	f.rows[kind] = slices.Insert(l, i, e)
	if kind == "session" {
		f.recent = append(f.recent, rateSample{at: time.Now(), mac: s(r, "client_mac"), up: i64(r, "bytes_up"), down: i64(r, "bytes_down")})
	}
	subs := make([]*subscriber, 0, len(f.subs))
	for sub := range f.subs {
		subs = append(subs, sub)
	}
	f.mu.Unlock()
	msg, _ := json.Marshal(map[string]any{"type": kind, "data": r})
	for _, sub := range subs {
		if sub.wants(kind, r) {
			sub.send(msg)
		}
	}
}

// Replay publishes copies of the stored sessions, DNS, HTTP, TLS and ICMP
// records one by one, every interval, stamped with the current time, until
// ctx ends or n records were published (n <= 0: no limit, looping).
func (f *FakeAPI) Replay(ctx context.Context, interval time.Duration, n int) {
	var src []struct {
		kind string
		row  Row
	}
	f.mu.Lock()
	for _, kind := range []string{"session", "dns", "http", "tls", "icmp"} {
		for _, e := range f.rows[kind] {
			src = append(src, struct {
				kind string
				row  Row
			}{kind, e.row})
		}
	}
	f.mu.Unlock()
	sort.SliceStable(src, func(i, j int) bool {
		ti, tj := i64(src[i].row, timeKey(src[i].kind)), i64(src[j].row, timeKey(src[j].kind))
		if src[i].kind == "session" {
			ti = i64(src[i].row, "end_ts")
		}
		if src[j].kind == "session" {
			tj = i64(src[j].row, "end_ts")
		}
		return ti < tj
	})
	if len(src) == 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for i := 0; n <= 0 || i < n; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		it := src[i%len(src)]
		r := cloneRow(it.row)
		now := time.Now().UnixMilli()
		if it.kind == "session" {
			r["start_ts"] = now - (i64(r, "end_ts") - i64(r, "start_ts"))
			r["end_ts"] = now
		} else {
			r["ts"] = now
		}
		f.Publish(it.kind, r)
	}
}

// ServeHTTP implements http.Handler for /api/v1/... .
func (f *FakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin != "" && f.AllowOrigin != nil && f.AllowOrigin(origin) {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Vary", "Origin")
		w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		w.Header().Set("Access-Control-Allow-Methods", "GET, PUT, OPTIONS")
		w.Header().Set("Access-Control-Expose-Headers", "Content-Disposition")
	}
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	p, ok := strings.CutPrefix(r.URL.Path, "/api/v1/")
	if !ok {
		jsonError(w, http.StatusNotFound, "no route "+r.URL.Path)
		return
	}
	if p == "health" {
		writeJSON(w, map[string]any{"ok": true})
		return
	}
	if p == "stream" {
		f.serveStream(w, r)
		return
	}
	level := "read"
	if r.Method == http.MethodPut {
		level = "write"
	}
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if f.Auth != nil && (tok == "" || !f.Auth(tok, level)) {
		jsonError(w, http.StatusUnauthorized, "unauthorized")
		return
	}
	if mac, ok := strings.CutPrefix(p, "devices/"); ok && strings.Contains(mac, "/") {
		mac, what, _ := strings.Cut(mac, "/")
		switch {
		case what == "history" && r.Method == http.MethodGet:
			f.serveHistory(w, r, strings.ToLower(mac))
		case what == "alias" && r.Method == http.MethodPut:
			f.serveAlias(w, r, strings.ToLower(mac))
		default:
			jsonError(w, http.StatusNotFound, "no route "+r.URL.Path)
		}
		return
	}
	if r.Method != http.MethodGet {
		jsonError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path)
		return
	}
	if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
		// A raw ';' is dropped by Query(): say so instead of ignoring it.
		jsonError(w, http.StatusBadRequest, "query: "+err.Error()+" (encode ; as %3B)")
		return
	}
	switch p {
	case "status":
		f.serveStatus(w)
		return
	case "active":
		f.serveActive(w, r)
		return
	case "top":
		f.serveTop(w, r)
		return
	case "series":
		f.serveSeries(w, r)
		return
	case "metrics":
		f.serveMetrics(w)
		return
	}
	name, isCSV := strings.CutSuffix(p, ".csv")
	kind, ok := listKinds[name]
	if !ok {
		jsonError(w, http.StatusNotFound, "no route "+r.URL.Path)
		return
	}
	f.serveList(w, r, kind, isCSV)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func jsonError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// pattern matches a filter value: alternatives split at , or ;, * as a
// wildcard, case-insensitive; contains makes each alternative a substring.
type pattern []*regexp.Regexp

// compilePattern builds the pattern of a filter value; text that is not
// UTF-8 is an error (it cannot match any field).
func compilePattern(v string, contains bool) (pattern, error) {
	if !utf8.ValidString(v) {
		return nil, fmt.Errorf("%q is not UTF-8", v)
	}
	var p pattern
	for _, alt := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' }) {
		alt = strings.TrimSpace(alt)
		if alt == "" {
			continue
		}
		re := strings.ReplaceAll(regexp.QuoteMeta(alt), `\*`, `.*`)
		if !contains {
			re = "^" + re + "$"
		}
		c, err := regexp.Compile("(?is)" + re)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", alt, err)
		}
		p = append(p, c)
	}
	return p, nil
}

func (p pattern) match(vals ...string) bool {
	for _, re := range p {
		for _, v := range vals {
			if re.MatchString(v) {
				return true
			}
		}
	}
	return false
}

// filter is a parsed set of list parameters.
type filter struct {
	from, to   int64
	fields     map[string]pattern // mac, ip, port, host, app, sensor
	q          pattern
	limit      int
	newest     bool
	before     *cursor
	after      *cursor
	hasFromArg bool
}

type cursor struct{ t, seq int64 }

func (c cursor) String() string { return fmt.Sprintf("%d.%d", c.t, c.seq) }

func parseCursor(s string) (*cursor, error) {
	a, b, ok := strings.Cut(s, ".")
	t, err1 := strconv.ParseInt(a, 10, 64)
	q, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return nil, fmt.Errorf("cursor %q is not valid", s)
	}
	return &cursor{t, q}, nil
}

func parseTime(name, v string) (int64, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is neither Unix ms nor RFC 3339", name, v)
	}
	return t.UnixMilli(), nil
}

// parseFilter reads the list parameters; allowed are the extra names the
// route accepts too.
func parseFilter(q map[string][]string, allowed ...string) (*filter, error) {
	now := time.Now().UnixMilli()
	ft := &filter{from: now - 24*3600*1000, to: now + 60_000, fields: map[string]pattern{}, limit: 100, newest: true}
	for k, vs := range q {
		v := vs[len(vs)-1]
		var err error
		switch k {
		case "from":
			ft.from, err = parseTime(k, v)
			ft.hasFromArg = true
		case "to":
			ft.to, err = parseTime(k, v)
		case "mac", "ip", "port", "host", "app", "sensor":
			var p pattern
			if p, err = compilePattern(v, false); err == nil {
				ft.fields[k] = p
			} else {
				err = fmt.Errorf("%s: %w", k, err)
			}
		case "q":
			if ft.q, err = compilePattern(v, true); err != nil {
				err = fmt.Errorf("q: %w", err)
			}
		case "limit":
			ft.limit, err = strconv.Atoi(v)
			if err == nil && (ft.limit < 1 || ft.limit > 1000) {
				err = fmt.Errorf("limit: %d is out of range 1..1000", ft.limit)
			} else if err != nil {
				err = fmt.Errorf("limit: %q is not a number", v)
			}
		case "sort":
			switch v {
			case "ts":
				ft.newest = true
			case "-ts":
				ft.newest = false
			default:
				err = fmt.Errorf("sort: %q is not ts or -ts", v)
			}
		case "before":
			ft.before, err = parseCursor(v)
		case "after":
			ft.after, err = parseCursor(v)
		default:
			if !slices.Contains(allowed, k) {
				err = fmt.Errorf("unknown parameter %q", k)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if ft.before != nil && ft.after != nil {
		return nil, fmt.Errorf("before and after cannot be used together")
	}
	return ft, nil
}

var filterFields = map[string][]string{
	"mac":    {"client_mac", "server_mac", "mac"},
	"ip":     {"client_ip", "server_ip", "src_ip", "dst_ip", "ipv4", "ipv6"},
	"port":   {"client_port", "server_port"},
	"host":   {"host", "sni", "query"},
	"app":    {"app"},
	"sensor": {"sensor"},
}

func textOf(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case int64:
		return []string{strconv.FormatInt(x, 10)}
	case float64:
		return []string{strconv.FormatFloat(x, 'f', -1, 64)}
	case []any:
		var out []string
		for _, it := range x {
			out = append(out, textOf(it)...)
		}
		return out
	case map[string]any:
		var out []string
		for _, it := range x {
			out = append(out, textOf(it)...)
		}
		return out
	}
	return nil
}

func (ft *filter) match(r Row, t int64) bool {
	if t < ft.from || t > ft.to {
		return false
	}
	for name, p := range ft.fields {
		var vals []string
		for _, fld := range filterFields[name] {
			if v, ok := r[fld]; ok {
				vals = append(vals, textOf(v)...)
			}
		}
		if !p.match(vals...) {
			return false
		}
	}
	if ft.q != nil {
		var vals []string
		for _, v := range r {
			vals = append(vals, textOf(v)...)
		}
		if !ft.q.match(vals...) {
			return false
		}
	}
	return true
}

func less(a *entry, c cursor) bool { return a.t < c.t || a.t == c.t && a.seq < c.seq }
func more(a *entry, c cursor) bool { return a.t > c.t || a.t == c.t && a.seq > c.seq }

// query returns the matching entries in the asked order and page.
func (f *FakeAPI) query(kind string, ft *filter) []*entry {
	f.mu.Lock()
	defer f.mu.Unlock()
	var m []*entry
	for _, e := range f.rows[kind] {
		if ft.before != nil && !less(e, *ft.before) || ft.after != nil && !more(e, *ft.after) {
			continue
		}
		if ft.match(e.row, e.t) {
			m = append(m, e)
		}
	}
	// m is oldest first. Take the page nearest to the cursor (or the
	// start of the order), then present it in the asked order.
	var page []*entry
	switch {
	case ft.after != nil:
		page = m[:min(len(m), ft.limit)]
		if ft.newest {
			slices.Reverse(page)
		}
	case ft.before != nil:
		page = m[max(0, len(m)-ft.limit):]
		if ft.newest {
			slices.Reverse(page)
		}
	case ft.newest:
		page = slices.Clone(m[max(0, len(m)-ft.limit):])
		slices.Reverse(page)
	default:
		page = m[:min(len(m), ft.limit)]
	}
	return page
}

func (f *FakeAPI) serveList(w http.ResponseWriter, r *http.Request, kind string, isCSV bool) {
	ft, err := parseFilter(r.URL.Query())
	if err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	if kind == "device" && !ft.hasFromArg {
		ft.from = 0 // the inventory: every device unless a range is asked
	}
	page := f.query(kind, ft)
	if isCSV {
		f.mu.Lock()
		fields := slices.Clone(f.fields[kind])
		f.mu.Unlock()
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", kind+".csv"))
		cw := csv.NewWriter(w)
		cw.Write(fields)
		for _, e := range page {
			rec := make([]string, len(fields))
			for i, fld := range fields {
				switch v := e.row[fld].(type) {
				case string:
					rec[i] = v
				case []any, map[string]any:
					b, _ := json.Marshal(v)
					rec[i] = string(b)
				case nil:
				default:
					rec[i] = fmt.Sprint(v)
				}
			}
			cw.Write(rec)
		}
		cw.Flush()
		return
	}
	rows := make([]Row, len(page))
	next := ""
	f.mu.Lock()
	for i, e := range page {
		rows[i] = cloneLocked(e.row)
	}
	f.mu.Unlock()
	if len(page) > 0 {
		last := page[len(page)-1]
		next = cursor{last.t, last.seq}.String()
	}
	writeJSON(w, map[string]any{"rows": rows, "next": next})
}

func cloneLocked(r Row) Row {
	c := make(Row, len(r))
	for k, v := range r {
		c[k] = v
	}
	return c
}

func (f *FakeAPI) serveActive(w http.ResponseWriter, r *http.Request) {
	ft, err := parseFilter(r.URL.Query())
	if err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	ft.from, ft.to = 0, 1<<62
	f.mu.Lock()
	l := f.rows["session"]
	var rows []Row
	// The sessions that ended last stand for the open ones.
	byEnd := slices.Clone(l)
	sort.SliceStable(byEnd, func(i, j int) bool { return i64(byEnd[i].row, "end_ts") > i64(byEnd[j].row, "end_ts") })
	for _, e := range byEnd {
		if len(rows) >= min(ft.limit, 25) {
			break
		}
		if !ft.match(e.row, e.t) {
			continue
		}
		c := cloneLocked(e.row)
		c["end_reason"] = ""
		rows = append(rows, c)
	}
	f.mu.Unlock()
	writeJSON(w, map[string]any{"rows": rows})
}

func (f *FakeAPI) labels() map[string]string {
	out := map[string]string{}
	for _, e := range f.rows["device"] {
		l := s(e.row, "alias")
		if l == "" {
			l = s(e.row, "hostname")
		}
		out[s(e.row, "mac")] = l
	}
	return out
}

func (f *FakeAPI) serveTop(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	by, metric := q.Get("by"), q.Get("metric")
	if by == "" {
		by = "device"
	}
	if metric == "" {
		metric = "bytes"
	}
	if by != "device" && by != "app" && by != "host" {
		jsonError(w, http.StatusBadRequest, fmt.Sprintf("by: %q is not device, app or host", by))
		return
	}
	if metric != "bytes" && metric != "sessions" {
		jsonError(w, http.StatusBadRequest, fmt.Sprintf("metric: %q is not bytes or sessions", metric))
		return
	}
	n := 10
	if v := q.Get("n"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 100 {
			jsonError(w, http.StatusBadRequest, fmt.Sprintf("n: %q is not 1..100", v))
			return
		}
	}
	q.Del("by")
	q.Del("metric")
	q.Del("n")
	ft, err := parseFilter(q)
	if err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	type agg struct {
		key, label      string
		bytes, sessions int64
	}
	m := map[string]*agg{}
	f.mu.Lock()
	labels := f.labels()
	for _, e := range f.rows["session"] {
		if !ft.match(e.row, e.t) {
			continue
		}
		var k string
		switch by {
		case "device":
			k = s(e.row, "client_mac")
		case "app":
			k = s(e.row, "app")
		case "host":
			k = s(e.row, "host")
		}
		if k == "" {
			continue
		}
		a := m[k]
		if a == nil {
			a = &agg{key: k, label: k}
			if by == "device" {
				a.label = labels[k]
			}
			m[k] = a
		}
		a.bytes += i64(e.row, "bytes_up") + i64(e.row, "bytes_down")
		a.sessions++
	}
	f.mu.Unlock()
	list := make([]*agg, 0, len(m))
	for _, a := range m {
		list = append(list, a)
	}
	sort.Slice(list, func(i, j int) bool {
		vi, vj := list[i].bytes, list[j].bytes
		if metric == "sessions" {
			vi, vj = list[i].sessions, list[j].sessions
		}
		if vi != vj {
			return vi > vj
		}
		return list[i].key < list[j].key
	})
	rows := []map[string]any{}
	for _, a := range list[:min(n, len(list))] {
		rows = append(rows, map[string]any{"key": a.key, "label": a.label, "bytes": a.bytes, "sessions": a.sessions})
	}
	writeJSON(w, map[string]any{"rows": rows})
}

func parseStep(v string) (int64, error) {
	if v == "" {
		return 60_000, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
		return n, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("step: %q is not a duration of 1s or more", v)
	}
	return d.Milliseconds(), nil
}

func (f *FakeAPI) serveSeries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	by, key := q.Get("by"), q.Get("key")
	if by == "" {
		by = "total"
	}
	if by != "device" && by != "app" && by != "total" {
		jsonError(w, http.StatusBadRequest, fmt.Sprintf("by: %q is not device, app or total", by))
		return
	}
	step, err := parseStep(q.Get("step"))
	if err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	for _, k := range []string{"by", "key", "step"} {
		q.Del(k)
	}
	ft, err := parseFilter(q)
	if err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	from := ft.from / step * step
	nb := (ft.to-from)/step + 1
	if nb > 5000 {
		jsonError(w, http.StatusBadRequest, fmt.Sprintf("step: %d ms gives %d points over the range, more than 5000", step, nb))
		return
	}
	keyOf := func(row Row) string {
		switch by {
		case "device":
			return s(row, "client_mac")
		case "app":
			return s(row, "app")
		}
		return "total"
	}
	type ser struct {
		key    string
		up, dn []float64
		total  float64
	}
	m := map[string]*ser{}
	f.mu.Lock()
	labels := f.labels()
	for _, e := range f.rows["session"] {
		st, en := i64(e.row, "start_ts"), i64(e.row, "end_ts")
		if en < ft.from || st > ft.to {
			continue
		}
		k := keyOf(e.row)
		if k == "" || key != "" && k != key {
			continue
		}
		sr := m[k]
		if sr == nil {
			sr = &ser{key: k, up: make([]float64, nb), dn: make([]float64, nb)}
			m[k] = sr
		}
		// Spread the bytes evenly over the session's life.
		up, dn := float64(i64(e.row, "bytes_up")), float64(i64(e.row, "bytes_down"))
		sr.total += up + dn
		dur := max(en-st, 1)
		for b := max(st, from) / step * step; b <= en && b <= ft.to; b += step {
			i := (b - from) / step
			if i < 0 || i >= nb {
				continue
			}
			lo, hi := max(b, st), min(b+step, en+1)
			frac := float64(max(hi-lo, 0)) / float64(dur+1)
			if en == st {
				frac = 1
			}
			sr.up[i] += up * frac
			sr.dn[i] += dn * frac
		}
	}
	f.mu.Unlock()
	list := make([]*ser, 0, len(m))
	for _, sr := range m {
		list = append(list, sr)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].total != list[j].total {
			return list[i].total > list[j].total
		}
		return list[i].key < list[j].key
	})
	if key == "" && len(list) > 5 {
		list = list[:5]
	}
	series := []map[string]any{}
	for _, sr := range list {
		pts := make([][3]int64, nb)
		for i := range pts {
			pts[i] = [3]int64{from + int64(i)*step, int64(sr.up[i] + 0.5), int64(sr.dn[i] + 0.5)}
		}
		label := sr.key
		if by == "device" {
			label = labels[sr.key]
		}
		if by == "total" {
			label = ""
		}
		series = append(series, map[string]any{"key": sr.key, "label": label, "points": pts})
	}
	writeJSON(w, map[string]any{"step_ms": step, "series": series})
}

func (f *FakeAPI) serveHistory(w http.ResponseWriter, r *http.Request, mac string) {
	ft, err := parseFilter(r.URL.Query())
	if err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	type key struct{ day, name string }
	m := map[key]map[string]any{}
	f.mu.Lock()
	for _, e := range f.rows["session"] {
		if s(e.row, "client_mac") != mac || !ft.match(e.row, e.t) {
			continue
		}
		name := s(e.row, "host")
		if name == "" {
			name = s(e.row, "server_ip")
		}
		k := key{time.UnixMilli(e.t).UTC().Format("2006-01-02"), name}
		h := m[k]
		if h == nil {
			h = map[string]any{"day": k.day, "name": name, "first_seen": e.t, "last_seen": i64(e.row, "end_ts"), "sessions": int64(0), "bytes": int64(0)}
			m[k] = h
		}
		h["first_seen"] = min(h["first_seen"].(int64), e.t)
		h["last_seen"] = max(h["last_seen"].(int64), i64(e.row, "end_ts"))
		h["sessions"] = h["sessions"].(int64) + 1
		h["bytes"] = h["bytes"].(int64) + i64(e.row, "bytes_up") + i64(e.row, "bytes_down")
	}
	f.mu.Unlock()
	rows := make([]map[string]any, 0, len(m))
	for _, h := range m {
		rows = append(rows, h)
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i]["day"] != rows[j]["day"] {
			return rows[i]["day"].(string) > rows[j]["day"].(string)
		}
		if rows[i]["bytes"] != rows[j]["bytes"] {
			return rows[i]["bytes"].(int64) > rows[j]["bytes"].(int64)
		}
		return rows[i]["name"].(string) < rows[j]["name"].(string)
	})
	if len(rows) > ft.limit {
		rows = rows[:ft.limit]
	}
	writeJSON(w, map[string]any{"rows": rows})
}

var macRE = regexp.MustCompile(`^[0-9a-f]{2}(:[0-9a-f]{2}){5}$`)

func (f *FakeAPI) serveAlias(w http.ResponseWriter, r *http.Request, mac string) {
	if !macRE.MatchString(mac) {
		jsonError(w, http.StatusBadRequest, fmt.Sprintf("mac: %q is not aa:bb:cc:dd:ee:ff", mac))
		return
	}
	var body struct {
		Name *string `json:"name"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&body); err != nil || body.Name == nil {
		jsonError(w, http.StatusBadRequest, `body: want {"name":"..."}`)
		return
	}
	name := strings.TrimSpace(*body.Name)
	if len(name) > 64 || strings.ContainsFunc(name, func(r rune) bool { return r < 32 || r == 127 }) {
		jsonError(w, http.StatusBadRequest, fmt.Sprintf("name: %q is longer than 64 bytes or has control characters", name))
		return
	}
	if f.Aliases == nil {
		jsonError(w, http.StatusServiceUnavailable, "aliases cannot be written here")
		return
	}
	if err := f.Aliases.SetAlias(mac, name); err != nil {
		jsonError(w, http.StatusInternalServerError, "write alias: "+err.Error())
		return
	}
	if err := f.ApplyAliases(); err != nil {
		jsonError(w, http.StatusInternalServerError, "reload: "+err.Error())
		return
	}
	if d, ok := f.Device(mac); ok {
		f.Publish("device", d)
	}
	writeJSON(w, map[string]any{"ok": true})
}

// rates sums the traffic published in the last 5 seconds, per device, in
// bits per second.
func (f *FakeAPI) rates() (up, down int64, devs []map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cut := time.Now().Add(-5 * time.Second)
	f.recent = slices.DeleteFunc(f.recent, func(r rateSample) bool { return r.at.Before(cut) })
	per := map[string][2]int64{}
	for _, r := range f.recent {
		v := per[r.mac]
		v[0] += r.up
		v[1] += r.down
		per[r.mac] = v
		up += r.up
		down += r.down
	}
	labels := f.labels()
	macs := make([]string, 0, len(per))
	for m := range per {
		macs = append(macs, m)
	}
	sort.Strings(macs)
	for _, m := range macs {
		devs = append(devs, map[string]any{"mac": m, "label": labels[m], "up_bps": per[m][0] * 8 / 5, "down_bps": per[m][1] * 8 / 5})
	}
	return up * 8 / 5, down * 8 / 5, devs
}

func (f *FakeAPI) serveStatus(w http.ResponseWriter) {
	up, down, _ := f.rates()
	f.mu.Lock()
	var frames, bytes int64
	for _, e := range f.rows["session"] {
		frames += i64(e.row, "pkts_up") + i64(e.row, "pkts_down")
		bytes += i64(e.row, "bytes_up") + i64(e.row, "bytes_down")
	}
	records := 0
	for _, l := range f.rows {
		records += len(l)
	}
	off := f.Offload
	if off == nil {
		off = map[string]any{"software": false, "hardware": false, "vendor_hnat": false, "advice": ""}
	}
	st := map[string]any{
		"version": "harness-fake", "uptime_s": int64(time.Since(f.start).Seconds()), "sensor": f.Sensor,
		"capture": map[string]any{"interfaces": []string{"br-lan"}, "frames": frames, "bytes": bytes, "kernel_drops": 0, "queue_drops": 0,
			"decode_errors": map[string]int{"truncated": 0, "malformed": 0}, "offload": off},
		"engine": map[string]any{"sessions_open": min(len(f.rows["session"]), 25), "sessions_ended": len(f.rows["session"]), "sessions_evicted": 0, "records": records,
			"dissect": map[string]any{"tls_hellos": len(f.rows["tls"]), "tls_errors": 0, "quic_hellos": 0, "quic_errors": 0,
				"http_requests": len(f.rows["http"]), "http_errors": 0, "stream_gaps": 0, "skipped_sessions": 0, "skipped_buffers": 0,
				"http_pipeline_overflow": 0}},
		"store":  map[string]any{"driver": "memory", "connected": true, "queue": 0, "spool_bytes": 0, "dropped": 0, "last_error": ""},
		"config": map[string]any{"tcp_timeout": 300, "udp_timeout": 60, "app_timeout": 300, "reloads": f.reloads},
		"rates":  map[string]any{"up_bps": up, "down_bps": down},
	}
	f.mu.Unlock()
	writeJSON(w, st)
}

func (f *FakeAPI) serveMetrics(w http.ResponseWriter) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	kinds := make([]string, 0, len(f.rows))
	for k := range f.rows {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	fmt.Fprintln(w, "# TYPE tamon_records gauge")
	for _, k := range kinds {
		fmt.Fprintf(w, "tamon_records{kind=%q} %d\n", k, len(f.rows[k]))
	}
}

// subscriber is one stream client: its subscription and bounded buffer.
type subscriber struct {
	mu    sync.Mutex
	kinds map[string]bool
	ft    *filter
	out   chan []byte
	slow  chan struct{}
	once  sync.Once
}

func (sub *subscriber) wants(kind string, r Row) bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if !sub.kinds[kind] {
		return false
	}
	return sub.ft == nil || sub.ft.match(r, 1)
}

func (sub *subscriber) send(msg []byte) {
	select {
	case sub.out <- msg:
	default:
		sub.once.Do(func() { close(sub.slow) })
	}
}

// serveStream is the /stream WebSocket: auth, then subscribe, then records
// and a rates message once a second.
func (f *FakeAPI) serveStream(w http.ResponseWriter, r *http.Request) {
	if f.NoWebSocket {
		jsonError(w, http.StatusNotImplemented, "this server has no WebSocket stream; poll the lists")
		return
	}
	if o := r.Header.Get("Origin"); o != "" && (f.AllowOrigin == nil || !f.AllowOrigin(o)) {
		jsonError(w, http.StatusForbidden, "origin "+o+" is not allowed")
		return
	}
	ws, err := wsUpgrade(w, r)
	if err != nil {
		return
	}
	fail := func(msg string) {
		b, _ := json.Marshal(map[string]any{"type": "error", "data": map[string]string{"error": msg}})
		ws.WriteText(b)
		ws.Close(4401, msg)
	}
	ws.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	first, err := ws.ReadMessage()
	if err != nil {
		ws.Close(1002, "no auth message")
		return
	}
	var auth struct{ Type, Token string }
	if json.Unmarshal(first, &auth) != nil || auth.Type != "auth" || (f.Auth != nil && !f.Auth(auth.Token, "read")) {
		fail("unauthorized")
		return
	}
	ws.c.SetReadDeadline(time.Time{})
	sub := &subscriber{kinds: map[string]bool{}, out: make(chan []byte, 256), slow: make(chan struct{})}
	f.mu.Lock()
	f.subs[sub] = struct{}{}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.subs, sub)
		f.mu.Unlock()
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var m struct {
				Type   string            `json:"type"`
				Kinds  []string          `json:"kinds"`
				Filter map[string]string `json:"filter"`
			}
			if json.Unmarshal(msg, &m) != nil || m.Type != "subscribe" {
				continue
			}
			q := map[string][]string{"from": {"0"}, "to": {strconv.FormatInt(1<<62, 10)}}
			for k, v := range m.Filter {
				if v != "" && (k == "mac" || k == "app" || k == "q") {
					q[k] = []string{v}
				}
			}
			ft, err := parseFilter(q)
			if err != nil {
				continue // a filter that cannot be read keeps the old subscription
			}
			sub.mu.Lock()
			sub.kinds = map[string]bool{}
			for _, k := range m.Kinds {
				sub.kinds[k] = true
			}
			sub.ft = ft
			sub.mu.Unlock()
		}
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			ws.c.Close()
			return
		case <-f.quit:
			ws.Close(1001, "server going away")
			return
		case <-sub.slow:
			fail("too slow: records were dropped")
			return
		case msg := <-sub.out:
			if ws.WriteText(msg) != nil {
				ws.c.Close()
				return
			}
		case <-tick.C:
			_, _, devs := f.rates()
			if devs == nil {
				devs = []map[string]any{}
			}
			b, _ := json.Marshal(map[string]any{"type": "rates", "data": map[string]any{"ts": time.Now().UnixMilli(), "devices": devs}})
			if ws.WriteText(b) != nil {
				ws.c.Close()
				return
			}
		}
	}
}
