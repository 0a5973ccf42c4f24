package devices

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"tamon/daemon/internal/corpus"
	"tamon/daemon/internal/dissect/dhcp"
	"tamon/daemon/internal/dissect/mdns"
)

// This file runs the corpus captures with DHCP and mDNS (TShark's
// *.dhcp.tsv and *.mdns.tsv, see shared/corpus/MANIFEST.md) through the
// parsers and the inventory, as the engine will, and checks the devices.

// TestCorpusDHCP: every MAC of TShark's DHCP rows is a device; the last host
// name a client sent is its host name; the last option 55 list it sent is
// its fingerprint, in order; the last address an ACK gave it is among its
// IPv4 addresses.
func TestCorpusDHCP(t *testing.T) {
	dir := corpus.Dir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "expected", "*.dhcp.tsv"))
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
			for _, fr := range corpus.UDP(t, filepath.Join(dir, "pcaps", capture)) {
				if fr.SrcPort != 67 && fr.SrcPort != 68 {
					continue
				}
				if err := dhcp.Parse(fr.Payload, &m); err != nil {
					t.Fatalf("frame %d: %v", fr.Frame, err)
				}
				if FromDHCP(&m, fr.TS, &o) {
					inv.Apply(&o, nil)
				}
			}
			type want struct{ host, fp, ip string }
			last := map[string]*want{}
			for _, row := range corpus.ReadTSV(t, tsv) {
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
	dir := corpus.Dir(t)
	inv := New(Config{})
	var m dhcp.Message
	var o Observation
	for _, capture := range []string{"mercury_capture2.pcap", "ndpi_teams.pcap", "ndpi_whatsapp_login_call.pcap"} {
		for _, fr := range corpus.UDP(t, filepath.Join(dir, "pcaps", capture)) {
			if fr.SrcPort == 67 || fr.SrcPort == 68 {
				if dhcp.Parse(fr.Payload, &m) == nil && FromDHCP(&m, fr.TS, &o) {
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
	dir := corpus.Dir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "expected", "*.mdns.tsv"))
	if len(files) == 0 {
		t.Fatal("no *.mdns.tsv in the corpus")
	}
	checked := 0
	for _, tsv := range files {
		capture := strings.TrimSuffix(filepath.Base(tsv), ".mdns.tsv")
		t.Run(capture, func(t *testing.T) {
			frames := map[int]corpus.Datagram{}
			inv := New(Config{})
			var p mdns.Parser
			var info mdns.Info
			var o Observation
			for _, fr := range corpus.UDP(t, filepath.Join(dir, "pcaps", capture)) {
				if fr.SrcPort != 5353 && fr.DstPort != 5353 {
					continue
				}
				frames[fr.Frame] = fr
				if err := p.Parse(fr.Payload, &info); err != nil {
					t.Fatalf("frame %d: %v", fr.Frame, err)
				}
				if FromMDNS(&info, fr.TS, fr.SrcMAC, fr.Src, &o) {
					inv.Apply(&o, nil)
				}
			}
			want := map[[6]byte]string{}
			for _, row := range corpus.ReadTSV(t, tsv) {
				n, _ := strconv.Atoi(row["frame.number"])
				fr, ok := frames[n]
				if !ok {
					t.Fatalf("frame %d not on port 5353", n)
				}
				an := int(fr.Payload[6])<<8 | int(fr.Payload[7])
				ns := int(fr.Payload[8])<<8 | int(fr.Payload[9])
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
						want[fr.SrcMAC] = name[:len(name)-len(".local")]
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
