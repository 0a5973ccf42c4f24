package decode

// The reference decoder: the Decoder as it was while it used
// gopacket/layers (commit c871644), kept verbatim apart from names. The
// differential tests decode the same frames with it and with Decoder and
// compare every field of the Packets, the Reasons and the counters, so
// tamon's own layers are held to gopacket/layers' behaviour.

import (
	"encoding/binary"
	"errors"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"tamon/daemon/internal/capture"
)

// refDecoder decodes frames of any supported link type. Not safe for
// concurrent use; make one per goroutine.
type refDecoder struct {
	eth   layers.Ethernet
	vlan  refVLAN
	pppoe refPPPoE
	gre   layers.GRE
	ppp   refPPP
	sll   layers.LinuxSLL
	sll2  layers.LinuxSLL2
	loop  layers.Loopback
	ip4   refIPv4
	ip6   refIPv6
	ip6x  refIP6Ext
	tcp   layers.TCP
	udp   layers.UDP
	icmp4 layers.ICMPv4
	icmp6 layers.ICMPv6

	parsers [capture.LinkLoop + 1]*gopacket.DecodingLayerParser
	ip4p    *gopacket.DecodingLayerParser // starts at IPv4 (raw links, reassembled datagrams)
	ip6p    *gopacket.DecodingLayerParser // starts at IPv6
	decoded []gopacket.LayerType

	Defrag *Defragmenter
	// Counts holds how many frames ended with each Reason.
	Counts [NumReasons]uint64
	// ShortTCP counts TCP packets decoded from a header cut after its
	// flags (they are also in Counts[ReasonOK]).
	ShortTCP uint64
}

// newRefDecoder returns a refDecoder whose Defragmenter keeps at most maxDatagrams
// incomplete datagrams (0 disables reassembly; fragments are then counted and
// dropped).
func newRefDecoder(maxDatagrams int) *refDecoder {
	d := &refDecoder{decoded: make([]gopacket.LayerType, 0, 16)}
	all := []gopacket.DecodingLayer{&d.eth, &d.vlan, &d.pppoe, &d.gre, &d.ppp, &d.sll, &d.sll2, &d.loop,
		&d.ip4, &d.ip6, &d.ip6x, &d.tcp, &d.udp, &d.icmp4, &d.icmp6}
	mk := func(first gopacket.LayerType) *gopacket.DecodingLayerParser {
		p := gopacket.NewDecodingLayerParser(first)
		p.SetDecodingLayerContainer(gopacket.DecodingLayerSparse(nil))
		for _, l := range all {
			p.AddDecodingLayer(l)
		}
		p.IgnoreUnsupported = true
		return p
	}
	d.parsers[capture.LinkEthernet] = mk(layers.LayerTypeEthernet)
	d.parsers[capture.LinkLinuxSLL] = mk(layers.LayerTypeLinuxSLL)
	d.parsers[capture.LinkLinuxSLL2] = mk(layers.LayerTypeLinuxSLL2)
	d.parsers[capture.LinkNull] = mk(layers.LayerTypeLoopback)
	d.parsers[capture.LinkLoop] = mk(layers.LayerTypeLoopback)
	d.ip4p = mk(layers.LayerTypeIPv4)
	d.ip6p = mk(layers.LayerTypeIPv6)
	d.parsers[capture.LinkRaw] = d.ip4p // replaced per frame by the version nibble
	d.ip6x.ip6 = &d.ip6.IPv6
	d.Defrag = NewDefragmenter(maxDatagrams)
	return d
}

// Decode decodes one frame into p. It returns ReasonOK when p holds a
// TCP, UDP, ICMP or ICMPv6 packet (possibly reassembled from fragments);
// any other Reason is also counted in d.Counts.
func (d *refDecoder) Decode(data []byte, link capture.LinkType, wireLen int, ts int64, p *Packet) Reason {
	r := d.decode(data, link, wireLen, ts, p)
	d.Counts[r]++
	return r
}

func (d *refDecoder) decode(data []byte, link capture.LinkType, wireLen int, ts int64, p *Packet) Reason {
	var parser *gopacket.DecodingLayerParser
	if link == capture.LinkRaw {
		if len(data) == 0 {
			return ReasonTruncated
		}
		switch data[0] >> 4 {
		case 4:
			parser = d.ip4p
		case 6:
			parser = d.ip6p
		default:
			return ReasonMalformed
		}
	} else if int(link) < len(d.parsers) && d.parsers[link] != nil {
		parser = d.parsers[link]
	} else {
		return ReasonNonIP
	}
	*p = Packet{TS: ts, WireLen: wireLen}
	return d.run(parser, data, p)
}

