package dhcp

import (
	"bytes"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// msgBuilder builds DHCP messages for the tests.
type msgBuilder struct {
	op      byte
	mac     [6]byte
	ciaddr  [4]byte
	yiaddr  [4]byte
	sname   []byte // raw sname field (64 bytes at most)
	file    []byte // raw file field (128 bytes at most)
	options []byte // raw options after the cookie (no end option added)
	noCook  bool
}

func (b msgBuilder) bytes() []byte {
	m := make([]byte, optionsStart)
	m[0], m[1], m[2] = b.op, 1, 6
	copy(m[4:], []byte{0xde, 0xad, 0xbe, 0xef})
	copy(m[12:], b.ciaddr[:])
	copy(m[16:], b.yiaddr[:])
	copy(m[28:], b.mac[:])
	copy(m[snameOff:snameOff+snameLen], b.sname)
	copy(m[fileOff:fileOff+fileLen], b.file)
	if !b.noCook {
		copy(m[236:], []byte{99, 130, 83, 99})
	}
	return append(m, b.options...)
}

func opt(code byte, v ...byte) []byte { return append([]byte{code, byte(len(v))}, v...) }

func opts(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

var testMAC = [6]byte{0x02, 0x00, 0x5e, 0x10, 0x20, 0x30}

// discover is a typical DISCOVER: what a phone sends.
func discover() []byte {
	return msgBuilder{op: BootRequest, mac: testMAC, options: opts(
		opt(OptMessageType, Discover),
		opt(OptClientID, 1, 0x02, 0x00, 0x5e, 0x10, 0x20, 0x30),
		opt(OptRequestedIP, 192, 0, 2, 10),
		opt(OptHostName, []byte("Galaxy-S21")...),
		opt(OptVendorClass, []byte("android-dhcp-13")...),
		opt(OptParamList, 1, 3, 6, 15, 26, 28, 51, 58, 59, 43, 114, 108),
		[]byte{OptEnd},
	)}.bytes()
}

func TestParse(t *testing.T) {
	type want struct {
		err         error
		typ         uint8
		host, fqdn  string
		vendor      string
		params      string
		clientID    []byte
		requested   string
		server      string
		ciaddr      string
		yiaddr      string
		fqdnFlags   uint8
		hasFQDN     bool
		badOptions  int
		macOK, idOK bool
	}
	tests := []struct {
		name string
		msg  []byte
		want want
	}{
		{"discover", discover(), want{typ: Discover, host: "Galaxy-S21", vendor: "android-dhcp-13",
			params: "1,3,6,15,26,28,51,58,59,43,114,108", clientID: []byte{1, 0x02, 0x00, 0x5e, 0x10, 0x20, 0x30},
			requested: "192.0.2.10", ciaddr: "0.0.0.0", yiaddr: "0.0.0.0", macOK: true, idOK: true}},
		{"ack from server", msgBuilder{op: BootReply, mac: testMAC, yiaddr: [4]byte{192, 0, 2, 10}, options: opts(
			opt(OptMessageType, Ack), opt(OptServerID, 192, 0, 2, 1), opt(OptVendorClass, []byte("dnsmasq")...), []byte{OptEnd})}.bytes(),
			want{typ: Ack, vendor: "dnsmasq", server: "192.0.2.1", ciaddr: "0.0.0.0", yiaddr: "192.0.2.10", macOK: true}},
		{"fqdn wire format", msgBuilder{op: BootRequest, mac: testMAC, options: opts(
			opt(OptMessageType, Request), opt(OptClientFQDN, 0x05, 0, 0, 6, 'l', 'a', 'p', 't', 'o', 'p', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0))}.bytes(),
			want{typ: Request, fqdn: "laptop.example", fqdnFlags: 5, hasFQDN: true, ciaddr: "0.0.0.0", yiaddr: "0.0.0.0", macOK: true}},
		{"fqdn partial wire name", msgBuilder{op: BootRequest, mac: testMAC, options: opts(
			opt(OptClientFQDN, 0x04, 0, 0, 4, 'h', 'o', 's', 't'))}.bytes(),
			want{fqdn: "host", fqdnFlags: 4, hasFQDN: true, ciaddr: "0.0.0.0", yiaddr: "0.0.0.0", macOK: true}},
		{"fqdn ascii with NUL", msgBuilder{op: BootRequest, mac: testMAC, options: opts(
			opt(OptClientFQDN, 0x00, 0xff, 0xff, 'p', 'c', '.', 'l', 'a', 'n', 0))}.bytes(),
			want{fqdn: "pc.lan", hasFQDN: true, ciaddr: "0.0.0.0", yiaddr: "0.0.0.0", macOK: true}},
		{"fqdn bad label", msgBuilder{op: BootRequest, mac: testMAC, options: opts(
			opt(OptClientFQDN, 0x04, 0, 0, 2, 'o', 'k', 9, 'x'))}.bytes(),
			want{fqdn: "ok", fqdnFlags: 4, hasFQDN: true, badOptions: 1, ciaddr: "0.0.0.0", yiaddr: "0.0.0.0", macOK: true}},
		{"host name with NUL, repeated options concatenate", msgBuilder{op: BootRequest, mac: testMAC, options: opts(
			opt(OptHostName, 'l', 'o', 'n', 'g'), opt(OptParamList, 1, 3), opt(OptHostName, '-', 'n', 'a', 'm', 'e', 0, 0), opt(OptParamList, 6))}.bytes(),
			want{host: "long-name", params: "1,3,6", ciaddr: "0.0.0.0", yiaddr: "0.0.0.0", macOK: true}},
		{"pads, no end option", msgBuilder{op: BootRequest, mac: testMAC, options: opts(
			[]byte{0, 0, 0}, opt(OptMessageType, Inform), []byte{0})}.bytes(),
			want{typ: Inform, ciaddr: "0.0.0.0", yiaddr: "0.0.0.0", macOK: true}},
		{"bytes after the end option ignored", msgBuilder{op: BootRequest, mac: testMAC, options: opts(
			opt(OptMessageType, Release), []byte{OptEnd}, opt(OptHostName, 'x'), []byte{7, 200})}.bytes(),
			want{typ: Release, ciaddr: "0.0.0.0", yiaddr: "0.0.0.0", macOK: true}},
		{"overload file and sname", msgBuilder{op: BootRequest, mac: testMAC,
			file:    opts(opt(OptHostName, 'f', 'i', 'l', 'e'), []byte{OptEnd}),
			sname:   opts(opt(OptVendorClass, 's', 'n'), []byte{OptEnd}),
			options: opts(opt(OptMessageType, Discover), opt(OptOverload, 3), []byte{OptEnd})}.bytes(),
			want{typ: Discover, host: "file", vendor: "sn", ciaddr: "0.0.0.0", yiaddr: "0.0.0.0", macOK: true}},
		{"no overload: sname not read", msgBuilder{op: BootRequest, mac: testMAC,
			sname:   opts(opt(OptVendorClass, 's', 'n'), []byte{OptEnd}),
			options: opts(opt(OptMessageType, Discover), []byte{OptEnd})}.bytes(),
			want{typ: Discover, ciaddr: "0.0.0.0", yiaddr: "0.0.0.0", macOK: true}},
		{"bad lengths are counted, not fatal", msgBuilder{op: BootRequest, mac: testMAC, ciaddr: [4]byte{192, 0, 2, 7}, options: opts(
			opt(OptMessageType, 1, 2), opt(OptRequestedIP, 1, 2, 3), opt(OptServerID), opt(OptOverload, 9), opt(OptHostName, 'h'), []byte{OptEnd})}.bytes(),
			want{host: "h", badOptions: 4, ciaddr: "192.0.2.7", yiaddr: "0.0.0.0", macOK: true}},
		{"option cut off", msgBuilder{op: BootRequest, mac: testMAC, options: opts(opt(OptHostName, 'a', 'b'), []byte{OptVendorClass, 10, 'x'})}.bytes(),
			want{err: ErrShort, host: "ab", ciaddr: "0.0.0.0", yiaddr: "0.0.0.0", macOK: true}},
		{"option code without length", msgBuilder{op: BootRequest, mac: testMAC, options: []byte{OptHostName}}.bytes(),
			want{err: ErrShort, ciaddr: "0.0.0.0", yiaddr: "0.0.0.0", macOK: true}},
		{"bootp: no cookie", msgBuilder{op: BootRequest, mac: testMAC, noCook: true, options: opts(opt(OptHostName, 'x'))}.bytes(),
			want{err: ErrCookie, ciaddr: "0.0.0.0", yiaddr: "0.0.0.0", macOK: true}},
		{"header only", discover()[:headerLen], want{err: ErrShort, ciaddr: "0.0.0.0", yiaddr: "0.0.0.0", macOK: true}},
		{"too short", discover()[:100], want{err: ErrShort}},
		{"empty", nil, want{err: ErrShort}},
	}
	var m Message
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Fill m with another message first: nothing may leak through.
			if err := Parse(discover(), &m); err != nil {
				t.Fatal(err)
			}
			err := Parse(tt.msg, &m)
			w := tt.want
			if !errors.Is(err, w.err) || (w.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, w.err)
			}
			str := func(name, got, want string) {
				t.Helper()
				if got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if m.Type != w.typ {
				t.Errorf("Type = %d, want %d", m.Type, w.typ)
			}
			str("HostName", m.HostName.String(), w.host)
			str("FQDN", m.FQDN.String(), w.fqdn)
			str("VendorClass", m.VendorClass.String(), w.vendor)
			str("ParamList", string(m.AppendParamList(nil)), w.params)
			str("RequestedIP", addrText(m.RequestedIP), w.requested)
			str("ServerID", addrText(m.ServerID), w.server)
			str("CIAddr", addrText(m.CIAddr), w.ciaddr)
			str("YIAddr", addrText(m.YIAddr), w.yiaddr)
			if !bytes.Equal(m.ClientID.Bytes(), w.clientID) {
				t.Errorf("ClientID = %x, want %x", m.ClientID.Bytes(), w.clientID)
			}
			if m.FQDNFlags != w.fqdnFlags || m.HasFQDN != w.hasFQDN {
				t.Errorf("FQDN flags %#x has %v, want %#x %v", m.FQDNFlags, m.HasFQDN, w.fqdnFlags, w.hasFQDN)
			}
			if m.BadOptions != w.badOptions {
				t.Errorf("BadOptions = %d, want %d", m.BadOptions, w.badOptions)
			}
			if mac, ok := m.MAC(); ok != w.macOK || (ok && mac != testMAC) {
				t.Errorf("MAC = %x %v, want %x %v", mac, ok, testMAC, w.macOK)
			}
			if id, ok := m.ClientIDMAC(); ok != w.idOK || (ok && id != testMAC) {
				t.Errorf("ClientIDMAC = %x %v, want %v", id, ok, w.idOK)
			}
		})
	}
}

