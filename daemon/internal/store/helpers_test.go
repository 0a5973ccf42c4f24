package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	driver "github.com/go-sql-driver/mysql"

	"tamon/daemon/internal/record"
	"tamon/daemon/internal/store/sqldb"
)

// The MariaDB the tests use; .ci/ensure-mariadb.sh starts one and creates
// the account.
const defaultTestDSN = "tamon_test@tcp(127.0.0.1:3306)/"

func testDSN() string {
	if v := os.Getenv("TAMON_TEST_MYSQL_DSN"); v != "" {
		return v
	}
	return defaultTestDSN
}

// mysqlServer returns the test server's settings, failing (never skipping)
// when it does not answer.
func mysqlServer(t testing.TB) *driver.Config {
	t.Helper()
	dc, err := driver.ParseDSN(testDSN())
	if err != nil {
		t.Fatalf("TAMON_TEST_MYSQL_DSN %q: %v", testDSN(), err)
	}
	dc.DBName = ""
	conn, err := driver.NewConnector(dc)
	if err != nil {
		t.Fatalf("mysql connector: %v", err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("no MariaDB for the tests at %s (%v): run .ci/ensure-mariadb.sh (as root) or set TAMON_TEST_MYSQL_DSN", dc.Addr, err)
	}
	return dc
}

// newDatabase creates a database of its own for the test on the test
// server, dropped at the end, and returns a Config that reaches it.
func newDatabase(t testing.TB) Config {
	t.Helper()
	dc := mysqlServer(t)
	var b [6]byte
	rand.Read(b[:])
	name := "tamon_t_" + hex.EncodeToString(b[:])
	conn, _ := driver.NewConnector(dc)
	db := sql.OpenDB(conn)
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
	return Config{Driver: "mysql", Host: host, Port: p, User: dc.User, Password: dc.Passwd, Database: name}
}

// backend is one driver the suite runs on.
type backend struct {
	name string
	cfg  func(t testing.TB) Config
}

func backends() []backend {
	return []backend{
		{"sqlite", func(t testing.TB) Config {
			return Config{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "tamon.db")}
		}},
		{"mysql", newDatabase},
	}
}

// forEachBackend runs f as a subtest per driver.
func forEachBackend(t *testing.T, f func(t *testing.T, cfg Config)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { f(t, b.cfg(t)) })
	}
}

// openStore opens a Store, closed at the end of the test.
func openStore(t testing.TB, cfg Config) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s
}

func flush(t testing.TB, s *Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// listAll returns every row of kind, oldest first (time, then id).
func listAll(t testing.TB, s *Store, kind record.Kind, f Filter) []Row {
	t.Helper()
	var out []Row
	f.Limit, f.After = 1000, ""
	if f.Sort == "" {
		f.Sort = "time"
	}
	for {
		next, err := s.List(context.Background(), kind, f, func(r Row) error {
			out = append(out, r)
			return nil
		})
		if err != nil {
			t.Fatalf("list %s: %v", kind, err)
		}
		if next == "" {
			return out
		}
		f.After = next
	}
}

func jsonOf(r record.Record) string { return string(r.AppendJSON(nil)) }

func rowsJSON(rows []Row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = jsonOf(r.Record)
	}
	return out
}

// Test data: a deterministic mix of every kind, with the text that
// matters to filters and storage (Chinese, '%', '_', '!', upper case).
var (
	testHosts = []string{"example.com", "www.example.org", "视频.example.cn", "a_b.example.net", "100%.example.com",
		"x!y.example", "UPPER.Example.COM", "", "cdn.example.com", "ab.example.net"}
	testApps = []string{"youtube", "微信", "", "app_1", "app%2", "netflix"}
)