func (d *refDecoder) run(parser *gopacket.DecodingLayerParser, data []byte, p *Packet) Reason {
	d.vlan.n = 0
	d.vlan.ids = [2]uint16{}
	d.ip6x.reset()
	d.decoded = d.decoded[:0]
	err := parser.DecodeLayers(data, &d.decoded)
	var last gopacket.LayerType
	var haveIP bool
	for _, t := range d.decoded {
		last = t
		switch t {
		case layers.LayerTypeEthernet:
			p.HasMAC = true
			copy(p.SrcMAC[:], d.eth.SrcMAC)
			copy(p.DstMAC[:], d.eth.DstMAC)
		case layers.LayerTypeLinuxSLL:
			if d.sll.AddrLen == 6 {
				p.HasMAC = true
				copy(p.SrcMAC[:], d.sll.Addr)
			}
		case layers.LayerTypeLinuxSLL2:
			if d.sll2.AddrLength == 6 {
				p.HasMAC = true
				copy(p.SrcMAC[:], d.sll2.Addr)
			}
		case layers.LayerTypePPPoE:
			p.PPPoE = true
		case layers.LayerTypeGRE:
			p.Tunneled = true
		case layers.LayerTypeIPv4:
			if haveIP {
				p.Tunneled = true
			}
			haveIP = true
			p.Family = 4
			p.Src, p.Dst = [16]byte{}, [16]byte{}
			copy(p.Src[:4], d.ip4.SrcIP.To4())
			copy(p.Dst[:4], d.ip4.DstIP.To4())
			p.Proto = uint8(d.ip4.Protocol)
			p.IPLen = int(d.ip4.Length)
			p.TTL = d.ip4.TTL
		case layers.LayerTypeIPv6:
			if haveIP {
				p.Tunneled = true
			}
			haveIP = true
			p.Family = 6
			copy(p.Src[:], d.ip6.SrcIP)
			copy(p.Dst[:], d.ip6.DstIP)
			p.Proto = uint8(d.ip6.NextHeader)
			if d.ip6.HopByHop != nil {
				p.Proto = uint8(d.ip6.HopByHop.NextHeader)
			}
			p.IPLen = 40 + int(d.ip6.Length)
			if d.ip6.Length == 0 && d.ip6.HopByHop != nil {
				p.IPLen = 40 + len(d.ip6.Payload) // jumbogram
			}
			p.TTL = d.ip6.HopLimit
		case layers.LayerTypeIPv6Routing, layers.LayerTypeIPv6Fragment, layers.LayerTypeIPv6Destination:
			p.Proto = d.ip6x.next
		case layers.LayerTypeTCP:
			p.SrcPort = uint16(d.tcp.SrcPort)
			p.DstPort = uint16(d.tcp.DstPort)
			p.Seq, p.Ack = d.tcp.Seq, d.tcp.Ack
			p.TCPFlags = refTCPFlags(&d.tcp)
			p.Payload = d.tcp.Payload
			p.PayloadLen = p.IPLen - d.ipHeaderLen(p) - int(d.tcp.DataOffset)*4
		case layers.LayerTypeUDP:
			p.SrcPort = uint16(d.udp.SrcPort)
			p.DstPort = uint16(d.udp.DstPort)
			p.Payload = d.udp.Payload
			p.PayloadLen = int(d.udp.Length) - 8
		case layers.LayerTypeICMPv4:
			p.ICMPType = d.icmp4.TypeCode.Type()
			p.ICMPCode = d.icmp4.TypeCode.Code()
			p.ICMPID, p.ICMPSeq = d.icmp4.Id, d.icmp4.Seq
			p.ICMPBody = d.icmp4.Payload
		case layers.LayerTypeICMPv6:
			p.ICMPType = d.icmp6.TypeCode.Type()
			p.ICMPCode = d.icmp6.TypeCode.Code()
			p.ICMPBody = d.icmp6.Payload
			if len(p.ICMPBody) >= 4 && (p.ICMPType == 128 || p.ICMPType == 129) {
				p.ICMPID = binary.BigEndian.Uint16(p.ICMPBody[0:2])
				p.ICMPSeq = binary.BigEndian.Uint16(p.ICMPBody[2:4])
			}
		}
	}
	p.VLAN, p.InnerVLAN = d.vlan.ids[0], d.vlan.ids[1]
	if p.PayloadLen < 0 {
		p.PayloadLen = 0
	}
	if err != nil && haveIP && last != layers.LayerTypeTCP && last != layers.LayerTypeUDP &&
		p.Proto == 6 && d.shortTCP(p) {
		// The snap length cut the TCP header after its flags: the packet
		// still belongs to its session (tshark counts it too).
		err = nil
		last = layers.LayerTypeTCP
	}
	if err != nil {
		if err == refErrVersion {
			return ReasonMalformed
		}
		if !haveIP {
			if parser.Truncated || refIsShort(last, data) {
				return ReasonTruncated
			}
			return ReasonMalformed
		}
		if parser.Truncated {
			return ReasonTruncated
		}
		return ReasonMalformed
	}
	if !haveIP {
		if d.wantedIP(last) {
			return ReasonTruncated // the frame ends where the IP header should start
		}
		return ReasonNonIP
	}
	// Fragments: IPv4 with MF or an offset, IPv6 with a fragment header.
	if p.Family == 4 && (d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0) {
		return d.fragment4(p)
	}
	if p.Family == 6 && d.ip6x.frag {
		return d.fragment6(p)
	}
	switch last {
	case layers.LayerTypeTCP, layers.LayerTypeUDP, layers.LayerTypeICMPv4, layers.LayerTypeICMPv6:
		return ReasonOK
	}
	return ReasonUnsupported
}

