package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"tamon/daemon/internal/corpus"
	"testing"
	"time"

	driver "github.com/go-sql-driver/mysql"

	"tamon/daemon/internal/appid"
	"tamon/daemon/internal/capture"
	"tamon/daemon/internal/config"
	"tamon/daemon/internal/devices"
	"tamon/daemon/internal/pipeline"
	"tamon/daemon/internal/record"
	"tamon/daemon/internal/store"
)

// mainCapture is the corpus capture the store-backed tests load: 5,617
// frames from several LAN devices with sessions, DNS, HTTP, TLS and ICMP.
const mainCapture = "mercury_capture2.pcap"

// appOf names the app of a session host, standing in for features.txt
// matching (package appid's matcher is not wired into the engine yet):
// the tests need sessions with apps and app-usage records.
func appOf(host string) string {
	switch {
	case strings.Contains(host, "apple"), strings.Contains(host, "icloud"):
		return "Apple"
	case strings.Contains(host, "ubuntu"), strings.Contains(host, "canonical"):
		return "Ubuntu"
	case strings.Contains(host, "google"), strings.Contains(host, "gstatic"):
		return "Google"
	case strings.Contains(host, "qustodio"):
		return "Qustodio"
	}
	return ""
}

// labeler is the sink of the test engine: it sets the app of sessions,
// turns them into app-usage records (appid.Usage) and hands everything on.
type labeler struct {
	usage *appid.Usage
	next  []pipeline.Sink
	now   int64
	out   []record.Record // scratch
}

func (l *labeler) Write(recs []record.Record) error {
	out := l.out[:0]
	for _, r := range recs {
		if s, ok := r.(*record.Session); ok {
			s.App = appOf(s.Host)
			l.usage.Observe(s)
			l.now = max(l.now, s.EndTS)
		}
		out = append(out, r)
	}
	l.usage.Expire(l.now, func(a *record.App) { out = append(out, a) })
	l.out = out
	for _, s := range l.next {
		if err := s.Write(out); err != nil {
			return err
		}
	}
	return nil
}

func (l *labeler) flush() error {
	var out []record.Record
	l.usage.Flush(func(a *record.App) { out = append(out, a) })
	for _, s := range l.next {
		if err := s.Write(out); err != nil {
			return err
		}
	}
	return nil
}

// collector keeps every record it is given, in order.
type collector struct {
	mu   sync.Mutex
	recs []record.Record
}

func (c *collector) Write(recs []record.Record) error {
	c.mu.Lock()
	c.recs = append(c.recs, recs...)
	c.mu.Unlock()
	return nil
}

func (c *collector) all() []record.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]record.Record(nil), c.recs...)
}

// runCapture runs the engine over a corpus capture into sinks (through the
// app labeler), with inv as its device inventory (may be nil), and returns
// the engine's counters.
func runCapture(t testing.TB, name string, inv *devices.Inventory, sinks ...pipeline.Sink) pipeline.Stats {
	t.Helper()
	src, err := capture.OpenFile(filepath.Join(corpus.Dir(t), "pcaps", name))
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer src.Close()
	l := &labeler{usage: appid.NewUsage(0, "corpus"), next: sinks}
	e := pipeline.New(pipeline.Config{Sensor: "corpus", Workers: 2, Devices: inv}, l)
	if err := e.Run(context.Background(), src); err != nil {
		t.Fatalf("engine on %s: %v", name, err)
	}
	if err := l.flush(); err != nil {
		t.Fatal(err)
	}
	return e.Stats()
}

// The MariaDB the tests use; .ci/ensure-mariadb.sh starts one and creates
// the account (as for package store).
const defaultTestDSN = "tamon_test@tcp(127.0.0.1:3306)/"

