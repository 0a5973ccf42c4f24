package quic

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"tamon/daemon/internal/corpus"
	"testing"
)

// This file checks the Assembler against real captures of the shared
// corpus. TShark decrypted their Initial packets itself (.quic.tsv, see
// shared/corpus/MANIFEST.md); for every UDP flow in which TShark shows a
// ClientHello, the one recovered here must have the same SNI, ALPN, cipher
// suites and extension types.

// quicCaptures are the corpus captures with QUIC traffic. tsv is false for
// the captures with only Google QUIC (gQUIC Q0xx), where no ClientHello
// must come out.
func quicCaptures() []struct {
	name string
	tsv  bool
} {
	return []struct {
		name string
		tsv  bool
	}{
		{"zeek_quic_chromium-115.0.5790.110-api-cirrus-com.pcap", true},
		{"sv_ja4-quic_input.pcap", true},
		{"tcpdump_quic_handshake.pcap", true},
		{"mercury_quic-crypto-packets.pcap", true},
		{"ndpi_http_ipv6.pcap", false},
		{"ndpi_youtube_quic.pcap", false},
	}
}

// knownDifferences lists, by "capture flow", each flow where the ClientHello
// recovered here differs from TShark's, with the reason. The test fails if
// a listed difference disappears.
func knownDifferences() map[string]string {
	return map[string]string{}
}

// knownExtra is a flow where a ClientHello is recovered here but TShark
// shows none: the same Initial packet captured a second time on another
// 5-tuple (before and after NAT). TShark ties both copies to one connection
// by their DCID and treats the second copy's CRYPTO frame as a
// retransmission ("reused stream offset"), so it does not dissect the
// ClientHello again; the engine keeps one Assembler per 5-tuple and does.
// The ClientHello must equal the one TShark shows for the twin flow.
type knownExtra struct {
	twin   string // flow of the first copy, in the same capture
	reason string
}

// knownExtras lists the extra ClientHellos by "capture flow". The test
// fails if one disappears or an unlisted one appears.
func knownExtras() map[string]knownExtra {
	const m = "mercury_quic-crypto-packets.pcap "
	return map[string]knownExtra{
		m + "173.38.117.86:50342>172.217.13.234:443": {"10.102.176.142:50342>172.217.13.234:443",
			"frame 302 repeats frame 301 (draft-29, DCID 79e908b9de67d793) after NAT"},
		m + "173.38.117.83:35778>172.217.13.232:443": {"10.102.40.13:35778>172.217.13.232:443",
			"frame 311 repeats frame 310 (draft-29, DCID 50c2df7bd593cd56) after NAT"},
		m + "10.150.34.25:57359>157.240.229.17:443": {"2001:420:2090:1252:d24:aae1:4b25:944d:61276>2a03:2880:f003:112:face:b00c:0:2:443",
			"frame 568 repeats frame 235 (mvfst 0xfaceb002, DCID ddd8fb2272a30356) after NAT64"},
	}
}

// flowResult is what an Assembler made of one direction of a UDP flow.
type flowResult struct {
	hello   []byte
	frame   int // frame that completed the ClientHello
	packets int // payloads given to the Assembler
	err     error
}

// assembleCapture feeds every UDP direction of a capture to its own
// Assembler, as the engine does: the Assembler is created at the first
// payload for which IsInitial is true and gets every later payload of that
// direction until it is done.
func assembleCapture(tb testing.TB, name string) map[string]*flowResult {
	tb.Helper()
	dgs, err := readDatagrams(filepath.Join(corpus.Dir(tb), "pcaps", name))
	if err != nil {
		tb.Fatal(err)
	}
	asm := map[string]*Assembler{}
	res := map[string]*flowResult{}
	for _, d := range dgs {
		a := asm[d.flow]
		if a == nil {
			if !IsInitial(d.payload) {
				continue
			}
			a = new(Assembler)
			asm[d.flow] = a
			res[d.flow] = &flowResult{}
		}
		r := res[d.flow]
		if r.hello != nil {
			continue
		}
		r.packets++
		hello, done, err := a.Add(d.payload)
		if err != nil {
			r.err = err
		}
		if done {
			if hello == nil {
				tb.Fatalf("%s frame %d: done without a ClientHello", name, d.frame)
			}
			r.hello, r.frame = hello, d.frame
		}
	}
	return res
}

