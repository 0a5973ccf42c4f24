package decode

import (
	"encoding/binary"
	"errors"

	"github.com/gopacket/gopacket"
)

// The layers of this file are tamon's own gopacket.DecodingLayers for the
// headers a router sees: Ethernet, 802.1Q/802.1ad, PPPoE, PPP, GRE, Linux
// cooked headers, BSD loopback, IPv4, IPv6 with its extension headers, TCP,
// UDP, ICMPv4 and ICMPv6. They replace gopacket/layers, whose package
// initialisation alone (port-name tables, a decoder for every protocol it
// knows, 3 MB of metadata arrays) made up a tenth of the daemon binary that
// must fit a router's flash. Each layer decodes exactly what gopacket/layers
// decodes from the same bytes, with the same errors and truncation reports
// (differential_test.go compares them on the corpus and on fuzzed input),
// but keeps only the fields Decoder uses and never allocates. A layer that
// fails part-way leaves its fields as gopacket/layers leaves them (the
// DecodingLayerParser reuses one layer for an outer and an inner header of
// the same type, so an inner header that fails can leave the outer one's
// fields half overwritten, and Decoder reads what is there).

// Layer types of this package. They are not registered with gopacket (no
// package registry); they only need to be distinct and small, because
// gopacket.DecodingLayerSparse indexes a slice by them. gopacket's own
// types end at 3 (LayerTypeFragment).
const (
	typeEthernet gopacket.LayerType = 4 + iota
	typeDot1Q
	typePPPoE
	typeGRE
	typePPP
	typeLinuxSLL
	typeLinuxSLL2
	typeLoopback
	typeIPv4
	typeIPv6
	typeIPv6Routing
	typeIPv6Fragment
	typeIPv6Destination
	typeTCP
	typeUDP
	typeICMPv4
	typeICMPv6
)

// typeOther stands for every protocol this package does not decode (ARP,
// LLDP, MPLS, SCTP, ...): no layer decodes it, so the parser stops there.
// It is gopacket.LayerTypeZero (a variable there, so not usable here).
const typeOther gopacket.LayerType = 0

// Errors of the layers are values, so that a malformed frame does not
// allocate.
var (
	errShortEthernet = errors.New("Ethernet header cut off")
	errShortVLAN     = errors.New("802.1Q tag cut off")
	errShortPPPoE    = errors.New("PPPoE header cut off")
	errShortPPP      = errors.New("PPP header cut off")
	errPPPoELen      = errors.New("PPPoE length past the frame")
	errShortGRE      = errors.New("GRE header cut off")
	errGRERouting    = errors.New("GRE header with too many source route entries")
	errShortSLL      = errors.New("Linux cooked header cut off")
	errSLLAddrLen    = errors.New("Linux cooked header address longer than 8 bytes")
	errShortLoopback = errors.New("loopback header cut off")
	errLoopbackProto = errors.New("loopback address family above 255")
	errShortIPv4     = errors.New("IPv4 header cut off")
	errIPv4Len       = errors.New("IPv4 total length shorter than its header")
	errIPv4IHL       = errors.New("IPv4 header length below 20 bytes")
	errIPv4Version   = errors.New("IPv4 header with another version number")
	errIPv6Version   = errors.New("IPv6 header with another version number")
	errIPv4Option    = errors.New("IPv4 option length below 2")
	errShortIPv4Opt  = errors.New("IPv4 option cut off")
	errShortIPv6     = errors.New("IPv6 header cut off")
	errShortExt      = errors.New("IPv6 extension header cut off")
	errExtChain      = errors.New("IPv6 extension header chain too long")
	errHopOption     = errors.New("IPv6 hop-by-hop option past its header")
	errJumbo         = errors.New("IPv6 jumbo payload option inconsistent with the payload length")
	errIPv6Len       = errors.New("IPv6 payload length 0 without a jumbo payload option")
	errShortTCP      = errors.New("TCP header cut off")
	errTCPOffset     = errors.New("TCP data offset below 5")
	errShortUDP      = errors.New("UDP header cut off")
	errUDPLen        = errors.New("UDP length below 8")
	errShortICMP     = errors.New("ICMP header cut off")
)

