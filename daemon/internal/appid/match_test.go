package appid

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// matchRules is a small library that exercises every kind of signature.
// Line numbers matter: first match in file order wins.
const matchRules = `#class p2p
BT:[tcp;;;;0:13|1:42|2:69|3:74]
#class call
WA Call:[udp;;3478;;0:00|1:03|20:40|21:00]
Tail:[udp;;;;0:02|-1:03]
Both:[tcp;;443;both.example;0:16|1:03]
#class web
Specific:[;;;mail.example.com;]
Generic:[;;;example.com;]
Anchored:[;;;^t.me$;]
Suffix:[;;;.x.com$;,;;;^x.com$;]
CaseHost:[tcp;;;MiXeD.Example.ORG;]
UDPOnly:[udp;;;udp-only.example;]
ClientPort:[tcp;5555;;;]
OAFReq:[tcp;;;;/path;]
OAFSearch:[tcp;;9000;;;0:47;HTTP]
#class ports
Mail:[tcp;;25|465|587;;]
Range:[udp;;27000-27100;;]
WideRange:[tcp;;10000-20000;;]
NotDNS:[udp;;1-1000|!53|!5353;;]
`

type pkt struct {
	dir     uint8
	payload []byte
}

func matchSession(t testing.TB, r *Rules, proto uint8, cport, sport uint16, host string, pkts ...pkt) (App, bool, []uint16) {
	t.Helper()
	var hits []uint16
	for _, p := range pkts {
		hits = r.PayloadHits(hits, proto, cport, sport, p.dir, p.payload)
	}
	app, ok := r.Match(proto, cport, sport, host, hits)
	return app, ok, hits
}

