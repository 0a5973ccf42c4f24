package pipeline_test

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"tamon/daemon/internal/capture"
	"tamon/daemon/internal/corpus"
	"tamon/daemon/internal/devices"
	"tamon/daemon/internal/dissect/dns"
	"tamon/daemon/internal/pipeline"
	"tamon/daemon/internal/record"
)

// corpusDir is shared/corpus beside the repository (read-only).
const corpusDir = "../../../../shared/corpus"

// runFile runs the engine over a capture and returns its records.
func runFile(t testing.TB, path string, workers int) ([]record.Record, pipeline.Stats, error) {
	t.Helper()
	return runConfig(t, path, pipeline.Config{Sensor: "test", Workers: workers}, nil)
}

// runConfig runs an engine of cfg, with a device inventory of its own, over
// a capture and returns its records; setup, when set, is called before Run.
func runConfig(t testing.TB, path string, cfg pipeline.Config, setup func(*pipeline.Engine)) ([]record.Record, pipeline.Stats, error) {
	t.Helper()
	src, err := capture.OpenFile(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer src.Close()
	var recs []record.Record
	sink := pipeline.SinkFunc(func(rs []record.Record) error {
		recs = append(recs, rs...)
		return nil
	})
	cfg.Devices = devices.New(devices.Config{Sensor: cfg.Sensor})
	e := pipeline.New(cfg, sink)
	if setup != nil {
		setup(e)
	}
	err = e.Run(context.Background(), src)
	return recs, e.Stats(), err
}

func col(header []string, name string) int {
	for i, h := range header {
		if h == name {
			return i
		}
	}
	return -1
}

func canonIP(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return s
	}
	return a.String()
}

// sessionDiffs lists, for the rows of one .sessions.tsv, those whose
// per-direction packet counts the engine does not reproduce. A tshark stream
// is compared with the sum of tamon's sessions on the same 5-tuple (either
// direction) that overlap the stream's time span: tshark never splits a UDP
// stream on idle time, tamon does (udp_timeout), and the sum is what both
// saw on that 5-tuple in that span.
func sessionDiffs(t *testing.T, name string, recs []record.Record) (rows int, diffs []string) {
	header, tsv := corpus.ReadTable(t, filepath.Join(corpusDir, "expected", name+".sessions.tsv"))
	ix := func(n string) int { return col(header, n) }
	type ep struct {
		ip   string
		port uint16
	}
	type key struct {
		proto string
		a, b  ep
	}
	mk := func(proto string, x, y ep) key {
		if x.ip > y.ip || (x.ip == y.ip && x.port > y.port) {
			x, y = y, x
		}
		return key{proto, x, y}
	}
	byKey := map[key][]*record.Session{}
	for _, r := range recs {
		if s, ok := r.(*record.Session); ok {
			k := mk(s.Proto, ep{s.ClientIP, s.ClientPort}, ep{s.ServerIP, s.ServerPort})
			byKey[k] = append(byKey[k], s)
		}
	}
	for _, row := range tsv {
		rows++
		cp, _ := strconv.Atoi(row[ix("client_port")])
		sp, _ := strconv.Atoi(row[ix("server_port")])
		c := ep{canonIP(row[ix("client_addr")]), uint16(cp)}
		s := ep{canonIP(row[ix("server_addr")]), uint16(sp)}
		first, _ := strconv.ParseFloat(row[ix("first_ts")], 64)
		last, _ := strconv.ParseFloat(row[ix("last_ts")], 64)
		f0, l0 := int64(math.Floor(first*1000)), int64(math.Floor(last*1000))
		wantC, _ := strconv.ParseUint(row[ix("pkts_c2s")], 10, 64)
		wantS, _ := strconv.ParseUint(row[ix("pkts_s2c")], 10, 64)
		var gotC, gotS uint64
		n := 0
		for _, ss := range byKey[mk(row[ix("proto")], c, s)] {
			if ss.EndTS < f0-1 || ss.StartTS > l0+1 {
				continue
			}
			n++
			if (ep{ss.ClientIP, ss.ClientPort}) == c {
				gotC += ss.PktsUp
				gotS += ss.PktsDown
			} else {
				gotC += ss.PktsDown
				gotS += ss.PktsUp
			}
		}
		if gotC != wantC || gotS != wantS {
			diffs = append(diffs, fmt.Sprintf("%s %s stream %s %s:%d-%s:%d: tshark %d/%d, tamon %d/%d in %d sessions",
				name, row[ix("proto")], row[ix("stream")], c.ip, c.port, s.ip, s.port, wantC, wantS, gotC, gotS, n))
		}
	}
	return rows, diffs
}