func mac(i int) string { return fmt.Sprintf("02:00:00:00:00:%02x", i%9) }
func cip(i int) string {
	if i%5 == 4 {
		return fmt.Sprintf("2001:db8::%x", i%30+1)
	}
	return fmt.Sprintf("192.0.2.%d", i%40+1)
}
func sip(i int) string { return fmt.Sprintf("203.0.113.%d", i%25+1) }

// genRecords returns n records of every kind but devices (n each), whose
// times start at t0, several sharing a time (for tie-breaks), and devices
// for 9 MACs, updated several times, not in last_seen order.
func genRecords(sensor string, n int, t0 int64) []record.Record {
	var out []record.Record
	for i := 0; i < n; i++ {
		ts := t0 + int64(i/2)*1000
		h := testHosts[i%len(testHosts)]
		a := testApps[i%len(testApps)]
		var tl []record.Step
		for j := 0; j < i%5; j++ {
			tl = append(tl, record.Step{DT: uint32(j * 10), Dir: uint8(1 + j%2), Len: uint16(60 + j), Flags: 0x18})
		}
		out = append(out, &record.Session{
			Sensor: sensor, Proto: []string{"tcp", "udp"}[i%2], ClientMAC: mac(i), ClientIP: cip(i),
			ClientPort: uint16(40000 + i), ServerMAC: "02:00:00:00:01:01", ServerIP: sip(i), ServerPort: []uint16{443, 80, 53, 8080}[i%4],
			VLAN: uint16(i % 3), StartTS: ts, EndTS: ts + int64(i%7)*100, BytesUp: uint64(100 * (i + 1)), BytesDown: uint64(1000 * (i%13 + 1)),
			PktsUp: uint64(i%10 + 1), PktsDown: uint64(i%11 + 1), Host: h, App: a, EndReason: []string{"fin", "rst", "timeout", "eof"}[i%4],
			Timeline: tl,
		})
		var answers []record.Answer
		for j := 0; j < i%3; j++ {
			answers = append(answers, record.Answer{Name: h, Type: "A", TTL: uint32(300 + j), Data: fmt.Sprintf("198.51.100.%d", j+1)})
		}
		out = append(out, &record.DNS{
			Sensor: sensor, TS: ts + 1, ClientMAC: mac(i), ClientIP: cip(i), ServerIP: "192.0.2.254", Proto: "udp",
			TxID: uint16(i * 7), Query: h, QType: "A", RCode: []string{"NOERROR", "NXDOMAIN", ""}[i%3], Answers: answers, RTTMs: int64(i%5) - 1,
		})
		out = append(out, &record.HTTP{
			Sensor: sensor, TS: ts + 2, ClientMAC: mac(i), ClientIP: cip(i), ClientPort: uint16(41000 + i), ServerIP: sip(i), ServerPort: 80,
			Method: "GET", Host: h, URI: fmt.Sprintf("/path/%d?q=%%41_x", i), UserAgent: "Mozilla/5.0 (测试)", Referer: "http://" + h + "/",
			Status: uint16(200 + i%3), ContentType: "text/html; charset=utf-8",
		})
		out = append(out, &record.TLS{
			Sensor: sensor, TS: ts + 3, ClientMAC: mac(i), ClientIP: cip(i), ClientPort: uint16(42000 + i), ServerIP: sip(i), ServerPort: 443,
			Transport: "tcp", Version: "TLS 1.3", SNI: h, ALPN: "h2,http/1.1", JA3: fmt.Sprintf("%032x", i), JA3S: "", JA4: "t13d1516h2_8daaf6152771_e5627efa2ab1", ECH: i%4 == 1,
		})
		out = append(out, &record.ICMP{
			Sensor: sensor, TS: ts + 4, ClientMAC: mac(i), SrcIP: cip(i), DstIP: sip(i), Family: 4, Type: 8, Code: 0,
			EchoID: uint16(i), EchoSeq: uint16(i * 2), RTTMs: int64(i % 9), Quoted: []string{"", "udp 192.0.2.1:5353 > 198.51.100.1:53"}[i%2],
		})
		out = append(out, &record.App{
			Sensor: sensor, ClientMAC: mac(i), App: a, StartTS: ts + 5, EndTS: ts + 500, Host: h, Sessions: uint64(i%4 + 1), Bytes: uint64(5000 + i),
		})
		if i%3 == 0 {
			m := i % 9
			out = append(out, &record.Device{
				Sensor: sensor, MAC: mac(m), Alias: "设备" + strconv.Itoa(m), Hostname: testHosts[(i/3)%len(testHosts)], Vendor: "Vendor",
				IPv4: []string{cip(m)}, IPv6: []string{fmt.Sprintf("2001:db8::%x", m+1)}, OS: "Linux", DHCPFingerprint: "1,3,6",
				Randomized: i%2 == 0, FirstSeen: t0 + int64(i%17)*100, LastSeen: t0 + int64((i*7)%23)*1000 + int64(i), BytesUp: uint64(i), BytesDown: uint64(2 * i),
			})
		}
	}
	return out
}

