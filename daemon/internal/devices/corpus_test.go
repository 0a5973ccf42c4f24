package devices

import (
	"bufio"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"tamon/daemon/internal/dissect/dhcp"
	"tamon/daemon/internal/dissect/mdns"
)

// This file runs the corpus captures with DHCP and mDNS (TShark's
// *.dhcp.tsv and *.mdns.tsv, see shared/corpus/MANIFEST.md) through the
// parsers and the inventory, as the engine will, and checks the devices.

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

// udpFrame is one UDP datagram of a capture.
type udpFrame struct {
	frame            int
	ts               int64 // Unix ms
	srcMAC           [6]byte
	srcIP            netip.Addr
	srcPort, dstPort uint16
	payload          []byte
}

func readUDP(t testing.TB, path string) []udpFrame {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []udpFrame
	for n := 1; ; n++ {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s frame %d: %v", path, n, err)
		}
		p := gopacket.NewPacket(data, r.LinkType(), gopacket.Default)
		eth, ok1 := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		u, ok2 := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if !ok1 || !ok2 {
			continue
		}
		fr := udpFrame{frame: n, ts: ci.Timestamp.UnixMilli(), srcPort: uint16(u.SrcPort), dstPort: uint16(u.DstPort), payload: u.Payload}
		copy(fr.srcMAC[:], eth.SrcMAC)
		if nl := p.NetworkLayer(); nl != nil {
			fr.srcIP, _ = netip.AddrFromSlice(nl.NetworkFlow().Src().Raw())
		}
		out = append(out, fr)
	}
}

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

// TestCorpusDHCP: every MAC of TShark's DHCP rows is a device; the last host
// name a client sent is its host name; the last option 55 list it sent is
// its fingerprint, in order; the last address an ACK gave it is among its
// IPv4 addresses.
func TestCorpusDHCP(t *testing.T) {
	corpus := corpusDir(t)
	files, _ := filepath.Glob(filepath.Join(corpus, "expected", "*.dhcp.tsv"))
	if len(files) == 0 {
		t.Fatal("no *.dhcp.tsv in the corpus")
	}
	macs, names := 0, 0
	for _, tsv := range files {
		capture := strings.TrimSuffix(filepath.Base(tsv), ".dhcp.tsv")
		t.Run(capture, func(t *testing.T) {
			inv := New(Config{})
			var m dhcp.Message
			var o Observation
			for _, fr := range readUDP(t, filepath.Join(corpus, "pcaps", capture)) {
				if fr.srcPort != 67 && fr.srcPort != 68 {
					continue
				}
				if err := dhcp.Parse(fr.payload, &m); err != nil {
					t.Fatalf("frame %d: %v", fr.frame, err)
				}
				if FromDHCP(&m, fr.ts, &o) {
					inv.Apply(&o, nil)
				}
			}
			type want struct{ host, fp, ip string }
			last := map[string]*want{}
			for _, row := range readTSV(t, tsv) {
				mac := strings.Split(row["dhcp.hw.mac_addr"], ",")[0]
				w := last[mac]
				if w == nil {
					w = &want{}
					last[mac] = w
				}
				if row["dhcp.option.hostname"] != "" {
					w.host = row["dhcp.option.hostname"]
				}
				if row["dhcp.option.request_list_item"] != "" {
					w.fp = row["dhcp.option.request_list_item"]
				}
				if row["dhcp.option.dhcp"] == "5" {
					w.ip = row["dhcp.ip.your"]
				}
			}
			for mac, w := range last {
				d, ok := inv.Device(mac)
				if !ok {
					t.Errorf("%s: no device", mac)
					continue
				}
				macs++
				if d.Hostname != w.host || d.DHCPFingerprint != w.fp {
					t.Errorf("%s: host %q fingerprint %q, TShark %q %q", mac, d.Hostname, d.DHCPFingerprint, w.host, w.fp)
				}
				if w.host != "" {
					names++
				}
				if w.ip != "" && !strings.Contains(","+strings.Join(d.IPv4, ",")+",", ","+w.ip+",") {
					t.Errorf("%s: IPv4 %v lacks the ACKed %s", mac, d.IPv4, w.ip)
				}
			}
			if n := inv.Stats().Devices; n != len(last) {
				t.Errorf("%d devices, TShark's rows name %d MACs", n, len(last))
			}
		})
	}
	t.Logf("%d DHCP clients checked, %d with a host name", macs, names)
}

