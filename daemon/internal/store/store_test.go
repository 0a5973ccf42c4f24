package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"tamon/daemon/internal/record"
	"tamon/daemon/internal/store/sqldb"
)

const t0 = int64(1_700_000_000_000)

func TestRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg Config) {
		s := openStore(t, cfg)
		recs := genRecords("r1", 120, t0)
		// Several writes, as the engine does.
		for i := 0; i < len(recs); i += 37 {
			if err := s.Write(recs[i:min(i+37, len(recs))]); err != nil {
				t.Fatal(err)
			}
		}
		flush(t, s)
		checkContents(t, s, recs)
		st := s.Stats()
		if !st.Connected || st.Queue != 0 || st.Dropped != 0 || st.Duplicates != 0 {
			t.Errorf("stats after a clean write: %+v", st)
		}
		for _, k := range allKinds[:6] {
			if got, want := st.Rows[sqldb.TableName(k)], uint64(120); got != want {
				t.Errorf("rows written to %s: %d, want %d", sqldb.TableName(k), got, want)
			}
		}
		if st.Driver != cfg.Driver {
			t.Errorf("driver %q, want %q", st.Driver, cfg.Driver)
		}
	})
}

// TestDeviceUpsertOrder: device updates applied in any order give the row
// of the newest last_seen, with the oldest first_seen.
func TestDeviceUpsertOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg Config) {
		s := openStore(t, cfg)
		mk := func(last int64, alias string, first int64) *record.Device {
			return &record.Device{Sensor: "r1", MAC: "02:00:00:00:00:aa", Alias: alias, IPv4: []string{"192.0.2.7"}, FirstSeen: first, LastSeen: last}
		}
		// Newest first, then older ones in separate batches.
		for _, d := range []*record.Device{mk(t0+3000, "third", t0+500), mk(t0+1000, "first", t0), mk(t0+2000, "second", t0+100)} {
			s.Write([]record.Record{d})
			flush(t, s)
		}
		rows := listAll(t, s, record.KindDevice, Filter{})
		want := mk(t0+3000, "third", t0)
		if len(rows) != 1 || jsonOf(rows[0].Record) != jsonOf(want) {
			t.Fatalf("device rows %v, want one: %s", rowsJSON(rows), jsonOf(want))
		}
	})
}

// TestFit: values too long for their column are cut and counted, invalid
// UTF-8 is replaced, counters above BIGINT are clamped; the rest of the
// batch is written, and both drivers keep the same text.
func TestFit(t *testing.T) {
	long := strings.Repeat("长", 300) // 300 characters, 900 bytes
	var uri strings.Builder
	for uri.Len() < 70000 {
		uri.WriteString("/日本語/abc")
	}
	var answers []record.Answer
	for i := 0; i < 2000; i++ {
		answers = append(answers, record.Answer{Name: strings.Repeat("n", 30), Type: "TXT", TTL: 1, Data: strings.Repeat("d", 20)})
	}
	recs := []record.Record{
		&record.Session{Sensor: "r1", Proto: "tcp", ClientMAC: mac(1), StartTS: t0, Host: long, App: "ok", BytesUp: math.MaxUint64},
		&record.HTTP{Sensor: "r1", TS: t0, Host: "bad\xffutf8\xfe", URI: uri.String(), Status: 200},
		&record.DNS{Sensor: "r1", TS: t0, Query: "q.example", Answers: answers},
		&record.TLS{Sensor: "r1", TS: t0, SNI: "fine.example"},
	}
	results := map[string][]string{}
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s := openStore(t, b.cfg(t))
			s.Write(recs)
			flush(t, s)
			st := s.Stats()
			if st.Truncated != 4 || st.Repaired != 1 || st.Rejected != 0 {
				t.Errorf("truncated %d (want 4: host, bytes_up, uri, answers), repaired %d (want 1), rejected %d", st.Truncated, st.Repaired, st.Rejected)
			}
			sess := listAll(t, s, record.KindSession, Filter{})
			h := listAll(t, s, record.KindHTTP, Filter{})
			d := listAll(t, s, record.KindDNS, Filter{})
			tl := listAll(t, s, record.KindTLS, Filter{})
			if len(sess) != 1 || len(h) != 1 || len(d) != 1 || len(tl) != 1 {
				t.Fatalf("rows: %d sessions, %d http, %d dns, %d tls; want one each", len(sess), len(h), len(d), len(tl))
			}
			ss := sess[0].Record.(*record.Session)
			if utf8.RuneCountInString(ss.Host) != 255 || !strings.HasPrefix(long, ss.Host) || ss.BytesUp != math.MaxInt64 {
				t.Errorf("session host %d characters, bytes_up %d", utf8.RuneCountInString(ss.Host), ss.BytesUp)
			}
			hh := h[0].Record.(*record.HTTP)
			if hh.Host != "bad\uFFFDutf8\uFFFD" || len(hh.URI) > 65535 || len(hh.URI) < 65530 || !utf8.ValidString(hh.URI) || !strings.HasPrefix(uri.String(), hh.URI) {
				t.Errorf("http host %q, uri of %d bytes (valid %v)", hh.Host, len(hh.URI), utf8.ValidString(hh.URI))
			}
			dd := d[0].Record.(*record.DNS)
			if n := len(dd.Answers); n == 0 || n >= len(answers) || len(record.AppendAnswers(nil, dd.Answers)) > 65535 {
				t.Errorf("dns kept %d answers of %d", n, len(answers))
			}
			results[b.name] = rowsJSON(slices.Concat(sess, h, d, tl))
		})
	}
	if a, b := results["sqlite"], results["mysql"]; !slices.Equal(a, b) {
		t.Errorf("drivers keep different values:\n%s", diffLines(a, b))
	}
}

func TestListErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg Config) {
		s := openStore(t, cfg)
		s.Write(genRecords("r1", 10, t0))
		flush(t, s)
		var first string
		next, err := s.List(context.Background(), record.KindSession, Filter{Limit: 3}, func(Row) error { return nil })
		if err != nil || next == "" {
			t.Fatalf("first page: next %q, %v", next, err)
		}
		first = next
		tests := []struct {
			name string
			kind record.Kind
			f    Filter
		}{
			{"port on dns", record.KindDNS, Filter{Port: []int{53}}},
			{"app on http", record.KindHTTP, Filter{App: []string{"x"}}},
			{"host on icmp", record.KindICMP, Filter{Host: []string{"x"}}},
			{"ip on apps", record.KindApp, Filter{IP: []string{"192.0.2.1"}}},
			{"port out of range", record.KindSession, Filter{Port: []int{70000}}},
			{"negative time", record.KindSession, Filter{From: -1}},
			{"limit too large", record.KindSession, Filter{Limit: sqldb.MaxLimit + 1}},
			{"unknown sort", record.KindSession, Filter{Sort: "nope"}},
			{"json sort", record.KindSession, Filter{Sort: "timeline"}},
			{"cursor garbage", record.KindSession, Filter{After: "!!!"}},
			{"cursor of another sort", record.KindSession, Filter{After: first, Sort: "-host"}},
			{"cursor of another table", record.KindDNS, Filter{After: first}},
			{"after and before", record.KindSession, Filter{After: first, Before: first}},
			{"unknown kind", record.Kind(99), Filter{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.List(context.Background(), tt.kind, tt.f, func(Row) error { return nil })
				if !errors.Is(err, ErrFilter) {
					t.Errorf("err %v, want ErrFilter", err)
				}
			})
		}
		if _, err := s.Top(context.Background(), "vendor", "bytes", Filter{}, 5); !errors.Is(err, ErrFilter) {
			t.Errorf("top by vendor: %v, want ErrFilter", err)
		}
		if _, err := s.Top(context.Background(), "app", "packets", Filter{}, 5); !errors.Is(err, ErrFilter) {
			t.Errorf("top by packets: %v, want ErrFilter", err)
		}
		if _, err := s.Series(context.Background(), time.Second, "", Filter{From: 1, To: 1e12}); !errors.Is(err, ErrFilter) {
			t.Errorf("series of 10^9 points: %v, want ErrFilter", err)
		}
		stop := errors.New("stop")
		if _, err := s.List(context.Background(), record.KindSession, Filter{}, func(Row) error { return stop }); err != stop {
			t.Errorf("callback error: got %v", err)
		}
	})
}