// mysqlConfig creates a database of its own for the test on the test
// server (dropped at the end) and returns a store.Config that reaches it.
// It fails, never skips, when MariaDB does not answer.
func mysqlConfig(t testing.TB) store.Config {
	t.Helper()
	dsn := os.Getenv("TAMON_TEST_MYSQL_DSN")
	if dsn == "" {
		dsn = defaultTestDSN
	}
	dc, err := driver.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("TAMON_TEST_MYSQL_DSN %q: %v", dsn, err)
	}
	dc.DBName = ""
	conn, err := driver.NewConnector(dc)
	if err != nil {
		t.Fatalf("mysql connector: %v", err)
	}
	db := sql.OpenDB(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		t.Fatalf("no MariaDB for the tests at %s (%v): run .ci/ensure-mariadb.sh (as root) or set TAMON_TEST_MYSQL_DSN", dc.Addr, err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "tamon_api_" + hex.EncodeToString(b[:])
	if _, err := db.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		db.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db.Exec("DROP DATABASE IF EXISTS " + name)
		db.Close()
	})
	host, port, err := net.SplitHostPort(dc.Addr)
	if err != nil {
		t.Fatalf("test DSN address %q: %v", dc.Addr, err)
	}
	p, _ := strconv.Atoi(port)
	return store.Config{Driver: "mysql", Host: host, Port: p, User: dc.User, Password: dc.Passwd, Database: name, FlushEvery: 50 * time.Millisecond}
}

// backend is one database the store-backed tests run on.
type backend struct {
	name string
	cfg  func(t testing.TB) store.Config
}

func backends() []backend {
	return []backend{
		{"sqlite", func(t testing.TB) store.Config {
			return store.Config{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "tamon.db"), FlushEvery: 50 * time.Millisecond}
		}},
		{"mysql", mysqlConfig},
	}
}

// Credentials of the tests. The session ids have the form of rpcd's.
const (
	testToken = "test-token-9f2c"
	sidRW     = "0123456789abcdef0123456789abcdef" // read and write
	sidRO     = "fedcba9876543210fedcba9876543210" // read only
	sidGone   = "00000000000000000000000000000000" // unknown to ubus
)

// fakeTools writes fake ubus and uci programs into a folder put first on
// PATH. ubus grants sidRW read and write, sidRO read only, nothing to
// other sessions (exit 4, as ubus for an unknown session) and nothing to
// anyone once the file "revoked" exists; it answers network.interface.*
// status with the file iface.json. uci prints uci.show for "-q show
// tamon". Both log their arguments (ubus.log, uci.log).
type fakeTools struct {
	dir string
}

func newFakeTools(t testing.TB) *fakeTools {
	t.Helper()
	dir := t.TempDir()
	ubus := `#!/bin/sh
echo "$*" >> '` + dir + `/ubus.log'
if [ "$1" = call ] && [ "$3" = status ]; then
	case "$2" in network.interface.*) cat '` + dir + `/iface.json'; exit 0;; esac
	exit 4
fi
[ "$1 $2 $3" = "call session access" ] || exit 2
[ -e '` + dir + `/revoked' ] && exit 4
case "$4" in
*'"ubus_rpc_session":"` + sidRW + `"'*) echo '{"access":true}';;
*'"ubus_rpc_session":"` + sidRO + `"'*)
	case "$4" in *'"function":"read"'*) echo '{"access":true}';; *) echo '{"access":false}';; esac;;
*) exit 4;;
esac
`
	uci := `#!/bin/sh
echo "$*" >> '` + dir + `/uci.log'
if [ "$1 $2 $3" = "-q show tamon" ]; then cat '` + dir + `/uci.show'; fi
exit 0
`
	for name, body := range map[string]string{"ubus": ubus, "uci": uci} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"ubus.log", "uci.log", "uci.show"} {
		os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "iface.json"), []byte(`{"up":true,"ipv4-address":[{"address":"127.0.0.1","mask":8}]}`), 0o644)
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return &fakeTools{dir: dir}
}