// base holds the bytes of a layer's header and what follows it.
type base struct {
	contents, payload []byte
}

// LayerPayload implements gopacket.DecodingLayer.
func (b *base) LayerPayload() []byte { return b.payload }

// etherLayer maps an EtherType (Ethernet, 802.1Q, Linux cooked headers,
// GRE) to the layer that decodes what follows.
func etherLayer(t uint16) gopacket.LayerType {
	switch t {
	case 0x0800, 0xffff: // IPv4; 0xffff is a raw IPv4 marker
		return typeIPv4
	case 0x86dd:
		return typeIPv6
	case 0x8100, 0x88a8: // 802.1Q, 802.1ad (QinQ)
		return typeDot1Q
	case 0x8863, 0x8864: // PPPoE discovery, session
		return typePPPoE
	case 0x880b: // PPP (in GRE, PPTP)
		return typePPP
	case 0x6558: // transparent Ethernet bridging (in GRE)
		return typeEthernet
	}
	return typeOther
}

// ipLayer maps an IP protocol number to the layer that decodes it.
// Extension headers (hop-by-hop, routing, fragment, destination options)
// are mapped too; IPv4 filters them out.
func ipLayer(p uint8) gopacket.LayerType {
	switch p {
	case 6:
		return typeTCP
	case 17:
		return typeUDP
	case 1:
		return typeICMPv4
	case 58:
		return typeICMPv6
	case 4, 94: // IPv4 in IP; 94 is the older IP-within-IP number
		return typeIPv4
	case 41:
		return typeIPv6
	case 47:
		return typeGRE
	case 43:
		return typeIPv6Routing
	case 44:
		return typeIPv6Fragment
	case 60:
		return typeIPv6Destination
	}
	return typeOther // including hop-by-hop (0) anywhere but first in IPv6
}

// ethernetLayer decodes an Ethernet II or 802.3 header.
type ethernetLayer struct {
	base
	etherType uint16 // 0 for an 802.3 frame (LLC follows)
}

func (e *ethernetLayer) CanDecode() gopacket.LayerClass    { return typeEthernet }
func (e *ethernetLayer) NextLayerType() gopacket.LayerType { return etherLayer(e.etherType) }
func (e *ethernetLayer) dst() []byte                       { return e.contents[0:6] }
func (e *ethernetLayer) src() []byte                       { return e.contents[6:12] }

func (e *ethernetLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 14 {
		return errShortEthernet // not flagged as truncated (gopacket does not either)
	}
	e.etherType = binary.BigEndian.Uint16(data[12:14])
	e.contents, e.payload = data[:14], data[14:]
	if e.etherType < 0x0600 { // an 802.3 length: the payload ends there
		n := int(e.etherType)
		e.etherType = 0
		if len(e.payload) < n {
			df.SetTruncated()
		} else {
			e.payload = e.payload[:n]
		}
	}
	return nil
}

// vlanLayer decodes 802.1Q and 802.1ad tags and remembers the first two
// VLAN IDs of the frame (gopacket's Dot1Q would keep only the last).
type vlanLayer struct {
	base
	next uint16
	ids  [2]uint16
	n    int
}

func (v *vlanLayer) CanDecode() gopacket.LayerClass    { return typeDot1Q }
func (v *vlanLayer) NextLayerType() gopacket.LayerType { return etherLayer(v.next) }

func (v *vlanLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 4 {
		df.SetTruncated()
		return errShortVLAN
	}
	if v.n < 2 {
		v.ids[v.n] = binary.BigEndian.Uint16(data[0:2]) & 0x0fff
	}
	v.n++
	v.next = binary.BigEndian.Uint16(data[2:4])
	v.contents, v.payload = data[:4], data[4:]
	return nil
}

// pppoeLayer decodes a PPPoE session header and the PPP protocol field that
// follows it; only IPv4 and IPv6 are passed on.
type pppoeLayer struct {
	base
	next gopacket.LayerType
}

func (l *pppoeLayer) CanDecode() gopacket.LayerClass    { return typePPPoE }
func (l *pppoeLayer) NextLayerType() gopacket.LayerType { return l.next }