// TestTwoSensors: two stores open the same database at the same moment
// (both migrate), write at once, and their rows stay apart by sensor.
func TestTwoSensors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg Config) {
		var wg sync.WaitGroup
		stores := make([]*Store, 2)
		errs := make([]error, 2)
		for i := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				stores[i], errs[i] = Open(ctx, cfg)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("store %d: %v", i, err)
			}
			s := stores[i]
			t.Cleanup(func() { s.Close(context.Background()) })
		}
		v, err := stores[0].drv.(*sqldb.DB).Version(context.Background())
		if err != nil || v != 1 {
			t.Fatalf("schema version %d, %v", v, err)
		}
		var n int
		if err := stores[0].drv.(*sqldb.DB).SQL().QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil || n != 1 {
			t.Fatalf("schema_migrations rows %d, %v: want 1 (one migration, run once)", n, err)
		}
		data := [][]record.Record{genRecords("sensor-a", 200, t0), genRecords("sensor-b", 200, t0)}
		for i, s := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < len(data[i]); j += 50 {
					s.Write(data[i][j:min(j+50, len(data[i]))])
				}
			}()
		}
		wg.Wait()
		for _, s := range stores {
			flush(t, s)
		}
		for i, name := range []string{"sensor-a", "sensor-b"} {
			for _, k := range allKinds {
				want := expectedRows(data[i], k)
				got := rowsJSON(listAll(t, stores[1-i], k, Filter{Sensor: []string{name}}))
				if !slices.Equal(want, got) {
					t.Errorf("%s of %s: %s", sqldb.TableName(k), name, diffLines(want, got))
				}
			}
		}
	})
}

func TestOpenErrors(t *testing.T) {
	good := newDatabase(t)
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := writeFile(notDir); err != nil {
		t.Fatal(err)
	}
	wrongPort := good
	wrongPort.Port = closedPort(t)
	wrongPass := good
	wrongPass.Password = "not-the-password"
	wrongUser := good
	wrongUser.User = "no_such_user_tamon"
	wrongDB := good
	wrongDB.Database = "tamon_no_such_db"
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"port", wrongPort, "storage.port"},
		{"password", wrongPass, "storage.password"},
		{"user", wrongUser, `storage.user "no_such_user_tamon"`},
		{"database", wrongDB, `storage.database "tamon_no_such_db" does not exist`},
		{"empty database", Config{Driver: "mysql", User: "x"}, "storage.database is empty"},
		{"driver", Config{Driver: "postgres"}, `storage.driver "postgres"`},
		{"sqlite path is under a file", Config{Driver: "sqlite", Path: filepath.Join(notDir, "x.db")}, "storage.path"},
		{"sqlite path empty", Config{Driver: "sqlite"}, "storage.path is empty"},
		{"spool under a file", Config{Driver: "sqlite", Path: filepath.Join(dir, "ok.db"), SpoolPath: filepath.Join(notDir, "spool")}, "spool"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s, err := Open(ctx, tt.cfg)
			if err == nil {
				s.Close(ctx)
				t.Fatalf("open succeeded, want an error naming %s", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %q", err, tt.want)
			}
			if strings.Count(err.Error(), "\n") > 0 {
				t.Errorf("error on several lines: %q", err)
			}
		})
	}
}

func TestWriteAfterClose(t *testing.T) {
	cfg := Config{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "t.db")}
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(genRecords("r", 1, t0)); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v, want ErrClosed", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("second close: %v", err)
	}
}

func TestCSVText(t *testing.T) {
	cols := Columns(record.KindICMP)
	want := []string{"sensor", "ts", "client_mac", "src_ip", "dst_ip", "family", "icmp_type", "icmp_code", "echo_id", "echo_seq", "rtt_ms", "quoted"}
	if !slices.Equal(cols, want) {
		t.Errorf("icmp columns %v, want %v", cols, want)
	}
	rec := &record.Session{Sensor: "r", StartTS: 5, Host: "h", Timeline: []record.Step{{DT: 1, Dir: 2, Len: 60, Flags: 2}}}
	got := AppendText(nil, rec)
	if len(got) != len(Columns(record.KindSession)) || got[0] != "r" || got[9] != "5" || got[len(got)-1] != "[[1,2,60,2]]" {
		t.Errorf("session text %q", got)
	}
	// Every JSON Lines field is a column, in order, and nothing else.
	for _, r := range genRecords("r", 3, t0)[:7] {
		var fields map[string]any
		js := jsonOf(r)
		if err := json.Unmarshal([]byte(js), &fields); err != nil {
			t.Fatal(err)
		}
		if len(fields)-1 != len(Columns(r.Kind())) {
			t.Errorf("%s: %d JSON fields, %d columns %v: the record changed, the schema did not", r.Kind(), len(fields)-1, len(Columns(r.Kind())), Columns(r.Kind()))
		}
		last := 0
		for _, c := range Columns(r.Kind()) {
			i := strings.Index(js, fmt.Sprintf("%q:", c))
			if i < last {
				t.Errorf("%s: column %s missing or out of order in %s", r.Kind(), c, js)
			}
			last = i
		}
	}
}