// dnsDiffs compares the DNS messages of one .dns.tsv with tamon's DNS
// records: every query must be in a record (client, server, txid, name,
// type) and every response in a record with the same rcode and the same
// A, AAAA and CNAME answers.
func dnsDiffs(t *testing.T, name string, recs []record.Record) (rows int, diffs []string) {
	path := filepath.Join(corpusDir, "expected", name+".dns.tsv")
	if _, err := os.Stat(path); err != nil {
		return 0, nil
	}
	header, tsv := corpus.ReadTable(t, path)
	get := func(row []string, n string) string { return row[col(header, n)] }
	either := func(row []string, a, b string) string {
		if v := get(row, a); v != "" {
			return v
		}
		return get(row, b)
	}
	type qk struct {
		client, server string
		txid           uint16
		query, qtype   string
	}
	queries := map[qk]int{}
	responses := map[qk][]*record.DNS{}
	for _, r := range recs {
		d, ok := r.(*record.DNS)
		if !ok {
			continue
		}
		k := qk{d.ClientIP, d.ServerIP, d.TxID, strings.ToLower(d.Query), d.QType}
		if d.RTTMs >= 0 || d.RCode == "" {
			queries[k]++
		}
		if d.RCode != "" {
			responses[k] = append(responses[k], d)
		}
	}
	for _, row := range tsv {
		rows++
		src := canonIP(either(row, "ip.src", "ipv6.src"))
		dst := canonIP(either(row, "ip.dst", "ipv6.dst"))
		// several messages in one frame (DNS over TCP) or several IPs
		// (tunnels): take the last, innermost value
		if i := strings.LastIndexByte(src, ','); i >= 0 {
			src, dst = canonIP(src[i+1:]), canonIP(dst[strings.LastIndexByte(dst, ',')+1:])
		}
		txid, _ := strconv.ParseUint(strings.TrimPrefix(strings.Split(get(row, "dns.id"), ",")[0], "0x"), 16, 16)
		qname := strings.ToLower(strings.Split(get(row, "dns.qry.name"), ",")[0])
		qt, _ := strconv.Atoi(strings.Split(get(row, "dns.qry.type"), ",")[0])
		qtype := typeName(uint16(qt))
		resp := strings.Split(get(row, "dns.flags.response"), ",")[0] == "1"
		what := fmt.Sprintf("%s frame %s txid %#x %s %s", name, get(row, "frame.number"), txid, qname, qtype)
		if get(row, "_ws.malformed") != "" {
			// Both call it malformed: agreement when tamon wrote no record.
			for k := range queries {
				if k.txid == uint16(txid) && (k.client == src || k.client == dst) {
					diffs = append(diffs, what+": tshark marks the message malformed, tamon wrote a record")
				}
			}
			continue
		}
		if !resp {
			if queries[qk{src, dst, uint16(txid), qname, qtype}] == 0 {
				diffs = append(diffs, what+": query not in any record")
			}
			continue
		}
		k := qk{dst, src, uint16(txid), qname, qtype}
		cands := responses[k]
		if len(cands) == 0 {
			diffs = append(diffs, what+": response not in any record")
			continue
		}
		want := expectedAnswers(row, get)
		found := false
		for _, d := range cands {
			if slices.Equal(recordAnswers(d), want) {
				found = true
				break
			}
		}
		if !found {
			diffs = append(diffs, fmt.Sprintf("%s: answers differ: tshark %v, tamon %v", what, want, recordAnswers(cands[0])))
		}
	}
	return rows, diffs
}

func typeName(t uint16) string { return dns.TypeString(t) }

