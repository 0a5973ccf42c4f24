package dhcp

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"tamon/daemon/internal/corpus"
)

// This file checks Parse against the corpus captures whose DHCP messages
// TShark decoded (shared/corpus/expected/*.dhcp.tsv; MANIFEST.md says how).

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
	dir := corpus.Dir(t)
	files, err := filepath.Glob(filepath.Join(dir, "expected", "*.dhcp.tsv"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no *.dhcp.tsv in %s (%v)", dir, err)
	}
	total := 0
	for _, tsv := range files {
		capture := strings.TrimSuffix(filepath.Base(tsv), ".dhcp.tsv")
		t.Run(capture, func(t *testing.T) {
			want := make(map[int]map[string]string)
			for _, row := range corpus.ReadTSV(t, tsv) {
				n, err := strconv.Atoi(row["frame.number"])
				if err != nil {
					t.Fatalf("frame number %q", row["frame.number"])
				}
				want[n] = row
			}
			var m Message
			seen := 0
			for _, fr := range corpus.UDP(t, filepath.Join(dir, "pcaps", capture)) {
				if fr.SrcPort != 67 && fr.SrcPort != 68 && fr.DstPort != 67 && fr.DstPort != 68 {
					continue
				}
				row, ok := want[fr.Frame]
				if !ok {
					t.Errorf("frame %d: UDP port 67/68 but not DHCP for TShark", fr.Frame)
					continue
				}
				seen++
				if err := Parse(fr.Payload, &m); err != nil {
					t.Errorf("frame %d: %v", fr.Frame, err)
					continue
				}
				checkRow(t, fr.Frame, &m, row)
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
	dir := corpus.Dir(t)
	var out [][]byte
	for _, name := range []string{"zeek_dhcp_dhcp.pcap", "arkime_wireshark-dhcp.pcap", "ndpi_teams.pcap"} {
		for _, fr := range corpus.UDP(t, filepath.Join(dir, "pcaps", name)) {
			if fr.SrcPort == 67 || fr.SrcPort == 68 {
				out = append(out, fr.Payload)
			}
		}
	}
	return out
}
