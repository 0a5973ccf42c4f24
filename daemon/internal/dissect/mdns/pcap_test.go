package mdns

import (
	"encoding/binary"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"tamon/daemon/internal/corpus"
)

// This file checks Parse against the corpus captures whose mDNS messages
// TShark decoded (shared/corpus/expected/*.mdns.tsv; MANIFEST.md says how).

// mdnsFrames returns the UDP payloads on port 5353 of a capture, by frame
// number (1-based, as in TShark).
func mdnsFrames(t testing.TB, path string) map[int][]byte {
	t.Helper()
	out := make(map[int][]byte)
	for _, d := range corpus.UDP(t, path) {
		if d.SrcPort == 5353 || d.DstPort == 5353 {
			out[d.Frame] = d.Payload
		}
	}
	return out
}

func list(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// tsharkRecord is one resource record as TShark lists it, with the value
// that belongs to it (PTR domain, SRV target, A or AAAA address).
type tsharkRecord struct {
	name, value string
	typ         int
}

// expectation derives, from TShark's fields alone, the host name and
// addresses that the package's rules give. TShark lists the records of all
// sections in wire order; an, ns (from the message header) tell which
// section each belongs to.
func expectation(row map[string]string, an, ns int) (host string, addrs []string) {
	names, types := list(row["dns.resp.name"]), list(row["dns.resp.type"])
	values := map[int][]string{12: list(row["dns.ptr.domain_name"]), 33: list(row["dns.srv.target"]),
		1: list(row["dns.a"]), 28: list(row["dns.aaaa"])}
	var recs []tsharkRecord
	for i, n := range names {
		typ, _ := strconv.Atoi(types[i])
		r := tsharkRecord{name: n, typ: typ}
		if v := values[typ]; len(v) > 0 {
			r.value, values[typ] = v[0], v[1:]
		}
		if row["dns.flags.response"] == "1" && (i < an || i >= an+ns) ||
			row["dns.flags.response"] == "0" && i >= an && i < an+ns {
			recs = append(recs, r)
		}
	}
	local := func(n string) bool {
		return len(n) > 6 && strings.HasSuffix(strings.ToLower(n), ".local")
	}
	var full string
	for _, r := range recs {
		if (r.typ == 1 || r.typ == 28) && local(r.name) {
			full = r.name
			break
		}
	}
	for _, r := range recs {
		low := strings.ToLower(r.name)
		if full == "" && r.typ == 12 && (strings.HasSuffix(low, ".in-addr.arpa") || strings.HasSuffix(low, ".ip6.arpa")) && local(r.value) {
			full = r.value
		}
	}
	for _, r := range recs {
		if full == "" && r.typ == 33 && local(r.value) {
			full = r.value
		}
	}
	if full == "" {
		return "", nil
	}
	for _, typ := range []int{1, 28} {
		for _, r := range recs {
			if r.typ == typ && strings.EqualFold(r.name, full) && !contains(addrs, r.value) && len(addrs) < MaxAddrs {
				addrs = append(addrs, r.value)
			}
		}
	}
	return full[:len(full)-len(".local")], addrs
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// TestCorpus parses every mDNS message of the corpus captures and checks
// the host name and its addresses against what TShark's decode of the same
// records gives.
func TestCorpus(t *testing.T) {
	dir := corpus.Dir(t)
	files, err := filepath.Glob(filepath.Join(dir, "expected", "*.mdns.tsv"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no *.mdns.tsv in %s (%v)", dir, err)
	}
	var p Parser
	var info Info
	messages, named := 0, 0
	for _, tsv := range files {
		capture := strings.TrimSuffix(filepath.Base(tsv), ".mdns.tsv")
		t.Run(capture, func(t *testing.T) {
			frames := mdnsFrames(t, filepath.Join(dir, "pcaps", capture))
			rows := corpus.ReadTSV(t, tsv)
			if len(rows) != len(frames) {
				t.Errorf("%d messages on port 5353, TShark lists %d", len(frames), len(rows))
			}
			for _, row := range rows {
				n, _ := strconv.Atoi(row["frame.number"])
				msg, ok := frames[n]
				if !ok {
					t.Errorf("frame %d: not on port 5353", n)
					continue
				}
				messages++
				if err := p.Parse(msg, &info); err != nil {
					t.Errorf("frame %d: %v", n, err)
					continue
				}
				an, ns := int(binary.BigEndian.Uint16(msg[6:])), int(binary.BigEndian.Uint16(msg[8:]))
				host, addrs := expectation(row, an, ns)
				if got := info.Hostname.String(); got != host {
					t.Errorf("frame %d: host %q, TShark's records give %q", n, got, host)
				}
				var got []string
				for _, a := range info.Addrs[:info.NAddrs] {
					got = append(got, a.String())
				}
				if strings.Join(got, ",") != strings.Join(addrs, ",") {
					t.Errorf("frame %d: addresses %v, TShark's records give %v", n, got, addrs)
				}
				if info.Response != (row["dns.flags.response"] == "1") {
					t.Errorf("frame %d: response %v", n, info.Response)
				}
				if host != "" {
					named++
				}
			}
		})
	}
	if named == 0 {
		t.Error("no message named a host: the check compared nothing")
	}
	t.Logf("%d mDNS messages in %d captures, %d naming a host", messages, len(files), named)
}

// corpusSeeds returns mDNS messages of corpus captures for the fuzz test.
func corpusSeeds(t testing.TB) [][]byte {
	dir := corpus.Dir(t)
	var out [][]byte
	for _, name := range []string{"zeek_dns_mdns.pcap", "arkime_v6-http.pcap", "ndpi_whatsapp_login_call.pcap"} {
		for _, msg := range mdnsFrames(t, filepath.Join(dir, "pcaps", name)) {
			out = append(out, msg)
		}
	}
	return out
}
