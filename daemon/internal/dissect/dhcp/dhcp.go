// Package dhcp parses DHCPv4 messages (RFC 2131, options RFC 2132) from
// untrusted bytes without allocating, keeping what identifies a device.
//
// The parser is written for a packet monitor: [Parse] reads one message (a
// UDP payload on port 67 or 68) into a caller-owned [Message], never
// allocates, never panics, does not modify its input and keeps no reference
// to it: every kept option is copied into fixed-size buffers inside the
// Message, so a Message outlives the packet buffer it was decoded from.
//
// Kept: the fixed header (op, hardware address, transaction id, ciaddr,
// yiaddr, siaddr, giaddr) and the options that describe a client: message
// type (53), host name (12), client FQDN (81), parameter request list (55,
// in wire order), vendor class (60), client identifier (61), requested IP
// address (50) and server identifier (54). Options in the sname and file
// fields are read when option 52 (overload) says so, and an option that
// appears several times is concatenated (RFC 3396).
//
// A Message is about 1.4 KiB: allocate one per goroutine and reuse it. It is
// not safe for concurrent use.
package dhcp

import (
	"errors"
	"net/netip"
)

// Option codes that Parse keeps or follows.
const (
	OptPad         = 0
	OptHostName    = 12
	OptRequestedIP = 50
	OptOverload    = 52
	OptMessageType = 53
	OptServerID    = 54
	OptParamList   = 55
	OptVendorClass = 60
	OptClientID    = 61
	OptClientFQDN  = 81
	OptEnd         = 255
)

// Message layout (RFC 2131 2).
const (
	headerLen    = 236 // op .. file
	optionsStart = headerLen + 4
	snameOff     = 44
	snameLen     = 64
	fileOff      = 108
	fileLen      = 128
)

// Message types (option 53).
const (
	Discover = 1
	Offer    = 2
	Request  = 3
	Decline  = 4
	Ack      = 5
	Nak      = 6
	Release  = 7
	Inform   = 8
)

// BOOTP op codes.
const (
	BootRequest = 1 // client to server
	BootReply   = 2 // server to client
)

// Errors returned by Parse. They are sentinels: compare with errors.Is.
var (
	// ErrShort means the message is shorter than the fixed header (236
	// bytes) or an option runs past the end of its field.
	ErrShort = errors.New("dhcp: message cut off")

	// ErrCookie means the four bytes after the fixed header are not the DHCP
	// magic cookie 99.130.83.99: a BOOTP message or not DHCP at all. The
	// header fields are filled; no option is read.
	ErrCookie = errors.New("dhcp: no magic cookie")
)

// Text is the value of a variable-length option: at most 255 bytes, as
// found on the wire. The zero Text is empty. A Text is a value: copying it
// copies the bytes.
type Text struct {
	buf [255]byte
	n   uint8
}

// Bytes returns the value. The slice is a view into t, valid until t is next
// modified (for a Text inside a Message, until the next Parse into it); its
// capacity is its length, so appending to it copies.
func (t *Text) Bytes() []byte { return t.buf[:t.n:t.n] }

// String returns the value as a string. It allocates.
func (t *Text) String() string { return string(t.buf[:t.n]) }

// Len returns the length of the value in bytes.
func (t *Text) Len() int { return int(t.n) }

// add appends b, keeping at most 255 bytes in all.
func (t *Text) add(b []byte) {
	t.n += uint8(copy(t.buf[t.n:], b))
}