func (l *pppoeLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		df.SetTruncated()
		return errShortPPPoE
	}
	l.next = typeOther
	code := data[1]
	n := int(binary.BigEndian.Uint16(data[4:6]))
	if code != 0 { // discovery (PADI, PADO, ...): no IP inside
		l.contents, l.payload = data, nil
		return nil
	}
	if n+6 > len(data) {
		df.SetTruncated()
		return errPPPoELen
	}
	end := 6 + n
	if n < 2 {
		l.contents, l.payload = data, nil
		return nil
	}
	l.next = pppLayerType(binary.BigEndian.Uint16(data[6:8]))
	l.contents, l.payload = data[:8], data[8:end]
	if l.next == typeOther {
		l.payload = nil
	}
	return nil
}

// pppLayerType maps a PPP protocol number to a layer: only IPv4 and IPv6
// are decoded.
func pppLayerType(proto uint16) gopacket.LayerType {
	switch proto {
	case 0x0021:
		return typeIPv4
	case 0x0057:
		return typeIPv6
	}
	return typeOther
}

// pppLayer decodes a PPP header inside GRE (PPTP): optional address and
// control bytes (ff 03), a 1- or 2-byte protocol; only IPv4 and IPv6 are
// passed on.
type pppLayer struct {
	base
	next gopacket.LayerType
}

func (l *pppLayer) CanDecode() gopacket.LayerClass    { return typePPP }
func (l *pppLayer) NextLayerType() gopacket.LayerType { return l.next }

func (l *pppLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	l.next = typeOther
	off := 0
	if len(data) >= 2 && data[0] == 0xff && data[1] == 0x03 {
		off = 2
	}
	if len(data) < off+1 {
		df.SetTruncated()
		return errShortPPP
	}
	proto := uint16(data[off])
	if proto&1 == 0 { // two-byte protocol field
		if len(data) < off+2 {
			df.SetTruncated()
			return errShortPPP
		}
		proto = binary.BigEndian.Uint16(data[off : off+2])
		off += 2
	} else {
		off++
	}
	l.next = pppLayerType(proto)
	l.contents, l.payload = data[:off], data[off:]
	if l.next == typeOther {
		l.payload = nil
	}
	return nil
}

// greLayer decodes a GRE header (RFC 2784, 2890, and version 1 of RFC 2637
// with its acknowledgment number).
type greLayer struct {
	base
	protocol uint16
}

// maxGRESourceRoutes bounds the source route entries of a GRE header
// (RFC 1701 routing, long obsolete).
const maxGRESourceRoutes = 32

func (g *greLayer) CanDecode() gopacket.LayerClass { return typeGRE }

func (g *greLayer) NextLayerType() gopacket.LayerType {
	// ERSPAN type I: the mirrored frame follows a bare GRE header.
	if g.protocol == 0x88be && len(g.contents) == 4 {
		return typeEthernet
	}
	return etherLayer(g.protocol)
}

func (g *greLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 4 {
		df.SetTruncated()
		return errShortGRE
	}
	g.contents, g.payload = nil, nil
	checksum, routing, key, seq := data[0]&0x80 != 0, data[0]&0x40 != 0, data[0]&0x20 != 0, data[0]&0x10 != 0
	ack := data[1]&0x07 == 1 && data[1]&0x80 != 0 // only version 1 has it
	g.protocol = binary.BigEndian.Uint16(data[2:4])
	off := 4
	need := func(n int) bool {
		if len(data)-off < n {
			df.SetTruncated()
			return false
		}
		return true
	}
	if checksum || routing {
		if !need(4) {
			return errShortGRE
		}
		off += 4
	}
	if key {
		if !need(4) {
			return errShortGRE
		}
		off += 4
	}
	if seq {
		if !need(4) {
			return errShortGRE
		}
		off += 4
	}
	if routing {
		for count := 0; ; count++ {
			if !need(4) {
				return errShortGRE
			}
			family := binary.BigEndian.Uint16(data[off : off+2])
			n := int(data[off+3])
			if len(data)-off-4 < n {
				df.SetTruncated()
				return errShortGRE
			}
			off += 4 + n
			if family == 0 && n == 0 {
				break
			}
			if count >= maxGRESourceRoutes {
				return errGRERouting
			}
		}
	}
	if ack {
		if !need(4) {
			return errShortGRE
		}
		off += 4
	}
	g.contents, g.payload = data[:off], data[off:]
	return nil
}

