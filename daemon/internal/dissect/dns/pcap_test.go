package dns

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"tamon/daemon/internal/corpus"
	"testing"
)

// This file checks Parse against real captures from the shared corpus,
// whose expected values were made by TShark (see shared/corpus/MANIFEST.md).
// It reads the captures with a minimal pcap reader of its own.

// captureMessages returns the UDP DNS payloads (port 53) of a corpus
// capture, or nil if the corpus is not there.
func captureMessages(name string) [][]byte {
	corpus, ok := corpus.Find()
	if !ok {
		return nil
	}
	_, recs, err := readPcap(filepath.Join(corpus, "pcaps", name))
	if err != nil {
		return nil
	}
	var out [][]byte
	for _, rec := range recs {
		if tr, ok := decodeFrame(rec.data); ok && !tr.fragment && !tr.tcp && (tr.srcPort == 53 || tr.dstPort == 53) {
			out = append(out, tr.payload)
		}
	}
	return out
}

// pcapRecord is one captured frame; frame numbers start at 1 as in TShark.
type pcapRecord struct {
	frame int
	data  []byte
}

// readPcap reads a classic libpcap file (either byte order, micro- or
// nanosecond timestamps) and returns its link type and records.
func readPcap(path string) (linkType uint32, recs []pcapRecord, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, err
	}
	if len(b) < 24 {
		return 0, nil, errors.New("pcap: short global header")
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return 0, nil, errors.New("pcap: not a libpcap file")
	}
	linkType = bo.Uint32(b[20:]) & 0x0fffffff
	b = b[24:]
	for frame := 1; len(b) > 0; frame++ {
		if len(b) < 16 {
			return 0, nil, errors.New("pcap: short record header")
		}
		n := int(bo.Uint32(b[8:]))
		if len(b)-16 < n {
			return 0, nil, errors.New("pcap: short record")
		}
		recs = append(recs, pcapRecord{frame, b[16 : 16+n]})
		b = b[16+n:]
	}
	return linkType, recs, nil
}

// transport is the payload of a UDP or TCP packet found in a frame.
type transport struct {
	tcp              bool
	srcPort, dstPort uint16
	payload          []byte
	fragment         bool // an IP fragment: not decoded
}

// decodeFrame digs the UDP/TCP payload out of an Ethernet frame with
// optional 802.1Q/802.1ad tags and IPv4 or IPv6. ok is false for anything
// else.
func decodeFrame(b []byte) (tr transport, ok bool) {
	if len(b) < 14 {
		return tr, false
	}
	etype := binary.BigEndian.Uint16(b[12:])
	b = b[14:]
	for etype == 0x8100 || etype == 0x88a8 {
		if len(b) < 4 {
			return tr, false
		}
		etype = binary.BigEndian.Uint16(b[2:])
		b = b[4:]
	}
	var proto byte
	switch etype {
	case 0x0800:
		if len(b) < 20 || b[0]>>4 != 4 {
			return tr, false
		}
		ihl := int(b[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(b[2:]))
		if ihl < 20 || total < ihl || total > len(b) {
			return tr, false
		}
		if binary.BigEndian.Uint16(b[6:])&0x3fff != 0 { // MF or a fragment offset
			tr.fragment = true
			return tr, true
		}
		proto = b[9]
		b = b[ihl:total] // drop Ethernet padding
	case 0x86dd:
		if len(b) < 40 || b[0]>>4 != 6 {
			return tr, false
		}
		plen := int(binary.BigEndian.Uint16(b[4:]))
		if 40+plen > len(b) {
			return tr, false
		}
		proto = b[6]
		b = b[40 : 40+plen]
		for proto == 0 || proto == 43 || proto == 60 { // hop-by-hop, routing, destination options
			if len(b) < 8 || len(b) < 8+int(b[1])*8 {
				return tr, false
			}
			proto, b = b[0], b[8+int(b[1])*8:]
		}
		if proto == 44 {
			tr.fragment = true
			return tr, true
		}
	default:
		return tr, false
	}
	switch proto {
	case 17:
		if len(b) < 8 {
			return tr, false
		}
		ulen := int(binary.BigEndian.Uint16(b[4:]))
		if ulen < 8 || ulen > len(b) {
			return tr, false
		}
		tr.srcPort, tr.dstPort = binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
		tr.payload = b[8:ulen]
	case 6:
		if len(b) < 20 || int(b[12]>>4)*4 < 20 || int(b[12]>>4)*4 > len(b) {
			return tr, false
		}
		tr.tcp = true
		tr.srcPort, tr.dstPort = binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
		tr.payload = b[int(b[12]>>4)*4:]
	default:
		return tr, false
	}
	return tr, true
}

// tsvRow is one row of a .dns.tsv file, by column name.
type tsvRow map[string]string

func (r tsvRow) list(col string) []string {
	if r[col] == "" {
		return nil
	}
	return strings.Split(r[col], ",")
}

func readDNSTSV(path string) (map[int]tsvRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var cols []string
	rows := map[int]tsvRow{}
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if cols == nil {
			cols = fields
			continue
		}
		row := tsvRow{}
		for i, c := range cols {
			if i < len(fields) {
				row[c] = fields[i]
			}
		}
		n, err := strconv.Atoi(row["frame.number"])
		if err != nil {
			return nil, fmt.Errorf("%s: bad frame number %q", path, row["frame.number"])
		}
		rows[n] = row
	}
	return rows, sc.Err()
}