func (f *fakeTools) log(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (f *fakeTools) write(t testing.TB, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fixture is a server over a store loaded from the main capture.
type fixture struct {
	name    string
	st      *store.Store
	inv     *devices.Inventory
	recs    []record.Record // what the engine wrote, in order
	srv     *Server
	ts      *httptest.Server
	now     int64 // the server's clock (ms): an hour after the newest record
	logs    *syncBuffer
	reloads int
	mu      sync.Mutex
	dissect pipeline.StreamCounters // the engine's, served by /status
}

// newFixture loads the main capture through the engine into a store of
// backend b and serves it.
func newFixture(t testing.TB, b backend) *fixture {
	t.Helper()
	cfg := b.cfg(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open %s store: %v", b.name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		st.Close(ctx)
	})
	fx := &fixture{name: b.name, st: st, logs: &syncBuffer{}}
	fx.inv = devices.New(devices.Config{Sensor: "corpus", Location: time.UTC})
	col := &collector{}
	es := runCapture(t, mainCapture, fx.inv, st, col)
	fx.dissect = es.Dissect
	if err := st.Flush(ctx); err != nil {
		t.Fatalf("flush store: %v", err)
	}
	fx.recs = col.all()
	for _, r := range fx.recs {
		fx.now = max(fx.now, timeOf(r))
	}
	fx.now += 3600_000
	fx.srv = New(Options{
		Store: st, Devices: fx.inv, Version: "test", Engine: &fakeEngine{stats: es},
		Config: func() ConfigInfo {
			c := config.Default()
			c.Sensor = "corpus"
			return ConfigInfo{Config: c, Reloads: 2}
		},
		Token: func() string { return testToken },
		Reload: func() error {
			fx.mu.Lock()
			fx.reloads++
			fx.mu.Unlock()
			return nil
		},
		Logger: fx.logs,
		Now:    func() time.Time { return time.UnixMilli(fx.now) },
	})
	fx.ts = httptest.NewServer(fx.srv.Handler())
	t.Cleanup(fx.ts.Close)
	t.Cleanup(fx.srv.Close)
	return fx
}

// timeOf is a record's list time (the store's time column).
func timeOf(r record.Record) int64 {
	switch v := r.(type) {
	case *record.Session:
		return v.StartTS
	case *record.DNS:
		return v.TS
	case *record.HTTP:
		return v.TS
	case *record.TLS:
		return v.TS
	case *record.ICMP:
		return v.TS
	case *record.App:
		return v.StartTS
	case *record.Device:
		return v.LastSeen
	}
	return 0
}

// get sends a GET with the test token and returns status and body.
func get(t testing.TB, base, path string) (int, []byte, http.Header) {
	t.Helper()
	return do(t, "GET", base+path, "Bearer "+testToken, nil)
}

func do(t testing.TB, method, url, auth string, body []byte) (int, []byte, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, url, err)
	}
	h := resp.Header.Clone()
	for k, v := range resp.Trailer {
		h[k] = v
	}
	return resp.StatusCode, b, h
}

// page is a decoded list answer; rows stay raw JSON.
type page struct {
	Rows []json.RawMessage `json:"rows"`
	Next string            `json:"next"`
}

func getPage(t testing.TB, base, path string) page {
	t.Helper()
	code, body, _ := get(t, base, path)
	if code != 200 {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	var p page
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("GET %s: %v in %.200s", path, err, body)
	}
	return p
}

// dataJSON is a record as the API shows it, from its JSON Lines form
// (independent of appendData: decode, drop "type", re-encode in order).
func dataJSON(t testing.TB, r record.Record) string {
	t.Helper()
	full := r.AppendJSON(nil)
	pre := `{"type":"` + r.Kind().String() + `",`
	if !strings.HasPrefix(string(full), pre) {
		t.Fatalf("record JSON %.60s does not start with %s", full, pre)
	}
	return "{" + string(full[len(pre):])
}

