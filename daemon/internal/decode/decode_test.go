package decode

import (
	"encoding/binary"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"tamon/daemon/internal/capture"
)

var (
	macA = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0a}
	macB = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0b}
	v4a  = net.IP{192, 0, 2, 1}
	v4b  = net.IP{198, 51, 100, 7}
	v6a  = net.ParseIP("2001:db8::1")
	v6b  = net.ParseIP("2001:db8:ff::2")
)

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func eth(t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: t}
}

func ip4(proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: v4a, DstIP: v4b, Id: 7}
}

func ip6(next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, NextHeader: next, HopLimit: 64, SrcIP: v6a, DstIP: v6b}
}

func tcp(net gopacket.NetworkLayer, syn bool) *layers.TCP {
	l := &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 1000, SYN: syn, ACK: !syn, Window: 1000}
	l.SetNetworkLayerForChecksum(net)
	return l
}

func udp(net gopacket.NetworkLayer) *layers.UDP {
	l := &layers.UDP{SrcPort: 5353, DstPort: 53}
	l.SetNetworkLayerForChecksum(net)
	return l
}

type want struct {
	reason  Reason
	family  uint8
	proto   uint8
	sport   uint16
	dport   uint16
	vlan    uint16
	inner   uint16
	ipLen   int
	payload int
	flags   uint8
	pppoe   bool
	hasMAC  bool
}

func check(t *testing.T, name string, p *Packet, r Reason, w want) {
	t.Helper()
	if r != w.reason {
		t.Fatalf("%s: reason %v, want %v", name, r, w.reason)
	}
	if r != ReasonOK {
		return
	}
	got := want{r, p.Family, p.Proto, p.SrcPort, p.DstPort, p.VLAN, p.InnerVLAN, p.IPLen, len(p.Payload), p.TCPFlags, p.PPPoE, p.HasMAC}
	if got != w {
		t.Errorf("%s:\n got %+v\nwant %+v", name, got, w)
	}
}