// sllLayer decodes a Linux cooked header, version 1 (LINKTYPE_LINUX_SLL).
type sllLayer struct {
	base
	addrType  uint16
	addrLen   uint16
	addr      []byte
	etherType uint16
}

func (s *sllLayer) CanDecode() gopacket.LayerClass { return typeLinuxSLL }

func (s *sllLayer) NextLayerType() gopacket.LayerType {
	if s.etherType == 0x0004 && s.addrType != 803 { // 802.2 LLC; 803 is radiotap
		return typeOther
	}
	return etherLayer(s.etherType)
}

func (s *sllLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 16 {
		return errShortSLL
	}
	s.addrType = binary.BigEndian.Uint16(data[2:4])
	s.addrLen = binary.BigEndian.Uint16(data[4:6])
	if s.addrLen > 8 {
		return errSLLAddrLen
	}
	s.addr = data[6 : 6+s.addrLen]
	s.etherType = binary.BigEndian.Uint16(data[14:16])
	s.contents, s.payload = data[:16], data[16:]
	return nil
}

// sll2Layer decodes a Linux cooked header, version 2 (LINKTYPE_LINUX_SLL2).
type sll2Layer struct {
	base
	protocol uint16
	hwType   uint16
	addrLen  uint8
	addr     []byte
}

func (s *sll2Layer) CanDecode() gopacket.LayerClass { return typeLinuxSLL2 }

func (s *sll2Layer) NextLayerType() gopacket.LayerType {
	switch s.hwType {
	case 770, 803: // ARPHRD_FRAD (Frame Relay), ARPHRD_IEEE80211_RADIOTAP
		return typeOther
	case 778: // ARPHRD_IPGRE: the protocol field is a GRE protocol type; an Ethernet frame follows
		return typeEthernet
	}
	// Values below 0x0600 (802.3 without LLC, 802.2 LLC, CAN...) are not
	// EtherTypes: etherLayer gives typeOther for them.
	return etherLayer(s.protocol)
}

func (s *sll2Layer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 20 {
		return errShortSLL
	}
	s.protocol = binary.BigEndian.Uint16(data[0:2])
	s.hwType = binary.BigEndian.Uint16(data[8:10])
	s.addrLen = data[11]
	if s.addrLen > 8 {
		return errSLLAddrLen
	}
	s.addr = data[12 : 12+s.addrLen]
	s.contents, s.payload = data[:20], data[20:]
	return nil
}

// loopbackLayer decodes the 4-byte address family of BSD loopback
// (LINKTYPE_NULL, either byte order) and OpenBSD loopback (LINKTYPE_LOOP).
type loopbackLayer struct {
	base
	family uint32
}

func (l *loopbackLayer) CanDecode() gopacket.LayerClass { return typeLoopback }

func (l *loopbackLayer) NextLayerType() gopacket.LayerType {
	switch l.family {
	case 2: // AF_INET
		return typeIPv4
	case 10, 24, 28, 30: // AF_INET6 of Linux, NetBSD/OpenBSD, FreeBSD, Darwin
		return typeIPv6
	}
	return typeOther
}

func (l *loopbackLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 4 {
		return errShortLoopback
	}
	// The family is in the writer's byte order; it is below 256, so two
	// leading zero bytes mean big-endian.
	family := binary.LittleEndian.Uint32(data[:4])
	if data[0] == 0 && data[1] == 0 {
		family = binary.BigEndian.Uint32(data[:4])
	}
	if family > 0xff {
		return errLoopbackProto
	}
	l.family = family
	l.contents, l.payload = data[:4], data[4:]
	return nil
}

// ipv4Layer decodes an IPv4 header, checking its options.
type ipv4Layer struct {
	base
	length     uint16 // total length; a zero field (TSO) reads as the captured length
	ihl        uint8
	id         uint16
	flags      uint8 // the 3 flag bits
	fragOffset uint16
	ttl        uint8
	protocol   uint8
	addrs      []byte // source and destination
}