// fieldSets name, per kind, the JSON fields each filter reads: the
// contract of docs/api.md and sqldb.Filter, written out again here.
func fieldSets() map[record.Kind]map[string][]string {
	return map[record.Kind]map[string][]string{
		record.KindSession: {"mac": {"client_mac"}, "ip": {"client_ip", "server_ip"}, "port": {"client_port", "server_port"},
			"host": {"host"}, "app": {"app"}, "sensor": {"sensor"},
			"q": {"host", "app", "client_ip", "server_ip", "client_mac", "server_mac"}},
		record.KindDNS: {"mac": {"client_mac"}, "ip": {"client_ip", "server_ip"}, "host": {"query"}, "sensor": {"sensor"},
			"q": {"query", "answers", "client_ip", "server_ip", "client_mac"}},
		record.KindHTTP: {"mac": {"client_mac"}, "ip": {"client_ip", "server_ip"}, "port": {"client_port", "server_port"},
			"host": {"host"}, "sensor": {"sensor"},
			"q": {"host", "uri", "user_agent", "referer", "content_type", "client_ip", "server_ip", "client_mac"}},
		record.KindTLS: {"mac": {"client_mac"}, "ip": {"client_ip", "server_ip"}, "port": {"client_port", "server_port"},
			"host": {"sni"}, "sensor": {"sensor"},
			"q": {"sni", "alpn", "version", "ja3", "ja3s", "ja4", "client_ip", "server_ip", "client_mac"}},
		record.KindICMP: {"mac": {"client_mac"}, "ip": {"src_ip", "dst_ip"}, "sensor": {"sensor"},
			"q": {"src_ip", "dst_ip", "client_mac", "quoted"}},
		record.KindApp: {"mac": {"client_mac"}, "host": {"host"}, "app": {"app"}, "sensor": {"sensor"},
			"q": {"app", "host", "client_mac"}},
		record.KindDevice: {"mac": {"mac"}, "ip": {"ipv4[]", "ipv6[]"}, "host": {"hostname"}, "sensor": {"sensor"},
			"q": {"mac", "alias", "hostname", "vendor", "ipv4", "ipv6", "os"}},
	}
}

// filterSpec is a filter value compiled the way the contract reads it:
// comma/semicolon alternatives, '*' wildcards, exact otherwise, q a
// substring; '%' and '_' literal; MACs in any case.
type filterSpec struct {
	name  string
	alts  []*regexp.Regexp
	ports []string
}

func compileFilter(name, value string) filterSpec {
	fs := filterSpec{name: name}
	for _, a := range strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ';' }) {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if name == "port" {
			fs.ports = append(fs.ports, a)
			continue
		}
		if name == "mac" {
			a = strings.ToLower(a)
		}
		re := strings.ReplaceAll(regexp.QuoteMeta(a), `\*`, `.*`)
		if name == "q" {
			re = ".*" + re + ".*"
		}
		fs.alts = append(fs.alts, regexp.MustCompile(`(?s)\A`+re+`\z`))
	}
	return fs
}

// recText is a record with the texts each filter reads, decoded once.
type recText struct {
	rec   record.Record
	json  string
	texts map[string][]string // filter name -> values (ports as numbers)
}

func textsOf(t testing.TB, r record.Record) recText {
	t.Helper()
	rt := recText{rec: r, json: dataJSON(t, r), texts: map[string][]string{}}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(rt.json), &obj); err != nil {
		t.Fatal(err)
	}
	for name, cols := range fieldSets()[r.Kind()] {
		texts := []string{}
		for _, c := range cols {
			if el, isList := strings.CutSuffix(c, "[]"); isList {
				var list []string
				json.Unmarshal(obj[el], &list)
				texts = append(texts, list...)
				continue
			}
			raw := obj[c]
			var s string
			if len(raw) > 0 && raw[0] == '"' {
				json.Unmarshal(raw, &s)
			} else {
				s = string(raw) // numbers; lists as their JSON text, as the store keeps them
			}
			texts = append(texts, s)
		}
		rt.texts[name] = texts
	}
	return rt
}