// expectedAnswers returns the A, AAAA and CNAME data of the answer section
// of a tshark row, sorted. tshark lists dns.a, dns.aaaa and dns.cname over
// all sections; the answer section comes first, so the first k of each list
// are answers, where k counts that type among the first dns.count.answers
// entries of dns.resp.type.
func expectedAnswers(row []string, get func([]string, string) string) []string {
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	n, _ := strconv.Atoi(strings.Split(get(row, "dns.count.answers"), ",")[0])
	types := split(get(row, "dns.resp.type"))
	var na, naaaa, ncname int
	for i := 0; i < n && i < len(types); i++ {
		switch types[i] {
		case "1":
			na++
		case "28":
			naaaa++
		case "5":
			ncname++
		}
	}
	var out []string
	take := func(prefix string, list []string, k int) {
		for i := 0; i < k && i < len(list); i++ {
			v := list[i]
			if prefix != "CNAME " {
				v = canonIP(v)
			} else {
				v = strings.ToLower(v)
			}
			out = append(out, prefix+v)
		}
	}
	take("A ", split(get(row, "dns.a")), na)
	take("AAAA ", split(get(row, "dns.aaaa")), naaaa)
	take("CNAME ", split(get(row, "dns.cname")), ncname)
	sort.Strings(out)
	return out
}

func recordAnswers(d *record.DNS) []string {
	var out []string
	for _, a := range d.Answers {
		switch a.Type {
		case "A", "AAAA":
			out = append(out, a.Type+" "+canonIP(a.Data))
		case "CNAME":
			out = append(out, "CNAME "+strings.ToLower(a.Data))
		}
	}
	sort.Strings(out)
	return out
}

// icmpDiffs compares the ICMP and ICMPv6 messages of one .icmp.tsv with
// tamon's: per family, type and code, the number of messages. An answered
// echo record stands for its request and its reply; chatter (neighbour
// discovery, router solicitation/advertisement, MLD) is compared with the
// engine's counters, by type.
func icmpDiffs(t *testing.T, name string, recs []record.Record, st pipeline.Stats) (rows int, diffs []string) {
	path := filepath.Join(corpusDir, "expected", name+".icmp.tsv")
	if _, err := os.Stat(path); err != nil {
		return 0, nil
	}
	header, tsv := corpus.ReadTable(t, path)
	get := func(row []string, n string) string { return strings.Split(row[col(header, n)], ",")[0] }
	type key struct {
		fam        int
		typ, code  int
		codeIgnore bool
	}
	counted := map[string]int{}
	for i := range st.ICMP.Counted {
		counted[pipeline.CountedICMPName(i)] = i
	}
	norm := func(fam, typ, code int) key {
		if _, ok := counted[fmt.Sprintf("icmpv%d_type_%d", fam, typ)]; ok {
			return key{fam, typ, 0, true}
		}
		return key{fam, typ, code, false}
	}
	want := map[key]int{}
	for _, row := range tsv {
		rows++
		fam, tf, cf := 4, "icmp.type", "icmp.code"
		if get(row, "icmpv6.type") != "" {
			fam, tf, cf = 6, "icmpv6.type", "icmpv6.code"
		}
		typ, _ := strconv.Atoi(get(row, tf))
		code, _ := strconv.Atoi(get(row, cf))
		want[norm(fam, typ, code)]++
	}
	got := map[key]int{}
	for _, r := range recs {
		c, ok := r.(*record.ICMP)
		if !ok {
			continue
		}
		fam, typ := int(c.Family), int(c.Type)
		got[norm(fam, typ, int(c.Code))]++
		if c.RTTMs >= 0 { // an answered echo: the reply too
			reply := 0
			if fam == 6 {
				reply = 129
			}
			got[norm(fam, reply, 0)]++
		}
	}
	for i, n := range st.ICMP.Counted {
		var fam, typ int
		fmt.Sscanf(pipeline.CountedICMPName(i), "icmpv%d_type_%d", &fam, &typ)
		got[key{fam, typ, 0, true}] += int(n)
	}
	for k, n := range want {
		if got[k] != n {
			miss := n - got[k]
			if miss < 0 {
				miss = -miss
			}
			for j := 0; j < miss; j++ {
				diffs = append(diffs, fmt.Sprintf("%s icmpv%d type %d code %d: tshark %d messages, tamon %d", name, k.fam, k.typ, k.code, n, got[k]))
			}
		}
	}
	for k, n := range got {
		if _, ok := want[k]; !ok && n > 0 {
			diffs = append(diffs, fmt.Sprintf("%s icmpv%d type %d code %d: tamon %d messages, tshark none", name, k.fam, k.typ, k.code, n))
		}
	}
	sort.Strings(diffs)
	return rows, diffs
}