// ipv4MoreFragments is the MF bit of ipv4Layer.flags.
const ipv4MoreFragments = 1

func (ip *ipv4Layer) CanDecode() gopacket.LayerClass { return typeIPv4 }
func (ip *ipv4Layer) src() []byte                    { return ip.addrs[0:4] }
func (ip *ipv4Layer) dst() []byte                    { return ip.addrs[4:8] }
func (ip *ipv4Layer) fragment() bool                 { return ip.flags&ipv4MoreFragments != 0 || ip.fragOffset != 0 }

func (ip *ipv4Layer) NextLayerType() gopacket.LayerType {
	if ip.fragment() {
		return gopacket.LayerTypeFragment
	}
	switch ip.protocol {
	case 0, 43, 44, 60: // IPv6 extension headers do not exist in IPv4
		return typeOther
	}
	return ipLayer(ip.protocol)
}

func (ip *ipv4Layer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 20 {
		df.SetTruncated()
		return errShortIPv4
	}
	if data[0]>>4 != 4 {
		return errIPv4Version // what the link layer called IPv4 is not (tshark: bogus IP version)
	}
	ip.length = binary.BigEndian.Uint16(data[2:4])
	ip.ihl = data[0] & 0x0f
	length := int(ip.length)
	if length == 0 {
		// TCP segmentation offload: the length is the captured bytes.
		length = len(data)
		ip.length = uint16(min(length, 0xffff))
	}
	hlen := int(ip.ihl) * 4
	switch {
	case length < 20:
		return errIPv4Len
	case ip.ihl < 5:
		return errIPv4IHL
	case hlen > length:
		return errIPv4Len
	}
	if len(data) > length {
		data = data[:length]
	} else if len(data) < length {
		df.SetTruncated()
		if hlen > len(data) {
			return errShortIPv4
		}
	}
	ip.contents, ip.payload = data[:hlen], data[hlen:]
	// Options: end of list (0), no-op (1), or type, length, data.
	for opts := data[20:hlen]; len(opts) > 0; {
		switch opts[0] {
		case 0:
			opts = nil
		case 1:
			opts = opts[1:]
		default:
			if len(opts) < 2 || len(opts) < int(opts[1]) {
				df.SetTruncated()
				return errShortIPv4Opt
			}
			if opts[1] < 2 {
				return errIPv4Option
			}
			opts = opts[opts[1]:]
		}
	}
	ff := binary.BigEndian.Uint16(data[6:8])
	ip.id = binary.BigEndian.Uint16(data[4:6])
	ip.flags = uint8(ff >> 13)
	ip.fragOffset = ff & 0x1fff
	ip.ttl = data[8]
	ip.protocol = data[9]
	ip.addrs = data[12:20]
	return nil
}

// ipv6Layer decodes an IPv6 header and a hop-by-hop options header right
// after it (whose jumbo payload option can set the payload length).
type ipv6Layer struct {
	base
	length     uint16
	nextHeader uint8
	hopLimit   uint8
	hopByHop   bool  // a hop-by-hop header followed the fixed header
	hopNext    uint8 // its next header
	hopLen     int   // its length in bytes
}

func (ip *ipv6Layer) CanDecode() gopacket.LayerClass { return typeIPv6 }
func (ip *ipv6Layer) src() []byte                    { return ip.contents[8:24] }
func (ip *ipv6Layer) dst() []byte                    { return ip.contents[24:40] }

// next is the protocol after the fixed header and the hop-by-hop header.
func (ip *ipv6Layer) next() uint8 {
	if ip.hopByHop {
		return ip.hopNext
	}
	return ip.nextHeader
}

func (ip *ipv6Layer) NextLayerType() gopacket.LayerType { return ipLayer(ip.next()) }

