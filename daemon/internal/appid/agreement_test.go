package appid_test

// The nDPI comparison and the corpus fuzz seeds live in the external test
// package: they run the engine (package pipeline), which will itself use
// package appid.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"tamon/daemon/internal/appid"
	"tamon/daemon/internal/capture"
	"tamon/daemon/internal/decode"
	"tamon/daemon/internal/pipeline"
	"tamon/daemon/internal/record"
)

// findUpward walks up from the package directory until rel exists; the
// test fails when it is nowhere (the corpus must be there).
func findUpward(t testing.TB, rel string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("%s not found in any parent of the package directory (the corpus is ../../../../shared/corpus)", rel)
		}
		dir = parent
	}
}

func library(t testing.TB) *appid.Rules {
	t.Helper()
	path := filepath.Join(filepath.Dir(findUpward(t, "go.mod")), "features.txt")
	r, errs, err := appid.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 0 {
		t.Fatalf("shipped library: %v", errs)
	}
	return r
}

// ndpiToTamon maps nDPI's application names to the names tamon's library
// gives the same application. nDPI names a few umbrellas (Skype_Teams for
// Skype and Teams, Microsoft365 for the suite and its mail) where tamon
// names the product, so some map to more than one tamon name.
var ndpiToTamon = map[string][]string{
	"Facebook":        {"Facebook"},
	"Instagram":       {"Instagram"},
	"NetFlix":         {"Netflix"},
	"WhatsApp":        {"WhatsApp"},
	"WhatsAppCall":    {"WhatsApp"},
	"Google":          {"Google", "Google Ads"},
	"YouTube":         {"YouTube"},
	"Teams":           {"Microsoft Teams"},
	"Skype_Teams":     {"Microsoft Teams", "Skype"},
	"Skype_TeamsCall": {"Microsoft Teams", "Skype"},
	"Microsoft":       {"Microsoft"},
	"Microsoft365":    {"Microsoft 365", "Outlook"},
	"Apple":           {"Apple"},
	"AppleStore":      {"App Store"},
	"ApplePush":       {"Apple推送"},
	"Dropbox":         {"Dropbox"},
	"Spotify":         {"Spotify"},
	"BitTorrent":      {"BitTorrent"},
	"Telegram":        {"Telegram"},
	"SSH":             {"SSH"},
}

// ndpiProtocols are nDPI labels that name a protocol, not an application:
// a flow with only one of them has no application name.
var ndpiProtocols = map[string]bool{
	"Unknown": true, "DNS": true, "HTTP": true, "TLS": true, "QUIC": true, "ICMP": true,
	"ICMPV6": true, "IGMP": true, "DHCP": true, "DHCPV6": true, "MDNS": true, "SSDP": true,
	"STUN": true, "SRTP": true, "RTP": true, "RTCP": true, "IMAPS": true, "IMAP": true,
	"POP3": true, "POPS": true, "SMTP": true, "SMTPS": true, "NTP": true, "NetBIOS": true,
	"LLMNR": true,
}

type flowKey struct {
	proto uint8
	a, b  netip.AddrPort // a < b
}

func keyOf(proto uint8, x, y netip.AddrPort) flowKey {
	if y.Compare(x) < 0 {
		x, y = y, x
	}
	return flowKey{proto, x, y}
}

type ndpiFlow struct {
	line  string // "1 TCP a:p <-> b:q"
	label string // "91.119/TLS.Facebook"
	app   string // "Facebook", "" for a protocol only
}

var ndpiFlowLine = regexp.MustCompile(`^\t(\d+)\t(TCP|UDP) (\S+) (?:<->|->) (\S+) .*?\[proto: ([^\]]+)\]`)

// readNDPI returns the TCP and UDP flows of an ndpiReader output.
func readNDPI(t *testing.T, path string) map[flowKey]ndpiFlow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[flowKey]ndpiFlow{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := ndpiFlowLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		a, err1 := netip.ParseAddrPort(m[3])
		b, err2 := netip.ParseAddrPort(m[4])
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: bad endpoints in %q", path, m[0])
		}
		proto := uint8(6)
		if m[2] == "UDP" {
			proto = 17
		}
		label := m[5]
		names := label
		if _, after, ok := strings.Cut(label, "/"); ok {
			names = after
		}
		app := names
		if _, sub, ok := strings.Cut(names, "."); ok {
			app = sub
		}
		if ndpiProtocols[app] {
			app = ""
		}
		a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
		b = netip.AddrPortFrom(b.Addr().Unmap(), b.Port())
		out[keyOf(proto, a, b)] = ndpiFlow{line: m[1] + " " + m[2] + " " + m[3] + " " + m[4], label: label, app: app}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// payloadPkt is an early payload of a flow, with its sender.
