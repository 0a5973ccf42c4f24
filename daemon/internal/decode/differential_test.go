package decode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"tamon/daemon/internal/capture"
)

// The differential tests decode the same frames with Decoder (tamon's own
// layers) and with refDecoder (gopacket/layers, reference_test.go) and
// require the same layers, the same fields in every layer, the same
// Packets, Reasons and counters.

// corpusDir finds the shared test corpus: $TAMON_CORPUS, else shared/corpus
// beside the repository.
func corpusDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("TAMON_CORPUS"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			c := filepath.Join(filepath.Dir(d), "shared", "corpus")
			if _, err := os.Stat(filepath.Join(c, "pcaps")); err != nil {
				t.Fatalf("test corpus not found at %s (set TAMON_CORPUS): %v", c, err)
			}
			return c
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.mod above %s; set TAMON_CORPUS to the test corpus", wd)
		}
	}
}

// corpusFrame is one frame of a corpus capture.
type corpusFrame struct {
	data []byte
	link capture.LinkType
	wire int
	ts   int64
}

// corpusFrames reads every frame of every corpus capture.
func corpusFrames(t testing.TB) map[string][]corpusFrame {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(corpusDir(t), "pcaps", "*"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no corpus captures: %v", err)
	}
	out := map[string][]corpusFrame{}
	for _, path := range paths {
		src, err := capture.OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var fs []corpusFrame
		var f capture.Frame
		for {
			if err = src.Next(&f); err != nil {
				break
			}
			fs = append(fs, corpusFrame{bytes.Clone(f.Data), f.Link, f.WireLen, f.TS})
		}
		src.Close()
		if !errors.Is(err, io.EOF) {
			t.Fatalf("%s: %v", path, err)
		}
		out[filepath.Base(path)] = fs
	}
	return out
}

// refType maps a gopacket/layers layer type to this package's, or 0.
func refType(t gopacket.LayerType) gopacket.LayerType {
	switch t {
	case layers.LayerTypeEthernet:
		return typeEthernet
	case layers.LayerTypeDot1Q:
		return typeDot1Q
	case layers.LayerTypePPPoE:
		return typePPPoE
	case layers.LayerTypeGRE:
		return typeGRE
	case layers.LayerTypePPP:
		return typePPP
	case layers.LayerTypeLinuxSLL:
		return typeLinuxSLL
	case layers.LayerTypeLinuxSLL2:
		return typeLinuxSLL2
	case layers.LayerTypeLoopback:
		return typeLoopback
	case layers.LayerTypeIPv4:
		return typeIPv4
	case layers.LayerTypeIPv6:
		return typeIPv6
	case layers.LayerTypeIPv6Routing:
		return typeIPv6Routing
	case layers.LayerTypeIPv6Fragment:
		return typeIPv6Fragment
	case layers.LayerTypeIPv6Destination:
		return typeIPv6Destination
	case layers.LayerTypeTCP:
		return typeTCP
	case layers.LayerTypeUDP:
		return typeUDP
	case layers.LayerTypeICMPv4:
		return typeICMPv4
	case layers.LayerTypeICMPv6:
		return typeICMPv6
	}
	return 0
}

// nextClass reduces a next-layer type to what the parser does with it:
// one of the decoded types, or 0 for "stop here" (a type no layer decodes,
// which includes every application protocol gopacket/layers names).
func nextClass(t gopacket.LayerType, ref bool) gopacket.LayerType {
	if ref {
		t = refType(t)
	}
	if t >= typeEthernet && t <= typeICMPv6 {
		return t
	}
	return 0
}

// differ collects the differences found for one frame. Field names are
// given with the layer they belong to (prefix), formatted only when the
// values differ.
type differ struct {
	diffs  []string
	prefix func() string
}

func (df *differ) name(what string) string {
	if df.prefix != nil {
		return df.prefix() + " " + what
	}
	return what
}

func eq[T comparable](df *differ, what string, got, want T) {
	if got != want {
		df.diffs = append(df.diffs, fmt.Sprintf("%s: %v, gopacket/layers %v", df.name(what), got, want))
	}
}

