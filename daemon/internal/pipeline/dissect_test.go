package pipeline_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"tamon/daemon/internal/pipeline"
	"tamon/daemon/internal/record"
)

// runDissect runs the engine over a capture with the dissectors off from
// the start (Config.NoDissect), turned off by SetDissect before Run, or on.
func runDissect(t *testing.T, path string, mode string) []record.Record {
	t.Helper()
	var setup func(*pipeline.Engine)
	if mode == "set" {
		setup = func(e *pipeline.Engine) { e.SetDissect(false) }
	}
	recs, _, err := runConfig(t, path, pipeline.Config{Sensor: "test", Workers: 2, NoDissect: mode == "config"}, setup)
	if err != nil {
		t.Fatalf("run %s: %v", path, err)
	}
	return recs
}

// sessionKey is what dissection must not change in a session record: its
// ends, counters and end. (Host and app may come from a dissector.)
func sessionKey(s *record.Session) string {
	return fmt.Sprintf("%s %s:%d %s:%d %d %d %d/%d %d/%d %s", s.Proto, s.ClientIP, s.ClientPort, s.ServerIP,
		s.ServerPort, s.StartTS, s.EndTS, s.PktsUp, s.PktsDown, s.BytesUp, s.BytesDown, s.EndReason)
}

// With the dissectors off (UCI main.dissect '0'), the engine writes no TLS,
// HTTP or ICMP record, and the same sessions and DNS records as with them.
func TestDissectOff(t *testing.T) {
	files := []string{"ndpi_chrome.pcap", "arkime_http-simple-get.pcap", "zeek_icmp_icmp6-ping.pcap",
		"tcpdump_quic_handshake.pcap"}
	seen := map[record.Kind]int{}
	for _, f := range files {
		path := filepath.Join(corpusDir, "pcaps", f)
		on := runDissect(t, path, "on")
		count := func(recs []record.Record) (sessions, dns []string, other map[record.Kind]int) {
			other = map[record.Kind]int{}
			for _, r := range recs {
				switch v := r.(type) {
				case *record.Session:
					sessions = append(sessions, sessionKey(v))
				case *record.DNS:
					dns = append(dns, string(v.AppendJSON(nil)))
				default:
					other[r.Kind()]++
				}
			}
			return
		}
		onS, onD, onOther := count(on)
		for k, n := range onOther {
			seen[k] += n
		}
		for _, mode := range []string{"config", "set"} {
			offS, offD, offOther := count(runDissect(t, path, mode))
			for _, k := range []record.Kind{record.KindTLS, record.KindHTTP, record.KindICMP} {
				if offOther[k] != 0 {
					t.Errorf("%s, dissect off (%s): %d %s records", f, mode, offOther[k], k)
				}
			}
			if fmt.Sprint(offS) != fmt.Sprint(onS) {
				t.Errorf("%s, dissect off (%s): sessions differ:\n off %v\n on  %v", f, mode, offS, onS)
			}
			if fmt.Sprint(offD) != fmt.Sprint(onD) {
				t.Errorf("%s, dissect off (%s): DNS records differ:\n off %v\n on  %v", f, mode, offD, onD)
			}
			seen[record.KindSession] += len(offS)
		}
	}
	// The captures exercise every dissector that the option turns off, and
	// sessions are compared.
	for _, k := range []record.Kind{record.KindTLS, record.KindHTTP, record.KindICMP, record.KindSession} {
		if seen[k] == 0 {
			t.Errorf("no %s record with the dissectors on: the test captures do not exercise it", k)
		}
	}
}