// tsharkName renders a name as TShark prints it.
func tsharkName(n *Name) string {
	if n.Len() == 0 {
		return "<Root>"
	}
	return n.String()
}

func TestCaptures(t *testing.T) {
	corpus := corpus.Dir(t)
	files := []struct {
		name string
		// minimum number of messages that must be compared
		min int
	}{
		{"arkime_dns-udp.pcap", 5},
		{"zeek_dns-edns-ecs.pcap", 75},
		{"arkime_dns-error.pcap", 2},
		{"tcpdump_dns_tcp.pcap", 2},
		{"zeek_ipv6-fragmented-dns.pcap", 2},
		{"mercury_capture2.pcap", 700},
		{"ndpi_dns_fragmented.pcap", 10},
		{"ndpi_netflix.pcap", 20},
		{"ndpi_teams.pcap", 30},
		{"ndpi_dropbox.pcap", 10},
		{"ndpi_instagram.pcap", 5},
		{"ndpi_whatsapp_login_call.pcap", 2},
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			link, recs, err := readPcap(filepath.Join(corpus, "pcaps", f.name))
			if err != nil {
				t.Fatal(err)
			}
			if link != 1 {
				t.Fatalf("link type %d, want Ethernet", link)
			}
			rows, err := readDNSTSV(filepath.Join(corpus, "expected", f.name+".dns.tsv"))
			if err != nil {
				t.Fatal(err)
			}
			var m Message
			checked := 0
			seen := map[int]bool{}
			for _, rec := range recs {
				tr, ok := decodeFrame(rec.data)
				if !ok || tr.fragment {
					continue
				}
				if tr.srcPort != 53 && tr.dstPort != 53 {
					continue
				}
				msg := tr.payload
				if tr.tcp {
					// Only segments that hold exactly one whole message.
					var one []byte
					count := 0
					if Split(tr.payload, func(b []byte) { one = b; count++ }) != len(tr.payload) || count != 1 {
						continue
					}
					msg = one
				}
				row, ok := rows[rec.frame]
				if !ok {
					if len(msg) == 0 {
						continue
					}
					t.Errorf("frame %d: DNS on port 53 but no TShark row", rec.frame)
					continue
				}
				seen[rec.frame] = true
				checked++
				compareRow(t, rec.frame, msg, row, &m)
			}
			for frame, row := range rows {
				if !seen[frame] && row["udp.srcport"] != "" {
					// Every UDP row must be checked, except reassembled fragments.
					tr, _ := decodeFrame(recs[frame-1].data)
					if !tr.fragment {
						t.Errorf("frame %d: TShark row not checked", frame)
					}
				}
			}
			if checked < f.min {
				t.Errorf("checked %d messages, want at least %d", checked, f.min)
			}
			t.Logf("%d messages checked, %d TShark rows", checked, len(rows))
		})
	}
}