// TestCorpusDHCPHints checks the OS hints that the corpus clients' DHCP
// options give.
func TestCorpusDHCPHints(t *testing.T) {
	corpus := corpusDir(t)
	inv := New(Config{})
	var m dhcp.Message
	var o Observation
	for _, capture := range []string{"mercury_capture2.pcap", "ndpi_teams.pcap", "ndpi_whatsapp_login_call.pcap"} {
		for _, fr := range readUDP(t, filepath.Join(corpus, "pcaps", capture)) {
			if fr.srcPort == 67 || fr.srcPort == 68 {
				if dhcp.Parse(fr.payload, &m) == nil && FromDHCP(&m, fr.ts, &o) {
					inv.Apply(&o, nil)
				}
			}
		}
	}
	for mac, os := range map[string]string{
		"a8:b1:d4:1f:4e:c9": "Cisco IP Phone", // vendor class "Cisco Systems, Inc. IP Phone CP-7911G"
		"00:80:8f:9a:ae:bd": "Linux",          // dhcpcd-6.10.1:Linux-4.9.57-v7+:armv7l:BCM2835
		"d8:30:62:56:00:1c": "Apple",          // Lucas-iMac's option 55
		"d8:0d:17:d6:55:ab": "",               // a TP-Link switch says nothing known
	} {
		if d, _ := inv.Device(mac); d.OS != os {
			t.Errorf("%s: os %q, want %q", mac, d.OS, os)
		}
	}
}

// TestCorpusMDNS: each device that announced an A/AAAA record in .local
// (in a response or a probe, as TShark decodes it) has that name, without
// .local, as its host name.
func TestCorpusMDNS(t *testing.T) {
	corpus := corpusDir(t)
	files, _ := filepath.Glob(filepath.Join(corpus, "expected", "*.mdns.tsv"))
	if len(files) == 0 {
		t.Fatal("no *.mdns.tsv in the corpus")
	}
	checked := 0
	for _, tsv := range files {
		capture := strings.TrimSuffix(filepath.Base(tsv), ".mdns.tsv")
		t.Run(capture, func(t *testing.T) {
			frames := map[int]udpFrame{}
			inv := New(Config{})
			var p mdns.Parser
			var info mdns.Info
			var o Observation
			for _, fr := range readUDP(t, filepath.Join(corpus, "pcaps", capture)) {
				if fr.srcPort != 5353 && fr.dstPort != 5353 {
					continue
				}
				frames[fr.frame] = fr
				if err := p.Parse(fr.payload, &info); err != nil {
					t.Fatalf("frame %d: %v", fr.frame, err)
				}
				if FromMDNS(&info, fr.ts, fr.srcMAC, fr.srcIP, &o) {
					inv.Apply(&o, nil)
				}
			}
			want := map[[6]byte]string{}
			for _, row := range readTSV(t, tsv) {
				n, _ := strconv.Atoi(row["frame.number"])
				fr, ok := frames[n]
				if !ok {
					t.Fatalf("frame %d not on port 5353", n)
				}
				an := int(fr.payload[6])<<8 | int(fr.payload[7])
				ns := int(fr.payload[8])<<8 | int(fr.payload[9])
				response := row["dns.flags.response"] == "1"
				names, types := strings.Split(row["dns.resp.name"], ","), strings.Split(row["dns.resp.type"], ",")
				for i, name := range names {
					// A response's answer and additional sections, a
					// query's authority section (a probe).
					authority := i >= an && i < an+ns
					if i >= len(types) || response == authority {
						continue
					}
					if (types[i] == "1" || types[i] == "28") && strings.HasSuffix(strings.ToLower(name), ".local") {
						want[fr.srcMAC] = name[:len(name)-len(".local")]
						break
					}
				}
			}
			for mac, host := range want {
				d, ok := inv.Device(FormatMAC(mac))
				if !ok || d.Hostname != host {
					t.Errorf("%s: host %q, TShark %q", FormatMAC(mac), d.Hostname, host)
				}
				checked++
			}
		})
	}
	if checked == 0 {
		t.Error("no device checked")
	}
	t.Logf("%d devices named by mDNS", checked)
}
