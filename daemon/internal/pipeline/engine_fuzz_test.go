package pipeline_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"os"
	"testing"

	"tamon/daemon/internal/appid"
	"tamon/daemon/internal/capture"
	"tamon/daemon/internal/devices"
	"tamon/daemon/internal/flow"
	"tamon/daemon/internal/pipeline"
	"tamon/daemon/internal/record"
)

// scriptSource replays the frames of an engine fuzz script: per frame a
// link byte (an index into scriptLinks, modulo its length), a
// time step byte (s*s*10 ms after the previous frame, so that idle
// timeouts fire too), a big-endian 16-bit length and the frame.
type scriptSource struct {
	script []byte
	ts     int64
	n      int
}

var scriptLinks = [...]capture.LinkType{capture.LinkEthernet, capture.LinkRaw, capture.LinkLinuxSLL, capture.LinkLinuxSLL2,
	capture.LinkNull, capture.LinkLoop}

func (s *scriptSource) Next(f *capture.Frame) error {
	if len(s.script) < 4 {
		return io.EOF
	}
	link, step, n := s.script[0], int64(s.script[1]), int(binary.BigEndian.Uint16(s.script[2:4]))
	s.script = s.script[4:]
	n = min(n, len(s.script))
	s.ts += step * step * 10e6
	*f = capture.Frame{Data: s.script[:n], WireLen: n, TS: 1.7e18 + s.ts, Link: scriptLinks[int(link)%len(scriptLinks)]}
	s.script = s.script[n:]
	s.n++
	return nil
}
func (s *scriptSource) Stats() capture.Stats { return capture.Stats{} }
func (s *scriptSource) Close() error         { return nil }
func (s *scriptSource) Name() string         { return "script" }

// appendFrame appends one frame to an engine fuzz script.
func appendFrame(script []byte, link capture.LinkType, step byte, frame []byte) []byte {
	l := byte(0)
	for i, k := range scriptLinks {
		if k == link {
			l = byte(i)
		}
	}
	script = append(script, l, step, 0, 0)
	binary.BigEndian.PutUint16(script[len(script)-2:], uint16(len(frame)))
	return append(script, frame...)
}

// FuzzEngine runs the whole engine, with a device inventory, the
// application signatures and small limits (8 sessions, 4 pending DNS
// queries, 2 fragment slots), over any sequence of frames of any link type
// and time. It must not fail or panic, must read every frame, and every
// record must encode to valid JSON. The seeds are the first frames of
// corpus captures: DNS, DHCP, mDNS, QUIC, ICMP, HTTP, TLS, fragments.
func FuzzEngine(f *testing.F) {
	for _, name := range []string{"ndpi_dns.pcap", "zeek_dhcp_dhcp.pcap", "zeek_dns_mdns.pcap", "tcpdump_quic_handshake.pcap",
		"zeek_icmp_icmp6-ping.pcap", "arkime_http-simple-get.pcap", "arkime_tls13.pcap", "zeek_ipv4_fragmented-3.pcap",
		"zeek_icmp_dot1q.pcap", "tcpdump_dns_tcp.pcap"} {
		src, err := capture.OpenFile(corpusDir + "/pcaps/" + name)
		if err != nil {
			f.Fatalf("open %s: %v", name, err)
		}
		var script []byte
		var fr capture.Frame
		for i := 0; i < 40; i++ {
			if err := src.Next(&fr); err != nil {
				break
			}
			script = appendFrame(script, fr.Link, byte(i%3), fr.Data[:min(len(fr.Data), 1<<16-1)])
		}
		src.Close()
		f.Add(script)
	}
	rules, _ := appid.Parse("features.txt", mustOpen(f, "../../../features.txt"))
	f.Fuzz(func(t *testing.T, script []byte) {
		fc := flow.DefaultConfig()
		fc.MaxFlows = 8
		var recs int
		sink := pipeline.SinkFunc(func(rs []record.Record) error {
			for _, r := range rs {
				recs++
				if b := r.AppendJSON(nil); !json.Valid(b) {
					return errors.New("invalid JSON: " + string(b))
				}
			}
			return nil
		})
		e := pipeline.New(pipeline.Config{Sensor: "t", Workers: 2, Flow: fc, DNSPending: 4, FragSlots: 2,
			Devices: devices.New(devices.Config{Sensor: "t"}), Apps: rules}, sink)
		src := &scriptSource{script: script}
		if err := e.Run(context.Background(), src); err != nil {
			t.Fatal(err)
		}
		if st := e.Stats(); st.Frames != uint64(src.n) {
			t.Fatalf("%d frames read of %d", st.Frames, src.n)
		}
	})
}

// mustOpen opens a file for a test or ends it.
func mustOpen(tb testing.TB, path string) io.Reader {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return f
}
