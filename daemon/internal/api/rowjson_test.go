package api

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"tamon/daemon/internal/record"
)

// sampleRecords has one record of each kind with awkward text: quotes,
// control characters, formulas, non-ASCII, invalid UTF-8.
func sampleRecords() []record.Record {
	return []record.Record{
		&record.Session{Sensor: "r1", Proto: "tcp", ClientMAC: "02:00:00:00:00:01", ClientIP: "192.0.2.1", ClientPort: 5000,
			ServerIP: "198.51.100.1", ServerPort: 443, StartTS: 1, EndTS: 2, BytesUp: 100, Host: "=cmd|' /C calc'!A0",
			EndReason: "fin", Timeline: []record.Step{{DT: 0, Dir: 1, Len: 60, Flags: 2}, {DT: 5, Dir: 2, Len: 60, Flags: 18}}},
		&record.DNS{Sensor: "r1", TS: 3, Query: "a\"b\\c.example", QType: "A", RCode: "NOERROR", RTTMs: -1,
			Answers: []record.Answer{{Name: "x", Type: "TXT", TTL: 5, Data: "v=spf1 \"quoted\" ,comma"}}},
		&record.HTTP{TS: 4, Method: "GET", Host: "h\tost", URI: "/\x01\n\r", UserAgent: "+AAA", Referer: "@SUM(1)", Status: 200},
		&record.TLS{TS: 5, SNI: "例え.jp", ALPN: "h2,http/1.1", ECH: true},
		&record.ICMP{TS: 6, Family: 6, Type: 128, RTTMs: 3, Quoted: "-x"},
		&record.App{ClientMAC: "02:00:00:00:00:01", App: "Bad\xffUTF8", Sessions: 2, Bytes: 9},
		&record.Device{MAC: "02:00:00:00:00:01", Alias: "儿子的平板", IPv4: []string{"192.0.2.1", "192.0.2.2"}, IPv6: []string{}, Randomized: true},
	}
}

func TestAppendData(t *testing.T) {
	for _, r := range sampleRecords() {
		full := r.AppendJSON(nil)
		got := appendData([]byte("prefix"), r)
		if !strings.HasPrefix(string(got), "prefix{") {
			t.Fatalf("%s: %.40s", r.Kind(), got)
		}
		var a, b map[string]any
		if err := json.Unmarshal(full, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got[len("prefix"):], &b); err != nil {
			t.Fatalf("%s: %v in %s", r.Kind(), err, got)
		}
		if a["type"] != r.Kind().String() || b["type"] != nil || len(a) != len(b)+1 {
			t.Errorf("%s: JSON Lines %v, API %v", r.Kind(), a, b)
		}
		for k, v := range b {
			av, _ := json.Marshal(a[k])
			bv, _ := json.Marshal(v)
			if string(av) != string(bv) {
				t.Errorf("%s.%s: %s, want %s", r.Kind(), k, bv, av)
			}
		}
	}
}

func TestRecordFields(t *testing.T) {
	want := map[record.Kind][]string{
		record.KindICMP: {"sensor", "ts", "client_mac", "src_ip", "dst_ip", "family", "icmp_type", "icmp_code", "echo_id", "echo_seq", "rtt_ms", "quoted"},
		record.KindApp:  {"sensor", "client_mac", "app", "start_ts", "end_ts", "host", "sessions", "bytes"},
	}
	for k, w := range want {
		if got := recordFields(k); !slices.Equal(got, w) {
			t.Errorf("%s fields %v, want %v", k, got, w)
		}
	}
	if recordFields(0) != nil {
		t.Error("fields of kind 0")
	}
}

// TestCSVCells: the cells are the JSON values: text decoded (formulas
// defused), numbers and booleans as written, lists as JSON text.
func TestCSVCells(t *testing.T) {
	for _, r := range sampleRecords() {
		obj := appendData(nil, r)
		cells, err := csvCells(nil, obj)
		if err != nil {
			t.Fatalf("%s: %v", r.Kind(), err)
		}
		fields := recordFields(r.Kind())
		if len(cells) != len(fields) {
			t.Fatalf("%s: %d cells, %d fields", r.Kind(), len(cells), len(fields))
		}
		var m map[string]json.RawMessage
		json.Unmarshal(obj, &m)
		for i, f := range fields {
			raw := m[f]
			want := string(raw)
			if raw[0] == '"' {
				var s string
				json.Unmarshal(raw, &s)
				want = s
				if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
					want = "'" + s
				}
			}
			if cells[i] != want {
				t.Errorf("%s.%s: cell %q, want %q", r.Kind(), f, cells[i], want)
			}
		}
	}
}

func TestUnquote(t *testing.T) {
	cases := map[string]string{
		`""`:               "",
		`"plain"`:          "plain",
		`"a\"b\\c\/d"`:     `a"b\c/d`,
		`"\b\f\n\r\t"`:     "\b\f\n\r\t",
		`"\u00e9\u2028"`:   "é\u2028",
		`"\ud83d\ude00"`:   "😀",
		`"\ud83d x"`:       "\ufffd x",
		`"\udc00\ud83d"`:   "\ufffd\ufffd",
		`"caf\u00e9 ok"`:   "café ok",
		`"\ud83d\u0041"`:   "\ufffdA",
		`"€ and 漢字"`:       "€ and 漢字",
		`"tab\there"`:      "tab\there",
		`"ends\\"`:         `ends\`,
		`"\u0000"`:         "\x00",
		`"\ud800\udbff"`:   "\ufffd\ufffd",
		`"x\ud83d\ude00y"`: "x😀y",
	}
	for in, want := range cases {
		got, err := unquote([]byte(in))
		if err != nil || got != want {
			t.Errorf("unquote(%s) = %q, %v; want %q", in, got, err, want)
		}
		var std string
		if json.Unmarshal([]byte(in), &std) == nil && std != got {
			t.Errorf("unquote(%s) = %q, encoding/json %q", in, got, std)
		}
	}
	for _, in := range []string{``, `"`, `x`, `"\x"`, `"\u12"`, `"\`, `"\uzzzz"`} {
		if _, err := unquote([]byte(in)); err == nil {
			t.Errorf("unquote(%s) accepted", in)
		}
	}
}

func TestEachMemberMalformed(t *testing.T) {
	for _, in := range []string{``, `[]`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":1 "b":2}`, `{"a":[1,2}`, `{"a":"x`, `{a:1}`, `{"a":1]`} {
		if err := eachMember([]byte(in), func(_, _ []byte, _ bool) {}); err == nil {
			t.Errorf("eachMember(%s) accepted", in)
		}
	}
	var keys []string
	err := eachMember([]byte(` { "a" : [1,{"x":"]"}] , "b":"}" ,"c":true} `), func(k, raw []byte, _ bool) {
		keys = append(keys, string(k)+"="+string(raw))
	})
	if err != nil || strings.Join(keys, " ") != `a=[1,{"x":"]"}] b="}" c=true` {
		t.Errorf("eachMember: %v %v", keys, err)
	}
}