// appDiffs compares HTTP requests and responses (.http.tsv) and TLS hellos
// (.tls.tsv) with tamon's http and tls records. A tshark row agrees when an
// unused record of the same connection carries the same values: for a
// request method, host, URI and user agent; for a response status and
// content type; for a ClientHello SNI, ALPN and JA3; for a ServerHello
// JA3S. tshark decodes HTTP only on its default ports; tamon on any port,
// so records without a tshark row are not differences.
func appDiffs(t *testing.T, name string, recs []record.Record) (hRows, tRows int, hDiffs, tDiffs []string) {
	type conn struct{ c, s string }
	ep := func(ip string, port uint16) string { return canonIP(ip) + "/" + strconv.Itoa(int(port)) }
	https := map[conn][]*record.HTTP{}
	httpByIP := map[conn][]*record.HTTP{} // for SSDP rows: .http.tsv has no UDP ports
	tlss := map[conn][]*record.TLS{}
	for _, r := range recs {
		switch v := r.(type) {
		case *record.HTTP:
			k := conn{ep(v.ClientIP, v.ClientPort), ep(v.ServerIP, v.ServerPort)}
			https[k] = append(https[k], v)
			k = conn{canonIP(v.ClientIP), canonIP(v.ServerIP)}
			httpByIP[k] = append(httpByIP[k], v)
		case *record.TLS:
			if v.Transport == "tcp" {
				k := conn{ep(v.ClientIP, v.ClientPort), ep(v.ServerIP, v.ServerPort)}
				tlss[k] = append(tlss[k], v)
			}
		}
	}
	rowConn := func(row []string, get func([]string, string) string, resp bool) conn {
		src, dst := get(row, "ip.src"), get(row, "ip.dst")
		if src == "" {
			src, dst = get(row, "ipv6.src"), get(row, "ipv6.dst")
		}
		src, dst = src[strings.LastIndexByte(src, ',')+1:], dst[strings.LastIndexByte(dst, ',')+1:]
		sp, _ := strconv.Atoi(get(row, "tcp.srcport"))
		dp, _ := strconv.Atoi(get(row, "tcp.dstport"))
		a, b := ep(src, uint16(sp)), ep(dst, uint16(dp))
		if resp {
			return conn{b, a}
		}
		return conn{a, b}
	}
	if path := filepath.Join(corpusDir, "expected", name+".http.tsv"); fileExists(path) {
		header, tsv := corpus.ReadTable(t, path)
		get := func(row []string, n string) string { return row[col(header, n)] }
		usedReq, usedResp := map[*record.HTTP]bool{}, map[*record.HTTP]bool{}
		retrans := retransmittedFrames(t, name)
		for _, row := range tsv {
			method := get(row, "http.request.method")
			resp := method == ""
			if resp && get(row, "http.response.code") == "" {
				continue
			}
			if retrans[get(row, "frame.number")] {
				// tshark decodes a retransmitted copy of a message a second
				// time; tamon skips retransmitted bytes. Not a message.
				continue
			}
			hRows++
			k := rowConn(row, get, resp)
			cands := https[k]
			if get(row, "tcp.srcport") == "" { // HTTP over UDP (SSDP)
				ipk := conn{k.c[:strings.LastIndexByte(k.c, '/')], k.s[:strings.LastIndexByte(k.s, '/')]}
				cands = httpByIP[ipk]
			}
			found := false
			for _, r := range cands {
				if resp {
					code, _ := strconv.Atoi(strings.Split(get(row, "http.response.code"), ",")[0])
					ct := strings.Split(get(row, "http.content_type"), ",")[0]
					if !usedResp[r] && int(r.Status) == code && r.ContentType == ct {
						usedResp[r], found = true, true
						break
					}
					continue
				}
				if !usedReq[r] && r.Method == method && r.Host == get(row, "http.host") &&
					r.URI == get(row, "http.request.uri") && r.UserAgent == get(row, "http.user_agent") {
					usedReq[r], found = true, true
					break
				}
			}
			if !found {
				what := "request " + method + " " + get(row, "http.request.uri")
				if resp {
					what = "response " + get(row, "http.response.code")
				}
				hDiffs = append(hDiffs, fmt.Sprintf("%s frame %s %s: no matching http record", name, get(row, "frame.number"), what))
			}
		}
	}
	if path := filepath.Join(corpusDir, "expected", name+".tls.tsv"); fileExists(path) {
		header, tsv := corpus.ReadTable(t, path)
		get := func(row []string, n string) string { return row[col(header, n)] }
		used := map[*record.TLS]bool{}
		for _, row := range tsv {
			typ := strings.Split(get(row, "tls.handshake.type"), ",")
			for _, ty := range typ {
				if ty != "1" && ty != "2" {
					continue
				}
				tRows++
				resp := ty == "2"
				k := rowConn(row, get, resp)
				found := false
				for _, r := range tlss[k] {
					if resp {
						if r.JA3S == get(row, "tls.handshake.ja3s") {
							found = true
							break
						}
						continue
					}
					if !used[r] && r.SNI == get(row, "tls.handshake.extensions_server_name") &&
						r.ALPN == get(row, "tls.handshake.extensions_alpn_str") && r.JA3 == get(row, "tls.handshake.ja3") {
						used[r], found = true, true
						break
					}
				}
				if !found {
					hello := "ClientHello"
					if resp {
						hello = "ServerHello"
					}
					tDiffs = append(tDiffs, fmt.Sprintf("%s frame %s %s: no tls record with the same values", name, get(row, "frame.number"), hello))
				}
			}
		}
	}
	return
}