func compareRow(t *testing.T, frame int, msg []byte, row tsvRow, m *Message) {
	t.Helper()
	err := Parse(msg, m)
	if err != nil {
		t.Errorf("frame %d: Parse: %v", frame, err)
		return
	}
	errorf := func(format string, args ...any) {
		t.Helper()
		t.Errorf("frame %d: "+format, append([]any{frame}, args...)...)
	}
	b2s := func(b bool) string {
		if b {
			return "1"
		}
		return "0"
	}
	if got := fmt.Sprintf("0x%04x", m.ID); got != row["dns.id"] {
		errorf("id %s, want %s", got, row["dns.id"])
	}
	if got := b2s(m.Response); got != row["dns.flags.response"] {
		errorf("response %s, want %s", got, row["dns.flags.response"])
	}
	if got := strconv.Itoa(int(m.Opcode)); got != row["dns.flags.opcode"] {
		errorf("opcode %s, want %s", got, row["dns.flags.opcode"])
	}
	if m.Response {
		if got := strconv.Itoa(int(m.Rcode)); got != row["dns.flags.rcode"] {
			errorf("rcode %s, want %s", got, row["dns.flags.rcode"])
		}
	}
	if got := b2s(m.Truncated); got != row["dns.flags.truncated"] {
		errorf("truncated %s, want %s", got, row["dns.flags.truncated"])
	}
	if m.HasQuestion {
		if got := tsharkName(&m.Question); got != row["dns.qry.name"] {
			errorf("qname %q, want %q", got, row["dns.qry.name"])
		}
		if got := strconv.Itoa(int(m.QType)); got != row["dns.qry.type"] {
			errorf("qtype %s, want %s", got, row["dns.qry.type"])
		}
	}
	if got := strconv.Itoa(int(m.ANCount)); got != row["dns.count.answers"] {
		errorf("ancount %s, want %s", got, row["dns.count.answers"])
	}

	// Owner names, types and TTLs line up over all sections; the answers
	// come first. TShark lists NSEC bitmap types under dns.resp.type too,
	// so types are compared only when they line up with the names.
	names, types, ttls := row.list("dns.resp.name"), row.list("dns.resp.type"), row.list("dns.resp.ttl")
	if len(names) < m.NAnswers || len(ttls) < m.NAnswers {
		errorf("%d answers, TShark lists %d names", m.NAnswers, len(names))
		return
	}
	var as, aaaas, cnames []string
	for i := 0; i < m.NAnswers; i++ {
		a := &m.Answers[i]
		if got := tsharkName(&a.Name); got != names[i] {
			errorf("answer %d name %q, want %q", i, got, names[i])
		}
		if len(types) == len(names) && strconv.Itoa(int(a.Type)) != types[i] {
			errorf("answer %d type %d, want %s", i, a.Type, types[i])
		}
		if strconv.FormatUint(uint64(a.TTL), 10) != ttls[i] {
			errorf("answer %d ttl %d, want %s", i, a.TTL, ttls[i])
		}
		switch a.Type {
		case 1:
			as = append(as, string(a.DataBytes()))
		case 28:
			aaaas = append(aaaas, string(a.DataBytes()))
		case 5:
			cnames = append(cnames, string(a.DataBytes()))
		}
	}
	// A, AAAA and CNAME data are listed over all sections too, answers first.
	for _, c := range []struct {
		col string
		got []string
	}{{"dns.a", as}, {"dns.aaaa", aaaas}, {"dns.cname", cnames}} {
		want := row.list(c.col)
		if len(want) < len(c.got) {
			errorf("%s: got %v, TShark lists %v", c.col, c.got, want)
			continue
		}
		for i := range c.got {
			if c.got[i] != want[i] {
				errorf("%s[%d] %s, want %s", c.col, i, c.got[i], want[i])
			}
		}
	}
	if size := row.list("dns.rr.udp_payload_size"); m.EDNS != (len(size) > 0) {
		errorf("EDNS %v, TShark payload size %v", m.EDNS, size)
	} else if m.EDNS && strconv.Itoa(int(m.UDPSize)) != size[0] {
		errorf("UDP size %d, want %s", m.UDPSize, size[0])
	}
}

// TestInvalidNamesCapture checks the Zeek capture of deliberately broken
// names: every message TShark calls malformed, or whose name it reports as
// a pointer loop, must be rejected.
func TestInvalidNamesCapture(t *testing.T) {
	corpus := corpus.Dir(t)
	const name = "zeek_dns_dns-invalid-names.pcap"
	_, recs, err := readPcap(filepath.Join(corpus, "pcaps", name))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := readDNSTSV(filepath.Join(corpus, "expected", name+".dns.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var m Message
	n := 0
	for _, rec := range recs {
		tr, ok := decodeFrame(rec.data)
		row, hasRow := rows[rec.frame]
		if !ok || tr.fragment || tr.tcp || !hasRow {
			continue
		}
		bad := row["_ws.malformed"] != "" || strings.HasPrefix(row["dns.qry.name"], "<Name contains")
		err := Parse(tr.payload, &m)
		if bad && err == nil {
			t.Errorf("frame %d: parsed a message TShark rejects (qname %q)", rec.frame, m.Question.String())
		}
		if !bad && err != nil {
			t.Errorf("frame %d: %v", rec.frame, err)
		}
		t.Logf("frame %d: %v", rec.frame, err)
		n++
	}
	if n != len(rows) {
		t.Errorf("checked %d of %d rows", n, len(rows))
	}
}
