package api

import (
	"regexp"
	"strings"
	"testing"

	"tamon/daemon/internal/record"
	"tamon/daemon/internal/store"
)

func TestPattern(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"abc", "abc", true},
		{"abc", "abcd", false},
		{"abc", "ABC", false},
		{"a*", "a", true},
		{"a*", "abc", true},
		{"*c", "abc", true},
		{"*c", "abd", false},
		{"a*c", "ac", true},
		{"a*c", "abbbc", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "acb", false},
		{"*", "", true},
		{"**", "x", true},
		{"a*a", "a", false},
		{"a%b", "axb", false},
		{"a%b", "a%b", true},
		{"a_b", "aXb", false},
		{"*.example.org", "www.example.org", true},
		{"*.example.org", "example.org", false},
		{"ab*ab", "abab", true},
		{"ab*ab", "aba", false},
	}
	for _, c := range cases {
		if got := newPattern(c.p).match(c.s); got != c.want {
			t.Errorf("%q matches %q: %v, want %v", c.p, c.s, got, c.want)
		}
	}
}

// TestMatcher: the in-memory filter reads the same fields as the store,
// per kind; a filter on a field a kind lacks matches none of its records.
func TestMatcher(t *testing.T) {
	sess := &record.Session{Sensor: "r1", ClientMAC: "02:00:00:00:00:01", ServerMAC: "02:00:00:00:00:02", ClientIP: "192.0.2.10",
		ServerIP: "198.51.100.7", ClientPort: 40000, ServerPort: 443, Host: "www.example.org", App: "Example"}
	dns := &record.DNS{Sensor: "r1", ClientMAC: "02:00:00:00:00:01", ClientIP: "192.0.2.10", ServerIP: "192.0.2.1",
		Query: "www.example.org", Answers: []record.Answer{{Name: "www.example.org", Type: "A", TTL: 60, Data: "203.0.113.5"}}}
	dev := &record.Device{Sensor: "r1", MAC: "02:00:00:00:00:01", Hostname: "tablet", Vendor: "ACME", Alias: "Kid's tablet",
		IPv4: []string{"192.0.2.10", "192.0.2.11"}, IPv6: []string{"2001:db8::10"}}
	httpRec := &record.HTTP{ClientMAC: "02:00:00:00:00:03", ClientIP: "192.0.2.30", ServerIP: "203.0.113.9", ServerPort: 80,
		Host: "cdn.example", URI: "/a%20b?x=1", UserAgent: "curl/8"}
	tlsRec := &record.TLS{ClientMAC: "02:00:00:00:00:03", SNI: "sni.example", JA4: "t13d1516h2_8daaf6152771_02713d6af862", ServerPort: 443}
	icmp := &record.ICMP{ClientMAC: "02:00:00:00:00:03", SrcIP: "192.0.2.30", DstIP: "203.0.113.9", Quoted: "udp 192.0.2.30:5353 > 203.0.113.9:53"}
	app := &record.App{ClientMAC: "02:00:00:00:00:01", App: "Example", Host: "www.example.org"}
	all := []record.Record{sess, dns, dev, httpRec, tlsRec, icmp, app}
	cases := []struct {
		f    store.Filter
		want []record.Record
	}{
		{store.Filter{}, all},
		{store.Filter{MAC: []string{"02:00:00:00:00:01"}}, []record.Record{sess, dns, dev, app}},
		{store.Filter{MAC: []string{"02:00:00:00:00:02"}}, nil}, // server MAC is not "mac"
		{store.Filter{IP: []string{"192.0.2.11"}}, []record.Record{dev}},
		{store.Filter{IP: []string{"203.0.113.*"}}, []record.Record{httpRec, icmp}},
		{store.Filter{Port: []int{443}}, []record.Record{sess, tlsRec}},
		{store.Filter{Port: []int{80, 40000}}, []record.Record{sess, httpRec}},
		{store.Filter{Host: []string{"www.example.org"}}, []record.Record{sess, dns, app}},
		{store.Filter{Host: []string{"tablet", "sni.*"}}, []record.Record{dev, tlsRec}},
		{store.Filter{App: []string{"Example"}}, []record.Record{sess, app}},
		{store.Filter{Q: []string{"203.0.113.5"}}, []record.Record{dns}}, // answers
		{store.Filter{Q: []string{"a%20b"}}, []record.Record{httpRec}},
		{store.Filter{Q: []string{"Kid's"}}, []record.Record{dev}},
		{store.Filter{Q: []string{"8daaf*02713"}}, []record.Record{tlsRec}},
		{store.Filter{Q: []string{"5353 >"}}, []record.Record{icmp}},
		{store.Filter{Q: []string{`"2001:db8::10"`}}, []record.Record{dev}}, // the list's JSON text
		{store.Filter{Sensor: []string{"r*"}}, []record.Record{sess, dns, dev}},
		{store.Filter{MAC: []string{"02:00:00:00:00:01"}, App: []string{"Example"}}, []record.Record{sess, app}},
	}
	for i, c := range cases {
		m := newMatcher(&c.f)
		var got []record.Record
		for _, r := range all {
			if m.match(r, nil) {
				got = append(got, r)
			}
		}
		if len(got) != len(c.want) {
			t.Errorf("case %d %+v: %d records, want %d", i, c.f, len(got), len(c.want))
			continue
		}
		for j := range got {
			if got[j] != c.want[j] {
				t.Errorf("case %d: record %d is a %s, want a %s", i, j, got[j].Kind(), c.want[j].Kind())
			}
		}
	}
}

// TestPatternAgainstRegexp compares pattern matching with a regular
// expression made from the same pattern.
func TestPatternAgainstRegexp(t *testing.T) {
	pats := []string{"", "*", "a", "a*", "*a", "a*b", "*a*b*", "ab*ba", "a**a", "%_*!"}
	subjects := []string{"", "a", "b", "ab", "ba", "aba", "abba", "abab", "aabb", "%_x!", "a%b"}
	for _, p := range pats {
		re := regexp.MustCompile(`\A` + strings.ReplaceAll(regexp.QuoteMeta(p), `\*`, `.*`) + `\z`)
		for _, s := range subjects {
			if got, want := newPattern(p).match(s), re.MatchString(s); got != want {
				t.Errorf("%q ~ %q: %v, regexp %v", p, s, got, want)
			}
		}
	}
}