// Message is a decoded DHCPv4 message. Parse fills it; the zero value is
// ready for use and one Message is meant to be reused. A field of an option
// that was absent is zero: an invalid netip.Addr, an empty Text, Type 0.
// Trailing NUL bytes, which some clients send after HostName, VendorClass
// and an ASCII FQDN (C strings with their terminator), are removed.
type Message struct {
	Op     uint8 // BootRequest or BootReply
	HType  uint8 // hardware type; 1 = Ethernet
	HLen   uint8 // hardware address length
	Hops   uint8
	XID    uint32
	Secs   uint16
	Flags  uint16
	CIAddr netip.Addr // client's address, when it has one
	YIAddr netip.Addr // "your" address: what the server gives the client
	SIAddr netip.Addr
	GIAddr netip.Addr // relay agent
	CHAddr [16]byte   // client hardware address; the first HLen bytes count

	Type        uint8      // option 53; 0 when absent
	HostName    Text       // option 12
	FQDN        Text       // option 81 domain name in text form (labels joined by '.')
	FQDNFlags   uint8      // option 81 flags (S 0x01, O 0x02, E 0x04, N 0x08)
	HasFQDN     bool       // option 81 was present
	ParamList   Text       // option 55: requested option codes, one byte each, in wire order
	VendorClass Text       // option 60
	ClientID    Text       // option 61: type byte then identifier
	RequestedIP netip.Addr // option 50
	ServerID    netip.Addr // option 54

	// BadOptions counts kept options whose length does not fit their type
	// (a message type that is not 1 byte, an address that is not 4): they
	// are ignored, the rest of the message is still read.
	BadOptions int
}

// MAC returns the client hardware address as an Ethernet MAC, and false when
// the message is not for Ethernet (htype 1, hlen 6).
func (m *Message) MAC() ([6]byte, bool) {
	var mac [6]byte
	if m.HType != 1 || m.HLen != 6 {
		return mac, false
	}
	copy(mac[:], m.CHAddr[:6])
	return mac, true
}

// ClientIDMAC returns the MAC inside a client identifier of type 1
// (Ethernet), as most clients send it, and false for any other identifier
// (a DUID, a name, ...).
func (m *Message) ClientIDMAC() ([6]byte, bool) {
	var mac [6]byte
	id := m.ClientID.Bytes()
	if len(id) != 7 || id[0] != 1 {
		return mac, false
	}
	copy(mac[:], id[1:])
	return mac, true
}

// AppendParamList appends the parameter request list (option 55) to dst as
// decimal codes separated by commas, in wire order ("1,3,6,15"): the usual
// DHCP fingerprint. It appends nothing when the option was absent.
func (m *Message) AppendParamList(dst []byte) []byte {
	for i, c := range m.ParamList.Bytes() {
		if i > 0 {
			dst = append(dst, ',')
		}
		if c >= 100 {
			dst = append(dst, '0'+c/100)
		}
		if c >= 10 {
			dst = append(dst, '0'+c/10%10)
		}
		dst = append(dst, '0'+c%10)
	}
	return dst
}

// Parse decodes the DHCP message msg (a UDP payload) into m, resetting m
// first. It never allocates, never panics, does not modify msg and keeps no
// reference to it. Bytes after the end option are ignored.
//
// It returns nil, ErrCookie (header filled, no options) or ErrShort. On
// ErrShort m keeps what was decoded before the fault: the header when msg
// holds 236 bytes, and every option that ended before the cut.
func Parse(msg []byte, m *Message) error {
	*m = Message{}
	if len(msg) < headerLen {
		return ErrShort
	}
	m.Op, m.HType, m.HLen, m.Hops = msg[0], msg[1], msg[2], msg[3]
	m.XID = be32(msg[4:])
	m.Secs = be16(msg[8:])
	m.Flags = be16(msg[10:])
	m.CIAddr = addr4(msg[12:])
	m.YIAddr = addr4(msg[16:])
	m.SIAddr = addr4(msg[20:])
	m.GIAddr = addr4(msg[24:])
	copy(m.CHAddr[:], msg[28:44])
	if len(msg) < optionsStart {
		return ErrShort
	}
	if msg[236] != 99 || msg[237] != 130 || msg[238] != 83 || msg[239] != 99 {
		return ErrCookie
	}
	overload, err := m.options(msg[optionsStart:], true)
	if err != nil {
		return err
	}
	// RFC 2131 4.1: the options field first, then 'file', then 'sname'.
	if overload&1 != 0 {
		if _, err := m.options(msg[fileOff:fileOff+fileLen], false); err != nil {
			return err
		}
	}
	if overload&2 != 0 {
		if _, err := m.options(msg[snameOff:snameOff+snameLen], false); err != nil {
			return err
		}
	}
	m.HostName.trimNUL()
	m.VendorClass.trimNUL()
	m.FQDN.trimNUL()
	return nil
}