type payloadPkt struct {
	src     netip.AddrPort
	payload []byte
}

// maxEarly is how many payload packets per flow the test feeds to
// PayloadHits, as the engine will for a session's first packets.
const maxEarly = 8

func addrOf(fam uint8, b [16]byte) netip.Addr {
	if fam == 4 {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16(b).Unmap()
}

// earlyPayloads decodes a capture and returns the first payloads of each
// TCP and UDP flow.
func earlyPayloads(t testing.TB, path string) map[flowKey][]payloadPkt {
	t.Helper()
	src, err := capture.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	d := decode.NewDecoder(64)
	out := map[flowKey][]payloadPkt{}
	var f capture.Frame
	var p decode.Packet
	for {
		err := src.Next(&f)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if d.Decode(f.Data, f.Link, f.WireLen, f.TS, &p) != decode.ReasonOK || (p.Proto != 6 && p.Proto != 17) || len(p.Payload) == 0 {
			continue
		}
		s := netip.AddrPortFrom(addrOf(p.Family, p.Src), p.SrcPort)
		dst := netip.AddrPortFrom(addrOf(p.Family, p.Dst), p.DstPort)
		k := keyOf(p.Proto, s, dst)
		if len(out[k]) < maxEarly {
			out[k] = append(out[k], payloadPkt{s, slices.Clone(p.Payload)})
		}
	}
	return out
}

func sessions(t *testing.T, path string) []*record.Session {
	t.Helper()
	src, err := capture.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out []*record.Session
	e := pipeline.New(pipeline.Config{Sensor: "t"}, pipeline.SinkFunc(func(recs []record.Record) error {
		for _, r := range recs {
			if s, ok := r.(*record.Session); ok {
				out = append(out, s)
			}
		}
		return nil
	}))
	if err := e.Run(context.Background(), src); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

type tally struct{ ndpiNamed, tamonNamed, both, agree int }

func (a *tally) add(b tally) {
	a.ndpiNamed += b.ndpiNamed
	a.tamonNamed += b.tamonNamed
	a.both += b.both
	a.agree += b.agree
}

func (a tally) share() float64 {
	if a.both == 0 {
		return 0
	}
	return 100 * float64(a.agree) / float64(a.both)
}

func agrees(ndpiApp, ours string) bool {
	want, ok := ndpiToTamon[ndpiApp]
	if !ok {
		return strings.EqualFold(ndpiApp, ours)
	}
	return slices.Contains(want, ours)
}

// TestAgreementWithNDPI runs the engine over every corpus capture that
// carries nDPI's application labels, names each session with the shipped
// library (host and ports; and, in a second figure, also the payload hits
// of the session's first packets, which the engine does not pass yet), and
// compares with nDPI on the flows where both give an application name. The
// issue asks for at least 85% agreement.
func TestAgreementWithNDPI(t *testing.T) {
	corpus := findUpward(t, filepath.Join("shared", "corpus"))
	lib := library(t)
	outs, err := filepath.Glob(filepath.Join(corpus, "expected", "*.ndpi.out.txt"))
	if err != nil || len(outs) == 0 {
		t.Fatalf("no nDPI outputs in %s/expected (%v)", corpus, err)
	}
	sort.Strings(outs)
	var total, totalHits tally
	var misses, missesHits []string
	for _, out := range outs {
		name := strings.TrimSuffix(filepath.Base(out), ".ndpi.out.txt")
		pcap := filepath.Join(corpus, "pcaps", name)
		flows := readNDPI(t, out)
		early := earlyPayloads(t, pcap)
		seen := map[flowKey]bool{}
		var ft, fh tally
		for _, s := range sessions(t, pcap) {
			proto := uint8(6)
			if s.Proto == "udp" {
				proto = 17
			}
			cip, err1 := netip.ParseAddr(s.ClientIP)
			sip, err2 := netip.ParseAddr(s.ServerIP)
			if err1 != nil || err2 != nil {
				t.Fatalf("%s: session with bad addresses %+v", name, s)
			}
			client := netip.AddrPortFrom(cip.Unmap(), s.ClientPort)
			k := keyOf(proto, client, netip.AddrPortFrom(sip.Unmap(), s.ServerPort))
			fl, ok := flows[k]
			if !ok || seen[k] {
				continue // not a flow of nDPI's, or a later session of the same 5-tuple
			}
			seen[k] = true
			var hits []uint16
			for _, p := range early[k] {
				dir := uint8(2)
				if p.src == client {
					dir = 1
				}
				hits = lib.PayloadHits(hits, proto, s.ClientPort, s.ServerPort, dir, p.payload)
			}
			for i, h := range [][]uint16{nil, hits} {
				app, named := lib.Match(proto, s.ClientPort, s.ServerPort, s.Host, h)
				tl, ms := &ft, &misses
				if i == 1 {
					tl, ms = &fh, &missesHits
				}
				if fl.app != "" {
					tl.ndpiNamed++
				}
				if named {
					tl.tamonNamed++
				}
				if fl.app == "" || !named {
					continue
				}
				tl.both++
				if agrees(fl.app, app.Name) {
					tl.agree++
					continue
				}
				*ms = append(*ms, fmt.Sprintf("%s flow %s host %q: nDPI %s, tamon %q", name, fl.line, s.Host, fl.label, app.Name))
			}
		}
		t.Logf("%-45s nDPI-named %3d, tamon-named %3d (with payload %3d), both %3d (%3d), agree %3d (%3d)",
			name, ft.ndpiNamed, ft.tamonNamed, fh.tamonNamed, ft.both, fh.both, ft.agree, fh.agree)
		total.add(ft)
		totalHits.add(fh)
	}
	for _, m := range misses {
		t.Logf("miss: %s", m)
	}
	for _, m := range missesHits {
		if !slices.Contains(misses, m) {
			t.Logf("miss with payload hits only: %s", m)
		}
	}
	t.Logf("host and ports: %d of %d flows named by both agree (%.1f%%); nDPI named %d, tamon %d",
		total.agree, total.both, total.share(), total.ndpiNamed, total.tamonNamed)
	t.Logf("with payload hits: %d of %d flows named by both agree (%.1f%%); tamon named %d",
		totalHits.agree, totalHits.both, totalHits.share(), totalHits.tamonNamed)
	if total.both < 50 {
		t.Errorf("only %d flows are named by both nDPI and tamon; too few to measure", total.both)
	}
	if total.share() < 85 {
		t.Errorf("agreement with nDPI (host and ports) %.1f%%, want at least 85%%", total.share())
	}
	if totalHits.share() < 85 {
		t.Errorf("agreement with nDPI (with payload hits) %.1f%%, want at least 85%%", totalHits.share())
	}
}

// FuzzPayloadHits feeds arbitrary payloads and ports to the shipped
// library; seeds are the first payloads of the corpus captures that nDPI
// labelled. PayloadHits must not panic, must return only payload
// signatures' indexes, each once, and Match must accept them.
func FuzzPayloadHits(f *testing.F) {
	lib := library(f)
	corpus := findUpward(f, filepath.Join("shared", "corpus"))
	for _, name := range []string{"ndpi_bittorrent.pcap", "ndpi_whatsapp_login_call.pcap", "ndpi_teams.pcap", "ndpi_spotify_tcp.pcap", "ndpi_dropbox.pcap"} {
		early := earlyPayloads(f, filepath.Join(corpus, "pcaps", name))
		keys := make([]flowKey, 0, len(early))
		for k := range early {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		n := 0
		for _, k := range keys {
			for _, p := range early[k] {
				server := k.b
				if p.src == k.b {
					server = k.a
				}
				f.Add(k.proto, p.src.Port(), server.Port(), p.payload)
				n++
			}
			if n > 200 {
				break
			}
		}
	}
	f.Add(uint8(17), uint16(51518), uint16(3478), []byte{0, 3, 0, 0x6a, 0x21, 0x12, 0xa4, 0x42})
	f.Add(uint8(6), uint16(1), uint16(2), []byte{})
	f.Fuzz(func(t *testing.T, proto uint8, cport, sport uint16, payload []byte) {
		hits := lib.PayloadHits(nil, proto, cport, sport, 1, payload)
		seen := map[uint16]bool{}
		for _, h := range hits {
			if int(h) >= lib.Len() || seen[h] {
				t.Fatalf("hits %v: out of range or repeated", hits)
			}
			seen[h] = true
		}
		again := lib.PayloadHits(hits, proto, cport, sport, 2, payload)
		if len(again) != len(hits) {
			t.Fatalf("second call added %v to %v", again[len(hits):], hits)
		}
		lib.Match(proto, cport, sport, string(payload), hits)
	})
}