func TestHeader(t *testing.T) {
	msg := discover()
	msg[3] = 2                              // hops
	copy(msg[8:], []byte{0, 5, 0x80, 0})    // secs, broadcast flag
	copy(msg[20:], []byte{192, 0, 2, 1})    // siaddr
	copy(msg[24:], []byte{198, 51, 100, 1}) // giaddr
	var m Message
	if err := Parse(msg, &m); err != nil {
		t.Fatal(err)
	}
	if m.Op != BootRequest || m.HType != 1 || m.HLen != 6 || m.Hops != 2 || m.XID != 0xdeadbeef ||
		m.Secs != 5 || m.Flags != 0x8000 || m.SIAddr != netip.MustParseAddr("192.0.2.1") ||
		m.GIAddr != netip.MustParseAddr("198.51.100.1") {
		t.Errorf("header %+v", m)
	}
	// Not Ethernet: no MAC.
	msg[1] = 6
	if err := Parse(msg, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.MAC(); ok {
		t.Error("MAC of a non-Ethernet message")
	}
}

func TestLongOptionsCapped(t *testing.T) {
	name := bytes.Repeat([]byte{'n'}, 200)
	msg := msgBuilder{op: BootRequest, mac: testMAC, options: opts(opt(OptHostName, name...), opt(OptHostName, name...))}.bytes()
	var m Message
	if err := Parse(msg, &m); err != nil {
		t.Fatal(err)
	}
	if m.HostName.Len() != 255 {
		t.Errorf("host name of %d bytes, want 255 (capped)", m.HostName.Len())
	}
	var all [255]byte
	for i := range all {
		all[i] = byte(i + 1)
	}
	msg = msgBuilder{op: BootRequest, mac: testMAC, options: opts(opt(OptParamList, all[:]...))}.bytes()
	if err := Parse(msg, &m); err != nil {
		t.Fatal(err)
	}
	want := make([]string, 255)
	for i := range want {
		want[i] = strconv.Itoa(i + 1)
	}
	if got := string(m.AppendParamList(nil)); got != strings.Join(want, ",") {
		t.Errorf("param list %q", got)
	}
}

func TestParseAllocatesNothing(t *testing.T) {
	msg := discover()
	var m Message
	var buf []byte
	allocs := testing.AllocsPerRun(100, func() {
		if err := Parse(msg, &m); err != nil {
			t.Fatal(err)
		}
		buf = m.AppendParamList(buf[:0])
	})
	if allocs != 0 {
		t.Errorf("%v allocations per Parse", allocs)
	}
}

func BenchmarkParse(b *testing.B) {
	msg := discover()
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := Parse(msg, &m); err != nil {
			b.Fatal(err)
		}
	}
}