// wantedIP reports whether the last link-layer header decoded announced
// an IP header next.
func (d *refDecoder) wantedIP(last gopacket.LayerType) bool {
	var next gopacket.LayerType
	switch last {
	case layers.LayerTypeEthernet:
		next = d.eth.NextLayerType()
	case layers.LayerTypeDot1Q:
		next = d.vlan.NextLayerType()
	case layers.LayerTypePPPoE:
		next = d.pppoe.NextLayerType()
	case layers.LayerTypeLinuxSLL:
		next = d.sll.NextLayerType()
	case layers.LayerTypeLinuxSLL2:
		next = d.sll2.NextLayerType()
	case layers.LayerTypeLoopback:
		next = d.loop.NextLayerType()
	}
	return next == layers.LayerTypeIPv4 || next == layers.LayerTypeIPv6
}

// shortTCP fills the TCP fields of p from a TCP header that gopacket
// refused because it is cut short, when at least the ports, sequence
// numbers and flags (14 bytes) were captured.
func (d *refDecoder) shortTCP(p *Packet) bool {
	var rest []byte
	if p.Family == 4 {
		rest = d.ip4.Payload
	} else if len(d.ip6x.payload) > 0 || d.ip6x.hdrLen > 0 {
		rest = d.ip6x.payload
	} else {
		rest = d.ip6.Payload
	}
	if len(rest) < 14 || (p.Family == 4 && (d.ip4.FragOffset != 0 || d.ip4.Flags&layers.IPv4MoreFragments != 0)) {
		return false
	}
	p.SrcPort = binary.BigEndian.Uint16(rest[0:2])
	p.DstPort = binary.BigEndian.Uint16(rest[2:4])
	p.Seq = binary.BigEndian.Uint32(rest[4:8])
	p.Ack = binary.BigEndian.Uint32(rest[8:12])
	p.TCPFlags = rest[13]
	p.Payload = nil
	p.PayloadLen = max(0, p.IPLen-d.ipHeaderLen(p)-int(rest[12]>>4)*4)
	d.ShortTCP++
	return true
}

