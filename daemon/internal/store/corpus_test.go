package store

import (
	"context"
	"path/filepath"
	"slices"
	"tamon/daemon/internal/corpus"
	"testing"

	"tamon/daemon/internal/capture"
	"tamon/daemon/internal/pipeline"
	"tamon/daemon/internal/record"
)

// engineRecords runs the engine over a corpus capture.
func engineRecords(t testing.TB, name string) []record.Record {
	t.Helper()
	src, err := capture.OpenFile(filepath.Join(corpus.Dir(t), "pcaps", name))
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer src.Close()
	var recs []record.Record
	e := pipeline.New(pipeline.Config{Sensor: "corpus", Workers: 2}, pipeline.SinkFunc(func(rs []record.Record) error {
		recs = append(recs, rs...)
		return nil
	}))
	if err := e.Run(context.Background(), src); err != nil {
		t.Fatalf("engine on %s: %v", name, err)
	}
	return recs
}

// corpusCaptures are real captures with DNS answers, HTTP, TLS, ICMP,
// IPv6, VLANs and timelines.
var corpusCaptures = []string{
	"arkime_dns-udp.pcap", "arkime_http-simple-get.pcap", "arkime_tls-alpn-h2.pcap", "ndpi_dns.pcap",
	"zeek_q-in-q.pcap", "ppp_IcmpPackets.pcap", "ndpi_http_ipv6.pcap", "zeek_http_methods.pcap",
}

// TestCorpus: the engine's records from real captures go through the store
// and come back as the same JSON, on both drivers (what tamond -r does).
func TestCorpus(t *testing.T) {
	var all []record.Record
	for _, name := range corpusCaptures {
		all = append(all, engineRecords(t, name)...)
	}
	if len(all) < 100 {
		t.Fatalf("only %d records from the corpus", len(all))
	}
	kinds := map[record.Kind]int{}
	for _, r := range all {
		kinds[r.Kind()]++
	}
	for _, k := range []record.Kind{record.KindSession, record.KindDNS} {
		if kinds[k] == 0 {
			t.Fatalf("no %s records from the corpus: %v", k, kinds)
		}
	}
	forEachBackend(t, func(t *testing.T, cfg Config) {
		s := openStore(t, cfg)
		if err := s.Write(all); err != nil {
			t.Fatal(err)
		}
		flush(t, s)
		checkContents(t, s, all)
		st := s.Stats()
		if st.Truncated != 0 || st.Rejected != 0 || st.Dropped != 0 {
			t.Errorf("corpus records altered: %+v", st)
		}
		var n uint64
		for _, v := range st.Rows {
			n += v
		}
		if int(n) < len(all)-kinds[record.KindDevice] || !slices.Contains([]string{"sqlite", "mysql"}, st.Driver) {
			t.Errorf("rows written %d of %d records", n, len(all))
		}
	})
}
