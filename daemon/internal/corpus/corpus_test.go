package corpus

import (
	"net/netip"
	"path/filepath"
	"strconv"
	"testing"
)

// TestUDPAgainstTShark: the UDP datagrams read from a capture are at the
// frames TShark lists in its DHCP file, from the address it gives.
func TestUDPAgainstTShark(t *testing.T) {
	dir := Dir(t)
	for _, name := range []string{"arkime_wireshark-dhcp.pcap", "zeek_dhcp_dhcp.pcap"} {
		t.Run(name, func(t *testing.T) {
			rows := ReadTSV(t, filepath.Join(dir, "expected", name+".dhcp.tsv"))
			if len(rows) == 0 {
				t.Fatal("no rows in the expected file")
			}
			byFrame := map[int]Datagram{}
			for _, d := range UDP(t, filepath.Join(dir, "pcaps", name)) {
				byFrame[d.Frame] = d
			}
			for _, row := range rows {
				n, err := strconv.Atoi(row["frame.number"])
				if err != nil {
					t.Fatalf("frame number %q: %v", row["frame.number"], err)
				}
				d, ok := byFrame[n]
				if !ok {
					t.Fatalf("frame %d: no UDP datagram", n)
				}
				if want := netip.MustParseAddr(row["ip.src"]); d.Src != want || (d.SrcPort != 67 && d.SrcPort != 68) || len(d.Payload) < 240 {
					t.Errorf("frame %d: from %v port %d, %d bytes; TShark: from %v, a DHCP message", n, d.Src, d.SrcPort, len(d.Payload), want)
				}
			}
		})
	}
}

func TestReadTSV(t *testing.T) {
	rows := ReadTSV(t, filepath.Join(Dir(t), "expected", "zeek_dhcp_dhcp.pcap.dhcp.tsv"))
	for i, r := range rows {
		if _, err := strconv.Atoi(r["frame.number"]); err != nil || r["dhcp.id"] == "" {
			t.Errorf("row %d: %v", i, r)
		}
	}
}