func (ip *ipv6Layer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 40 {
		df.SetTruncated()
		return errShortIPv6
	}
	if data[0]>>4 != 6 {
		return errIPv6Version
	}
	ip.length = binary.BigEndian.Uint16(data[4:6])
	ip.nextHeader = data[6]
	ip.hopLimit = data[7]
	ip.hopByHop, ip.hopLen = false, 0
	ip.contents, ip.payload = data[:40], data[40:]
	// The payload length covers the extension headers too (RFC 8200 3);
	// 0 means a jumbogram, whose length is in the hop-by-hop header.
	if ip.length != 0 {
		end := int(ip.length)
		if end > len(ip.payload) {
			df.SetTruncated()
			end = len(ip.payload)
		}
		ip.payload = ip.payload[:end]
	}
	if ip.nextHeader == 0 {
		return ip.decodeHopByHop(df)
	}
	if ip.length == 0 {
		return errIPv6Len
	}
	return nil
}

// decodeHopByHop decodes the hop-by-hop header at the start of ip.payload
// and moves the payload past it.
func (ip *ipv6Layer) decodeHopByHop(df gopacket.DecodeFeedback) error {
	b := ip.payload
	if len(b) < 2 {
		df.SetTruncated()
		return errShortExt
	}
	n := int(b[1])*8 + 8
	if len(b) < n {
		return errShortExt
	}
	// Options: Pad1 (0) is one byte, the others type, length, data. The
	// first jumbo payload option (0xc2) counts.
	jumboAt := 0
	for off := 2; off < n; {
		if b[off] == 0 {
			off++
			continue
		}
		if n-off < 2 || n-off < int(b[off+1])+2 {
			return errHopOption
		}
		if b[off] == 0xc2 && jumboAt == 0 {
			jumboAt = off
		}
		off += int(b[off+1]) + 2
	}
	ip.hopByHop, ip.hopNext, ip.hopLen = true, b[0], n
	var jumbo uint32
	found := jumboAt != 0
	if found {
		if b[jumboAt+1] != 4 {
			return errJumbo
		}
		if jumbo = binary.BigEndian.Uint32(b[jumboAt+2 : jumboAt+6]); jumbo <= 0xffff {
			return errJumbo
		}
	}
	switch {
	case found && ip.length == 0:
		end := len(b)
		if uint64(jumbo) > uint64(end) { // compared as 64 bits: the same on 32-bit machines
			df.SetTruncated()
		} else {
			end = int(jumbo)
		}
		if end < n {
			return errJumbo
		}
		ip.payload = b[n:end]
		return nil
	case found || ip.length == 0:
		return errJumbo
	}
	ip.payload = b[n:]
	return nil
}

// ip6ExtLayer walks IPv6 extension headers that follow the fixed header
// (hop-by-hop right after it is handled by ipv6Layer): routing, destination
// options and fragment. It records the fragment header and the final next
// header.
type ip6ExtLayer struct {
	base
	next           uint8
	hdrLen         int // bytes of extension headers walked
	frag           bool
	fragOffset     int
	fragMore       bool
	fragID         uint32
	fragPayloadLen int        // payload bytes after the fragment header, from the IPv6 length
	ip6            *ipv6Layer // the fixed header this walk follows
}

func (x *ip6ExtLayer) reset() {
	x.next, x.hdrLen, x.frag, x.fragOffset, x.fragMore, x.fragID = 0, 0, false, 0, false, 0
	x.payload = nil
}

func (x *ip6ExtLayer) CanDecode() gopacket.LayerClass {
	return gopacket.NewLayerClassSlice([]gopacket.LayerType{typeIPv6Routing, typeIPv6Fragment, typeIPv6Destination})
}

func (x *ip6ExtLayer) NextLayerType() gopacket.LayerType {
	if x.frag && (x.fragOffset != 0 || x.fragMore) {
		return gopacket.LayerTypeFragment
	}
	return ipLayer(x.next)
}

