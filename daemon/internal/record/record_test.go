package record

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

func TestAppendString(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", `"plain"`},
		{`quote " and \ backslash`, `"quote \" and \\ backslash"`},
		{"ctl \n\r\t\x01", `"ctl \n\r\t\u0001"`},
		{"儿子的平板", `"儿子的平板"`},
		{"bad \xff utf8", "\"bad \ufffd utf8\""},
		{"real \ufffd kept", "\"real \ufffd kept\""},
		{"js \u2028 sep", `"js \u2028 sep"`},
		{"<html>&", `"<html>&"`},
		// Runs of eight and more, with the byte to escape at each place
		// of a word and just after one.
		{"www.example.org/index.html", `"www.example.org/index.html"`},
		{"01234567\"89", `"01234567\"89"`},
		{"0123456\"89abcdefg", `"0123456\"89abcdefg"`},
		{"012345678\x7f\x1f", "\"012345678\x7f\\u001f\""},
		{"abcdefgh\\ijklmnop\xc3", "\"abcdefgh\\\\ijklmnop\ufffd\""},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) 中文", `"Mozilla/5.0 (Windows NT 10.0; Win64; x64) 中文"`},
		// The whole-string check: short strings byte by byte, longer
		// ones by words, the last overlapping the one before.
		{"ab\"", `"ab\""`},
		{"abcdefg", `"abcdefg"`},
		{"abcdefg\x01", `"abcdefg\u0001"`},
		{"abcdefgh\n", `"abcdefgh\n"`},
		{"abcdefghi\"", `"abcdefghi\""`},
		{"abcdefghij\u00e9\xff", "\"abcdefghij\u00e9\ufffd\""},
		{"192.0.2.10", `"192.0.2.10"`},
	}
	for _, c := range cases {
		got := string(AppendString(nil, c.in))
		if got != c.want {
			t.Errorf("AppendString(%q) = %s, want %s", c.in, got, c.want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("%s is not valid JSON: %v", got, err)
		}
	}
}

// Every record encodes as valid JSON with "type" first and the DESIGN.md
// field names, in a fixed order.
func TestRecordsJSON(t *testing.T) {
	recs := []struct {
		r      Record
		fields string
	}{
		{&Session{Sensor: "s", Proto: "tcp", Timeline: []Step{{DT: 1, Dir: 2, Len: 60, Flags: 0x12}}},
			"type sensor proto client_mac client_ip client_port server_mac server_ip server_port vlan start_ts end_ts bytes_up bytes_down pkts_up pkts_down host app end_reason timeline"},
		{&DNS{Answers: []Answer{{Name: "a", Type: "A", TTL: 5, Data: "192.0.2.1"}}, RTTMs: -1},
			"type sensor ts client_mac client_ip server_ip proto txid query qtype rcode answers rtt_ms"},
		{&HTTP{}, "type sensor ts client_mac client_ip client_port server_ip server_port method host uri user_agent referer status content_type"},
		{&TLS{}, "type sensor ts client_mac client_ip client_port server_ip server_port transport version sni alpn ja3 ja3s ja4 ech"},
		{&ICMP{}, "type sensor ts client_mac src_ip dst_ip family icmp_type icmp_code echo_id echo_seq rtt_ms quoted"},
		{&App{}, "type sensor client_mac app start_ts end_ts host sessions bytes"},
		{&Device{IPv4: []string{"192.0.2.1"}}, "type sensor mac alias hostname vendor ipv4 ipv6 os dhcp_fingerprint randomized first_seen last_seen bytes_up bytes_down"},
	}
	for _, c := range recs {
		b := c.r.AppendJSON(nil)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: invalid JSON %s: %v", c.r.Kind(), b, err)
		}
		if m["type"] != c.r.Kind().String() {
			t.Errorf("type %v, want %s", m["type"], c.r.Kind())
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.Token()
		var keys []string
		for dec.More() {
			k, _ := dec.Token()
			keys = append(keys, k.(string))
			var skip json.RawMessage
			dec.Decode(&skip)
		}
		if got := strings.Join(keys, " "); got != c.fields {
			t.Errorf("%s fields:\n got %s\nwant %s", c.r.Kind(), got, c.fields)
		}
	}
	b := (&Session{Timeline: []Step{{DT: 1, Dir: 2, Len: 60, Flags: 0x12}, {DT: 3, Dir: 1, Len: 40, Flags: 0x10}}}).AppendJSON(nil)
	if !strings.Contains(string(b), `"timeline":[[1,2,60,18],[3,1,40,16]]`) {
		t.Errorf("timeline encoding: %s", b)
	}
}

func TestArenaStringsAreStable(t *testing.T) {
	var a Arena
	var got []string
	for i := 0; i < 20000; i++ {
		got = append(got, a.String([]byte(strings.Repeat("x", i%50))))
	}
	for i, s := range got {
		if s != strings.Repeat("x", i%50) {
			t.Fatalf("string %d changed: %q", i, s)
		}
	}
	steps := a.Steps([]Step{{DT: 1}, {DT: 2}})
	more := a.Steps([]Step{{DT: 3}})
	steps = append(steps, Step{DT: 9}) // must not overwrite the next slice
	if more[0].DT != 3 || len(steps) != 3 {
		t.Fatalf("arena slices overlap: %v %v", steps, more)
	}
}