// tsharkHellos returns, by flow, the first ClientHello TShark shows in a
// capture's .quic.tsv, and the frame it is in.
func tsharkHellos(tb testing.TB, name string) map[string]struct {
	info  helloInfo
	frame string
} {
	tb.Helper()
	rows, err := readTSV(filepath.Join(corpus.Dir(tb), "expected", name+".quic.tsv"))
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]struct {
		info  helloInfo
		frame string
	}{}
	for _, r := range rows {
		if !contains(strings.Split(r["tls.handshake.type"], ","), "1") {
			continue
		}
		flow := fmt.Sprintf("%s:%s>%s:%s", r["ip.src"]+r["ipv6.src"], r["udp.srcport"], r["ip.dst"]+r["ipv6.dst"], r["udp.dstport"])
		if _, ok := out[flow]; ok {
			continue // a retransmitted ClientHello
		}
		out[flow] = struct {
			info  helloInfo
			frame string
		}{helloInfo{
			sni:      r["tls.handshake.extensions_server_name"],
			alpn:     r["tls.handshake.extensions_alpn_str"],
			ciphers:  r["tls.handshake.ciphersuite"],
			extTypes: r["tls.handshake.extension.type"],
		}, r["frame.number"]}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestCorpusAgreement(t *testing.T) {
	differences, extras := knownDifferences(), knownExtras()
	seenDiff, seenExtra := map[string]bool{}, map[string]bool{}
	var flows, agree, recovered int
	for _, c := range quicCaptures() {
		res := assembleCapture(t, c.name)
		var want map[string]struct {
			info  helloInfo
			frame string
		}
		if c.tsv {
			want = tsharkHellos(t, c.name)
		}
		keys := make([]string, 0, len(want))
		for k := range want {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, flow := range keys {
			w := want[flow]
			flows++
			id := c.name + " " + flow
			r := res[flow]
			var got helloInfo
			var why string
			switch {
			case r == nil:
				why = "no Assembler: IsInitial never true"
			case r.hello == nil:
				why = fmt.Sprintf("no ClientHello after %d packets, last error %v", r.packets, r.err)
			default:
				var err error
				got, err = parseHelloInfo(r.hello)
				if err != nil {
					why = fmt.Sprintf("ClientHello does not parse: %v", err)
				} else if got != w.info {
					why = fmt.Sprintf("got %+v, TShark (frame %s) %+v", got, w.frame, w.info)
				}
			}
			if why == "" {
				agree++
				continue
			}
			seenDiff[id] = true
			if _, ok := differences[id]; !ok {
				t.Errorf("%s: %s", id, why)
			}
		}
		for flow, r := range res {
			if r.hello == nil {
				continue
			}
			recovered++
			if _, ok := want[flow]; ok {
				continue
			}
			id := c.name + " " + flow
			seenExtra[id] = true
			hi, err := parseHelloInfo(r.hello)
			x, ok := extras[id]
			switch {
			case !ok:
				t.Errorf("%s: ClientHello (SNI %q, frame %d) that TShark does not show", id, hi.sni, r.frame)
			case err != nil:
				t.Errorf("%s: extra ClientHello does not parse: %v", id, err)
			case hi != want[x.twin].info:
				t.Errorf("%s: extra ClientHello %+v differs from TShark's for twin flow %s: %+v", id, hi, x.twin, want[x.twin].info)
			}
		}
	}
	for id, reason := range differences {
		if !seenDiff[id] {
			t.Errorf("%s: listed difference (%s) is gone: remove it from knownDifferences", id, reason)
		}
	}
	for id, x := range extras {
		if !seenExtra[id] {
			t.Errorf("%s: listed extra ClientHello (%s) no longer recovered", id, x.reason)
		}
	}
	if flows == 0 {
		t.Fatal("no flows with a ClientHello in the TShark files")
	}
	pct := 100 * float64(agree) / float64(flows)
	t.Logf("agreement with TShark: %d of %d flows (%.2f%%); %d ClientHellos recovered in all", agree, flows, pct, recovered)
	if pct < 99 {
		t.Errorf("agreement %.2f%% < 99%%", pct)
	}
}