// DecodeTeredo decodes the IPv6 packet carried in the payload of a Teredo
// UDP datagram (RFC 4380; port 3544), skipping the authentication and
// origin indication headers, into p; outer supplies the link-layer fields.
// The outer UDP datagram stays what it is (it belongs to its UDP session):
// this is for the inner packet's own logs (ICMPv6). It returns ReasonOK
// only for an inner TCP, UDP or ICMPv6 packet.
func (d *refDecoder) DecodeTeredo(payload []byte, outer *Packet, p *Packet) Reason {
	b := payload
	for len(b) >= 2 && b[0] == 0 {
		switch b[1] {
		case 1: // authentication: id-len, au-len, id, au, nonce (8), confirmation (1)
			if len(b) < 4 {
				return ReasonTruncated
			}
			n := 4 + int(b[2]) + int(b[3]) + 9
			if len(b) < n {
				return ReasonTruncated
			}
			b = b[n:]
		case 0: // origin indication: 8 bytes
			if len(b) < 8 {
				return ReasonTruncated
			}
			b = b[8:]
		default:
			return ReasonNonIP
		}
	}
	if len(b) < 40 || b[0]>>4 != 6 {
		return ReasonNonIP
	}
	*p = Packet{TS: outer.TS, WireLen: outer.WireLen, HasMAC: outer.HasMAC, SrcMAC: outer.SrcMAC,
		DstMAC: outer.DstMAC, VLAN: outer.VLAN, InnerVLAN: outer.InnerVLAN, Tunneled: true}
	r := d.run(d.ip6p, b, p)
	p.Tunneled = true
	return r
}

// refIsShort reports whether decoding stopped because the frame was too short
// for the next header (gopacket does not always flag truncation).
func refIsShort(last gopacket.LayerType, data []byte) bool {
	return len(data) < 64 || last == gopacket.LayerTypeZero
}

func (d *refDecoder) ipHeaderLen(p *Packet) int {
	if p.Family == 4 {
		return int(d.ip4.IHL) * 4
	}
	return len(d.ip6.Contents) + d.ip6x.hdrLen
}

func refTCPFlags(t *layers.TCP) uint8 {
	var f uint8
	if t.FIN {
		f |= FIN
	}
	if t.SYN {
		f |= SYN
	}
	if t.RST {
		f |= RST
	}
	if t.PSH {
		f |= PSH
	}
	if t.ACK {
		f |= ACK
	}
	if t.URG {
		f |= URG
	}
	if t.ECE {
		f |= ECE
	}
	if t.CWR {
		f |= CWR
	}
	return f
}

// fragment4 stores an IPv4 fragment and, when it completes its datagram,
// decodes the reassembled datagram into p.
func (d *refDecoder) fragment4(p *Packet) Reason {
	ip := &d.ip4
	hdr := ip.Contents
	payload := ip.Payload
	if want := int(ip.Length) - int(ip.IHL)*4; len(payload) > want {
		payload = payload[:want]
	}
	if len(payload) < int(ip.Length)-int(ip.IHL)*4 {
		// The snap length cut the fragment: it cannot be reassembled.
		return ReasonFragDropped
	}
	var key fragKey
	copy(key.src[:4], p.Src[:4])
	copy(key.dst[:4], p.Dst[:4])
	key.id = uint32(ip.Id)
	key.proto = p.Proto
	key.family = 4
	whole, r := d.Defrag.add(key, p.TS, int(ip.FragOffset)*8, ip.Flags&layers.IPv4MoreFragments != 0, hdr, payload)
	if r != ReasonOK {
		return r
	}
	// whole is a complete IPv4 datagram with a fixed header.
	return d.reparse(d.ip4p, whole, p)
}

func (d *refDecoder) fragment6(p *Packet) Reason {
	x := &d.ip6x
	payload := x.payload
	if len(payload) < x.fragPayloadLen {
		return ReasonFragDropped
	}
	payload = payload[:x.fragPayloadLen]
	var key fragKey
	key.src, key.dst = p.Src, p.Dst
	key.id = x.fragID
	key.proto = x.next
	key.family = 6
	// The rebuilt datagram gets a plain 40-byte IPv6 header whose next
	// header is the fragment header's.
	var hdr [40]byte
	copy(hdr[:], d.ip6.Contents[:40])
	hdr[6] = x.next
	whole, r := d.Defrag.add(key, p.TS, x.fragOffset, x.fragMore, hdr[:], payload)
	if r != ReasonOK {
		return r
	}
	return d.reparse(d.ip6p, whole, p)
}

func (d *refDecoder) reparse(parser *gopacket.DecodingLayerParser, whole []byte, p *Packet) Reason {
	keep := *p
	*p = Packet{TS: keep.TS, WireLen: keep.WireLen, HasMAC: keep.HasMAC, SrcMAC: keep.SrcMAC,
		DstMAC: keep.DstMAC, PPPoE: keep.PPPoE}
	vlan, inner := keep.VLAN, keep.InnerVLAN
	r := d.run(parser, whole, p)
	p.VLAN, p.InnerVLAN = vlan, inner
	p.Reassembled = true
	if r == ReasonFragment {
		// A reassembled datagram cannot be a fragment again.
		return ReasonMalformed
	}
	return r
}

