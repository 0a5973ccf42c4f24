package devices

import (
	"net/netip"
	"testing"

	"tamon/daemon/internal/dissect/dhcp"
	"tamon/daemon/internal/dissect/mdns"
)

// dhcpMessage builds a DHCP message for FromDHCP.
func dhcpMessage(op byte, chaddr [6]byte, ciaddr, yiaddr [4]byte, options ...byte) []byte {
	m := make([]byte, 240)
	m[0], m[1], m[2] = op, 1, 6
	copy(m[12:], ciaddr[:])
	copy(m[16:], yiaddr[:])
	copy(m[28:], chaddr[:])
	copy(m[236:], []byte{99, 130, 83, 99})
	return append(append(m, options...), 255)
}

func TestFromDHCP(t *testing.T) {
	client := [6]byte{0x00, 0x1b, 0x21, 0x0a, 0x0b, 0x0c}
	tests := []struct {
		name   string
		msg    []byte
		ok     bool
		host   string
		vc     string
		fp     string
		cid    string
		ip     string
		isDHCP bool
	}{
		{"request", dhcpMessage(dhcp.BootRequest, client, [4]byte{}, [4]byte{},
			53, 1, 3, 12, 7, 'l', 'a', 'p', '\x01', 't', 'o', 'p', 60, 8, 'M', 'S', 'F', 'T', ' ', '5', '.', '0', 55, 3, 1, 3, 6, 61, 7, 1, 0x00, 0x1b, 0x21, 0x0a, 0x0b, 0x0c),
			true, "laptop", "MSFT 5.0", "1,3,6", "01:00:1b:21:0a:0b:0c", "", true},
		{"renewal from its address", dhcpMessage(dhcp.BootRequest, client, [4]byte{192, 0, 2, 5}, [4]byte{}, 53, 1, 3),
			true, "", "", "", "", "192.0.2.5", true},
		{"fqdn only", dhcpMessage(dhcp.BootRequest, client, [4]byte{}, [4]byte{}, 81, 10, 0, 0, 0, 'p', 'c', '.', 'h', 'o', 'm', 'e'),
			true, "pc", "", "", "", "", true},
		{"ack", dhcpMessage(dhcp.BootReply, client, [4]byte{}, [4]byte{192, 0, 2, 6}, 53, 1, 5, 60, 4, 's', 'r', 'v', 'r'),
			true, "", "", "", "", "192.0.2.6", true},
		{"offer says nothing", dhcpMessage(dhcp.BootReply, client, [4]byte{}, [4]byte{192, 0, 2, 6}, 53, 1, 2), false, "", "", "", "", "", true},
		{"multicast chaddr", dhcpMessage(dhcp.BootRequest, [6]byte{1, 0, 0x5e, 0, 0, 1}, [4]byte{}, [4]byte{}, 53, 1, 1), false, "", "", "", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m dhcp.Message
			if err := dhcp.Parse(tt.msg, &m); err != nil {
				t.Fatal(err)
			}
			var o Observation
			ok := FromDHCP(&m, 42, &o)
			if ok != tt.ok {
				t.Fatalf("ok = %v", ok)
			}
			if !ok {
				return
			}
			ip := ""
			if o.IP.IsValid() {
				ip = o.IP.String()
			}
			if o.Kind != ObsDHCP || o.TS != 42 || o.MAC != client || o.Hostname != tt.host || o.VendorClass != tt.vc ||
				o.Fingerprint != tt.fp || o.ClientID != tt.cid || ip != tt.ip {
				t.Errorf("observation %+v", o)
			}
		})
	}
}

func TestFromMDNS(t *testing.T) {
	var info mdns.Info
	var o Observation
	m := [6]byte{0x00, 0x1b, 0x21, 0x0a, 0x0b, 0x0c}
	if FromMDNS(&info, 1, m, netip.MustParseAddr("192.0.2.1"), &o) {
		t.Error("an empty Info says something")
	}
	var p mdns.Parser
	// A response: "tv.local A 192.0.2.9".
	msg := []byte{0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 't', 'v', 5, 'l', 'o', 'c', 'a', 'l', 0, 0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4, 192, 0, 2, 9}
	if err := p.Parse(msg, &info); err != nil {
		t.Fatal(err)
	}
	if !FromMDNS(&info, 5, m, netip.MustParseAddr("192.0.2.9"), &o) {
		t.Fatal("no observation")
	}
	if o.Kind != ObsMDNS || o.Hostname != "tv" || len(o.Addrs) != 1 || o.Addrs[0] != netip.MustParseAddr("192.0.2.9") || o.TS != 5 {
		t.Errorf("observation %+v", o)
	}
	if FromMDNS(&info, 5, [6]byte{}, netip.Addr{}, &o) {
		t.Error("observation for the zero MAC")
	}
}

func TestCleanText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"  plain  ", "plain"}, {"a\x00b\x1fc\x7f", "abc"}, {"caf\xc3\xa9", "café"}, {"bad\xff", "bad\ufffd"},
		{"\u00e9\u00e9\u00e9", "\u00e9\u00e9"}, // cut at 5 bytes, on a character boundary
	} {
		max := 255
		if tt.want == "\u00e9\u00e9" {
			max = 5
		}
		if got := cleanText([]byte(tt.in), max); got != tt.want {
			t.Errorf("cleanText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if hexColon([]byte{1, 0xab}) != "01:ab" || hexColon(nil) != "" {
		t.Error("hexColon")
	}
}