func TestDecodeLinkAndNetwork(t *testing.T) {
	pay := gopacket.Payload([]byte("hello, world"))
	i4, i6 := ip4(layers.IPProtocolTCP), ip6(layers.IPProtocolTCP)
	u4 := ip4(layers.IPProtocolUDP)
	tcp4 := serialize(t, i4, tcp(i4, true), pay)
	tcp6 := serialize(t, i6, tcp(i6, false), pay)
	udp4 := serialize(t, u4, udp(u4), pay)
	prepend := func(h []byte, rest []byte) []byte { return append(append([]byte(nil), h...), rest...) }
	ethHdr := func(et uint16) []byte {
		h := make([]byte, 14)
		copy(h[0:6], macB)
		copy(h[6:12], macA)
		binary.BigEndian.PutUint16(h[12:], et)
		return h
	}
	vlanTag := func(id, et uint16) []byte {
		h := make([]byte, 4)
		binary.BigEndian.PutUint16(h[0:], id|0x2000)
		binary.BigEndian.PutUint16(h[2:], et)
		return h
	}
	pppoe := func(ip []byte, proto uint16) []byte {
		h := make([]byte, 8)
		h[0] = 0x11
		binary.BigEndian.PutUint16(h[2:], 0x1234)
		binary.BigEndian.PutUint16(h[4:], uint16(len(ip)+2))
		binary.BigEndian.PutUint16(h[6:], proto)
		return prepend(h, ip)
	}
	sll := func(et uint16) []byte {
		h := make([]byte, 16)
		binary.BigEndian.PutUint16(h[2:], 1)
		binary.BigEndian.PutUint16(h[4:], 6)
		copy(h[6:12], macA)
		binary.BigEndian.PutUint16(h[14:], et)
		return h
	}
	sll2 := func(et uint16) []byte {
		h := make([]byte, 20)
		binary.BigEndian.PutUint16(h[0:], et)
		binary.BigEndian.PutUint32(h[4:], 3)
		binary.BigEndian.PutUint16(h[8:], 1)
		h[11] = 6
		copy(h[12:18], macA)
		return h
	}
	null := func(fam uint32) []byte {
		h := make([]byte, 4)
		binary.LittleEndian.PutUint32(h, fam)
		return h
	}
	loop := func(fam uint32) []byte {
		h := make([]byte, 4)
		binary.BigEndian.PutUint32(h, fam)
		return h
	}
	wt4 := want{ReasonOK, 4, 6, 40000, 443, 0, 0, 20 + 20 + 12, 12, SYN, false, true}
	wt6 := want{ReasonOK, 6, 6, 40000, 443, 0, 0, 40 + 20 + 12, 12, ACK, false, true}
	wu4 := want{ReasonOK, 4, 17, 5353, 53, 0, 0, 20 + 8 + 12, 12, 0, false, true}
	noMAC := func(w want) want { w.hasMAC = false; return w }
	withVLAN := func(w want, v, in uint16) want { w.vlan, w.inner = v, in; return w }
	arp := serialize(t, eth(layers.EthernetTypeARP), &layers.ARP{AddrType: 1, Protocol: 0x0800, HwAddressSize: 6,
		ProtAddressSize: 4, SourceHwAddress: macA, SourceProtAddress: v4a, DstHwAddress: macB, DstProtAddress: v4b})
	badIHL := prepend(ethHdr(0x0800), tcp4)
	badIHL[14] = 0x43 // IHL 3 < 5
	// The link layer says IPv4, the header says version 6, and the reverse.
	v6InV4 := prepend(ethHdr(0x0800), tcp4)
	v6InV4[14] = 0x65
	v4InV6 := prepend(ethHdr(0x86dd), tcp6)
	v4InV6[14] = 0x40 | v4InV6[14]&0x0f
	cases := []struct {
		name string
		link capture.LinkType
		data []byte
		want want
	}{
		{"ethernet ipv4 tcp", capture.LinkEthernet, prepend(ethHdr(0x0800), tcp4), wt4},
		{"ethernet ipv6 tcp", capture.LinkEthernet, prepend(ethHdr(0x86dd), tcp6), wt6},
		{"ethernet ipv4 udp", capture.LinkEthernet, prepend(ethHdr(0x0800), udp4), wu4},
		{"802.1q", capture.LinkEthernet, prepend(append(ethHdr(0x8100), vlanTag(42, 0x0800)...), tcp4), withVLAN(wt4, 42, 0)},
		{"qinq 802.1ad", capture.LinkEthernet, prepend(append(append(ethHdr(0x88a8), vlanTag(100, 0x8100)...), vlanTag(7, 0x86dd)...), tcp6), withVLAN(wt6, 100, 7)},
		{"pppoe ipv4", capture.LinkEthernet, prepend(ethHdr(0x8864), pppoe(udp4, 0x0021)), func() want { w := wu4; w.pppoe = true; return w }()},
		{"pppoe ipv6", capture.LinkEthernet, prepend(ethHdr(0x8864), pppoe(tcp6, 0x0057)), func() want { w := wt6; w.pppoe = true; return w }()},
		{"pppoe lcp", capture.LinkEthernet, prepend(ethHdr(0x8864), pppoe([]byte{1, 1, 0, 4}, 0xc021)), want{reason: ReasonNonIP}},
		{"vlan pppoe ipv4", capture.LinkEthernet, prepend(append(ethHdr(0x8100), vlanTag(5, 0x8864)...), pppoe(tcp4, 0x0021)), func() want { w := withVLAN(wt4, 5, 0); w.pppoe = true; return w }()},
		{"linux sll", capture.LinkLinuxSLL, prepend(sll(0x0800), tcp4), wt4},
		{"linux sll2", capture.LinkLinuxSLL2, prepend(sll2(0x86dd), tcp6), wt6},
		{"bsd null", capture.LinkNull, prepend(null(2), tcp4), noMAC(wt4)},
		{"bsd null ipv6", capture.LinkNull, prepend(null(30), tcp6), noMAC(wt6)},
		{"openbsd loop", capture.LinkLoop, prepend(loop(2), udp4), noMAC(wu4)},
		{"raw ipv4", capture.LinkRaw, tcp4, noMAC(wt4)},
		{"raw ipv6", capture.LinkRaw, tcp6, noMAC(wt6)},
		{"arp", capture.LinkEthernet, arp, want{reason: ReasonNonIP}},
		{"empty", capture.LinkEthernet, nil, want{reason: ReasonTruncated}},
		{"ethernet only", capture.LinkEthernet, ethHdr(0x0800), want{reason: ReasonTruncated}},
		{"ip header cut", capture.LinkEthernet, prepend(ethHdr(0x0800), tcp4[:12]), want{reason: ReasonTruncated}},
		{"tcp header cut before flags", capture.LinkEthernet, prepend(ethHdr(0x0800), tcp4[:20+10]), want{reason: ReasonTruncated}},
		{"bad ihl", capture.LinkEthernet, badIHL, want{reason: ReasonMalformed}},
		{"IPv4 type, version 6", capture.LinkEthernet, v6InV4, want{reason: ReasonMalformed}},
		{"IPv6 type, version 4", capture.LinkEthernet, v4InV6, want{reason: ReasonMalformed}},
		{"IPv4 type, version 6, short frame", capture.LinkEthernet, v6InV4[:14+40], want{reason: ReasonMalformed}},
		{"raw garbage version", capture.LinkRaw, []byte{0x50, 1, 2, 3}, want{reason: ReasonMalformed}},
	}
	d := NewDecoder(8)
	var p Packet
	for _, c := range cases {
		r := d.Decode(c.data, c.link, len(c.data), 1, &p)
		check(t, c.name, &p, r, c.want)
	}
}

