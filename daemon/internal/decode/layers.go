package decode

import (
	"encoding/binary"
	"errors"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Errors of the layers below are values, so that a malformed frame does not
// allocate.
var (
	errShortVLAN  = errors.New("802.1Q tag cut off")
	errShortPPPoE = errors.New("PPPoE header cut off")
	errShortPPP   = errors.New("PPP header cut off")
	errPPPoELen   = errors.New("PPPoE length past the frame")
	errShortExt   = errors.New("IPv6 extension header cut off")
	errExtChain   = errors.New("IPv6 extension header chain too long")
)

// vlanLayer decodes 802.1Q and 802.1ad tags and remembers the first two
// VLAN IDs of the frame (gopacket's Dot1Q would keep only the last).
type vlanLayer struct {
	layers.BaseLayer
	next layers.EthernetType
	ids  [2]uint16
	n    int
}

func (v *vlanLayer) LayerType() gopacket.LayerType     { return layers.LayerTypeDot1Q }
func (v *vlanLayer) CanDecode() gopacket.LayerClass    { return layers.LayerTypeDot1Q }
func (v *vlanLayer) NextLayerType() gopacket.LayerType { return v.next.LayerType() }

func (v *vlanLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 4 {
		df.SetTruncated()
		return errShortVLAN
	}
	if v.n < 2 {
		v.ids[v.n] = binary.BigEndian.Uint16(data[0:2]) & 0x0fff
	}
	v.n++
	v.next = layers.EthernetType(binary.BigEndian.Uint16(data[2:4]))
	v.Contents, v.Payload = data[:4], data[4:]
	return nil
}

// pppoeLayer decodes a PPPoE session header and the PPP protocol field that
// follows it; only IPv4 and IPv6 are passed on.
type pppoeLayer struct {
	layers.BaseLayer
	next gopacket.LayerType
}

func (l *pppoeLayer) LayerType() gopacket.LayerType     { return layers.LayerTypePPPoE }
func (l *pppoeLayer) CanDecode() gopacket.LayerClass    { return layers.LayerTypePPPoE }
func (l *pppoeLayer) NextLayerType() gopacket.LayerType { return l.next }

func (l *pppoeLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		df.SetTruncated()
		return errShortPPPoE
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
		return errPPPoELen
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

// pppLayer decodes a PPP header inside GRE (PPTP): optional address and
// control bytes (ff 03), a 1- or 2-byte protocol; only IPv4 and IPv6 are
// passed on.
type pppLayer struct {
	layers.BaseLayer
	next gopacket.LayerType
}

func (l *pppLayer) LayerType() gopacket.LayerType     { return layers.LayerTypePPP }
func (l *pppLayer) CanDecode() gopacket.LayerClass    { return layers.LayerTypePPP }
func (l *pppLayer) NextLayerType() gopacket.LayerType { return l.next }

func (l *pppLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	l.next = gopacket.LayerTypeZero
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

// ip6ExtLayer walks IPv6 extension headers that follow the fixed header
// (hop-by-hop is handled by gopacket's IPv6 layer): routing, destination
// options and fragment. It records the fragment header and the final next
// header.
type ip6ExtLayer struct {
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

func (x *ip6ExtLayer) reset() {
	x.next, x.hdrLen, x.frag, x.fragOffset, x.fragMore, x.fragID = 0, 0, false, 0, false, 0
	x.payload = nil
}

func (x *ip6ExtLayer) LayerType() gopacket.LayerType { return layers.LayerTypeIPv6Destination }
func (x *ip6ExtLayer) CanDecode() gopacket.LayerClass {
	return gopacket.NewLayerClassSlice([]gopacket.LayerType{
		layers.LayerTypeIPv6Routing, layers.LayerTypeIPv6Fragment, layers.LayerTypeIPv6Destination})
}

func (x *ip6ExtLayer) NextLayerType() gopacket.LayerType {
	if x.frag && (x.fragOffset != 0 || x.fragMore) {
		return gopacket.LayerTypeFragment
	}
	return layers.IPProtocol(x.next).LayerType()
}

// DecodeFromBytes walks every consecutive extension header. It is entered
// for the first one; data starts at it. Which header that is comes from the
// IPv6 layer decoded just before (DecodingLayer does not pass it in).
func (x *ip6ExtLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	cur := uint8(x.ip6.NextHeader)
	if x.ip6.HopByHop != nil {
		cur = uint8(x.ip6.HopByHop.NextHeader)
	}
	ipPayloadLen := 40 + int(x.ip6.Length) - len(x.ip6.Contents)
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