// options reads the options in b up to the end option or the end of b. In
// the main options field (main) it also returns the overload value.
func (m *Message) options(b []byte, main bool) (overload uint8, err error) {
	for i := 0; i < len(b); {
		code := b[i]
		if code == OptPad {
			i++
			continue
		}
		if code == OptEnd {
			return overload, nil
		}
		if i+1 >= len(b) {
			return overload, ErrShort
		}
		l := int(b[i+1])
		if len(b)-(i+2) < l {
			return overload, ErrShort
		}
		v := b[i+2 : i+2+l]
		i += 2 + l
		switch code {
		case OptMessageType:
			if l == 1 {
				m.Type = v[0]
			} else {
				m.BadOptions++
			}
		case OptRequestedIP:
			m.RequestedIP = m.optAddr(v, m.RequestedIP)
		case OptServerID:
			m.ServerID = m.optAddr(v, m.ServerID)
		case OptHostName:
			m.HostName.add(v)
		case OptParamList:
			m.ParamList.add(v)
		case OptVendorClass:
			m.VendorClass.add(v)
		case OptClientID:
			m.ClientID.add(v)
		case OptClientFQDN:
			m.fqdn(v)
		case OptOverload:
			if main && l == 1 && v[0] <= 3 {
				overload = v[0]
			} else if main {
				m.BadOptions++
			}
		}
	}
	return overload, nil
}

// optAddr returns the address in a 4-byte option value, or old (and counts a
// bad option) when v is not 4 bytes.
func (m *Message) optAddr(v []byte, old netip.Addr) netip.Addr {
	if len(v) != 4 {
		m.BadOptions++
		return old
	}
	return addr4(v)
}

// fqdn decodes option 81 (RFC 4702): flags, two obsolete RCODE bytes, then
// the domain name, in DNS wire format when the E flag is set, else as ASCII.
// A wire-format name may be partial (no root label). Labels are joined with
// '.' as they are; a malformed name keeps the labels read before the fault
// and counts a bad option. A second option 81 is ignored.
func (m *Message) fqdn(v []byte) {
	if m.HasFQDN {
		return
	}
	if len(v) < 3 {
		m.BadOptions++
		return
	}
	m.HasFQDN = true
	m.FQDNFlags = v[0]
	name := v[3:]
	if m.FQDNFlags&0x04 == 0 {
		m.FQDN.add(name)
		return
	}
	for len(name) > 0 {
		l := int(name[0])
		if l == 0 {
			return
		}
		if l > 63 || len(name) < 1+l || m.FQDN.Len()+1+l > len(m.FQDN.buf) {
			m.BadOptions++ // compression pointers are not allowed here either
			return
		}
		if m.FQDN.n > 0 {
			m.FQDN.buf[m.FQDN.n] = '.'
			m.FQDN.n++
		}
		m.FQDN.add(name[1 : 1+l])
		name = name[1+l:]
	}
}

// trimNUL removes the NUL bytes that some clients put after a text option
// (C strings sent with their terminator).
func (t *Text) trimNUL() {
	for t.n > 0 && t.buf[t.n-1] == 0 {
		t.n--
	}
}

func addr4(b []byte) netip.Addr {
	return netip.AddrFrom4([4]byte{b[0], b[1], b[2], b[3]})
}

func be16(b []byte) uint16 {
	_ = b[1]
	return uint16(b[0])<<8 | uint16(b[1])
}

func be32(b []byte) uint32 {
	_ = b[3]
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