// A TCP header cut by the snap length after its flags still decodes.
func TestDecodeShortTCPHeader(t *testing.T) {
	i4 := ip4(layers.IPProtocolTCP)
	full := serialize(t, eth(layers.EthernetTypeIPv4), i4, tcp(i4, true), gopacket.Payload(make([]byte, 100)))
	d := NewDecoder(0)
	var p Packet
	r := d.Decode(full[:14+20+16], capture.LinkEthernet, len(full), 1, &p)
	if r != ReasonOK || p.SrcPort != 40000 || p.TCPFlags != SYN || p.IPLen != 20+20+100 || d.ShortTCP != 1 {
		t.Fatalf("reason %v ports %d flags %#x iplen %d short %d", r, p.SrcPort, p.TCPFlags, p.IPLen, d.ShortTCP)
	}
}

func fragments4(t *testing.T, payload []byte, size int) [][]byte {
	i4 := ip4(layers.IPProtocolUDP)
	whole := serialize(t, i4, udp(i4), gopacket.Payload(payload))
	body := whole[20:]
	var out [][]byte
	for off := 0; off < len(body); off += size {
		end := min(off+size, len(body))
		h := append([]byte(nil), whole[:20]...)
		binary.BigEndian.PutUint16(h[2:], uint16(20+end-off))
		fo := uint16(off / 8)
		if end < len(body) {
			fo |= 0x2000
		}
		binary.BigEndian.PutUint16(h[6:], fo)
		out = append(out, append(h, body[off:end]...))
	}
	return out
}

func TestDefragIPv4(t *testing.T) {
	payload := make([]byte, 3000)
	for i := range payload {
		payload[i] = byte(i)
	}
	frags := fragments4(t, payload, 1480)
	if len(frags) != 3 {
		t.Fatalf("%d fragments", len(frags))
	}
	orders := [][]int{{0, 1, 2}, {2, 1, 0}, {1, 0, 2}, {0, 0, 1, 1, 2}}
	for _, order := range orders {
		d := NewDecoder(4)
		var p Packet
		var r Reason
		for i, idx := range order {
			r = d.Decode(frags[idx], capture.LinkRaw, len(frags[idx]), int64(i), &p)
			if i < len(order)-1 && r != ReasonFragment {
				t.Fatalf("order %v: fragment %d gave %v", order, i, r)
			}
		}
		if r != ReasonOK || !p.Reassembled || p.SrcPort != 5353 || p.IPLen != 20+8+3000 || len(p.Payload) != 3000 || p.Payload[2999] != byte(2999%256) {
			t.Fatalf("order %v: reason %v reassembled %v iplen %d payload %d", order, r, p.Reassembled, p.IPLen, len(p.Payload))
		}
	}
	// Overlapping fragments drop the datagram; a timeout frees the slot.
	d := NewDecoder(1)
	var p Packet
	bad := append([]byte(nil), frags[1]...)
	binary.BigEndian.PutUint16(bad[6:], 0x2000|uint16(1000/8))
	d.Decode(frags[0], capture.LinkRaw, 0, 0, &p)
	if r := d.Decode(bad, capture.LinkRaw, 0, 1, &p); r != ReasonFragDropped {
		t.Fatalf("overlap: %v", r)
	}
	d.Decode(frags[0], capture.LinkRaw, 0, 2, &p)
	d.Decode(frags[1], capture.LinkRaw, 0, 2+FragTimeout+1, &p)
	if d.Defrag.Stats.TimedOut != 1 {
		t.Fatalf("timed out %d, want 1", d.Defrag.Stats.TimedOut)
	}
}