func TestMatch(t *testing.T) {
	r, errs := parseString(t, matchRules)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	bt := []byte{0x13, 'B', 'i', 't', 'T', 'o', 'r', 'r', 'e', 'n', 't'}
	stun := make([]byte, 24)
	stun[1], stun[20] = 0x03, 0x40
	tests := []struct {
		name   string
		proto  uint8
		cport  uint16
		sport  uint16
		host   string
		pkts   []pkt
		want   string // "" for no match
		wantCa string
	}{
		{name: "host substring", proto: 6, cport: 50000, sport: 443, host: "www.example.com", want: "Generic", wantCa: "web"},
		{name: "more specific line first wins", proto: 6, cport: 50000, sport: 443, host: "imap.mail.example.com", want: "Specific"},
		{name: "host is case-insensitive", proto: 6, cport: 1, sport: 2, host: "WWW.EXAMPLE.COM", want: "Generic"},
		{name: "pattern is case-insensitive too", proto: 6, cport: 1, sport: 2, host: "a.mixed.example.org", want: "CaseHost"},
		{name: "no host, no payload, no port rule", proto: 6, cport: 50000, sport: 443, host: "", want: ""},
		{name: "unknown host", proto: 6, cport: 50000, sport: 443, host: "example.net", want: ""},
		{name: "anchored both ends", proto: 17, cport: 5, sport: 8443, host: "t.me", want: "Anchored"},
		{name: "anchored both ends, longer name", proto: 17, cport: 5, sport: 8443, host: "chat.me.example", want: ""},
		{name: "anchored both ends, prefix", proto: 17, cport: 5, sport: 8443, host: "at.me", want: ""},
		{name: "suffix anchor", proto: 6, cport: 5, sport: 443, host: "api.x.com", want: "Suffix"},
		{name: "suffix anchor, bare domain via second alternative", proto: 6, cport: 5, sport: 443, host: "x.com", want: "Suffix"},
		{name: "suffix anchor, not at the end", proto: 6, cport: 5, sport: 443, host: "api.x.com.evil", want: ""},
		{name: "suffix anchor, no dot", proto: 6, cport: 5, sport: 443, host: "box.com", want: ""},
		{name: "protocol condition", proto: 6, cport: 5, sport: 443, host: "udp-only.example", want: ""},
		{name: "protocol condition met", proto: 17, cport: 5, sport: 8443, host: "udp-only.example", want: "UDPOnly"},
		{name: "host rule before a port rule", proto: 17, cport: 5, sport: 443, host: "udp-only.example", want: "UDPOnly"},
		{name: "port rule when the host matches nothing", proto: 17, cport: 5, sport: 443, host: "nothing.example", want: "NotDNS"},
		{name: "payload client to server", proto: 6, cport: 50000, sport: 6881, pkts: []pkt{{1, bt}}, want: "BT", wantCa: "p2p"},
		{name: "payload server to client", proto: 6, cport: 50000, sport: 51413, pkts: []pkt{{1, []byte("x")}, {2, bt}}, want: "BT"},
		{name: "payload wins over a later host rule", proto: 6, cport: 50000, sport: 443, host: "www.example.com", pkts: []pkt{{1, bt}}, want: "BT"},
		{name: "payload too short", proto: 6, cport: 50000, sport: 6881, pkts: []pkt{{1, bt[:3]}}, want: ""},
		{name: "every pair must hold (AND)", proto: 6, cport: 50000, sport: 6881, pkts: []pkt{{1, []byte{0x13, 'B', 'i', 'x'}}}, want: ""},
		{name: "negative offset from the end", proto: 17, cport: 4000, sport: 8000, pkts: []pkt{{1, []byte{0x02, 9, 9, 0x03}}}, want: "Tail", wantCa: "call"},
		{name: "negative offset, wrong last byte", proto: 17, cport: 4000, sport: 8000, pkts: []pkt{{1, []byte{0x02, 9, 9, 0x04}}}, want: ""},
		{name: "negative offset, one byte payload is both first and last", proto: 17, cport: 4000, sport: 8000, pkts: []pkt{{1, []byte{0x02}}}, want: ""},
		{name: "payload with port condition", proto: 17, cport: 51518, sport: 3478, pkts: []pkt{{1, stun}}, want: "WA Call"},
		{name: "payload with port condition, other port", proto: 17, cport: 51518, sport: 3479, pkts: []pkt{{1, stun}}, want: ""},
		{name: "host and payload both needed: host only", proto: 6, cport: 50000, sport: 443, host: "both.example", want: ""},
		{name: "host and payload both needed: both", proto: 6, cport: 50000, sport: 443, host: "both.example", pkts: []pkt{{1, []byte{0x16, 0x03, 0x01}}}, want: "Both"},
		{name: "host and payload both needed: payload only", proto: 6, cport: 50000, sport: 443, pkts: []pkt{{1, []byte{0x16, 0x03, 0x01}}}, want: ""},
		{name: "client port (sport)", proto: 6, cport: 5555, sport: 80, want: "ClientPort"},
		{name: "server port is not the client port", proto: 6, cport: 80, sport: 5555, want: ""},
		{name: "port list", proto: 6, cport: 40000, sport: 587, want: "Mail", wantCa: "ports"},
		{name: "port list, protocol differs", proto: 17, cport: 40000, sport: 587, want: "NotDNS"},
		{name: "port range", proto: 17, cport: 40000, sport: 27050, want: "Range"},
		{name: "wide port range", proto: 6, cport: 40000, sport: 15000, want: "WideRange"},
		{name: "wide port range edge", proto: 6, cport: 40000, sport: 20001, want: ""},
		{name: "exclusion", proto: 17, cport: 40000, sport: 53, want: ""},
		{name: "exclusion, other port", proto: 17, cport: 40000, sport: 123, want: "NotDNS"},
		{name: "OAF request URL never matches", proto: 6, cport: 40000, sport: 80, want: ""},
		{name: "OAF search string and dict", proto: 6, cport: 40000, sport: 9000, pkts: []pkt{{1, []byte("GET / HTTP/1.1")}}, want: "OAFSearch"},
		{name: "OAF search string missing", proto: 6, cport: 40000, sport: 9000, pkts: []pkt{{1, []byte("GET / FTP")}}, want: ""},
		{name: "host rule beats a later port rule", proto: 6, cport: 40000, sport: 25, host: "smtp.example.com", want: "Generic"},
		{name: "other IP protocol", proto: 1, cport: 0, sport: 0, host: "www.example.com", want: "Generic"},
		{name: "other IP protocol, ports only", proto: 1, cport: 0, sport: 25, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			app, ok, hits := matchSession(t, r, tc.proto, tc.cport, tc.sport, tc.host, tc.pkts...)
			if ok != (tc.want != "") || app.Name != tc.want {
				t.Fatalf("Match = %+v, %v (hits %v); want %q", app, ok, hits, tc.want)
			}
			if tc.wantCa != "" && app.Category != tc.wantCa {
				t.Errorf("category %q, want %q", app.Category, tc.wantCa)
			}
		})
	}
}