func (df *differ) bytes(what string, got, want []byte) {
	if !bytes.Equal(got, want) || (got == nil) != (want == nil) {
		df.diffs = append(df.diffs, fmt.Sprintf("%s: % x (nil %v), gopacket/layers % x (nil %v)", df.name(what), got, got == nil, want, want == nil))
	}
}

// packets compares every field of two Packets.
func (df *differ) packets(got, want *Packet) {
	eq(df, "TS", got.TS, want.TS)
	eq(df, "WireLen", got.WireLen, want.WireLen)
	eq(df, "HasMAC", got.HasMAC, want.HasMAC)
	eq(df, "SrcMAC", got.SrcMAC, want.SrcMAC)
	eq(df, "DstMAC", got.DstMAC, want.DstMAC)
	eq(df, "VLAN", got.VLAN, want.VLAN)
	eq(df, "InnerVLAN", got.InnerVLAN, want.InnerVLAN)
	eq(df, "PPPoE", got.PPPoE, want.PPPoE)
	eq(df, "Family", got.Family, want.Family)
	eq(df, "Src", got.Src, want.Src)
	eq(df, "Dst", got.Dst, want.Dst)
	eq(df, "Proto", got.Proto, want.Proto)
	eq(df, "IPLen", got.IPLen, want.IPLen)
	eq(df, "TTL", got.TTL, want.TTL)
	eq(df, "SrcPort", got.SrcPort, want.SrcPort)
	eq(df, "DstPort", got.DstPort, want.DstPort)
	eq(df, "TCPFlags", got.TCPFlags, want.TCPFlags)
	eq(df, "Seq", got.Seq, want.Seq)
	eq(df, "Ack", got.Ack, want.Ack)
	df.bytes("Payload", got.Payload, want.Payload)
	eq(df, "PayloadLen", got.PayloadLen, want.PayloadLen)
	eq(df, "ICMPType", got.ICMPType, want.ICMPType)
	eq(df, "ICMPCode", got.ICMPCode, want.ICMPCode)
	eq(df, "ICMPID", got.ICMPID, want.ICMPID)
	eq(df, "ICMPSeq", got.ICMPSeq, want.ICMPSeq)
	df.bytes("ICMPBody", got.ICMPBody, want.ICMPBody)
	eq(df, "Reassembled", got.Reassembled, want.Reassembled)
	eq(df, "Tunneled", got.Tunneled, want.Tunneled)
}