func TestDefragIPv6(t *testing.T) {
	payload := make([]byte, 2000)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	i6 := ip6(layers.IPProtocolUDP)
	whole := serialize(t, i6, udp(i6), gopacket.Payload(payload))
	body := whole[40:]
	var frags [][]byte
	for off := 0; off < len(body); off += 1232 {
		end := min(off+1232, len(body))
		h := append([]byte(nil), whole[:40]...)
		h[6] = 44
		binary.BigEndian.PutUint16(h[4:], uint16(8+end-off))
		fh := make([]byte, 8)
		fh[0] = 17
		fo := uint16(off/8) << 3
		if end < len(body) {
			fo |= 1
		}
		binary.BigEndian.PutUint16(fh[2:], fo)
		binary.BigEndian.PutUint32(fh[4:], 0xabcd)
		frags = append(frags, append(append(h, fh...), body[off:end]...))
	}
	d := NewDecoder(4)
	var p Packet
	if r := d.Decode(frags[1], capture.LinkRaw, 0, 0, &p); r != ReasonFragment {
		t.Fatalf("first: %v", r)
	}
	r := d.Decode(frags[0], capture.LinkRaw, 0, 1, &p)
	if r != ReasonOK || p.Family != 6 || p.Proto != 17 || p.DstPort != 53 || len(p.Payload) != 2000 || p.IPLen != 40+8+2000 {
		t.Fatalf("reason %v family %d proto %d port %d payload %d iplen %d", r, p.Family, p.Proto, p.DstPort, len(p.Payload), p.IPLen)
	}
}

func TestDecodeIPv6ExtensionHeaders(t *testing.T) {
	i6 := ip6(layers.IPProtocolTCP)
	base := serialize(t, i6, tcp(i6, true), gopacket.Payload([]byte("abc")))
	// insert a destination options header (8 bytes) before TCP
	ext := []byte{6, 0, 1, 4, 0, 0, 0, 0}
	pkt := append(append(append([]byte(nil), base[:40]...), ext...), base[40:]...)
	pkt[6] = 60
	binary.BigEndian.PutUint16(pkt[4:], uint16(len(pkt)-40))
	d := NewDecoder(0)
	var p Packet
	r := d.Decode(pkt, capture.LinkRaw, len(pkt), 0, &p)
	if r != ReasonOK || p.Proto != 6 || p.SrcPort != 40000 || string(p.Payload) != "abc" || p.PayloadLen != 3 {
		t.Fatalf("reason %v proto %d port %d payload %q/%d", r, p.Proto, p.SrcPort, p.Payload, p.PayloadLen)
	}
}

