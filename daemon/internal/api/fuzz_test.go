package api

import (
	"encoding/json"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"tamon/daemon/internal/record"
)

// FuzzParseList: any query string is either refused with a paramError or
// gives parameters within the documented bounds.
func FuzzParseList(f *testing.F) {
	for _, s := range []string{
		"", "from=0&limit=1000&sort=-ts", "mac=AA:BB:CC:DD:EE:FF%2Caa:*&port=53%3B443&q=a%25b_c",
		"before=dAQFfLXRpbWUAAg", "after=a_-&to=2026-11-29T10:00:00Z", "limit=0", "%zz", "q=%00", "host=%ff",
		"from=9223372036854775807&to=9223372036854775807", "colour=red", "ip=+,+,+",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := parseList(raw, 1_800_000_000_000, maxJSONLimit)
		if err != nil {
			if _, ok := err.(*paramError); !ok {
				t.Fatalf("parseList(%q): error of type %T: %v", raw, err, err)
			}
			return
		}
		if p.f.Limit < 1 || p.f.Limit > maxJSONLimit || p.f.From < 0 || p.f.To < 0 || (p.f.To > 0 && p.f.To <= p.f.From) {
			t.Fatalf("parseList(%q) = %+v", raw, p.f)
		}
		for _, list := range [][]string{p.f.MAC, p.f.IP, p.f.Host, p.f.App, p.f.Q, p.f.Sensor} {
			if len(list) > maxAlternative {
				t.Fatalf("%d alternatives", len(list))
			}
			for _, v := range list {
				if v == "" || !utf8.ValidString(v) || strings.ContainsRune(v, 0) || strings.ContainsAny(v, ",;") {
					t.Fatalf("parseList(%q): filter value %q", raw, v)
				}
			}
		}
		for _, port := range p.f.Port {
			if port < 0 || port > 65535 {
				t.Fatalf("port %d", port)
			}
		}
		if p.cursor.set {
			if c, err := parseCursor("before", p.cursor.String()); err != nil || c != p.cursor {
				t.Fatalf("cursor %q does not round-trip", p.cursor.String())
			}
		}
	})
}

