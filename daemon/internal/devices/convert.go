package devices

import (
	"net/netip"
	"strings"
	"unicode/utf8"

	"tamon/daemon/internal/dissect/dhcp"
	"tamon/daemon/internal/dissect/mdns"
)

// FromDHCP fills o from a decoded DHCP message seen at ts (Unix ms) and
// reports whether it says anything about a device. A client message
// (BOOTREQUEST) gives the client's host name (option 12, else the first
// label of option 81), vendor class, fingerprint (option 55), client
// identifier and, when it has one, its address (ciaddr). A server message
// only counts when it is an ACK: it gives the address assigned (yiaddr);
// the server's own options (its vendor class, ...) are not the client's.
// The device is the client hardware address, not the frame's source (a
// relay may have forwarded the message). FromDHCP allocates the strings.
func FromDHCP(m *dhcp.Message, ts int64, o *Observation) bool {
	mac, ok := m.MAC()
	if !ok || !usable(mac) {
		return false
	}
	*o = Observation{Kind: ObsDHCP, TS: ts, MAC: mac}
	switch m.Op {
	case dhcp.BootRequest:
		o.Hostname = cleanText(m.HostName.Bytes(), 253)
		if o.Hostname == "" && m.FQDN.Len() > 0 {
			label, _, _ := strings.Cut(cleanText(m.FQDN.Bytes(), 253), ".")
			o.Hostname = label
		}
		o.VendorClass = cleanText(m.VendorClass.Bytes(), 255)
		o.Fingerprint = string(m.AppendParamList(nil))
		o.ClientID = hexColon(m.ClientID.Bytes())
		if isSet(m.CIAddr) {
			o.IP = m.CIAddr
		}
		return true
	case dhcp.BootReply:
		if m.Type == dhcp.Ack && isSet(m.YIAddr) {
			o.IP = m.YIAddr
			return true
		}
	}
	return false
}

// FromMDNS fills o from the mDNS message info sent at ts (Unix ms) by the
// device at mac from address src, and reports whether it says anything
// (a host name, a model or an address). FromMDNS allocates the strings and
// the address list.
func FromMDNS(info *mdns.Info, ts int64, mac [6]byte, src netip.Addr, o *Observation) bool {
	if !usable(mac) || info.Hostname.Len() == 0 && info.Model.Len() == 0 && info.NAddrs == 0 {
		return false
	}
	*o = Observation{Kind: ObsMDNS, TS: ts, MAC: mac, IP: src,
		Hostname: cleanText(info.Hostname.Bytes(), 253),
		Model:    cleanText(info.Model.Bytes(), mdns.MaxModel),
	}
	if info.NAddrs > 0 {
		o.Addrs = append([]netip.Addr(nil), info.Addrs[:info.NAddrs]...)
	}
	return true
}

func isSet(a netip.Addr) bool { return a.IsValid() && !a.IsUnspecified() }

// cleanText turns untrusted bytes into a string fit for a record: control
// characters removed, invalid UTF-8 replaced, spaces trimmed, at most max
// bytes (cut at a character boundary).
func cleanText(b []byte, max int) string {
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			continue
		}
		if sb.Len()+utf8.RuneLen(r) > max {
			break
		}
		sb.WriteRune(r)
	}
	return strings.TrimSpace(sb.String())
}

// hexColon writes b as lower-case hex octets joined by ':', the form of
// dnsmasq's lease file; "" for no bytes.
func hexColon(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 3*len(b)-1)
	for i, c := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, hex[c>>4], hex[c&0x0f])
	}
	return string(out)
}
