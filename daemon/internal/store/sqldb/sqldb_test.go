package sqldb

import (
	"encoding/base64"
	"errors"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"tamon/daemon/internal/record"
)

func TestPattern(t *testing.T) {
	tests := []struct{ in, want string }{
		{"example.com", "example.com"},
		{"*.example.com", "%.example.com"},
		{"a_b", "a!_b"},
		{"100%", "100!%"},
		{"x!y", "x!!y"},
		{"**", "%%"},
		{"视频*", "视频%"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := pattern(tt.in); got != tt.want {
			t.Errorf("pattern(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCutRunes(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
		cut  bool
	}{
		{"abc", 5, "abc", false},
		{"abc", 3, "abc", false},
		{"abcd", 3, "abc", true},
		{"长长长长", 2, "长长", true},
		{"", 0, "", false},
		{"a", 0, "", true},
	}
	for _, tt := range tests {
		got, cut := cutRunes(tt.s, tt.n)
		if got != tt.want || cut != tt.cut {
			t.Errorf("cutRunes(%q, %d) = %q, %v; want %q, %v", tt.s, tt.n, got, cut, tt.want, tt.cut)
		}
	}
	if got := cutBytes("a长", 3); got != "a" {
		t.Errorf("cutBytes inside a character: %q", got)
	}
	if got := toValidUTF8("a\xffb\xc3"); got != "a\uFFFDb\uFFFD" || !utf8.ValidString(got) {
		t.Errorf("toValidUTF8: %q", got)
	}
}

// TestRowArgs: a record's values, fitted, in column order.
func TestRowArgs(t *testing.T) {
	ts := tables()
	long := strings.Repeat("x", 300)
	w := rowArgs{cols: ts[record.KindSession].cols}
	ok := putSession(&w, &record.Session{Sensor: "s", Host: long, BytesUp: math.MaxUint64, PktsUp: 3,
		Timeline: []record.Step{{DT: 1, Dir: 1, Len: 60, Flags: 2}}})
	if !ok || len(w.args) != len(ts[record.KindSession].cols) || w.i != len(w.cols) {
		t.Fatalf("put: %v, %d args for %d columns", ok, len(w.args), len(w.cols))
	}
	if w.args[15] != long[:255] || w.args[11] != int64(math.MaxInt64) || w.args[13] != int64(3) || w.args[18] != "[[1,1,60,2]]" {
		t.Errorf("args %v", w.args)
	}
	if w.truncated != 2 {
		t.Errorf("truncated %d, want 2", w.truncated)
	}
	if putSession(&rowArgs{cols: w.cols}, &record.DNS{}) {
		t.Error("putSession took a DNS record")
	}
	// Every table's put fills every column exactly once.
	for _, tb := range ts {
		if tb == nil {
			continue
		}
		w := rowArgs{cols: tb.cols}
		var rec record.Record
		switch tb.kind {
		case record.KindSession:
			rec = &record.Session{}
		case record.KindDNS:
			rec = &record.DNS{}
		case record.KindHTTP:
			rec = &record.HTTP{}
		case record.KindTLS:
			rec = &record.TLS{}
		case record.KindICMP:
			rec = &record.ICMP{}
		case record.KindApp:
			rec = &record.App{}
		case record.KindDevice:
			rec = &record.Device{}
		}
		if !tb.put(&w, rec) || len(w.args) != len(tb.cols) {
			t.Errorf("%s: %d values for %d columns", tb.name, len(w.args), len(tb.cols))
		}
	}
}

func TestJSONFit(t *testing.T) {
	var answers []record.Answer
	for i := 0; i < 5000; i++ {
		answers = append(answers, record.Answer{Name: "name.example", Type: "A", TTL: 60, Data: "192.0.2.1"})
	}
	w := rowArgs{cols: []column{{name: "answers", typ: tJSON}}}
	w.json(len(answers), func(b []byte, k int) []byte { return record.AppendAnswers(b, answers[:k]) })
	s := w.args[0].(string)
	if len(s) > textBytes || w.truncated != 1 || !strings.HasSuffix(s, "}]") {
		t.Errorf("%d bytes, truncated %d", len(s), w.truncated)
	}
	// The largest prefix that fits.
	k := strings.Count(s, `{"name"`)
	if len(record.AppendAnswers(nil, answers[:k+1])) <= textBytes {
		t.Errorf("kept %d answers; %d fit", k, k+1)
	}
}

func TestInsertSQL(t *testing.T) {
	ts := tables()
	for _, d := range []Dialect{MySQL, SQLite} {
		db := &DB{dialect: d, tables: ts, opt: Options{ChunkRows: 500}}
		for _, tb := range ts {
			if tb == nil {
				continue
			}
			q := db.insertSQL(tb, 3)
			per := len(tb.cols)
			if tb.stamped {
				per += 2
			}
			if n := strings.Count(q, "?"); n != 3*per {
				t.Errorf("%s %s: %d placeholders, want %d", d, tb.name, n, 3*per)
			}
			if tb.kind == record.KindDevice && !strings.Contains(q, "last_seen") {
				t.Errorf("%s devices: no upsert: %s", d, q)
			}
			if n := db.chunkRows(tb); n*per > 32766 || n < 1 {
				t.Errorf("%s %s: chunk of %d rows", d, tb.name, n)
			}
		}
	}
	if q := (&DB{dialect: MySQL}).deviceUpsert(ts[record.KindDevice]); !strings.HasSuffix(q, "last_seen = GREATEST(last_seen, VALUES(last_seen))") {
		t.Errorf("MySQL device upsert must set last_seen last: %s", q)
	}
}

func TestCursor(t *testing.T) {
	tests := []cursor{
		{kind: record.KindSession, sort: "-time", num: 1700000000000, id: 42},
		{kind: record.KindDNS, sort: "query", str: true, text: "视频.example.cn", id: 1},
		{kind: record.KindDevice, sort: "-id", num: -5, id: -5},
		{kind: record.KindApp, sort: "app", str: true, text: "", id: 0},
	}
	for _, c := range tests {
		s := c.encode()
		got, err := decodeCursor(s)
		if err != nil || got != c {
			t.Errorf("round trip of %+v: %+v, %v", c, got, err)
		}
		if strings.ContainsAny(s, "+/=") {
			t.Errorf("cursor %q is not URL-safe", s)
		}
	}
	for _, bad := range []string{"", "!!", "AA", "AQE", encodeRaw([]byte{1, 9, 0, 0, 0}), encodeRaw([]byte{2, 1, 0, 0, 0, 0})} {
		if _, err := decodeCursor(bad); !errors.Is(err, ErrFilter) {
			t.Errorf("decodeCursor(%q): %v, want ErrFilter", bad, err)
		}
	}
}

func encodeRaw(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// FuzzDecodeCursor: cursors come from API clients. Anything decodes to a
// cursor that encodes back to the same text, or to ErrFilter.
func FuzzDecodeCursor(f *testing.F) {
	f.Add((&cursor{kind: record.KindSession, sort: "-time", num: 1700000000000, id: 42}).encode())
	f.Add((&cursor{kind: record.KindDNS, sort: "query", str: true, text: "example.com", id: 7}).encode())
	f.Add("")
	f.Add("AQEA")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err != nil {
			if !errors.Is(err, ErrFilter) {
				t.Fatalf("error without ErrFilter: %v", err)
			}
			return
		}
		if again := c.encode(); again != s {
			if c2, err := decodeCursor(again); err != nil || c2 != c {
				t.Fatalf("re-encoded cursor differs")
			}
		}
	})
}

func BenchmarkDecodeCursor(b *testing.B) {
	s := (&cursor{kind: record.KindSession, sort: "-host", str: true, text: "www.example.org", id: 123456}).encode()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := decodeCursor(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRowArgs: the parameters of one session-sized row.
func BenchmarkRowArgs(b *testing.B) {
	tb := tables()[record.KindSession]
	rec := &record.Session{Sensor: "router1", Proto: "tcp", ClientMAC: "02:00:00:00:00:01", ClientIP: "192.0.2.10", ClientPort: 50000,
		ServerMAC: "02:00:00:00:01:01", ServerIP: "203.0.113.5", ServerPort: 443, StartTS: 1700000000000, EndTS: 1700000005000,
		BytesUp: 1234, BytesDown: 56789, PktsUp: 12, PktsDown: 40, Host: "www.example.org", App: "example", EndReason: "fin"}
	for i := 0; i < 16; i++ {
		rec.Timeline = append(rec.Timeline, record.Step{DT: uint32(i * 10), Dir: uint8(1 + i%2), Len: 1500, Flags: 0x18})
	}
	w := rowArgs{cols: tb.cols}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		w.args, w.i = w.args[:0], 0
		tb.put(&w, rec)
	}
}