func indexRecords(t testing.TB, recs []record.Record) []recText {
	out := make([]recText, len(recs))
	for i, r := range recs {
		out[i] = textsOf(t, r)
	}
	return out
}

// match reports whether the record meets fs; applies is false when the
// kind has no such field.
func (rt *recText) match(fs filterSpec) (match, applies bool) {
	texts, ok := rt.texts[fs.name]
	if !ok {
		return false, false
	}
	for _, s := range texts {
		for _, p := range fs.ports {
			if p == s {
				return true, true
			}
		}
		for _, re := range fs.alts {
			if re.MatchString(s) {
				return true, true
			}
		}
	}
	return false, true
}

// expectMatch reports whether the record r meets filter name=value as the
// contract says (see filterSpec); ok is false when the filter does not
// apply to the kind.
func expectMatch(t testing.TB, r record.Record, name, value string) (match, ok bool) {
	t.Helper()
	rt := textsOf(t, r)
	return rt.match(compileFilter(name, value))
}

// selectJSON returns, sorted, the JSON of the indexed records that meet
// fs, and whether the filter applies to their kind.
func selectJSON(idx []recText, fs filterSpec) ([]string, bool) {
	var out []string
	applies := true
	for i := range idx {
		m, ok := idx[i].match(fs)
		applies = ok
		if m {
			out = append(out, idx[i].json)
		}
	}
	sort.Strings(out)
	return out, applies
}

// ofKind returns the records of kind k; devices reduced to the newest
// record of each MAC, as the store keeps them.
func ofKind(recs []record.Record, k record.Kind) []record.Record {
	var out []record.Record
	if k != record.KindDevice {
		for _, r := range recs {
			if r.Kind() == k {
				out = append(out, r)
			}
		}
		return out
	}
	last := map[string]*record.Device{}
	var order []string
	for _, r := range recs {
		d, ok := r.(*record.Device)
		if !ok {
			continue
		}
		cur := last[d.MAC]
		if cur == nil {
			order = append(order, d.MAC)
		}
		if cur == nil || d.LastSeen >= cur.LastSeen {
			last[d.MAC] = d
		}
	}
	for _, m := range order {
		out = append(out, last[m])
	}
	return out
}

// sortedJSON returns the API JSON of recs, sorted (a multiset).
func sortedJSON(t testing.TB, recs []record.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = dataJSON(t, r)
	}
	sort.Strings(out)
	return out
}

func rawStrings(rows []json.RawMessage) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = string(r)
	}
	return out
}

func sortedRaw(rows []json.RawMessage) []string {
	out := rawStrings(rows)
	sort.Strings(out)
	return out
}

// diffSets describes how two sorted multisets differ (empty when equal).
func diffSets(got, want []string) string {
	if len(got) == len(want) {
		same := true
		for i := range got {
			if got[i] != want[i] {
				same = false
				break
			}
		}
		if same {
			return ""
		}
	}
	count := map[string]int{}
	for _, s := range got {
		count[s]++
	}
	for _, s := range want {
		count[s]--
	}
	var extra, missing []string
	for s, n := range count {
		for ; n > 0; n-- {
			extra = append(extra, s)
		}
		for ; n < 0; n++ {
			missing = append(missing, s)
		}
	}
	sort.Strings(extra)
	sort.Strings(missing)
	msg := fmt.Sprintf("got %d rows, want %d", len(got), len(want))
	if len(extra) > 0 {
		msg += fmt.Sprintf("; %d unexpected, first %.300s", len(extra), extra[0])
	}
	if len(missing) > 0 {
		msg += fmt.Sprintf("; %d missing, first %.300s", len(missing), missing[0])
	}
	return msg
}
