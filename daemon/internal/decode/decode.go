// Package decode turns a captured frame into a Packet: link addresses, VLAN
// tags, IP addresses, transport ports, TCP flags and payload. It decodes with
// gopacket's DecodingLayerParser into layers of its own (layers.go),
// preallocated once per Decoder, so decoding a packet allocates nothing. IP
// fragments are reassembled (bounded) by the Defragmenter in this package.
//
// A Decoder and the Packets it fills are owned by one goroutine. A Packet's
// byte slices point into the frame (or into the Defragmenter's buffers) and
// are valid only until the next call of Decode on the same Decoder.
package decode

import (
	"encoding/binary"

	"github.com/gopacket/gopacket"

	"tamon/daemon/internal/capture"
)

// Reason says why a frame was not turned into a Packet.
type Reason uint8

// Reasons counted by a Decoder. ReasonOK means a Packet was produced.
const (
	ReasonOK          Reason = iota
	ReasonNonIP              // ARP, LLDP, PPPoE discovery, LCP...: not an error
	ReasonFragment           // an IP fragment was stored; its datagram is not complete yet
	ReasonTruncated          // the frame ends inside a header (snap length, or a short frame)
	ReasonMalformed          // a header is inconsistent (bad IHL, bad lengths, bad options)
	ReasonUnsupported        // an IP protocol other than TCP, UDP, ICMP, ICMPv6
	ReasonFragDropped        // a fragment that could not be stored (overlap, limits)
	NumReasons
)

var reasonNames = [NumReasons]string{"ok", "non_ip", "fragment", "truncated", "malformed", "unsupported_proto", "fragment_dropped"}

func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Packet is a decoded frame. Addresses of both families are kept in 16-byte
// arrays; IPv4 addresses use the first 4 bytes.
type Packet struct {
	TS      int64 // capture time, Unix nanoseconds
	WireLen int   // frame length on the wire

	HasMAC      bool
	SrcMAC      [6]byte
	DstMAC      [6]byte
	VLAN        uint16 // outermost 802.1Q/802.1ad tag, 0 when untagged
	InnerVLAN   uint16 // second tag of a QinQ frame
	PPPoE       bool
	Family      uint8 // 4 or 6
	Src, Dst    [16]byte
	Proto       uint8 // IP protocol of the transport layer
	IPLen       int   // IP bytes on the wire (header included), from the IP header
	TTL         uint8
	SrcPort     uint16
	DstPort     uint16
	TCPFlags    uint8
	Seq, Ack    uint32
	Payload     []byte // transport payload as captured (may be cut by the snap length)
	PayloadLen  int    // transport payload length on the wire
	ICMPType    uint8
	ICMPCode    uint8
	ICMPID      uint16 // echo identifier
	ICMPSeq     uint16 // echo sequence
	ICMPBody    []byte // ICMP message body after the 4-byte header (e.g. a quoted header)
	Reassembled bool   // the datagram was rebuilt from fragments
	Tunneled    bool   // IP in IP, IPv6 in IPv4 or GRE: addresses and ports are the innermost
}

// AddrLen is the number of meaningful address bytes: 4 or 16.
func (p *Packet) AddrLen() int {
	if p.Family == 4 {
		return 4
	}
	return 16
}

// TCP flag bits, as in the TCP header's flags byte.
const (
	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	PSH = 0x08
	ACK = 0x10
	URG = 0x20
	ECE = 0x40
	CWR = 0x80
)