func TestPayloadHits(t *testing.T) {
	r, errs := parseString(t, "A:[tcp;;;;0:01]\nB:[tcp;;80;;-1:ff]\nC:[udp;;;;0:01]\nD:[;;;;1:02]\nE:[tcp;;;host;]\nF:[;;;h;0:01|1:02]\n")
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	tests := []struct {
		name    string
		proto   uint8
		sport   uint16
		payload []byte
		dst     []uint16
		want    []uint16
	}{
		{name: "by first byte and any", proto: 6, sport: 443, payload: []byte{0x01, 0x02}, want: []uint16{0, 3, 5}},
		{name: "by port", proto: 6, sport: 80, payload: []byte{0x00, 0xff}, want: []uint16{1}},
		{name: "udp", proto: 17, sport: 80, payload: []byte{0x01, 0x02}, want: []uint16{2, 3, 5}},
		{name: "empty payload", proto: 6, sport: 80, payload: nil, want: nil},
		{name: "other protocol", proto: 1, sport: 80, payload: []byte{0x01, 0x02}, want: nil},
		{name: "no duplicates", proto: 6, sport: 443, payload: []byte{0x01, 0x02}, dst: []uint16{3, 0}, want: []uint16{3, 0, 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The order of the new hits is unspecified; the contents of dst stay first.
			got := r.PayloadHits(slices.Clone(tc.dst), tc.proto, 40000, tc.sport, 1, tc.payload)
			if len(got) >= len(tc.dst) {
				slices.Sort(got[len(tc.dst):])
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("PayloadHits = %v, want %v", got, tc.want)
			}
			for _, dir := range []uint8{2, 0} {
				other := r.PayloadHits(slices.Clone(tc.dst), tc.proto, 40000, tc.sport, dir, tc.payload)
				if len(other) >= len(tc.dst) {
					slices.Sort(other[len(tc.dst):])
				}
				if !reflect.DeepEqual(other, got) {
					t.Errorf("dir %d gives %v, dir 1 %v", dir, other, got)
				}
			}
		})
	}
}

// Hits that are not payload signatures, or out of range, are ignored.
func TestMatchIgnoresBogusHits(t *testing.T) {
	r, errs := parseString(t, "Host:[;;;h.example;]\nPort:[tcp;;80;;]\nPay:[tcp;;;;0:01]\n")
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	for _, hits := range [][]uint16{{0}, {1}, {3}, {65535}, {0, 1, 3, 9999}} {
		if app, ok := r.Match(6, 1, 2, "", hits); ok {
			t.Errorf("hits %v matched %v", hits, app)
		}
	}
	if app, _ := r.Match(6, 1, 2, "", []uint16{65535, 2}); app.Name != "Pay" {
		t.Errorf("hits [65535 2] matched %q, want Pay", app.Name)
	}
}

func TestMatchEmptyRules(t *testing.T) {
	r, _ := parseString(t, "# nothing\n")
	if r.Len() != 0 {
		t.Fatalf("Len %d", r.Len())
	}
	if _, ok := r.Match(6, 1, 443, "www.example.com", []uint16{0}); ok {
		t.Error("empty rules matched")
	}
	if hits := r.PayloadHits(nil, 6, 1, 443, 1, []byte{1}); hits != nil {
		t.Errorf("hits %v", hits)
	}
}

