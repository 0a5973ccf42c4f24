package dhcp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// This file checks Parse against the corpus captures whose DHCP messages
// TShark decoded (shared/corpus/expected/*.dhcp.tsv; MANIFEST.md says how).

// corpusDir finds shared/corpus: ../../../../shared/corpus from this
// package, or a shared/corpus folder in any parent. The test fails when it
// is missing.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		c := filepath.Join(dir, "shared", "corpus")
		if _, err := os.Stat(filepath.Join(c, "MANIFEST.md")); err == nil {
			return c
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("shared/corpus not found in any parent of the package folder")
		}
		dir = parent
	}
}

// udpFrame is the UDP payload of one captured frame.
type udpFrame struct {
	frame            int // 1-based, as in TShark
	srcPort, dstPort uint16
	payload          []byte
}

// readUDP returns the UDP payloads of a capture, decoded with gopacket.
func readUDP(t testing.TB, path string) []udpFrame {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		next     func() ([]byte, error)
		linkType layers.LinkType
	)
	if r, err := pcapgo.NewReader(f); err == nil {
		linkType = r.LinkType()
		next = func() ([]byte, error) { d, _, err := r.ReadPacketData(); return d, err }
	} else {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatalf("%s: not pcap or pcapng: %v", path, err)
		}
		linkType = r.LinkType()
		next = func() ([]byte, error) { d, _, err := r.ReadPacketData(); return d, err }
	}
	var out []udpFrame
	for n := 1; ; n++ {
		data, err := next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s frame %d: %v", path, n, err)
		}
		p := gopacket.NewPacket(data, linkType, gopacket.Default)
		if u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
			out = append(out, udpFrame{n, uint16(u.SrcPort), uint16(u.DstPort), u.Payload})
		}
	}
}

// readTSV reads a TShark fields file into rows keyed by column name.
func readTSV(t testing.TB, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var cols []string
	var rows []map[string]string
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if cols == nil {
			cols = fields
			continue
		}
		row := make(map[string]string, len(cols))
		for i, c := range cols {
			if i < len(fields) {
				row[c] = fields[i]
			}
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

func addrText(a interface {
	IsValid() bool
	String() string
}) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// TestCorpus parses every DHCP message of the corpus captures and compares
// each field TShark reports: hardware address (and the one in a type-1
// client identifier), message type, host name, FQDN, vendor class, the
// parameter request list in order, requested IP, ciaddr and yiaddr.
func TestCorpus(t *testing.T) {
	corpus := corpusDir(t)
	files, err := filepath.Glob(filepath.Join(corpus, "expected", "*.dhcp.tsv"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no *.dhcp.tsv in %s (%v)", corpus, err)
	}
	total := 0
	for _, tsv := range files {
		capture := strings.TrimSuffix(filepath.Base(tsv), ".dhcp.tsv")
		t.Run(capture, func(t *testing.T) {
			want := make(map[int]map[string]string)
			for _, row := range readTSV(t, tsv) {
				n, err := strconv.Atoi(row["frame.number"])
				if err != nil {
					t.Fatalf("frame number %q", row["frame.number"])
				}
				want[n] = row
			}
			var m Message
			seen := 0
			for _, fr := range readUDP(t, filepath.Join(corpus, "pcaps", capture)) {
				if fr.srcPort != 67 && fr.srcPort != 68 && fr.dstPort != 67 && fr.dstPort != 68 {
					continue
				}
				row, ok := want[fr.frame]
				if !ok {
					t.Errorf("frame %d: UDP port 67/68 but not DHCP for TShark", fr.frame)
					continue
				}
				seen++
				if err := Parse(fr.payload, &m); err != nil {
					t.Errorf("frame %d: %v", fr.frame, err)
					continue
				}
				checkRow(t, fr.frame, &m, row)
			}
			if seen != len(want) {
				t.Errorf("parsed %d messages, TShark lists %d", seen, len(want))
			}
			total += seen
		})
	}
	t.Logf("%d DHCP messages in %d captures agree with TShark", total, len(files))
}

func checkRow(t *testing.T, frame int, m *Message, row map[string]string) {
	t.Helper()
	macs := strings.Split(row["dhcp.hw.mac_addr"], ",")
	mac, ok := m.MAC()
	var got []string
	if ok {
		got = append(got, fmtMAC(mac))
	}
	if id, ok := m.ClientIDMAC(); ok {
		got = append(got, fmtMAC(id))
	}
	check := func(field, got string) {
		t.Helper()
		if got != row[field] {
			t.Errorf("frame %d: %s = %q, TShark %q", frame, field, got, row[field])
		}
	}
	check("dhcp.hw.mac_addr", strings.Join(got, ","))
	if len(macs) == 0 {
		t.Errorf("frame %d: no MAC in the expected row", frame)
	}
	check("dhcp.id", fmt.Sprintf("0x%08x", m.XID))
	typ := ""
	if m.Type != 0 {
		typ = strconv.Itoa(int(m.Type))
	}
	check("dhcp.option.dhcp", typ)
	check("dhcp.option.hostname", m.HostName.String())
	check("dhcp.fqdn.name", m.FQDN.String())
	check("dhcp.option.vendor_class_id", m.VendorClass.String())
	check("dhcp.option.request_list_item", string(m.AppendParamList(nil)))
	check("dhcp.option.requested_ip_address", addrText(m.RequestedIP))
	check("dhcp.ip.client", addrText(m.CIAddr))
	check("dhcp.ip.your", addrText(m.YIAddr))
}

func fmtMAC(m [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

// corpusSeeds returns the DHCP payloads of a few corpus captures, for the
// fuzz test's seed corpus.
func corpusSeeds(t testing.TB) [][]byte {
	corpus := corpusDir(t)
	var out [][]byte
	for _, name := range []string{"zeek_dhcp_dhcp.pcap", "arkime_wireshark-dhcp.pcap", "ndpi_teams.pcap"} {
		for _, fr := range readUDP(t, filepath.Join(corpus, "pcaps", name)) {
			if fr.srcPort == 67 || fr.srcPort == 68 {
				out = append(out, fr.payload)
			}
		}
	}
	return out
}