// A hop-by-hop options header right after the fixed header counts in the
// IP header length: TCP's payload length is not overstated by it, and a
// fragmented datagram carrying one (as MLD and router-alert traffic does)
// is reassembled, not dropped.
func TestDecodeIPv6HopByHop(t *testing.T) {
	hbh := func(next byte) []byte { return []byte{next, 0, 5, 2, 0, 0, 1, 0} } // router alert, PadN
	insert := func(pkt []byte, ext []byte) []byte {
		out := append(append(append([]byte(nil), pkt[:40]...), ext...), pkt[40:]...)
		out[6] = 0
		binary.BigEndian.PutUint16(out[4:], uint16(len(out)-40))
		return out
	}
	t.Run("tcp", func(t *testing.T) {
		i6 := ip6(layers.IPProtocolTCP)
		pkt := insert(serialize(t, i6, tcp(i6, false), gopacket.Payload([]byte("abcdef"))), hbh(6))
		d := NewDecoder(0)
		var p Packet
		r := d.Decode(pkt, capture.LinkRaw, len(pkt), 0, &p)
		if r != ReasonOK || p.Proto != 6 || string(p.Payload) != "abcdef" || p.PayloadLen != 6 || p.IPLen != len(pkt) {
			t.Fatalf("reason %v proto %d payload %q/%d iplen %d", r, p.Proto, p.Payload, p.PayloadLen, p.IPLen)
		}
	})
	t.Run("fragments", func(t *testing.T) {
		payload := make([]byte, 1500)
		i6 := ip6(layers.IPProtocolUDP)
		whole := serialize(t, i6, udp(i6), gopacket.Payload(payload))
		body := whole[40:]
		d := NewDecoder(4)
		var p Packet
		var r Reason
		for i, off := range []int{1000, 0} { // last fragment first
			end := min(off+1000, len(body))
			fh := make([]byte, 8)
			fh[0] = 17
			fo := uint16(off/8) << 3
			if end < len(body) {
				fo |= 1
			}
			binary.BigEndian.PutUint16(fh[2:], fo)
			binary.BigEndian.PutUint32(fh[4:], 0x1234)
			frag := append(append(append(append([]byte(nil), whole[:40]...), hbh(44)...), fh...), body[off:end]...)
			frag[6] = 0
			binary.BigEndian.PutUint16(frag[4:], uint16(len(frag)-40))
			r = d.Decode(frag, capture.LinkRaw, 0, int64(i), &p)
			if i == 0 && r != ReasonFragment {
				t.Fatalf("first fragment: %v", r)
			}
		}
		if r != ReasonOK || p.Proto != 17 || p.DstPort != 53 || len(p.Payload) != 1500 {
			t.Fatalf("reassembled: reason %v proto %d port %d payload %d", r, p.Proto, p.DstPort, len(p.Payload))
		}
	})
}

// Tunnels: addresses and ports are the innermost, as tshark's session
// statistics count them.
func TestDecodeTunnels(t *testing.T) {
	i4 := ip4(layers.IPProtocolUDP)
	inner := serialize(t, i4, udp(i4), gopacket.Payload([]byte("x")))
	outer := func(proto layers.IPProtocol, payload []byte) []byte {
		o := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: net.IP{203, 0, 113, 1}, DstIP: net.IP{203, 0, 113, 2}}
		return serialize(t, o, gopacket.Payload(payload))
	}
	gre := append([]byte{0x30, 0x81, 0x88, 0x0b, 0, byte(len(inner) + 4), 0, 0, 0, 0, 0, 7, 0, 0, 0, 1, 0xff, 0x03, 0x00, 0x21}, inner...)
	gre[5] = byte(len(inner) + 4) // PPTP GRE payload length (PPP header + IP)
	i6 := ip6(layers.IPProtocolTCP)
	in6 := serialize(t, i6, tcp(i6, true))
	cases := []struct {
		name  string
		data  []byte
		proto uint8
		fam   uint8
		src   byte
	}{
		{"ipip", outer(layers.IPProtocolIPv4, inner), 17, 4, 192},
		{"6in4", outer(layers.IPProtocolIPv6, in6), 6, 6, 0x20},
		{"gre pptp ppp", outer(layers.IPProtocolGRE, gre), 17, 4, 192},
	}
	d := NewDecoder(0)
	var p Packet
	for _, c := range cases {
		r := d.Decode(c.data, capture.LinkRaw, len(c.data), 0, &p)
		if r != ReasonOK || p.Proto != c.proto || p.Family != c.fam || p.Src[0] != c.src || !p.Tunneled {
			t.Errorf("%s: reason %v proto %d family %d src %x tunneled %v", c.name, r, p.Proto, p.Family, p.Src[:4], p.Tunneled)
		}
	}
	// Teredo: the outer UDP packet stays; DecodeTeredo gives the inner one.
	ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(133, 0)}
	v6 := ip6(layers.IPProtocolICMPv6)
	ic.SetNetworkLayerForChecksum(v6)
	rs := serialize(t, v6, ic, gopacket.Payload(make([]byte, 4)))
	auth := append([]byte{0, 1, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0}, rs...)
	u := &layers.UDP{SrcPort: 40000, DstPort: 3544}
	o4 := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{192, 0, 2, 9}, DstIP: net.IP{198, 51, 100, 9}}
	u.SetNetworkLayerForChecksum(o4)
	frame := serialize(t, o4, u, gopacket.Payload(auth))
	if r := d.Decode(frame, capture.LinkRaw, len(frame), 0, &p); r != ReasonOK || p.DstPort != 3544 {
		t.Fatalf("teredo outer: %v", r)
	}
	var q Packet
	if r := d.DecodeTeredo(p.Payload, &p, &q); r != ReasonOK || q.Proto != 58 || q.ICMPType != 133 || q.Family != 6 {
		t.Fatalf("teredo inner: %v proto %d type %d", r, q.Proto, q.ICMPType)
	}
}