// layers compares the layers the last parse decoded and their fields.
func (df *differ) layers(d *Decoder, r *refDecoder) {
	if len(d.decoded) != len(r.decoded) {
		df.diffs = append(df.diffs, fmt.Sprintf("decoded %v, gopacket/layers %v", d.decoded, r.decoded))
		return
	}
	for i, t := range d.decoded {
		if rt := refType(r.decoded[i]); rt != t {
			df.diffs = append(df.diffs, fmt.Sprintf("layer %d: type %d, gopacket/layers %v", i, t, r.decoded[i]))
			return
		}
		df.prefix = func() string { return fmt.Sprintf("layer %d (%v)", i, r.decoded[i]) }
		switch t {
		case typeEthernet:
			df.bytes("src", d.eth.src(), r.eth.SrcMAC)
			df.bytes("dst", d.eth.dst(), r.eth.DstMAC)
			df.bytes("contents", d.eth.contents, r.eth.Contents)
			df.bytes("payload", d.eth.payload, r.eth.Payload)
			eq(df, "next", nextClass(d.eth.NextLayerType(), false), nextClass(r.eth.NextLayerType(), true))
		case typeDot1Q:
			eq(df, "ids", d.vlan.ids, r.vlan.ids)
			eq(df, "n", d.vlan.n, r.vlan.n)
			df.bytes("payload", d.vlan.payload, r.vlan.Payload)
			eq(df, "next", nextClass(d.vlan.NextLayerType(), false), nextClass(r.vlan.NextLayerType(), true))
		case typePPPoE:
			df.bytes("contents", d.pppoe.contents, r.pppoe.Contents)
			df.bytes("payload", d.pppoe.payload, r.pppoe.Payload)
			eq(df, "next", nextClass(d.pppoe.NextLayerType(), false), nextClass(r.pppoe.NextLayerType(), true))
		case typeGRE:
			eq(df, "protocol", d.gre.protocol, uint16(r.gre.Protocol))
			df.bytes("contents", d.gre.contents, r.gre.Contents)
			df.bytes("payload", d.gre.payload, r.gre.Payload)
			eq(df, "next", nextClass(d.gre.NextLayerType(), false), nextClass(r.gre.NextLayerType(), true))
		case typePPP:
			df.bytes("contents", d.ppp.contents, r.ppp.Contents)
			df.bytes("payload", d.ppp.payload, r.ppp.Payload)
			eq(df, "next", nextClass(d.ppp.NextLayerType(), false), nextClass(r.ppp.NextLayerType(), true))
		case typeLinuxSLL:
			eq(df, "addr type", d.sll.addrType, r.sll.AddrType)
			eq(df, "addr len", d.sll.addrLen, r.sll.AddrLen)
			df.bytes("addr", d.sll.addr, r.sll.Addr)
			eq(df, "ethertype", d.sll.etherType, uint16(r.sll.EthernetType))
			df.bytes("payload", d.sll.payload, r.sll.Payload)
			eq(df, "next", nextClass(d.sll.NextLayerType(), false), nextClass(r.sll.NextLayerType(), true))
		case typeLinuxSLL2:
			eq(df, "protocol", d.sll2.protocol, uint16(r.sll2.ProtocolType))
			eq(df, "hardware type", d.sll2.hwType, uint16(r.sll2.ARPHardwareType))
			eq(df, "addr len", d.sll2.addrLen, r.sll2.AddrLength)
			df.bytes("addr", d.sll2.addr, r.sll2.Addr)
			df.bytes("payload", d.sll2.payload, r.sll2.Payload)
			eq(df, "next", nextClass(d.sll2.NextLayerType(), false), nextClass(r.sll2.NextLayerType(), true))
		case typeLoopback:
			eq(df, "family", d.loop.family, uint32(r.loop.Family))
			df.bytes("payload", d.loop.payload, r.loop.Payload)
			eq(df, "next", nextClass(d.loop.NextLayerType(), false), nextClass(r.loop.NextLayerType(), true))
		case typeIPv4:
			ip, rip := &d.ip4, &r.ip4
			eq(df, "length", ip.length, rip.Length)
			eq(df, "ihl", ip.ihl, rip.IHL)
			eq(df, "id", ip.id, rip.Id)
			eq(df, "flags", ip.flags, uint8(rip.Flags))
			eq(df, "fragment offset", ip.fragOffset, rip.FragOffset)
			eq(df, "ttl", ip.ttl, rip.TTL)
			eq(df, "protocol", ip.protocol, uint8(rip.Protocol))
			df.bytes("src", ip.src(), rip.SrcIP)
			df.bytes("dst", ip.dst(), rip.DstIP)
			df.bytes("contents", ip.contents, rip.Contents)
			df.bytes("payload", ip.payload, rip.Payload)
			eq(df, "next", nextClass(ip.NextLayerType(), false), nextClass(rip.NextLayerType(), true))
		case typeIPv6:
			ip, rip := &d.ip6, &r.ip6
			eq(df, "length", ip.length, rip.Length)
			eq(df, "next header", ip.nextHeader, uint8(rip.NextHeader))
			eq(df, "hop limit", ip.hopLimit, rip.HopLimit)
			eq(df, "hop-by-hop", ip.hopByHop, rip.HopByHop != nil)
			if rip.HopByHop != nil {
				eq(df, "hop-by-hop next", ip.hopNext, uint8(rip.HopByHop.NextHeader))
			}
			df.bytes("src", ip.src(), rip.SrcIP)
			df.bytes("dst", ip.dst(), rip.DstIP)
			df.bytes("contents", ip.contents, rip.Contents)
			df.bytes("payload", ip.payload, rip.Payload)
			eq(df, "next", nextClass(ip.NextLayerType(), false), nextClass(rip.NextLayerType(), true))
		case typeIPv6Routing, typeIPv6Fragment, typeIPv6Destination:
			x, rx := &d.ip6x, &r.ip6x
			eq(df, "next", x.next, rx.next)
			eq(df, "header length", x.hdrLen, rx.hdrLen)
			eq(df, "fragment", [3]int{b2i(x.frag), x.fragOffset, b2i(x.fragMore)}, [3]int{b2i(rx.frag), rx.fragOffset, b2i(rx.fragMore)})
			eq(df, "fragment id", x.fragID, rx.fragID)
			eq(df, "fragment payload", x.fragPayloadLen, rx.fragPayloadLen)
			df.bytes("payload", x.payload, rx.payload)
			eq(df, "next layer", nextClass(x.NextLayerType(), false), nextClass(rx.NextLayerType(), true))
		case typeTCP:
			tc, rt := &d.tcp, &r.tcp
			eq(df, "ports", [2]uint16{tc.srcPort, tc.dstPort}, [2]uint16{uint16(rt.SrcPort), uint16(rt.DstPort)})
			eq(df, "seq", tc.seq, rt.Seq)
			eq(df, "ack", tc.ack, rt.Ack)
			eq(df, "data offset", tc.dataOffset, rt.DataOffset)
			eq(df, "flags", tc.flags, refTCPFlags(rt))
			df.bytes("contents", tc.contents, rt.Contents)
			df.bytes("payload", tc.payload, rt.Payload)
		case typeUDP:
			u, ru := &d.udp, &r.udp
			eq(df, "ports", [2]uint16{u.srcPort, u.dstPort}, [2]uint16{uint16(ru.SrcPort), uint16(ru.DstPort)})
			eq(df, "length", u.length, ru.Length)
			df.bytes("payload", u.payload, ru.Payload)
		case typeICMPv4:
			ic, ri := &d.icmp4, &r.icmp4
			eq(df, "type code", [2]uint8{ic.typ, ic.code}, [2]uint8{ri.TypeCode.Type(), ri.TypeCode.Code()})
			eq(df, "id seq", [2]uint16{ic.id, ic.seq}, [2]uint16{ri.Id, ri.Seq})
			df.bytes("payload", ic.payload, ri.Payload)
		case typeICMPv6:
			ic, ri := &d.icmp6, &r.icmp6
			eq(df, "type code", [2]uint8{ic.typ, ic.code}, [2]uint8{ri.TypeCode.Type(), ri.TypeCode.Code()})
			df.bytes("payload", ic.payload, ri.Payload)
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// pair is a Decoder and a refDecoder fed the same frames.
type pair struct {
	d    *Decoder
	r    *refDecoder
	p, q Packet
}

func newPair(maxDatagrams int) *pair {
	return &pair{d: NewDecoder(maxDatagrams), r: newRefDecoder(maxDatagrams)}
}

// decode decodes one frame with both and returns the differences (none
// when they agree). Teredo payloads of decoded packets are decoded too.
func (pr *pair) decode(data []byte, link capture.LinkType, wire int, ts int64) []string {
	var df differ
	a := pr.d.Decode(data, link, wire, ts, &pr.p)
	b := pr.r.Decode(data, link, wire, ts, &pr.q)
	eq(&df, "reason", a, b)
	df.packets(&pr.p, &pr.q)
	df.layers(pr.d, pr.r)
	df.prefix = nil
	if a == ReasonOK && b == ReasonOK && pr.p.Proto == 17 && (pr.p.SrcPort == 3544 || pr.p.DstPort == 3544) {
		var p2, q2 Packet
		a2 := pr.d.DecodeTeredo(pr.p.Payload, &pr.p, &p2)
		b2 := pr.r.DecodeTeredo(pr.q.Payload, &pr.q, &q2)
		eq(&df, "teredo reason", a2, b2)
		df.prefix = func() string { return "teredo" }
		df.packets(&p2, &q2)
		df.layers(pr.d, pr.r)
	}
	return df.diffs
}

// counters compares what both decoders counted.
func (pr *pair) counters() []string {
	var df differ
	eq(&df, "Counts", pr.d.Counts, pr.r.Counts)
	eq(&df, "ShortTCP", pr.d.ShortTCP, pr.r.ShortTCP)
	eq(&df, "Defrag.Stats", pr.d.Defrag.Stats, pr.r.Defrag.Stats)
	return df.diffs
}

// TestDifferentialCorpus decodes every frame of the corpus with both.
func TestDifferentialCorpus(t *testing.T) {
	all := corpusFrames(t)
	var total, ok int
	for name, frames := range all {
		pr := newPair(64)
		for i, f := range frames {
			if diffs := pr.decode(f.data, f.link, f.wire, f.ts); len(diffs) > 0 {
				t.Fatalf("%s frame %d (%v, % x):\n%v", name, i+1, f.link, f.data, diffs)
			}
		}
		if diffs := pr.counters(); len(diffs) > 0 {
			t.Errorf("%s: %v", name, diffs)
		}
		total += len(frames)
		ok += int(pr.d.Counts[ReasonOK])
	}
	if total < 10000 || ok < total/2 {
		t.Fatalf("only %d frames (%d decoded OK) in the corpus", total, ok)
	}
	t.Logf("%d frames of %d captures agree (%d decoded to packets)", total, len(all), ok)
}

// craftedFrames builds frames that reach the rarer branches of the layers:
// GRE options and source routes, ERSPAN, hop-by-hop and jumbo payload
// options, extension header chains, Linux cooked header variants, 802.3
// lengths, PPPoE and PPP variants.
func craftedFrames() []corpusFrame {
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	be16 := func(v int) []byte { return []byte{byte(v >> 8), byte(v)} }
	be32 := func(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }
	udpHdr := func(n int) []byte { return cat(be16(40000), be16(53), be16(8+n), be16(0)) }
	tcpHdr := cat(be16(40000), be16(443), be32(1), be32(2), []byte{0x50, 0x18}, be16(100), be16(0), be16(0))
	v4 := func(proto byte, body []byte) []byte {
		return cat([]byte{0x45, 0}, be16(20+len(body)), []byte{0, 7, 0x40, 0, 64, proto, 0, 0, 192, 0, 2, 1, 198, 51, 100, 7}, body)
	}
	v6 := func(next byte, plen int, body []byte) []byte {
		return cat([]byte{0x60, 0, 0, 0}, be16(plen), []byte{next, 64}, make([]byte, 15), []byte{1}, make([]byte, 15), []byte{2}, body)
	}
	inner := v4(17, cat(udpHdr(3), []byte("abc")))
	ethHdr := func(et int) []byte { return cat(make([]byte, 12), be16(et)) }
	var out []corpusFrame
	add := func(link capture.LinkType, b []byte) {
		out = append(out, corpusFrame{data: b, link: link, wire: len(b)})
	}
	// GRE: every combination of checksum, routing, key and sequence bits,
	// versions 0 and 1 (with the acknowledgment bit), several protocols.
	for flags := 0; flags < 16; flags++ {
		for _, ver := range []byte{0x00, 0x01, 0x81, 0x80} {
			for _, proto := range []int{0x0800, 0x880b, 0x6558, 0x88be, 0x86dd, 0x8100} {
				h := cat([]byte{byte(flags << 4), ver}, be16(proto))
				if flags&0xc != 0 {
					h = cat(h, []byte{0, 0, 0, 0})
				}
				if flags&2 != 0 {
					h = cat(h, be32(7))
				}
				if flags&1 != 0 {
					h = cat(h, be32(9))
				}
				if flags&4 != 0 { // routing: one entry, then the terminator
					h = cat(h, be16(0x0800), []byte{0, 4}, []byte{1, 2, 3, 4}, []byte{0, 0, 0, 0})
				}
				if ver&0x81 == 0x81 {
					h = cat(h, be32(11))
				}
				body := inner
				switch proto {
				case 0x880b:
					body = cat([]byte{0xff, 0x03, 0x00, 0x21}, inner)
				case 0x6558, 0x88be:
					body = cat(ethHdr(0x0800), inner)
				case 0x8100:
					body = cat([]byte{0, 5, 0x08, 0}, inner)
				}
				add(capture.LinkRaw, v4(47, cat(h, body)))
			}
		}
	}
	// GRE with too many source route entries.
	routes := []byte{0x40, 0, 0x08, 0, 0, 0, 0, 0}
	for range 40 {
		routes = cat(routes, be16(0x0800), []byte{0, 0})
	}
	add(capture.LinkRaw, v4(47, cat(routes, []byte{0, 0, 0, 0}, inner)))
	// PPP in GRE: one-byte protocol, no address and control, LCP.
	add(capture.LinkRaw, v4(47, cat([]byte{0x30, 0x81, 0x88, 0x0b, 0, 0, 0, 0, 0, 0, 0, 1}, []byte{0x21}, inner)))
	add(capture.LinkRaw, v4(47, cat([]byte{0x30, 0x81, 0x88, 0x0b, 0, 0, 0, 0, 0, 0, 0, 1}, []byte{0xc0, 0x21, 1, 1, 0, 4})))
	// IPv6: hop-by-hop with and without a jumbo payload option, jumbo
	// lengths valid, too small, too large, of a bad size; extension chains.
	hbh := func(next byte, opts []byte) []byte {
		for (len(opts)+2)%8 != 0 {
			opts = append(opts, 0)
		}
		return cat([]byte{next, byte((len(opts)+2)/8 - 1)}, opts)
	}
	udp6 := cat(udpHdr(3), []byte("abc"))
	for _, j := range []uint32{0x10000, 0x20000, 0xffff, 0, 30, 0x7fffffff, 0x80000000, 0xffffffff} {
		h := hbh(17, cat([]byte{0xc2, 4}, be32(j)))
		add(capture.LinkRaw, v6(0, 0, cat(h, udp6)))
		add(capture.LinkRaw, v6(0, len(h)+len(udp6), cat(h, udp6)))
	}
	big := cat(hbh(17, cat([]byte{0xc2, 4}, be32(0x10010))), udpHdr(0), make([]byte, 0x10020))
	add(capture.LinkRaw, v6(0, 0, big)) // a jumbogram shorter than its frame
	add(capture.LinkRaw, v6(0, 0, cat(hbh(17, []byte{0xc2, 3, 0, 1, 0}), udp6)))
	add(capture.LinkRaw, v6(0, 0, cat(hbh(17, []byte{1, 0, 0xc2, 4, 0, 1, 0, 0, 0xc2, 2, 0, 0}), udp6)))
	add(capture.LinkRaw, v6(0, 16, cat(hbh(58, []byte{5, 2, 0, 0, 1, 0}), []byte{143, 0, 0, 0, 0, 0, 0, 0})))
	add(capture.LinkRaw, v6(0, 8, cat([]byte{17, 0, 1, 9, 0, 0, 0, 0}, udp6)))               // option past the header
	add(capture.LinkRaw, v6(0, 16, cat([]byte{0, 0, 1, 4, 0, 0, 0, 0}, hbh(17, nil), udp6))) // second hop-by-hop
	dst := func(next byte) []byte { return []byte{next, 0, 1, 4, 0, 0, 0, 0} }
	rt := func(next byte) []byte { return []byte{next, 0, 0, 0, 0, 0, 0, 0} }
	frag := func(next byte, off int, more bool) []byte {
		fo := off << 3
		if more {
			fo |= 1
		}
		return cat([]byte{next, 0}, be16(fo), be32(0x1234))
	}
	chains := []struct {
		first byte
		body  []byte
	}{
		{60, cat(dst(43), rt(0), hbh(17, nil), udp6)},
		{44, cat(frag(60, 0, false), dst(6), tcpHdr)}, // atomic fragment
		{43, cat(rt(44), frag(17, 0, true), udp6)},
		{43, cat(rt(44), frag(17, 8, false), udp6)},
		{60, cat(dst(60), dst(60), dst(60), dst(60), dst(60), dst(60), dst(60), dst(60), dst(60), dst(60), udp6)}, // too long
		{60, cat(dst(51), []byte{17, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, udp6)},                                     // then AH
	}
	for _, c := range chains {
		add(capture.LinkRaw, v6(c.first, len(c.body), c.body))
	}
	// IPv6 in IPv6 and IPv4 in IPv6, with a cut inner header.
	add(capture.LinkRaw, v6(41, 40+len(udp6), v6(17, len(udp6), udp6)))
	add(capture.LinkRaw, v6(4, len(inner), inner))
	add(capture.LinkRaw, v6(41, 20, v6(17, 8, udp6)[:20]))
	// IPv4: options of every shape, IP-within-IP (94), extension header
	// numbers (not IPv4 protocols), a zero total length (TSO).
	for _, opts := range [][]byte{{1, 1, 1, 0}, {0x94, 4, 0, 0}, {7, 7, 4, 0, 0, 0, 0, 1}, {7, 9, 0, 0}, {7, 1, 0, 0}, {7}, {1, 1, 1, 7}} {
		b := cat([]byte{byte(0x45 + len(opts)/4), 0}, be16(20+len(opts)+len(tcpHdr)), []byte{0, 7, 0, 0, 64, 6, 0, 0, 192, 0, 2, 1, 198, 51, 100, 7}, opts, tcpHdr)
		add(capture.LinkRaw, b)
	}
	for _, proto := range []byte{94, 0, 43, 44, 60, 59, 132, 2} {
		add(capture.LinkRaw, v4(proto, inner))
	}
	tso := v4(6, tcpHdr)
	tso[2], tso[3] = 0, 0
	add(capture.LinkRaw, tso)
	// Ethernet: 802.3 lengths shorter and longer than the frame, raw IPv4
	// marker, transparent bridging, QinQ with PPPoE, PPPoE variants.
	add(capture.LinkEthernet, cat(ethHdr(40), []byte{0xaa, 0xaa, 3, 0, 0, 0, 8, 0}, inner))
	add(capture.LinkEthernet, cat(ethHdr(4), []byte{0xaa, 0xaa, 3, 0, 0, 0, 8, 0}))
	add(capture.LinkEthernet, cat(ethHdr(0xffff), inner))
	add(capture.LinkEthernet, cat(ethHdr(0x88a8), []byte{0, 1, 0x81, 0}, []byte{0, 2, 0x88, 0x64}, []byte{0x11, 0, 0, 1}, be16(len(inner)+2), be16(0x21), inner))
	add(capture.LinkEthernet, cat(ethHdr(0x8864), []byte{0x11, 0, 0, 1}, be16(1), []byte{0, 0x21}, inner))
	add(capture.LinkEthernet, cat(ethHdr(0x8864), []byte{0x11, 0, 0, 1}, be16(900), be16(0x21), inner))
	add(capture.LinkEthernet, cat(ethHdr(0x8863), []byte{0x11, 9, 0, 0, 0, 4, 1, 1, 0, 0}))
	// Linux cooked headers: hardware types, LLC, address lengths.
	for _, hw := range []int{1, 770, 778, 803, 512} {
		for _, proto := range []int{0x0800, 0x0004, 0x0001, 0x0003, 0x000c, 0x86dd} {
			body := inner
			if hw == 778 {
				body = cat(ethHdr(0x0800), inner)
			}
			add(capture.LinkLinuxSLL2, cat(be16(proto), []byte{0, 0}, be32(2), be16(hw), []byte{0, 6}, make([]byte, 8), body))
			add(capture.LinkLinuxSLL, cat([]byte{0, 0}, be16(hw), be16(6), make([]byte, 8), be16(proto), body))
		}
	}
	add(capture.LinkLinuxSLL, cat([]byte{0, 0, 0, 1}, be16(9), make([]byte, 8), be16(0x0800), inner))
	add(capture.LinkLinuxSLL2, cat(be16(0x0800), []byte{0, 0}, be32(2), be16(1), []byte{0, 9}, make([]byte, 8), inner))
	// Loopback: both byte orders, every IPv6 family number, a bad family.
	for _, fam := range []uint32{2, 10, 24, 28, 30, 7, 0x100} {
		le := []byte{byte(fam), byte(fam >> 8), 0, 0}
		add(capture.LinkNull, cat(le, inner))
		add(capture.LinkLoop, cat(be32(fam), inner))
	}
	return out
}

// TestDifferentialCrafted decodes crafted frames, and every prefix of
// each (truncation at every byte), with both decoders.
func TestDifferentialCrafted(t *testing.T) {
	pr := newPair(8)
	frames := craftedFrames()
	for i, f := range frames {
		for n := len(f.data); n >= 0; n-- {
			if n > 300 && n < len(f.data) { // long frames: cut in the headers only
				continue
			}
			data := f.data[:n]
			if diffs := pr.decode(data, f.link, len(f.data), int64(i)); len(diffs) > 0 {
				t.Fatalf("crafted frame %d cut to %d bytes (%v, % x):\n%v", i, n, f.link, data, diffs)
			}
		}
	}
	if diffs := pr.counters(); len(diffs) > 0 {
		t.Error(diffs)
	}
	if pr.d.Counts[ReasonOK] < uint64(len(frames)) {
		t.Errorf("only %d of %d crafted frames (and their prefixes) decoded to packets", pr.d.Counts[ReasonOK], len(frames))
	}
	t.Logf("%d crafted frames, counts %v", len(frames), pr.d.Counts)
}

// mutate changes a copy of frame in one of a few ways that reach the
// decoders' checks: flipped bytes in the headers, a cut, bytes inserted.
func mutate(rng *rand.Rand, frame []byte) []byte {
	b := bytes.Clone(frame)
	if len(b) == 0 {
		return b
	}
	hdr := min(len(b), 80) // most decisions are in the first headers
	switch rng.IntN(6) {
	case 0, 1: // flip a few header bytes
		for range 1 + rng.IntN(3) {
			b[rng.IntN(hdr)] ^= byte(1 + rng.IntN(255))
		}
	case 2: // set a header byte to an edge value
		b[rng.IntN(hdr)] = []byte{0, 1, 2, 4, 5, 6, 8, 0x0f, 0x2c, 0x3a, 0x40, 0x45, 0x60, 0x80, 0xc2, 0xff}[rng.IntN(16)]
	case 3: // cut
		b = b[:rng.IntN(len(b))]
	case 4: // a length field made smaller or larger
		i := rng.IntN(hdr)
		b[i] = byte(int(b[i]) + rng.IntN(9) - 4)
	case 5: // bytes inserted in the headers
		i := rng.IntN(hdr)
		ins := make([]byte, 1+rng.IntN(8))
		for j := range ins {
			ins[j] = byte(rng.Uint32())
		}
		b = append(b[:i:i], append(ins, b[i:]...)...)
	}
	return b
}

// TestDifferentialMutated decodes mutated corpus frames and random bytes
// with both decoders, with a fixed seed (FuzzDifferential explores further).
func TestDifferentialMutated(t *testing.T) {
	all := corpusFrames(t)
	var frames []corpusFrame
	for _, fs := range all {
		frames = append(frames, fs...)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	pr := newPair(8)
	n := 100000
	if testing.Short() {
		n = 20000
	}
	for i := range n {
		f := frames[rng.IntN(len(frames))]
		data := mutate(rng, f.data)
		link := f.link
		if i%10 == 0 { // random bytes on a random link type
			data = make([]byte, rng.IntN(120))
			for j := range data {
				data[j] = byte(rng.Uint32())
			}
			link = capture.LinkType(1 + rng.IntN(6))
		}
		if diffs := pr.decode(data, link, len(data), int64(i)*1000); len(diffs) > 0 {
			t.Fatalf("case %d (%v, % x):\n%v", i, link, data, diffs)
		}
	}
	if diffs := pr.counters(); len(diffs) > 0 {
		t.Error(diffs)
	}
	t.Logf("counts %v", pr.d.Counts)
}

func FuzzDifferential(f *testing.F) {
	for _, fs := range corpusFrames(f) {
		for i, fr := range fs {
			if i%50 == 0 {
				f.Add(uint8(fr.link), fr.data)
			}
		}
	}
	f.Add(uint8(capture.LinkRaw), []byte{0x60, 0, 0, 0, 0, 8, 0, 64})
	f.Add(uint8(capture.LinkLinuxSLL2), make([]byte, 30))
	f.Add(uint8(capture.LinkNull), []byte{2, 0, 0, 0, 0x45, 0, 0, 20})
	pr := newPair(4)
	f.Fuzz(func(t *testing.T, link uint8, data []byte) {
		if diffs := pr.decode(data, capture.LinkType(link%7), len(data), 0); len(diffs) > 0 {
			t.Fatalf("%v % x:\n%v", capture.LinkType(link%7), data, diffs)
		}
		if diffs := pr.counters(); len(diffs) > 0 {
			t.Fatal(diffs)
		}
	})
}

// BenchmarkDecodeReference is BenchmarkDecode with gopacket/layers, to
// compare both on the same machine at the same time.
func BenchmarkDecodeReference(b *testing.B) {
	i4 := ip4(layers.IPProtocolTCP)
	frame := serialize(b, eth(layers.EthernetTypeIPv4), i4, tcp(i4, false), gopacket.Payload(make([]byte, 500)))
	d := newRefDecoder(4)
	var p Packet
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		d.Decode(frame, capture.LinkEthernet, len(frame), 0, &p)
	}
}