// FuzzAppendString checks AppendString against encoding/json: the output is
// valid JSON that decodes to the input with each invalid UTF-8 byte
// replaced by U+FFFD, and it holds no raw control character, U+2028 or
// U+2029.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote \" \\", "ctl \n\x01\x7f", "bad \xff\xc3", "\u2028\u2029",
		"www.example.org", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36", "儿子的平板\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString([]byte("x"), s)[1:]
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s: not JSON: %v", s, out, err)
		}
		var want strings.Builder
		for _, r := range s {
			want.WriteRune(r) // an invalid byte comes as U+FFFD
		}
		if back != want.String() {
			t.Fatalf("AppendString(%q) = %s, decodes to %q", s, out, back)
		}
		for _, c := range out {
			if c < 0x20 {
				t.Fatalf("AppendString(%q) = %s: raw control byte %#x", s, out, c)
			}
		}
		if strings.ContainsRune(string(out), 0x2028) || strings.ContainsRune(string(out), 0x2029) {
			t.Fatalf("AppendString(%q) = %s: raw line or paragraph separator", s, out)
		}
	})
}

// BenchmarkAppendString encodes the strings a session record carries most:
// addresses, a host name and a user agent.
func BenchmarkAppendString(b *testing.B) {
	in := []string{"192.0.2.10", "2001:db8::1:2", "02:00:00:00:00:0a", "www.example.org",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for _, s := range in {
			buf = AppendString(buf, s)
		}
	}
}

func BenchmarkSessionJSON(b *testing.B) {
	s := &Session{Sensor: "router", Proto: "tcp", ClientMAC: "02:00:00:00:00:0a", ClientIP: "192.0.2.10",
		ClientPort: 50123, ServerMAC: "02:00:00:00:00:01", ServerIP: "198.51.100.7", ServerPort: 443,
		StartTS: 1700000000000, EndTS: 1700000001000, BytesUp: 1234, BytesDown: 56789, PktsUp: 10, PktsDown: 20,
		Host: "www.example.org", EndReason: "fin", Timeline: make([]Step, 32)}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = s.AppendJSON(buf[:0])
	}
}

// TestAppendInt: the numbers themselves are package decimal's (its
// TestAppendUint); here the sign and the field prefix.
func TestAppendInt(t *testing.T) {
	for _, v := range []int64{-1 << 63, -10000, -1, 0, 7, 1700000000000} {
		if got, want := string(appendInt(nil, `,"k":`, v)), `,"k":`+strconv.FormatInt(v, 10); got != want {
			t.Errorf("appendInt(%d) = %s, want %s", v, got, want)
		}
	}
}

// timelineSteps is a TLS session's first 32 packets: handshake, hellos,
// data both ways, a FIN.
func timelineSteps() []Step {
	tl := make([]Step, 32)
	lens := []uint16{60, 60, 52, 569, 52, 1500, 1500, 1266, 52, 116, 52, 653, 52, 1500, 52, 1500}
	flags := []uint8{0x02, 0x12, 0x10, 0x18, 0x10, 0x10, 0x10, 0x18, 0x10, 0x18, 0x10, 0x18, 0x10, 0x10, 0x10, 0x10}
	for i := range tl {
		tl[i] = Step{DT: uint32(i * i * 7), Dir: uint8(1 + i%2), Len: lens[i%len(lens)], Flags: flags[i%len(flags)]}
	}
	tl[31].Flags = 0x11
	return tl
}

// TestAppendTimeline compares the timeline with its plain rendering, for
// small and extreme values.
func TestAppendTimeline(t *testing.T) {
	for _, tl := range [][]Step{nil, {{}}, timelineSteps(),
		{{DT: 1<<32 - 1, Dir: 255, Len: 65535, Flags: 255}, {DT: 9, Dir: 10, Len: 99, Flags: 100}, {DT: 100000, Dir: 99, Len: 10000, Flags: 10}}} {
		want := "["
		for i, st := range tl {
			if i > 0 {
				want += ","
			}
			want += fmt.Sprintf("[%d,%d,%d,%d]", st.DT, st.Dir, st.Len, st.Flags)
		}
		want += "]"
		if got := string(AppendTimeline([]byte("x"), tl)); got != "x"+want {
			t.Errorf("AppendTimeline(%v) = %s, want x%s", tl, got, want)
		}
	}
}

func BenchmarkAppendTimeline(b *testing.B) {
	tl := timelineSteps()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendTimeline(buf[:0], tl)
	}
}

// BenchmarkRecordStrings encodes the strings of a typical session record:
// sensor, protocol, MACs, addresses, host, end reason.
func BenchmarkRecordStrings(b *testing.B) {
	in := []string{"router", "tcp", "02:00:00:00:00:0a", "192.0.2.10", "02:00:00:00:00:01", "198.51.100.7",
		"www.example.org", "fin"}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for _, s := range in {
			buf = AppendString(buf, s)
		}
	}
}