// DecodeFromBytes walks every consecutive extension header. It is entered
// for the first one; data starts at it. Which header that is comes from the
// IPv6 layer decoded just before (DecodingLayer does not pass it in).
func (x *ip6ExtLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	cur := x.ip6.next()
	ipPayloadLen := int(x.ip6.length) - x.ip6.hopLen // what follows the hop-by-hop header
	off := 0
	for i := 0; ; i++ {
		if i > 8 {
			return errExtChain
		}
		switch cur {
		case 0, 43, 60: // hop-by-hop (after a routing header), routing, destination options
			if len(data)-off < 8 {
				df.SetTruncated()
				return errShortExt
			}
			n := (int(data[off+1]) + 1) * 8
			if len(data)-off < n {
				df.SetTruncated()
				return errShortExt
			}
			cur = data[off]
			off += n
			continue
		case 44: // fragment
			if len(data)-off < 8 {
				df.SetTruncated()
				return errShortExt
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
				x.contents, x.payload = data[:off], data[off:]
				return nil
			}
			// An atomic fragment (offset 0, no more): keep walking.
			continue
		}
		break
	}
	x.next = cur
	x.hdrLen += off
	x.contents, x.payload = data[:off], data[off:]
	return nil
}

// tcpLayer decodes a TCP header (options are skipped: tamon needs none).
type tcpLayer struct {
	base
	srcPort, dstPort uint16
	seq, ack         uint32
	dataOffset       uint8
	flags            uint8
}

func (t *tcpLayer) CanDecode() gopacket.LayerClass    { return typeTCP }
func (t *tcpLayer) NextLayerType() gopacket.LayerType { return gopacket.LayerTypePayload }

func (t *tcpLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 20 {
		df.SetTruncated()
		return errShortTCP
	}
	t.srcPort = binary.BigEndian.Uint16(data[0:2])
	t.dstPort = binary.BigEndian.Uint16(data[2:4])
	t.seq = binary.BigEndian.Uint32(data[4:8])
	t.ack = binary.BigEndian.Uint32(data[8:12])
	t.dataOffset = data[12] >> 4
	t.flags = data[13]
	if t.dataOffset < 5 {
		return errTCPOffset
	}
	n := int(t.dataOffset) * 4
	if n > len(data) {
		df.SetTruncated()
		t.contents, t.payload = data, nil
		return errShortTCP
	}
	t.contents, t.payload = data[:n], data[n:]
	return nil
}

// udpLayer decodes a UDP header.
type udpLayer struct {
	base
	srcPort, dstPort uint16
	length           uint16
}

func (u *udpLayer) CanDecode() gopacket.LayerClass    { return typeUDP }
func (u *udpLayer) NextLayerType() gopacket.LayerType { return gopacket.LayerTypePayload }

func (u *udpLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		df.SetTruncated()
		return errShortUDP
	}
	u.srcPort = binary.BigEndian.Uint16(data[0:2])
	u.dstPort = binary.BigEndian.Uint16(data[2:4])
	u.length = binary.BigEndian.Uint16(data[4:6])
	u.contents, u.payload = data[:8], nil
	switch {
	case u.length >= 8:
		end := int(u.length)
		if end > len(data) {
			df.SetTruncated()
			end = len(data)
		}
		u.payload = data[8:end]
	case u.length == 0: // jumbogram: the rest of the data
		u.payload = data[8:]
	default:
		return errUDPLen
	}
	return nil
}

// icmp4Layer decodes an ICMPv4 header with the identifier and sequence
// fields (meaningful for echo messages).
type icmp4Layer struct {
	base
	typ, code uint8
	id, seq   uint16
}

func (i *icmp4Layer) CanDecode() gopacket.LayerClass    { return typeICMPv4 }
func (i *icmp4Layer) NextLayerType() gopacket.LayerType { return gopacket.LayerTypePayload }

func (i *icmp4Layer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		df.SetTruncated()
		return errShortICMP
	}
	i.typ, i.code = data[0], data[1]
	i.id = binary.BigEndian.Uint16(data[4:6])
	i.seq = binary.BigEndian.Uint16(data[6:8])
	i.contents, i.payload = data[:8], data[8:]
	return nil
}

// icmp6Layer decodes the 4-byte ICMPv6 header.
type icmp6Layer struct {
	base
	typ, code uint8
}

func (i *icmp6Layer) CanDecode() gopacket.LayerClass    { return typeICMPv6 }
func (i *icmp6Layer) NextLayerType() gopacket.LayerType { return gopacket.LayerTypePayload }

func (i *icmp6Layer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 4 {
		df.SetTruncated()
		return errShortICMP
	}
	i.typ, i.code = data[0], data[1]
	i.contents, i.payload = data[:4], data[4:]
	return nil
}
