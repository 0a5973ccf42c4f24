package benchgen

import "encoding/binary"

// Hand-written encoders for the few headers the generator needs. They write
// into a caller's buffer and never allocate; lengths and checksums are
// filled in here, so a frame is valid by construction.

var be = binary.BigEndian

const (
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86dd
	etherTypeVLAN = 0x8100

	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58

	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpPSH = 0x08
	tcpACK = 0x10

	ethHeaderLen  = 14
	vlanTagLen    = 4
	ipv4HeaderLen = 20
	ipv6HeaderLen = 40
	udpHeaderLen  = 8
	tcpHeaderLen  = 20

	minFrameLen = 60 // Ethernet minimum without the FCS
)

// addr holds an IPv4 address in its first 4 bytes or an IPv6 address.
type addr [16]byte

func v4addr(a, b, c, d byte) addr { return addr{a, b, c, d} }

// putEth writes an Ethernet header, with an 802.1Q tag when vlan is not 0,
// and returns its length.
func putEth(b []byte, dst, src *[6]byte, vlan uint16, etype uint16) int {
	copy(b[0:6], dst[:])
	copy(b[6:12], src[:])
	if vlan != 0 {
		be.PutUint16(b[12:], etherTypeVLAN)
		be.PutUint16(b[14:], vlan&0x0fff)
		be.PutUint16(b[16:], etype)
		return ethHeaderLen + vlanTagLen
	}
	be.PutUint16(b[12:], etype)
	return ethHeaderLen
}

// putIPv4 writes a 20-byte IPv4 header for a payload of payloadLen bytes,
// including its header checksum.
func putIPv4(b []byte, src, dst []byte, proto, ttl uint8, id uint16, df bool, payloadLen int) {
	b[0] = 0x45
	b[1] = 0
	be.PutUint16(b[2:], uint16(ipv4HeaderLen+payloadLen))
	be.PutUint16(b[4:], id)
	if df {
		be.PutUint16(b[6:], 0x4000)
	} else {
		be.PutUint16(b[6:], 0)
	}
	b[8] = ttl
	b[9] = proto
	b[10], b[11] = 0, 0
	copy(b[12:16], src)
	copy(b[16:20], dst)
	be.PutUint16(b[10:], checksum(0, b[:ipv4HeaderLen]))
}

// putIPv6 writes a 40-byte IPv6 header without extension headers.
func putIPv6(b []byte, src, dst []byte, next, hop uint8, flow uint32, payloadLen int) {
	be.PutUint32(b[0:], 6<<28|flow&0xfffff)
	be.PutUint16(b[4:], uint16(payloadLen))
	b[6] = next
	b[7] = hop
	copy(b[8:24], src)
	copy(b[24:40], dst)
}

// putIP writes an IPv4 or IPv6 header and returns its length.
func putIP(b []byte, v6 bool, src, dst *addr, proto, ttl uint8, id uint16, df bool, flow uint32, payloadLen int) int {
	if v6 {
		putIPv6(b, src[:], dst[:], proto, ttl, flow, payloadLen)
		return ipv6HeaderLen
	}
	putIPv4(b, src[:4], dst[:4], proto, ttl, id, df, payloadLen)
	return ipv4HeaderLen
}

// putTCP writes a TCP header with the given options (a multiple of 4
// bytes long) and a zero checksum, and returns the header length.
func putTCP(b []byte, sport, dport uint16, seq, ack uint32, flags uint8, win uint16, opts []byte) int {
	hl := tcpHeaderLen + len(opts)
	be.PutUint16(b[0:], sport)
	be.PutUint16(b[2:], dport)
	be.PutUint32(b[4:], seq)
	be.PutUint32(b[8:], ack)
	b[12] = uint8(hl/4) << 4
	b[13] = flags
	be.PutUint16(b[14:], win)
	b[16], b[17], b[18], b[19] = 0, 0, 0, 0
	copy(b[20:], opts)
	return hl
}

// putUDP writes a UDP header with a zero checksum.
func putUDP(b []byte, sport, dport uint16, payloadLen int) {
	be.PutUint16(b[0:], sport)
	be.PutUint16(b[2:], dport)
	be.PutUint16(b[4:], uint16(udpHeaderLen+payloadLen))
	b[6], b[7] = 0, 0
}

// pseudoSum is the unfolded sum of the TCP/UDP/ICMPv6 pseudo-header.
func pseudoSum(v6 bool, src, dst *addr, proto uint8, l4len int) uint64 {
	var s uint64
	if v6 {
		s = sum(s, src[:])
		s = sum(s, dst[:])
	} else {
		s = sum(s, src[:4])
		s = sum(s, dst[:4])
	}
	return s + uint64(proto) + uint64(l4len)
}

// setL4Checksum fills in the checksum of the TCP, UDP or ICMP message in
// seg. ICMPv4 has no pseudo-header; a UDP checksum of 0 is sent as 0xffff.
func setL4Checksum(seg []byte, v6 bool, src, dst *addr, proto uint8) {
	var at int
	var init uint64
	switch proto {
	case protoTCP:
		at = 16
		init = pseudoSum(v6, src, dst, proto, len(seg))
	case protoUDP:
		at = 6
		init = pseudoSum(v6, src, dst, proto, len(seg))
	case protoICMPv6:
		at = 2
		init = pseudoSum(v6, src, dst, proto, len(seg))
	default: // ICMPv4
		at = 2
	}
	seg[at], seg[at+1] = 0, 0
	c := checksum(init, seg)
	if c == 0 && proto == protoUDP {
		c = 0xffff
	}
	be.PutUint16(seg[at:], c)
}

// sum adds b, as big-endian 16-bit words, to the running one's-complement
// sum s. Only the last chunk of a message may have an odd length.
func sum(s uint64, b []byte) uint64 {
	for len(b) >= 32 {
		v0 := be.Uint64(b)
		v1 := be.Uint64(b[8:])
		v2 := be.Uint64(b[16:])
		v3 := be.Uint64(b[24:])
		s += v0>>32 + v0&0xffffffff + v1>>32 + v1&0xffffffff +
			v2>>32 + v2&0xffffffff + v3>>32 + v3&0xffffffff
		b = b[32:]
	}
	for len(b) >= 4 {
		s += uint64(be.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		s += uint64(be.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return s
}

// checksum returns the Internet checksum of b added to the partial sum init.
func checksum(init uint64, b []byte) uint16 {
	s := sum(init, b)
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