// timeOf returns the time column of a record (as the tables use it).
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

// item is an expected row: its record and its position in write order
// (the order of ids).
type item struct {
	r   record.Record
	pos int
}

// expectedRows returns what the table of kind should hold after recs were
// written in order, oldest first, as JSON.
func expectedRows(recs []record.Record, kind record.Kind) []string {
	items := expectedItems(recs, kind)
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = jsonOf(it.r)
	}
	return out
}

// expectedItems returns what the table of kind should hold after recs were
// written in order, oldest first: every record of the kind (devices: one
// per sensor and MAC, the update with the newest last_seen, the oldest
// first_seen), sorted by time, ties in write order.
func expectedItems(recs []record.Record, kind record.Kind) []item {
	var items []item
	if kind == record.KindDevice {
		idx := map[string]int{}
		for i, r := range recs {
			d, ok := r.(*record.Device)
			if !ok {
				continue
			}
			key := d.Sensor + "/" + d.MAC
			j, seen := idx[key]
			if !seen {
				c := *d
				idx[key] = len(items)
				items = append(items, item{&c, i})
				continue
			}
			cur := items[j].r.(*record.Device)
			first := min(cur.FirstSeen, d.FirstSeen)
			if d.LastSeen >= cur.LastSeen {
				c := *d
				cur = &c
			}
			cur.FirstSeen = first
			items[j].r = cur
		}
	} else {
		for i, r := range recs {
			if r.Kind() == kind {
				items = append(items, item{r, i})
			}
		}
	}
	slices.SortStableFunc(items, func(a, b item) int {
		return cmp.Or(cmp.Compare(timeOf(a.r), timeOf(b.r)), cmp.Compare(a.pos, b.pos))
	})
	return items
}

func diffLines(want, got []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "want %d rows, got %d\n", len(want), len(got))
	n := 0
	for i := 0; i < max(len(want), len(got)) && n < 5; i++ {
		w, g := "", ""
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			fmt.Fprintf(&b, "row %d:\n  want %s\n  got  %s\n", i, w, g)
			n++
		}
	}
	return b.String()
}

var allKinds = []record.Kind{record.KindSession, record.KindDNS, record.KindHTTP, record.KindTLS, record.KindICMP, record.KindApp, record.KindDevice}

// checkContents fails unless every table holds exactly the expected rows.
func checkContents(t testing.TB, s *Store, recs []record.Record) {
	t.Helper()
	for _, k := range allKinds {
		want := expectedRows(recs, k)
		got := rowsJSON(listAll(t, s, k, Filter{}))
		if !slices.Equal(want, got) {
			t.Errorf("%s: %s", sqldb.TableName(k), diffLines(want, got))
		}
	}
}

func writeFile(path string) error { return os.WriteFile(path, []byte("not a folder"), 0o600) }

// closedPort returns a loopback TCP port nothing listens on.
func closedPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return p
}