func TestDecodeAllocatesNothing(t *testing.T) {
	i4 := ip4(layers.IPProtocolTCP)
	frames := [][]byte{
		serialize(t, eth(layers.EthernetTypeIPv4), i4, tcp(i4, false), gopacket.Payload(make([]byte, 500))),
		serialize(t, eth(layers.EthernetTypeIPv6), ip6(layers.IPProtocolTCP), tcp(ip6(layers.IPProtocolTCP), true)),
		serialize(t, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolUDP), udp(ip4(layers.IPProtocolUDP)), gopacket.Payload(make([]byte, 40))),
	}
	for _, f := range fragments4(t, make([]byte, 2000), 1480) {
		frames = append(frames, append(append([]byte(nil), make([]byte, 14)...), f...))
		frames[len(frames)-1][12], frames[len(frames)-1][13] = 0x08, 0x00
	}
	d := NewDecoder(4)
	var p Packet
	for _, f := range frames { // warm up: grow the reassembly buffers once
		d.Decode(f, capture.LinkEthernet, len(f), 0, &p)
	}
	n := testing.AllocsPerRun(200, func() {
		for _, f := range frames {
			d.Decode(f, capture.LinkEthernet, len(f), 0, &p)
		}
	})
	if n != 0 {
		t.Fatalf("Decode allocates %.1f times per run of %d frames", n, len(frames))
	}
}

func FuzzDecode(f *testing.F) {
	i4 := ip4(layers.IPProtocolTCP)
	f.Add(uint8(capture.LinkEthernet), serialize(f, eth(layers.EthernetTypeIPv4), i4, tcp(i4, true), gopacket.Payload([]byte("x"))))
	f.Add(uint8(capture.LinkRaw), serialize(f, ip6(layers.IPProtocolUDP), udp(ip6(layers.IPProtocolUDP))))
	f.Add(uint8(capture.LinkLinuxSLL2), make([]byte, 30))
	f.Add(uint8(capture.LinkNull), []byte{2, 0, 0, 0, 0x45, 0, 0, 20})
	f.Add(uint8(capture.LinkEthernet), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x88, 0x64, 0x11, 0, 0, 1, 0, 10, 0, 0x21})
	d := NewDecoder(4)
	f.Fuzz(func(t *testing.T, link uint8, data []byte) {
		var p Packet
		r := d.Decode(data, capture.LinkType(link%7), len(data), 0, &p)
		if r >= NumReasons {
			t.Fatalf("reason %d out of range", r)
		}
		if r == ReasonOK {
			if p.Family != 4 && p.Family != 6 {
				t.Fatalf("OK packet with family %d", p.Family)
			}
			if p.PayloadLen < 0 || p.IPLen < 0 {
				t.Fatalf("negative lengths %d %d", p.PayloadLen, p.IPLen)
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	i4 := ip4(layers.IPProtocolTCP)
	frame := serialize(b, eth(layers.EthernetTypeIPv4), i4, tcp(i4, false), gopacket.Payload(make([]byte, 500)))
	d := NewDecoder(4)
	var p Packet
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		d.Decode(frame, capture.LinkEthernet, len(frame), 0, &p)
	}
}