// FuzzClientMessage: stream messages never panic; a subscription that is
// accepted selects at least one kind and can be matched against records.
func FuzzClientMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"auth","token":"0123456789abcdef0123456789abcdef"}`,
		`{"type":"subscribe","kinds":["session","dns"],"filter":{"mac":"aa:*","app":"x","q":"y"}}`,
		`{"type":"subscribe","filter":{"port":"53;443","ip":"192.0.2.*"}}`,
		`{"type":"subscribe","kinds":["packet"]}`, `{"type":"subscribe"} {}`, `[]`, `{"type":1}`, ``,
	} {
		f.Add([]byte(s))
	}
	recs := sampleRecords()
	f.Fuzz(func(t *testing.T, b []byte) {
		parseClientMessage(b, "auth")
		_, sub, err := parseClientMessage(b, "subscribe")
		if err != nil {
			return
		}
		if sub.kinds == 0 || sub.m == nil {
			t.Fatalf("subscription %+v from %q", sub, b)
		}
		var buf []byte
		for _, r := range recs {
			sub.m.match(r, &buf)
		}
	})
}

// FuzzPattern: wildcard matching agrees with a regular expression.
func FuzzPattern(f *testing.F) {
	for _, s := range [][2]string{{"a*b", "axxb"}, {"*", ""}, {"ab*ba", "aba"}, {"%_", "%_"}, {"**x*", "yxy"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, p, s string) {
		if !utf8.ValidString(p) || !utf8.ValidString(s) || len(p) > 64 || len(s) > 256 {
			return // regexp needs UTF-8; long inputs only slow the reference down
		}
		re := regexp.MustCompile(`(?s)\A` + strings.ReplaceAll(regexp.QuoteMeta(p), `\*`, `.*`) + `\z`)
		if got, want := newPattern(p).match(s), re.MatchString(s); got != want {
			t.Fatalf("%q ~ %q: %v, regexp %v", p, s, got, want)
		}
	})
}

// FuzzCSVCells: records with any text give CSV cells equal to their JSON
// values. Seeds include the text of the corpus's HTTP and DNS records.
func FuzzCSVCells(f *testing.F) {
	f.Add("/index.html", "Mozilla/5.0", "=1+2", "a.example", "v=spf1 \"x\"")
	col := &collector{}
	runCapture(f, "arkime_http-simple-get.pcap", nil, col)
	runCapture(f, "arkime_dns-udp.pcap", nil, col)
	for _, r := range col.all() {
		switch v := r.(type) {
		case *record.HTTP:
			f.Add(v.URI, v.UserAgent, v.Referer, v.Host, v.ContentType)
		case *record.DNS:
			data := ""
			if len(v.Answers) > 0 {
				data = v.Answers[0].Data
			}
			f.Add(v.Query, v.QType, v.RCode, v.ClientIP, data)
		}
	}
	f.Fuzz(func(t *testing.T, a, b, c, d, e string) {
		recs := []record.Record{
			&record.HTTP{URI: a, UserAgent: b, Referer: c, Host: d, ContentType: e, Method: "GET"},
			&record.DNS{Query: a, QType: b, RCode: c, Answers: []record.Answer{{Name: d, Data: e}}},
			&record.Device{MAC: a, Alias: b, IPv4: []string{c, d}, IPv6: []string{e}},
		}
		for _, r := range recs {
			obj := appendData(nil, r)
			cells, err := csvCells(nil, obj)
			if err != nil {
				t.Fatalf("%s: %v in %q", r.Kind(), err, obj)
			}
			dec := json.NewDecoder(strings.NewReader(string(obj)))
			dec.Token()
			i := 0
			for dec.More() {
				tok, _ := dec.Token()
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					t.Fatalf("%s: invalid JSON %q: %v", r.Kind(), obj, err)
				}
				want := string(raw)
				if raw[0] == '"' {
					var s string
					json.Unmarshal(raw, &s)
					want = defuseFormula(s)
				}
				if i >= len(cells) || cells[i] != want {
					t.Fatalf("%s.%v: cell %q, want %q", r.Kind(), tok, cells[min(i, len(cells)-1)], want)
				}
				i++
			}
			if i != len(cells) {
				t.Fatalf("%s: %d cells for %d fields", r.Kind(), len(cells), i)
			}
		}
	})
}

// FuzzUnquote: JSON string decoding agrees with encoding/json wherever
// that accepts the input.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`"a"`, `"\u00e9"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\\\""`, `"x\/y"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := unquote([]byte(s))
		var want string
		if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' || json.Unmarshal([]byte(s), &want) != nil || !utf8.ValidString(s) {
			return // only whole string literals, as eachMember hands them over
		}
		if err != nil || got != want {
			t.Fatalf("unquote(%q) = %q, %v; encoding/json %q", s, got, err, want)
		}
	})
}

// FuzzAliasSections: any `uci show` output is read without panics, and
// only sections of the asked MAC come back.
func FuzzAliasSections(f *testing.F) {
	f.Add([]byte("tamon.@alias[0]=alias\ntamon.@alias[0].mac='aa:bb:cc:dd:ee:ff'\ntamon.@alias[0].name='It'\\''s'\n"), "aa:bb:cc:dd:ee:ff")
	f.Add([]byte("tamon.x=alias\ntamon.x.mac=AA:BB:CC:DD:EE:FF\n=\n.\ntamon.\n"), "aa:bb:cc:dd:ee:ff")
	f.Fuzz(func(t *testing.T, show []byte, mac string) {
		for _, s := range aliasSections(show, mac) {
			if !strings.EqualFold(s.mac, mac) || s.ref == "" || strings.Contains(s.ref, ".") {
				t.Fatalf("section %+v for mac %q", s, mac)
			}
		}
	})
}

// FuzzInterfaceAddrs: any ubus answer gives only usable addresses.
func FuzzInterfaceAddrs(f *testing.F) {
	f.Add([]byte(`{"ipv4-address":[{"address":"192.0.2.1","mask":24}],"ipv6-address":[{"address":"fe80::1"}]}`))
	f.Add([]byte(`{"ipv6-prefix-assignment":[{"local-address":{"address":"2001:db8::1"}},{}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		addrs, err := interfaceAddrs(b)
		if err != nil {
			return
		}
		for _, a := range addrs {
			ip, err := netip.ParseAddr(a)
			if err != nil || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.Zone() != "" {
				t.Fatalf("address %q from %q", a, b)
			}
		}
	})
}