// quicDiffs compares the SNI of each UDP flow whose ClientHello tshark
// decrypted (.quic.tsv) with tamon's quic tls records of that flow.
func quicDiffs(t *testing.T, name string, recs []record.Record) (rows int, diffs []string) {
	path := filepath.Join(corpusDir, "expected", name+".quic.tsv")
	if !fileExists(path) {
		return 0, nil
	}
	got := map[string]map[string]bool{}
	for _, r := range recs {
		if v, ok := r.(*record.TLS); ok && v.Transport == "quic" {
			k := canonIP(v.ClientIP) + "/" + strconv.Itoa(int(v.ClientPort)) + ">" + canonIP(v.ServerIP) + "/" + strconv.Itoa(int(v.ServerPort))
			if got[k] == nil {
				got[k] = map[string]bool{}
			}
			got[k][v.SNI] = true
		}
	}
	header, tsv := corpus.ReadTable(t, path)
	get := func(row []string, n string) string { return row[col(header, n)] }
	seen := map[string]bool{}
	for _, row := range tsv {
		if !strings.Contains(","+get(row, "tls.handshake.type")+",", ",1,") {
			continue
		}
		src, dst := get(row, "ip.src"), get(row, "ip.dst")
		if src == "" {
			src, dst = get(row, "ipv6.src"), get(row, "ipv6.dst")
		}
		k := canonIP(src) + "/" + get(row, "udp.srcport") + ">" + canonIP(dst) + "/" + get(row, "udp.dstport")
		sni := strings.Split(get(row, "tls.handshake.extensions_server_name"), ",")[0]
		if seen[k+" "+sni] {
			continue
		}
		seen[k+" "+sni] = true
		rows++
		if !got[k][sni] {
			diffs = append(diffs, fmt.Sprintf("%s frame %s flow %s: tshark SNI %q, tamon %v", name, get(row, "frame.number"), k, sni, got[k]))
		}
	}
	return rows, diffs
}