// Decoder decodes frames of any supported link type. Not safe for
// concurrent use; make one per goroutine.
type Decoder struct {
	eth   ethernetLayer
	vlan  vlanLayer
	pppoe pppoeLayer
	gre   greLayer
	ppp   pppLayer
	sll   sllLayer
	sll2  sll2Layer
	loop  loopbackLayer
	ip4   ipv4Layer
	ip6   ipv6Layer
	ip6x  ip6ExtLayer
	tcp   tcpLayer
	udp   udpLayer
	icmp4 icmp4Layer
	icmp6 icmp6Layer

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

// NewDecoder returns a Decoder whose Defragmenter keeps at most maxDatagrams
// incomplete datagrams (0 disables reassembly; fragments are then counted and
// dropped).
func NewDecoder(maxDatagrams int) *Decoder {
	d := &Decoder{decoded: make([]gopacket.LayerType, 0, 16)}
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
	d.parsers[capture.LinkEthernet] = mk(typeEthernet)
	d.parsers[capture.LinkLinuxSLL] = mk(typeLinuxSLL)
	d.parsers[capture.LinkLinuxSLL2] = mk(typeLinuxSLL2)
	d.parsers[capture.LinkNull] = mk(typeLoopback)
	d.parsers[capture.LinkLoop] = mk(typeLoopback)
	d.ip4p = mk(typeIPv4)
	d.ip6p = mk(typeIPv6)
	d.parsers[capture.LinkRaw] = d.ip4p // replaced per frame by the version nibble
	d.ip6x.ip6 = &d.ip6
	d.Defrag = NewDefragmenter(maxDatagrams)
	return d
}

// Decode decodes one frame into p. It returns ReasonOK when p holds a
// TCP, UDP, ICMP or ICMPv6 packet (possibly reassembled from fragments);
// any other Reason is also counted in d.Counts.
func (d *Decoder) Decode(data []byte, link capture.LinkType, wireLen int, ts int64, p *Packet) Reason {
	r := d.decode(data, link, wireLen, ts, p)
	d.Counts[r]++
	return r
}

func (d *Decoder) decode(data []byte, link capture.LinkType, wireLen int, ts int64, p *Packet) Reason {
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

func (d *Decoder) run(parser *gopacket.DecodingLayerParser, data []byte, p *Packet) Reason {
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
		case typeEthernet:
			p.HasMAC = true
			copy(p.SrcMAC[:], d.eth.src())
			copy(p.DstMAC[:], d.eth.dst())
		case typeLinuxSLL:
			if d.sll.addrLen == 6 {
				p.HasMAC = true
				copy(p.SrcMAC[:], d.sll.addr)
			}
		case typeLinuxSLL2:
			if d.sll2.addrLen == 6 {
				p.HasMAC = true
				copy(p.SrcMAC[:], d.sll2.addr)
			}
		case typePPPoE:
			p.PPPoE = true
		case typeGRE:
			p.Tunneled = true
		case typeIPv4:
			if haveIP {
				p.Tunneled = true
			}
			haveIP = true
			p.Family = 4
			// The rest stays zero even after an outer IPv6 header
			// (flow keys compare all 16 bytes).
			p.Src, p.Dst = [16]byte{}, [16]byte{}
			copy(p.Src[:4], d.ip4.src())
			copy(p.Dst[:4], d.ip4.dst())
			p.Proto = d.ip4.protocol
			p.IPLen = int(d.ip4.length)
			p.TTL = d.ip4.ttl
		case typeIPv6:
			if haveIP {
				p.Tunneled = true
			}
			haveIP = true
			p.Family = 6
			copy(p.Src[:], d.ip6.src())
			copy(p.Dst[:], d.ip6.dst())
			p.Proto = d.ip6.next()
			p.IPLen = 40 + int(d.ip6.length)
			if d.ip6.length == 0 && d.ip6.hopByHop {
				p.IPLen = 40 + len(d.ip6.payload) // jumbogram
			}
			p.TTL = d.ip6.hopLimit
		case typeIPv6Routing, typeIPv6Fragment, typeIPv6Destination:
			p.Proto = d.ip6x.next
		case typeTCP:
			p.SrcPort, p.DstPort = d.tcp.srcPort, d.tcp.dstPort
			p.Seq, p.Ack = d.tcp.seq, d.tcp.ack
			p.TCPFlags = d.tcp.flags
			p.Payload = d.tcp.payload
			p.PayloadLen = p.IPLen - d.ipHeaderLen(p) - int(d.tcp.dataOffset)*4
		case typeUDP:
			p.SrcPort, p.DstPort = d.udp.srcPort, d.udp.dstPort
			p.Payload = d.udp.payload
			p.PayloadLen = int(d.udp.length) - 8
		case typeICMPv4:
			p.ICMPType, p.ICMPCode = d.icmp4.typ, d.icmp4.code
			p.ICMPID, p.ICMPSeq = d.icmp4.id, d.icmp4.seq
			p.ICMPBody = d.icmp4.payload
		case typeICMPv6:
			p.ICMPType, p.ICMPCode = d.icmp6.typ, d.icmp6.code
			p.ICMPBody = d.icmp6.payload
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
	if err != nil && haveIP && last != typeTCP && last != typeUDP &&
		p.Proto == 6 && d.shortTCP(p) {
		// The snap length cut the TCP header after its flags: the packet
		// still belongs to its session (tshark counts it too).
		err = nil
		last = typeTCP
	}
	if err != nil {
		if err == errIPv4Version || err == errIPv6Version {
			return ReasonMalformed // whatever the frame's length
		}
		if !haveIP {
			if parser.Truncated || isShort(last, data) {
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
	if p.Family == 4 && d.ip4.fragment() {
		return d.fragment4(p)
	}
	if p.Family == 6 && d.ip6x.frag {
		return d.fragment6(p)
	}
	switch last {
	case typeTCP, typeUDP, typeICMPv4, typeICMPv6:
		return ReasonOK
	}
	return ReasonUnsupported
}

// wantedIP reports whether the last link-layer header decoded announced
// an IP header next.
func (d *Decoder) wantedIP(last gopacket.LayerType) bool {
	var next gopacket.LayerType
	switch last {
	case typeEthernet:
		next = d.eth.NextLayerType()
	case typeDot1Q:
		next = d.vlan.NextLayerType()
	case typePPPoE:
		next = d.pppoe.NextLayerType()
	case typeLinuxSLL:
		next = d.sll.NextLayerType()
	case typeLinuxSLL2:
		next = d.sll2.NextLayerType()
	case typeLoopback:
		next = d.loop.NextLayerType()
	}
	return next == typeIPv4 || next == typeIPv6
}

// shortTCP fills the TCP fields of p from a TCP header that the TCP layer
// refused because it is cut short, when at least the ports, sequence
// numbers and flags (14 bytes) were captured.
func (d *Decoder) shortTCP(p *Packet) bool {
	var rest []byte
	if p.Family == 4 {
		rest = d.ip4.payload
	} else if len(d.ip6x.payload) > 0 || d.ip6x.hdrLen > 0 {
		rest = d.ip6x.payload
	} else {
		rest = d.ip6.payload
	}
	if len(rest) < 14 || (p.Family == 4 && d.ip4.fragment()) {
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
func (d *Decoder) DecodeTeredo(payload []byte, outer *Packet, p *Packet) Reason {
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

// isShort reports whether decoding stopped because the frame was too short
// for the next header (the link layers do not flag truncation).
func isShort(last gopacket.LayerType, data []byte) bool {
	return len(data) < 64 || last == gopacket.LayerTypeZero
}

func (d *Decoder) ipHeaderLen(p *Packet) int {
	if p.Family == 4 {
		return int(d.ip4.ihl) * 4
	}
	return len(d.ip6.contents) + d.ip6.hopLen + d.ip6x.hdrLen
}

// fragment4 stores an IPv4 fragment and, when it completes its datagram,
// decodes the reassembled datagram into p.
func (d *Decoder) fragment4(p *Packet) Reason {
	ip := &d.ip4
	hdr := ip.contents
	payload := ip.payload
	if want := int(ip.length) - int(ip.ihl)*4; len(payload) > want {
		payload = payload[:want]
	}
	if len(payload) < int(ip.length)-int(ip.ihl)*4 {
		// The snap length cut the fragment: it cannot be reassembled.
		return ReasonFragDropped
	}
	var key fragKey
	copy(key.src[:4], p.Src[:4])
	copy(key.dst[:4], p.Dst[:4])
	key.id = uint32(ip.id)
	key.proto = p.Proto
	key.family = 4
	whole, r := d.Defrag.add(key, p.TS, int(ip.fragOffset)*8, ip.flags&ipv4MoreFragments != 0, hdr, payload)
	if r != ReasonOK {
		return r
	}
	// whole is a complete IPv4 datagram with a fixed header.
	return d.reparse(d.ip4p, whole, p)
}

func (d *Decoder) fragment6(p *Packet) Reason {
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
	copy(hdr[:], d.ip6.contents[:40])
	hdr[6] = x.next
	whole, r := d.Defrag.add(key, p.TS, x.fragOffset, x.fragMore, hdr[:], payload)
	if r != ReasonOK {
		return r
	}
	return d.reparse(d.ip6p, whole, p)
}

func (d *Decoder) reparse(parser *gopacket.DecodingLayerParser, whole []byte, p *Packet) Reason {
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
