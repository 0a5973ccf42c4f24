package quic

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"tamon/daemon/internal/corpus"
	"testing"

	"tamon/daemon/internal/dissect/tls"
)

// TestCorpusTLS hands every ClientHello recovered from the corpus captures
// to dissect/tls.ParseClientHello, as the engine does, and checks its SNI
// against the test parser's; for sv_ja4-quic_input.pcap it checks the JA4
// of every flow against Suricata's quic.ja4 (suricata-test.yaml).
func TestCorpusTLS(t *testing.T) {
	var ch tls.ClientHello
	for _, c := range quicCaptures() {
		res := assembleCapture(t, c.name)
		for flow, r := range res {
			if r.hello == nil {
				continue
			}
			if err := tls.ParseClientHello(r.hello, &ch); err != nil {
				t.Errorf("%s %s: tls.ParseClientHello: %v", c.name, flow, err)
				continue
			}
			hi, err := parseHelloInfo(r.hello)
			if err != nil {
				t.Fatalf("%s %s: %v", c.name, flow, err)
			}
			if got := string(ch.SNI[:ch.SNILen]); got != hi.sni {
				t.Errorf("%s %s: tls SNI %q, test parser %q", c.name, flow, got, hi.sni)
			}
		}
	}

	const name = "sv_ja4-quic_input.pcap"
	y, err := os.ReadFile(filepath.Join(corpus.Dir(t), "expected", name+".suricata-test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The file has one check: "count: N" quic events with "quic.ja4: X".
	count := regexp.MustCompile(`(?m)^\s+count: (\d+)$`).FindSubmatch(y)
	ja4 := regexp.MustCompile(`(?m)^\s+quic\.ja4: (\S+)$`).FindSubmatch(y)
	if count == nil || ja4 == nil {
		t.Fatalf("%s.suricata-test.yaml: no count and quic.ja4 check", name)
	}
	want, _ := strconv.Atoi(string(count[1]))
	res := assembleCapture(t, name)
	var flows []string
	for flow, r := range res {
		if r.hello != nil {
			flows = append(flows, flow)
		}
	}
	sort.Strings(flows)
	if len(flows) != want {
		t.Errorf("%d ClientHellos, Suricata has %d quic events with a JA4", len(flows), want)
	}
	for _, flow := range flows {
		if err := tls.ParseClientHello(res[flow].hello, &ch); err != nil {
			t.Fatalf("%s: %v", flow, err)
		}
		if got := string(tls.AppendJA4(nil, &ch, true)); got != string(ja4[1]) {
			t.Errorf("%s: JA4 %s, Suricata %s", flow, got, ja4[1])
		}
	}
}