// The automaton finds overlapping patterns and patterns that are suffixes
// of other patterns (failure and dictionary links).
func TestMatchOverlappingPatterns(t *testing.T) {
	r, errs := parseString(t, "Late:[;;;abcd;]\nShort:[;;;bc;]\nOther:[;;;cde;]\nSuffix:[;;;abcx;]\nAA:[;;;aab;]\n")
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	tests := map[string]string{
		"xabcdx": "Late",  // bc ends first, but abcd is earlier in the file
		"abce":   "Short", // abcd and abcx fail after abc; bc remains
		"abcx":   "Short", // bc (line 2) before abcx (line 4)
		"cde":    "Other",
		"aaab":   "AA",   // needs the failure link from "aa" back to "a"
		"xaabcd": "Late", // aab and abcd overlap
		"bcd":    "Short",
		"zzzz":   "",
	}
	for host, want := range tests {
		app, _ := r.Match(6, 1, 2, host, nil)
		if app.Name != want {
			t.Errorf("Match(%q) = %q, want %q", host, app.Name, want)
		}
	}
}

// Match and PayloadHits must not allocate: they run once per session and
// once per early packet.
func TestMatchDoesNotAllocate(t *testing.T) {
	r, errs := parseString(t, matchRules)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	bt := []byte{0x13, 'B', 'i', 't', 'T', 'o', 'r', 'r', 'e', 'n', 't'}
	hits := make([]uint16, 0, 16)
	if n := testing.AllocsPerRun(100, func() {
		hits = r.PayloadHits(hits[:0], 6, 50000, 6881, 1, bt)
		r.Match(6, 50000, 6881, "imap.mail.example.com", hits)
		r.Match(17, 50000, 27050, "", nil)
	}); n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}

// naiveMatch is Match written the slow, obvious way: every signature in
// file order, strings.Index for the host.
func naiveMatch(r *Rules, proto uint8, cport, sport uint16, host string, hits []uint16) (App, bool) {
	h := []byte(host)
	for i := range h {
		h[i] = lower(h[i])
	}
	lh := string(h)
	for i := range r.rules {
		rl := &r.rules[i]
		if !rl.matchPorts(proto, cport, sport) {
			continue
		}
		if rl.host.lit != "" {
			found := false
			for off := 0; off+len(rl.host.lit) <= len(lh); off++ {
				if !strings.HasPrefix(lh[off:], rl.host.lit) {
					continue
				}
				if (!rl.host.start || off == 0) && (!rl.host.end || endsAt(lh, off+len(rl.host.lit)-1)) {
					found = true
					break
				}
			}
			if !found {
				continue
			}
		}
		if rl.hasPayload() {
			if !slices.Contains(hits, uint16(i)) {
				continue
			}
		} else if rl.host.lit == "" && rl.request != "" {
			continue
		}
		return r.apps[rl.app], true
	}
	return App{}, false
}