// retransmittedFrames returns the frames that tshark's TCP analysis calls
// retransmissions (.tcpanalysis.tsv).
func retransmittedFrames(t *testing.T, name string) map[string]bool {
	path := filepath.Join(corpusDir, "expected", name+".tcpanalysis.tsv")
	out := map[string]bool{}
	if !fileExists(path) {
		return out
	}
	header, tsv := corpus.ReadTable(t, path)
	for _, row := range tsv {
		if strings.Contains(row[col(header, "_ws.expert.message")], "retransmission") {
			out[row[col(header, "frame.number")]] = true
		}
	}
	return out
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// knownDiffs are the differences from tshark that are understood; each
// names its reason. The test fails on any other difference, and on any of
// these that no longer occurs (so the list stays true).
var knownDiffs = map[string]string{
	"zeek_dns_dns-invalid-names.pcap frame 2 txid 0x2223 <name contains a pointer that loops> A: query not in any record": "" +
		"the query name's compression pointer loops; tamon counts the message as malformed (dns_malformed) " +
		"and writes no record, tshark prints a placeholder name and does not flag the frame",
}

func TestCorpusAgreement(t *testing.T) {
	pcaps, err := filepath.Glob(filepath.Join(corpusDir, "pcaps", "*"))
	if err != nil || len(pcaps) == 0 {
		t.Fatalf("no captures under %s (is shared/ beside the repository?): %v", corpusDir, err)
	}
	var sRows, dRows, iRows, hRows, tRows, qRows int
	var sDiffs, dDiffs, iDiffs, hDiffs, tDiffs, qDiffs []string
	for _, p := range pcaps {
		name := filepath.Base(p)
		recs, st, err := runFile(t, p, 2)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		n, d := sessionDiffs(t, name, recs)
		sRows += n
		sDiffs = append(sDiffs, d...)
		n, d = dnsDiffs(t, name, recs)
		dRows += n
		dDiffs = append(dDiffs, d...)
		n, d = icmpDiffs(t, name, recs, st)
		iRows += n
		iDiffs = append(iDiffs, d...)
		hn, tn, hd, td := appDiffs(t, name, recs)
		hRows, tRows = hRows+hn, tRows+tn
		hDiffs, tDiffs = append(hDiffs, hd...), append(tDiffs, td...)
		n, d = quicDiffs(t, name, recs)
		qRows += n
		qDiffs = append(qDiffs, d...)
	}
	seen := map[string]bool{}
	report := func(kind string, rows int, diffs []string) {
		agree := float64(rows-len(diffs)) / float64(rows)
		t.Logf("%s: %d of %d rows agree with tshark (%.2f%%)", kind, rows-len(diffs), rows, 100*agree)
		for _, d := range diffs {
			if why, ok := knownDiffs[d]; ok {
				seen[d] = true
				t.Logf("  known: %s\n    because %s", d, why)
				continue
			}
			t.Errorf("  unexplained difference: %s", d)
		}
		if agree < 0.99 {
			t.Errorf("%s agreement %.2f%% is below 99%%", kind, 100*agree)
		}
	}
	report("sessions", sRows, sDiffs)
	report("dns", dRows, dDiffs)
	report("icmp", iRows, iDiffs)
	report("http", hRows, hDiffs)
	report("tls", tRows, tDiffs)
	report("quic", qRows, qDiffs)
	for d := range knownDiffs {
		if !seen[d] {
			t.Errorf("known difference no longer occurs (remove it from knownDiffs): %s", d)
		}
	}
}

// TestSameOutputWhateverTheWorkers: every corpus capture gives the same
// records, byte for byte, with 1, 2 and 3 workers.
func TestSameOutputWhateverTheWorkers(t *testing.T) {
	pcaps, _ := filepath.Glob(filepath.Join(corpusDir, "pcaps", "*"))
	if len(pcaps) == 0 {
		t.Fatal("no corpus")
	}
	encode := func(recs []record.Record) string {
		var b []byte
		for _, r := range recs {
			b = r.AppendJSON(b)
			b = append(b, '\n')
		}
		return string(b)
	}
	for _, p := range pcaps {
		r1, _, _ := runFile(t, p, 1)
		want := encode(r1)
		for _, w := range []int{2, 3} {
			rw, _, _ := runFile(t, p, w)
			if got := encode(rw); got != want {
				t.Errorf("%s: output with %d workers differs from 1 worker (%d vs %d bytes)", filepath.Base(p), w, len(got), len(want))
			}
		}
	}
}