// Errors of the layers below are values, so that a malformed frame does not
// allocate.
var (
	refErrShortVLAN  = errors.New("802.1Q tag cut off")
	refErrShortPPPoE = errors.New("PPPoE header cut off")
	refErrShortPPP   = errors.New("PPP header cut off")
	refErrPPPoELen   = errors.New("PPPoE length past the frame")
	refErrShortExt   = errors.New("IPv6 extension header cut off")
	refErrExtChain   = errors.New("IPv6 extension header chain too long")
	refErrVersion    = errors.New("IP header with another version number")
)

// refIPv4 and refIPv6 are gopacket's IPv4 and IPv6 with the version check
// that tshark makes ("bogus IP version"): gopacket decodes a header of any
// version number as the one the link layer named.
type refIPv4 struct{ layers.IPv4 }

func (l *refIPv4) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) >= 20 && data[0]>>4 != 4 {
		return refErrVersion
	}
	return l.IPv4.DecodeFromBytes(data, df)
}

type refIPv6 struct{ layers.IPv6 }

func (l *refIPv6) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) >= 40 && data[0]>>4 != 6 {
		return refErrVersion
	}
	return l.IPv6.DecodeFromBytes(data, df)
}

// refVLAN decodes 802.1Q and 802.1ad tags and remembers the first two
// VLAN IDs of the frame (gopacket's Dot1Q would keep only the last).
type refVLAN struct {
	layers.BaseLayer
	next layers.EthernetType
	ids  [2]uint16
	n    int
}

func (v *refVLAN) LayerType() gopacket.LayerType     { return layers.LayerTypeDot1Q }
func (v *refVLAN) CanDecode() gopacket.LayerClass    { return layers.LayerTypeDot1Q }
func (v *refVLAN) NextLayerType() gopacket.LayerType { return v.next.LayerType() }

func (v *refVLAN) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 4 {
		df.SetTruncated()
		return refErrShortVLAN
	}
	if v.n < 2 {
		v.ids[v.n] = binary.BigEndian.Uint16(data[0:2]) & 0x0fff
	}
	v.n++
	v.next = layers.EthernetType(binary.BigEndian.Uint16(data[2:4]))
	v.Contents, v.Payload = data[:4], data[4:]
	return nil
}

// refPPPoE decodes a PPPoE session header and the PPP protocol field that
// follows it; only IPv4 and IPv6 are passed on.
type refPPPoE struct {
	layers.BaseLayer
	next gopacket.LayerType
}

func (l *refPPPoE) LayerType() gopacket.LayerType     { return layers.LayerTypePPPoE }
func (l *refPPPoE) CanDecode() gopacket.LayerClass    { return layers.LayerTypePPPoE }
func (l *refPPPoE) NextLayerType() gopacket.LayerType { return l.next }

func (l *refPPPoE) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		df.SetTruncated()
		return refErrShortPPPoE
	}
	l.next = gopacket.LayerTypeZero
	code := data[1]
	n := int(binary.BigEndian.Uint16(data[4:6]))
	if code != 0 { // discovery (PADI, PADO, ...): no IP inside
		l.Contents, l.Payload = data, nil
		return nil
	}
	if n+6 > len(data) {
		df.SetTruncated()
		return refErrPPPoELen
	}
	end := 6 + n
	if n < 2 {
		l.Contents, l.Payload = data, nil
		return nil
	}
	switch binary.BigEndian.Uint16(data[6:8]) {
	case 0x0021:
		l.next = layers.LayerTypeIPv4
	case 0x0057:
		l.next = layers.LayerTypeIPv6
	}
	l.Contents, l.Payload = data[:8], data[8:end]
	if l.next == gopacket.LayerTypeZero {
		l.Payload = nil
	}
	return nil
}

// refPPP decodes a PPP header inside GRE (PPTP): optional address and
// control bytes (ff 03), a 1- or 2-byte protocol; only IPv4 and IPv6 are
// passed on.
type refPPP struct {
	layers.BaseLayer
	next gopacket.LayerType
}

func (l *refPPP) LayerType() gopacket.LayerType     { return layers.LayerTypePPP }
func (l *refPPP) CanDecode() gopacket.LayerClass    { return layers.LayerTypePPP }
func (l *refPPP) NextLayerType() gopacket.LayerType { return l.next }