// The automaton and the indexes give the same answers as naiveMatch, on
// the shipped library with host names made of its own patterns, and on
// random small libraries over a tiny alphabet (many overlaps, deep failure
// chains).
func TestMatchAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(r *Rules, host string, proto uint8, cport, sport uint16, hits []uint16) {
		t.Helper()
		got, gok := r.Match(proto, cport, sport, host, hits)
		want, wok := naiveMatch(r, proto, cport, sport, host, hits)
		if got != want || gok != wok {
			t.Fatalf("Match(%d, %d, %d, %q, %v) = %+v %v, naive %+v %v", proto, cport, sport, host, hits, got, gok, want, wok)
		}
	}
	lib := loadLibrary(t)
	var lits []string
	for _, rl := range lib.rules {
		if rl.host.lit != "" {
			lits = append(lits, rl.host.lit)
		}
	}
	seps := []string{"", ".", "-", "x", "a.", ":443", "."}
	for n := 0; n < 5000; n++ {
		var b strings.Builder
		for k := rng.IntN(3) + 1; k > 0; k-- {
			b.WriteString(seps[rng.IntN(len(seps))])
			lit := strings.Trim(lits[rng.IntN(len(lits))], ".")
			if rng.IntN(4) == 0 {
				lit = strings.ToUpper(lit)
			}
			b.WriteString(lit)
		}
		if rng.IntN(5) == 0 {
			b.WriteString(seps[rng.IntN(len(seps))])
		}
		var hits []uint16
		if rng.IntN(3) == 0 {
			hits = append(hits, uint16(rng.IntN(lib.Len()+5)))
		}
		ports := []uint16{443, 80, 3478, 5223, 17500, 8000, uint16(rng.IntN(65536))}
		check(lib, b.String(), []uint8{6, 17}[rng.IntN(2)], uint16(rng.IntN(65536)), ports[rng.IntN(len(ports))], hits)
	}

	alpha := "ab.c"
	word := func(max int) string {
		n := rng.IntN(max) + 1
		w := make([]byte, n)
		for i := range w {
			w[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(w)
	}
	for lib := 0; lib < 200; lib++ {
		var src strings.Builder
		for i := rng.IntN(12) + 1; i > 0; i-- {
			p := word(5)
			if rng.IntN(4) == 0 {
				p = "^" + p
			}
			if rng.IntN(4) == 0 {
				p += "$"
			}
			proto := []string{"", "tcp", "udp"}[rng.IntN(3)]
			fmt.Fprintf(&src, "A%d:[%s;;;%s;]\n", i, proto, p)
		}
		r, errs := Parse("rand", strings.NewReader(src.String()))
		if len(errs) != 0 {
			t.Fatalf("%v\n%s", errs, src.String())
		}
		for n := 0; n < 200; n++ {
			check(r, word(12), []uint8{6, 17}[rng.IntN(2)], 1, 2, nil)
		}
	}
}

// Many signatures on one literal, none but the last matching the ports: a
// long name made of that literal is still answered (each literal is tested
// once, not at every position).
func TestMatchRepeatedLiteral(t *testing.T) {
	src := strings.Repeat("A:[tcp;;1;a;]\n", 3000) + "B:[tcp;;;^a;]\nC:[tcp;;;a;]\n"
	r, errs := parseString(t, src)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	host := strings.Repeat("a", 253)
	for _, tc := range []struct {
		host  string
		sport uint16
		want  string
	}{
		{host, 1, "A"},
		{host, 2, "B"},
		{"x" + host, 2, "C"},
	} {
		if app, _ := r.Match(6, 9, tc.sport, tc.host, nil); app.Name != tc.want {
			t.Errorf("port %d, host %.5q...: %q, want %q", tc.sport, tc.host, app.Name, tc.want)
		}
	}
}

// buildAutomaton's trie, failure and dictionary links report every
// literal at every position where it ends, as a naive search does: with
// literals that are prefixes and suffixes of others, and a repeated one
// (Rules never passes one, but the automaton must not lose it).
func TestAutomatonMatchesNaive(t *testing.T) {
	cases := []struct {
		name string
		lits []string
		text string
	}{
		{"prefixes and suffixes", []string{"abcd", "bc", "abc", "a", "cd", "d"}, "xabcdabcbcd"},
		{"repeated literal", []string{"ab", "b", "ab"}, "abab"},
		{"dense root and node", []string{"ab", "ac", "ad", "ae", "af", "ag", "b", "gab"}, "agabafgg"},
		{"one literal, no match", []string{"zz"}, "abc"},
		{"overlaps", []string{"aa", "aaa"}, "aaaa"},
	}
	for _, tc := range cases {
		a := buildAutomaton(tc.lits)
		var got, want []string
		var st int32
		for i := 0; i < len(tc.text); i++ {
			st = a.step(st, tc.text[i])
			for o := st; o > 0; o = a.dict[o] {
				for _, lit := range a.outLit[a.outStart[o]:a.outStart[o+1]] {
					got = append(got, fmt.Sprintf("%d:%d", i, lit))
				}
			}
			for id, lit := range tc.lits {
				if strings.HasSuffix(tc.text[:i+1], lit) {
					want = append(want, fmt.Sprintf("%d:%d", i, id))
				}
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: found %v, want %v", tc.name, got, want)
		}
	}
}