func (l *refPPP) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	l.next = gopacket.LayerTypeZero
	off := 0
	if len(data) >= 2 && data[0] == 0xff && data[1] == 0x03 {
		off = 2
	}
	if len(data) < off+1 {
		df.SetTruncated()
		return refErrShortPPP
	}
	proto := uint16(data[off])
	if proto&1 == 0 { // two-byte protocol field
		if len(data) < off+2 {
			df.SetTruncated()
			return refErrShortPPP
		}
		proto = binary.BigEndian.Uint16(data[off : off+2])
		off += 2
	} else {
		off++
	}
	switch proto {
	case 0x0021:
		l.next = layers.LayerTypeIPv4
	case 0x0057:
		l.next = layers.LayerTypeIPv6
	}
	l.Contents, l.Payload = data[:off], data[off:]
	if l.next == gopacket.LayerTypeZero {
		l.Payload = nil
	}
	return nil
}

// refIP6Ext walks IPv6 extension headers that follow the fixed header
// (hop-by-hop is handled by gopacket's IPv6 layer): routing, destination
// options and fragment. It records the fragment header and the final next
// header.
type refIP6Ext struct {
	layers.BaseLayer
	next           uint8
	hdrLen         int // bytes of extension headers walked
	frag           bool
	fragOffset     int
	fragMore       bool
	fragID         uint32
	fragPayloadLen int // payload bytes after the fragment header, from the IPv6 length
	payload        []byte
	ip6            *layers.IPv6 // the fixed header this walk follows
}

func (x *refIP6Ext) reset() {
	x.next, x.hdrLen, x.frag, x.fragOffset, x.fragMore, x.fragID = 0, 0, false, 0, false, 0
	x.payload = nil
}

func (x *refIP6Ext) LayerType() gopacket.LayerType { return layers.LayerTypeIPv6Destination }
func (x *refIP6Ext) CanDecode() gopacket.LayerClass {
	return gopacket.NewLayerClassSlice([]gopacket.LayerType{
		layers.LayerTypeIPv6Routing, layers.LayerTypeIPv6Fragment, layers.LayerTypeIPv6Destination})
}

func (x *refIP6Ext) NextLayerType() gopacket.LayerType {
	if x.frag && (x.fragOffset != 0 || x.fragMore) {
		return gopacket.LayerTypeFragment
	}
	return layers.IPProtocol(x.next).LayerType()
}

// DecodeFromBytes walks every consecutive extension header. It is entered
// for the first one; data starts at it. Which header that is comes from the
// IPv6 layer decoded just before (DecodingLayer does not pass it in).
func (x *refIP6Ext) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	cur := uint8(x.ip6.NextHeader)
	if x.ip6.HopByHop != nil {
		cur = uint8(x.ip6.HopByHop.NextHeader)
	}
	ipPayloadLen := 40 + int(x.ip6.Length) - len(x.ip6.Contents)
	off := 0
	for i := 0; ; i++ {
		if i > 8 {
			return refErrExtChain
		}
		switch cur {
		case 0, 43, 60: // hop-by-hop (after a routing header), routing, destination options
			if len(data)-off < 8 {
				df.SetTruncated()
				return refErrShortExt
			}
			n := (int(data[off+1]) + 1) * 8
			if len(data)-off < n {
				df.SetTruncated()
				return refErrShortExt
			}
			cur = data[off]
			off += n
			continue
		case 44: // fragment
			if len(data)-off < 8 {
				df.SetTruncated()
				return refErrShortExt
			}
			fo := binary.BigEndian.Uint16(data[off+2 : off+4])
			x.frag = true
			x.fragOffset = int(fo>>3) * 8
			x.fragMore = fo&1 != 0
			x.fragID = binary.BigEndian.Uint32(data[off+4 : off+8])
			cur = data[off]
			off += 8
			x.fragPayloadLen = ipPayloadLen - off
			if x.fragOffset != 0 || x.fragMore {
				x.next = cur
				x.hdrLen += off
				x.Contents, x.Payload = data[:off], data[off:]
				x.payload = x.Payload
				return nil
			}
			// An atomic fragment (offset 0, no more): keep walking.
			continue
		}
		break
	}
	x.next = cur
	x.hdrLen += off
	x.Contents, x.Payload = data[:off], data[off:]
	x.payload = x.Payload
	return nil
}
