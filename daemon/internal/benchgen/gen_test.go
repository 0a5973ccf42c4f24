package benchgen

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"tamon/daemon/internal/dissect/quic"
)

func writeMix(t testing.TB, o Options) ([]byte, Stats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := Mix(&buf, o)
	if err != nil {
		t.Fatalf("Mix(%+v): %v", o, err)
	}
	return buf.Bytes(), st
}

type record struct {
	ci   gopacket.CaptureInfo
	data []byte
}

// readPcap reads a whole capture and checks its file header.
func readPcap(t testing.TB, b []byte) []record {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet || r.Snaplen() != 65535 {
		t.Fatalf("link type %v snaplen %d, want Ethernet 65535", r.LinkType(), r.Snaplen())
	}
	if res := r.Resolution(); res != gopacket.TimestampResolutionMicrosecond {
		t.Fatalf("timestamp resolution %v, want microseconds", res)
	}
	var recs []record
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return recs
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, record{ci, data})
	}
}

func TestMixDeterministic(t *testing.T) {
	base := Options{Packets: 5000, Seed: 1}
	ref, _ := writeMix(t, base)
	refSum := sha256.Sum256(ref)
	tests := []struct {
		name string
		o    Options
		same bool
	}{
		{"same options", base, true},
		{"explicit default start", Options{Packets: 5000, Seed: 1, Start: DefaultStart}, true},
		{"other seed", Options{Packets: 5000, Seed: 2}, false},
		{"other start", Options{Packets: 5000, Seed: 1, Start: DefaultStart.Add(time.Hour)}, false},
		{"more packets", Options{Packets: 6000, Seed: 1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := writeMix(t, tc.o)
			if same := sha256.Sum256(got) == refSum; same != tc.same {
				t.Errorf("identical to seed-1 output: %v, want %v", same, tc.same)
			}
		})
	}
}

func TestMixRejectsNoPackets(t *testing.T) {
	if _, err := Mix(io.Discard, Options{}); err == nil {
		t.Error("Mix with Packets 0: no error")
	}
}

// flowKey is a direction-independent 5-tuple.
type flowKey struct {
	a, b  netip.AddrPort
	proto uint8
}

func newFlowKey(src, dst netip.Addr, sp, dp uint16, proto uint8) flowKey {
	a, b := netip.AddrPortFrom(src, sp), netip.AddrPortFrom(dst, dp)
	if b.Compare(a) < 0 {
		a, b = b, a
	}
	return flowKey{a: a, b: b, proto: proto}
}

var tlsPorts = map[uint16]bool{443: true, 5223: true, 5228: true, 8883: true}

// naiveSum is a plain 16-bit one's-complement sum, independent of the
// generator's implementation.
func naiveSum(s uint32, b []byte) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	return s
}

func foldsToOnes(s uint32) bool {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return s == 0xffff
}

func pseudo(src, dst []byte, proto uint8, n int) uint32 {
	s := naiveSum(0, src)
	s = naiveSum(s, dst)
	return s + uint32(proto) + uint32(n)
}

// extractSNI parses a TLS record holding a ClientHello and returns its
// server name.
func extractSNI(rec []byte) (string, error) {
	if len(rec) < 5 || rec[0] != 0x16 {
		return "", errors.New("not a handshake record")
	}
	if n := int(binary.BigEndian.Uint16(rec[3:])); n != len(rec)-5 {
		return "", errors.New("record length mismatch")
	}
	h := rec[5:]
	if len(h) < 4 || h[0] != 1 {
		return "", errors.New("not a ClientHello")
	}
	if n := int(h[1])<<16 | int(h[2])<<8 | int(h[3]); n != len(h)-4 {
		return "", errors.New("handshake length mismatch")
	}
	p := h[4+2+32:]
	skip := func(lenBytes int) bool {
		if len(p) < lenBytes {
			return false
		}
		n := 0
		for i := range lenBytes {
			n = n<<8 | int(p[i])
		}
		if len(p) < lenBytes+n {
			return false
		}
		p = p[lenBytes+n:]
		return true
	}
	if !skip(1) || !skip(2) || !skip(1) { // session id, cipher suites, compression
		return "", errors.New("truncated ClientHello")
	}
	if len(p) < 2 || int(binary.BigEndian.Uint16(p)) != len(p)-2 {
		return "", errors.New("extensions length mismatch")
	}
	p = p[2:]
	sni := ""
	for len(p) >= 4 {
		typ, n := binary.BigEndian.Uint16(p), int(binary.BigEndian.Uint16(p[2:]))
		if len(p) < 4+n {
			return "", errors.New("truncated extension")
		}
		body := p[4 : 4+n]
		if typ == 0 {
			if len(body) < 5 || body[2] != 0 {
				return "", errors.New("bad server_name")
			}
			l := int(binary.BigEndian.Uint16(body[3:]))
			if 5+l != len(body) {
				return "", errors.New("bad server_name length")
			}
			sni = string(body[5:])
		}
		p = p[4+n:]
	}
	if len(p) != 0 {
		return "", errors.New("trailing extension bytes")
	}
	if sni == "" {
		return "", errors.New("no SNI")
	}
	return sni, nil
}

// tlsRecordsWhole reports whether b is a sequence of complete TLS records.
func tlsRecordsWhole(b []byte) bool {
	for len(b) > 0 {
		if len(b) < 5 || b[0] < 20 || b[0] > 23 || b[1] != 3 {
			return false
		}
		n := 5 + int(binary.BigEndian.Uint16(b[3:]))
		if n > len(b) {
			return false
		}
		b = b[n:]
	}
	return true
}

// observed is what a capture holds, counted by decoding it with gopacket.
type observed struct {
	stats Stats // the same counters as the generator's

	tls, http, dns, otherUDP, icmp, otherTCP int // packets per class

	tlsErrors           int // gopacket TLS decoder errors, all on split halves and ServerHellos
	tlsErrorsPredicted  int // split halves and ServerHellos on port 443
	splitReassembled    int
	serverHellos        int
	dnsResponses        int
	dnsUnanswered       int
	cnameChains         int
	nxdomains           int
	httpResponses       int
	icmpUnreachable     int
	quicLong, ntp, mdns int
	ssdp                int
	synFlows, finOrRST  map[flowKey]bool
	clients             map[netip.Addr]bool
	meanGap             time.Duration
	span                time.Duration
	meanConcurrency     float64
	maxSessionDuration  time.Duration
	firstSeen, lastSeen map[flowKey]time.Time
	tcpFlows, udpFlows  map[flowKey]bool
	echoSessions        map[[2]netip.Addr]map[uint16]bool
	sniNames            map[string]int
	flowPackets         map[flowKey]int
	clientMACs          map[[6]byte]bool // source MACs of frames from LAN addresses
	gatewayMACs         map[[6]byte]bool // source MACs of frames to LAN addresses
}

// analyse decodes every frame with gopacket.NewPacket and checks it:
// decodes without error layers (but the expected gopacket TLS decoder
// limits), valid checksums and lengths, TLS framing, DNS structure.
func analyse(t *testing.T, recs []record) *observed {
	t.Helper()
	o := &observed{
		synFlows: map[flowKey]bool{}, finOrRST: map[flowKey]bool{}, clients: map[netip.Addr]bool{},
		firstSeen: map[flowKey]time.Time{}, lastSeen: map[flowKey]time.Time{},
		tcpFlows: map[flowKey]bool{}, udpFlows: map[flowKey]bool{},
		echoSessions: map[[2]netip.Addr]map[uint16]bool{}, sniNames: map[string]int{},
		clientMACs: map[[6]byte]bool{}, gatewayMACs: map[[6]byte]bool{}, flowPackets: map[flowKey]int{},
	}
	fails := 0
	fail := func(i int, format string, args ...any) {
		t.Helper()
		if fails++; fails <= 20 {
			t.Errorf("packet %d: "+format, append([]any{i + 1}, args...)...)
		}
	}
	pendingHello := map[flowKey][]byte{}
	httpSeen := map[any]bool{}
	type dnsQ struct {
		k  flowKey
		id uint16
	}
	openQueries := map[dnsQ]bool{}
	var prev time.Time
	for i, rec := range recs {
		ts := rec.ci.Timestamp
		if i > 0 && ts.Before(prev) {
			fail(i, "timestamp %v before previous %v", ts, prev)
		}
		prev = ts
		if rec.ci.CaptureLength != rec.ci.Length || rec.ci.CaptureLength != len(rec.data) {
			fail(i, "capture info %+v for %d bytes", rec.ci, len(rec.data))
		}
		o.stats.Packets++
		o.stats.Bytes += len(rec.data)

		// Decoding TCP payload as datagrams runs gopacket's TLS decoder on
		// port 443 too.
		p := gopacket.NewPacket(rec.data, layers.LayerTypeEthernet,
			gopacket.DecodeOptions{DecodeStreamsAsDatagrams: true})
		if p.Layer(layers.LayerTypeDot1Q) != nil {
			o.stats.VLANPackets++
		}
		var src, dst netip.Addr
		var l4 []byte // TCP/UDP/ICMP header and payload, as the IP length says
		var proto uint8
		var pseudoSrc, pseudoDst []byte
		switch ip := p.NetworkLayer().(type) {
		case *layers.IPv4:
			if !foldsToOnes(naiveSum(0, ip.Contents)) {
				fail(i, "bad IPv4 header checksum")
			}
			if int(ip.Length) != len(ip.Contents)+len(ip.Payload) {
				fail(i, "IPv4 length %d for %d bytes", ip.Length, len(ip.Contents)+len(ip.Payload))
			}
			src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
			dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
			l4, proto = ip.Payload, uint8(ip.Protocol)
			pseudoSrc, pseudoDst = ip.SrcIP.To4(), ip.DstIP.To4()
		case *layers.IPv6:
			o.stats.IPv6Packets++
			if int(ip.Length) != len(ip.Payload) {
				fail(i, "IPv6 length %d for %d bytes", ip.Length, len(ip.Payload))
			}
			src, _ = netip.AddrFromSlice(ip.SrcIP)
			dst, _ = netip.AddrFromSlice(ip.DstIP)
			l4, proto = ip.Payload, uint8(ip.NextHeader)
			pseudoSrc, pseudoDst = ip.SrcIP, ip.DstIP
		default:
			fail(i, "no IP layer")
			continue
		}
		eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		switch {
		case src == gateway4 || src == gateway6:
			o.gatewayMACs[[6]byte(eth.SrcMAC)] = true
		case isLAN(src):
			o.clientMACs[[6]byte(eth.SrcMAC)] = true
			if len(rec.data) < minFrameLen {
				fail(i, "frame from the LAN of %d bytes, not padded", len(rec.data))
			}
		case isLAN(dst):
			o.gatewayMACs[[6]byte(eth.SrcMAC)] = true
		}
		if dst.IsMulticast() && eth.DstMAC[0]&1 == 0 {
			fail(i, "multicast %v to unicast MAC %v", dst, eth.DstMAC)
		}
		for _, a := range []netip.Addr{src, dst} {
			if isLAN(a) {
				o.clients[a] = true
			} else if !isServer(a) && !a.IsMulticast() {
				fail(i, "address %v outside the documented ranges", a)
			}
		}

		switch proto {
		case protoTCP, protoUDP:
			if !foldsToOnes(naiveSum(pseudo(pseudoSrc, pseudoDst, proto, len(l4)), l4)) {
				fail(i, "bad %d checksum", proto)
			}
		case protoICMP:
			if !foldsToOnes(naiveSum(0, l4)) {
				fail(i, "bad ICMPv4 checksum")
			}
		case protoICMPv6:
			if !foldsToOnes(naiveSum(pseudo(pseudoSrc, pseudoDst, proto, len(l4)), l4)) {
				fail(i, "bad ICMPv6 checksum")
			}
		default:
			fail(i, "protocol %d", proto)
		}
		if l, ok := p.TransportLayer().(interface {
			SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
		}); ok {
			if err := l.SetNetworkLayerForChecksum(p.NetworkLayer()); err != nil {
				fail(i, "SetNetworkLayerForChecksum: %v", err)
			}
		}
		if ic, ok := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6); ok {
			if err := ic.SetNetworkLayerForChecksum(p.NetworkLayer()); err != nil {
				fail(i, "SetNetworkLayerForChecksum: %v", err)
			}
		}
		if err, bad := p.VerifyChecksums(); err != nil || len(bad) != 0 {
			fail(i, "gopacket VerifyChecksums: %v %v", err, bad)
		}

		tlsErrorExpected := false // gopacket's TLS decoder fails on this packet
		port443 := false          // and runs on it (DecodeStreamsAsDatagrams)
		switch proto {
		case protoTCP:
			tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
			if tcp == nil {
				fail(i, "no TCP layer")
				continue
			}
			sp, dp := uint16(tcp.SrcPort), uint16(tcp.DstPort)
			k := newFlowKey(src, dst, sp, dp, proto)
			o.tcpFlows[k] = true
			o.flowPackets[k]++
			port443 = sp == 443 || dp == 443
			if _, ok := o.firstSeen[k]; !ok {
				o.firstSeen[k] = ts
			}
			o.lastSeen[k] = ts
			if tcp.SYN && !tcp.ACK {
				o.synFlows[k] = true
			}
			if tcp.FIN || tcp.RST {
				o.finOrRST[k] = true
			}
			pl := tcp.Payload
			switch {
			case tlsPorts[sp] || tlsPorts[dp]:
				if sp == 443 || dp == 443 {
					o.tls++
				} else {
					o.otherTCP++
				}
				if len(pl) == 0 {
					break
				}
				fromClient := tlsPorts[dp]
				if prevPart, ok := pendingHello[k]; ok && fromClient {
					delete(pendingHello, k)
					whole := append(prevPart, pl...)
					if sni, err := extractSNI(whole); err != nil {
						fail(i, "split ClientHello does not reassemble: %v", err)
					} else {
						o.sniNames[sni]++
						o.splitReassembled++
						o.stats.SplitHellos++
					}
					tlsErrorExpected = true
					break
				}
				if fromClient && pl[0] == 0x16 && (len(pl) < 6 || pl[5] == 1) {
					// A handshake record opening the client's stream is a
					// ClientHello; it may be cut anywhere, even after a byte.
					o.stats.TLSHellos++
					if len(pl) < 5 || 5+int(binary.BigEndian.Uint16(pl[3:])) > len(pl) {
						pendingHello[k] = slices.Clone(pl)
						tlsErrorExpected = true
						break
					}
					if sni, err := extractSNI(pl); err != nil {
						fail(i, "ClientHello: %v", err)
					} else {
						o.sniNames[sni]++
					}
					if n := len(pl); n < 500 || n > 600 {
						fail(i, "ClientHello record of %d bytes", n)
					}
				}
				if !fromClient && pl[0] == 0x16 && len(pl) > 5 && pl[5] == 2 {
					o.serverHellos++
					tlsErrorExpected = true // gopacket decodes only ClientHello/ClientKeyExchange
				}
				if !tlsRecordsWhole(pl) {
					fail(i, "TCP payload on TLS port %d/%d is not whole TLS records: % x", sp, dp, pl[:min(len(pl), 16)])
				}
			case sp == 80 || dp == 80:
				o.http++
				s := string(pl)
				if strings.HasPrefix(s, "GET ") || strings.HasPrefix(s, "POST ") {
					o.stats.HTTPRequests++
					for _, h := range []string{"\r\nHost: ", "\r\nUser-Agent: ", "\r\n\r\n"} {
						if !strings.Contains(s, h) {
							fail(i, "HTTP request without %q", h)
						}
					}
				}
				type segKey struct {
					k   flowKey
					seq uint32
				}
				if strings.HasPrefix(s, "HTTP/1.1 ") && !httpSeen[segKey{k, tcp.Seq}] {
					httpSeen[segKey{k, tcp.Seq}] = true // not again when retransmitted
					o.httpResponses++
					if strings.HasPrefix(s, "HTTP/1.1 200") && !strings.Contains(s, "\r\nContent-Type: ") {
						fail(i, "HTTP 200 response without Content-Type")
					}
				}
			default:
				o.otherTCP++
			}
		case protoUDP:
			udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
			if udp == nil {
				fail(i, "no UDP layer")
				continue
			}
			if int(udp.Length) != len(l4) {
				fail(i, "UDP length %d for %d bytes", udp.Length, len(l4))
			}
			sp, dp := uint16(udp.SrcPort), uint16(udp.DstPort)
			k := newFlowKey(src, dst, sp, dp, proto)
			o.udpFlows[k] = true
			if _, ok := o.firstSeen[k]; !ok {
				o.firstSeen[k] = ts
			}
			o.lastSeen[k] = ts
			switch {
			case sp == 53 || dp == 53:
				o.dns++
				d, _ := p.Layer(layers.LayerTypeDNS).(*layers.DNS)
				if d == nil {
					fail(i, "DNS packet without a DNS layer")
					break
				}
				if len(d.Additionals) != 1 || d.Additionals[0].Type != layers.DNSTypeOPT {
					fail(i, "DNS message without an EDNS OPT record")
				}
				q := dnsQ{k, d.ID}
				if !d.QR {
					o.stats.DNSQueries++
					openQueries[q] = true
					break
				}
				if !openQueries[q] {
					fail(i, "DNS response %d without query", d.ID)
				}
				delete(openQueries, q)
				o.dnsResponses++
				checkDNSResponse(t, i, d, o, fail)
			case sp == 443 || dp == 443:
				o.otherUDP++
				if len(udp.Payload) > 5 && udp.Payload[0]&0xc0 == 0xc0 &&
					binary.BigEndian.Uint32(udp.Payload[1:]) == 1 {
					o.quicLong++
					// A client's Initial (type 0) must decrypt to a
					// ClientHello with the Initial keys of its DCID.
					if dp == 443 && udp.Payload[0]&0x30 == 0 {
						var a quic.Assembler
						if hello, done, err := a.Add(udp.Payload); err != nil || !done || len(hello) < 4 || hello[0] != 1 {
							fail(i, "QUIC Initial that does not give a ClientHello: %v", err)
						} else {
							o.stats.QUICHellos++
						}
					}
				}
			case sp == 123 || dp == 123:
				o.otherUDP++
				if p.Layer(layers.LayerTypeNTP) == nil {
					fail(i, "NTP packet without an NTP layer")
				}
				o.ntp++
			case dp == 5353:
				o.otherUDP++
				o.mdns++
				if _, err := decodeDNS(udp.Payload); err != nil {
					fail(i, "mDNS: %v", err)
				}
			case dp == 1900:
				o.otherUDP++
				o.ssdp++
				if !strings.HasPrefix(string(udp.Payload), "M-SEARCH * HTTP/1.1\r\n") {
					fail(i, "SSDP packet is not an M-SEARCH")
				}
			default:
				o.icmp++ // datagrams that draw ICMP errors belong to the ICMP share
			}
		case protoICMP, protoICMPv6:
			o.icmp++
			var typ uint8
			var rest []byte
			if proto == protoICMP {
				ic, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
				if ic == nil {
					fail(i, "no ICMPv4 layer")
					continue
				}
				typ, rest = ic.TypeCode.Type(), ic.Payload
			} else {
				ic, _ := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
				if ic == nil {
					fail(i, "no ICMPv6 layer")
					continue
				}
				typ, rest = ic.TypeCode.Type(), ic.Payload
				if typ == 1 && len(rest) >= 4 {
					rest = rest[4:] // unused word
				}
			}
			switch typ {
			case 8, 128:
				o.stats.ICMPEchos++
				id := binary.BigEndian.Uint16(l4[4:])
				key := [2]netip.Addr{src, dst}
				if o.echoSessions[key] == nil {
					o.echoSessions[key] = map[uint16]bool{}
				}
				o.echoSessions[key][id] = true
			case 0, 129:
			case 3, 1:
				o.icmpUnreachable++
				first := layers.LayerTypeIPv4
				if proto == protoICMPv6 {
					first = layers.LayerTypeIPv6
				}
				q := gopacket.NewPacket(rest, first, gopacket.Default)
				qu, _ := q.Layer(layers.LayerTypeUDP).(*layers.UDP)
				if qu == nil || q.ErrorLayer() != nil {
					fail(i, "ICMP error does not quote a UDP datagram")
					break
				}
				qsrc, _ := netip.AddrFromSlice(q.NetworkLayer().NetworkFlow().Src().Raw())
				qdst, _ := netip.AddrFromSlice(q.NetworkLayer().NetworkFlow().Dst().Raw())
				if !o.udpFlows[newFlowKey(qsrc, qdst, uint16(qu.SrcPort), uint16(qu.DstPort), protoUDP)] {
					fail(i, "ICMP error quotes a datagram not sent")
				}
			default:
				fail(i, "ICMP type %d", typ)
			}
		}
		if tlsErrorExpected && port443 {
			o.tlsErrorsPredicted++
		}
		if p.Metadata().Truncated && !(tlsErrorExpected && port443) {
			fail(i, "decoded as truncated")
		}
		if el := p.ErrorLayer(); el != nil {
			if tlsErrorExpected && port443 && el.LayerType() == gopacket.LayerTypeDecodeFailure &&
				p.Layer(layers.LayerTypeTCP).(*layers.TCP).NextLayerType() == layers.LayerTypeTLS {
				o.tlsErrors++
			} else {
				fail(i, "error layer %v: %v", el.LayerType(), el.Error())
			}
		}
	}
	o.dnsUnanswered = len(openQueries)
	if len(pendingHello) != 0 {
		// Only possible at the very end of a capture.
		for k := range pendingHello {
			if o.lastSeen[k] != prev {
				t.Errorf("split ClientHello on %v never completed", k)
			}
		}
	}
	if len(recs) > 1 {
		o.span = recs[len(recs)-1].ci.Timestamp.Sub(recs[0].ci.Timestamp)
		o.meanGap = o.span / time.Duration(len(recs)-1)
	}
	var life time.Duration
	for k, f := range o.firstSeen {
		d := o.lastSeen[k].Sub(f)
		life += d
		o.maxSessionDuration = max(o.maxSessionDuration, d)
	}
	if o.span > 0 {
		o.meanConcurrency = float64(life) / float64(o.span)
	}
	o.stats.TCPSessions = len(o.tcpFlows)
	o.stats.UDPSessions = len(o.udpFlows)
	echo := 0
	for _, ids := range o.echoSessions {
		echo += len(ids)
	}
	o.stats.Sessions = o.stats.TCPSessions + o.stats.UDPSessions + echo
	return o
}

func decodeDNS(b []byte) (*layers.DNS, error) {
	var d layers.DNS
	return &d, d.DecodeFromBytes(b, gopacket.NilDecodeFeedback)
}

func checkDNSResponse(t *testing.T, i int, d *layers.DNS, o *observed, fail func(int, string, ...any)) {
	t.Helper()
	if len(d.Questions) != 1 {
		fail(i, "DNS response with %d questions", len(d.Questions))
		return
	}
	qt := d.Questions[0].Type
	if d.ResponseCode == layers.DNSResponseCodeNXDomain {
		o.nxdomains++
		if len(d.Answers) != 0 || len(d.Authorities) != 1 || d.Authorities[0].Type != layers.DNSTypeSOA {
			fail(i, "NXDOMAIN without a lone SOA")
		}
		return
	}
	if d.ResponseCode != layers.DNSResponseCodeNoErr {
		fail(i, "DNS rcode %v", d.ResponseCode)
		return
	}
	owner := string(d.Questions[0].Name)
	chain, addrs := 0, 0
	for _, a := range d.Answers {
		if string(a.Name) != owner {
			fail(i, "answer owner %q, want %q", a.Name, owner)
		}
		switch a.Type {
		case layers.DNSTypeCNAME:
			if addrs > 0 {
				fail(i, "CNAME after addresses")
			}
			chain++
			owner = string(a.CNAME)
		case qt:
			addrs++
			ip, _ := netip.AddrFromSlice(a.IP)
			if !isServer(ip.Unmap()) {
				fail(i, "answer address %v outside the server ranges", ip)
			}
		default:
			fail(i, "answer of type %v for a %v query", a.Type, qt)
		}
	}
	if chain > 3 || addrs < 1 || addrs > 4 {
		fail(i, "%d CNAMEs then %d addresses", chain, addrs)
	}
	if chain > 0 {
		o.cnameChains++
	}
}

var (
	gateway4   = netip.MustParseAddr("192.168.1.1")
	gateway6   = netip.MustParseAddr("2001:db8:1::1")
	serverNets = []netip.Prefix{
		netip.MustParsePrefix("198.51.100.0/24"),
		netip.MustParsePrefix("203.0.113.0/24"),
		netip.MustParsePrefix("2001:db8:ff::/48"),
	}
	lanNets = []netip.Prefix{
		netip.MustParsePrefix("192.168.1.0/24"),
		netip.MustParsePrefix("2001:db8:1::/64"),
	}
)

func isServer(a netip.Addr) bool {
	for _, p := range serverNets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func isLAN(a netip.Addr) bool {
	for _, p := range lanNets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func TestMixValid(t *testing.T) {
	const n = 20000
	b, st := writeMix(t, Options{Packets: n, Seed: 7})
	recs := readPcap(t, b)
	o := analyse(t, recs)
	if st.Packets < n || st.Packets > n+200 {
		t.Errorf("wrote %d packets for Packets %d", st.Packets, n)
	}
	if o.stats != st {
		t.Errorf("Stats differ from the capture:\n got %+v\nseen %+v", st, o.stats)
	}
	total := float64(o.stats.Packets)
	shares := []struct {
		name   string
		count  int
		lo, hi float64
	}{
		{"IPv6", o.stats.IPv6Packets, 0.25, 0.35},
		{"VLAN", o.stats.VLANPackets, 0.03, 0.08},
		{"TLS/443", o.tls, 0.46, 0.54},
		{"HTTP", o.http, 0.065, 0.10},
		{"DNS", o.dns, 0.065, 0.095},
		{"other UDP", o.otherUDP, 0.085, 0.115},
		{"ICMP", o.icmp, 0.015, 0.026},
		{"other TCP", o.otherTCP, 0.19, 0.25},
	}
	for _, s := range shares {
		got := float64(s.count) / total
		t.Logf("%-9s %6d packets %5.1f%%", s.name, s.count, 100*got)
		if got < s.lo || got > s.hi {
			t.Errorf("%s share %.3f outside [%.2f, %.2f]", s.name, got, s.lo, s.hi)
		}
	}
	ratio := func(a, b int) float64 { return float64(a) / float64(max(b, 1)) }
	checks := []struct {
		name   string
		got    float64
		lo, hi float64
	}{
		{"split hellos / hellos", ratio(st.SplitHellos, st.TLSHellos), 0.08, 0.22},
		{"reassembled split hellos", float64(o.splitReassembled), 1, 1e9},
		{"CNAME chains / DNS responses", ratio(o.cnameChains, o.dnsResponses), 0.3, 0.7},
		{"NXDOMAIN responses", float64(o.nxdomains), 1, 1e9},
		{"unanswered / DNS queries", ratio(o.dnsUnanswered, st.DNSQueries), 0.003, 0.06},
		{"HTTP responses / requests", ratio(o.httpResponses, st.HTTPRequests), 0.9, 1.0},
		{"ICMP unreachable errors", float64(o.icmpUnreachable), 1, 1e9},
		{"QUIC long headers", float64(o.quicLong), 1, 1e9},
		{"QUIC ClientHellos", float64(st.QUICHellos), 1, 1e9},
		{"NTP packets", float64(o.ntp), 1, 1e9},
		{"mDNS packets", float64(o.mdns), 1, 1e9},
		{"SSDP packets", float64(o.ssdp), 1, 1e9},
		{"TCP sessions without SYN", ratio(len(o.tcpFlows)-len(o.synFlows), len(o.tcpFlows)), 0.01, 0.12},
		{"mean gap µs", float64(o.meanGap) / 1e3, 35, 70},
		{"mean concurrency", o.meanConcurrency, 150, 400},
		{"LAN addresses (v4+v6)", float64(len(o.clients)), 40, 90},
		{"distinct SNIs", float64(len(o.sniNames)), 80, 210},
		// A second half can happen to parse as a TLS record (cut after 4
		// bytes, the rest reads as application data of the right length).
		{"gopacket TLS errors", float64(o.tlsErrors), 0.99 * float64(o.tlsErrorsPredicted), float64(o.tlsErrorsPredicted)},
	}
	for _, c := range checks {
		t.Logf("%-30s %.3f", c.name, c.got)
		if c.got < c.lo || c.got > c.hi {
			t.Errorf("%s = %.3f, want [%.3f, %.3f]", c.name, c.got, c.lo, c.hi)
		}
	}
	// Complete TLS connections on 443 hold 10..200 packets (a few more with
	// retransmissions), heavy-tailed.
	var lens []int
	for k, n := range o.flowPackets {
		if k.a.Port() == 443 || k.b.Port() == 443 {
			if o.synFlows[k] && o.finOrRST[k] {
				lens = append(lens, n)
			}
		}
	}
	slices.Sort(lens)
	if len(lens) < 100 || lens[0] < 10 || lens[len(lens)-1] > 210 || lens[len(lens)/2] > 40 {
		t.Errorf("%d complete TLS connections, lengths %v", len(lens), lens)
	} else {
		t.Logf("%d complete TLS connections, %d..%d packets, median %d, 90th percentile %d",
			len(lens), lens[0], lens[len(lens)-1], lens[len(lens)/2], lens[len(lens)*9/10])
	}
	local, ouis := 0, map[[3]byte]bool{}
	for m := range o.clientMACs {
		if m[0]&2 != 0 {
			local++
		} else {
			ouis[[3]byte(m[:3])] = true
		}
	}
	if len(o.clientMACs) != numClients || local != 1 || len(ouis) > 8 || len(o.gatewayMACs) != 1 {
		t.Errorf("%d client MACs (%d locally administered, %d OUIs), %d gateway MACs; want %d, 1, <= 8, 1",
			len(o.clientMACs), local, len(ouis), len(o.gatewayMACs), numClients)
	}
	for sni := range o.sniNames {
		if !slices.Contains(hostNames, sni) && !slices.Contains(pushHosts[:], sni) {
			t.Errorf("SNI %q not from the host list", sni)
		}
	}
	if len(hostNames) != 200 {
		t.Errorf("%d host names, want 200", len(hostNames))
	}
}

// TestMixStopsAtSessionBoundary checks the stopping rule: with Packets n
// Mix writes k >= n packets, ending with the first session end at or after
// packet n. So Packets k gives the same file, Packets k+1 a longer one that
// starts with it, and the output is a prefix of any longer run.
func TestMixStopsAtSessionBoundary(t *testing.T) {
	longer, _ := writeMix(t, Options{Packets: 3000, Seed: 3})
	for _, n := range []int{1, 10, 1000} {
		b, st := writeMix(t, Options{Packets: n, Seed: 3})
		k := st.Packets
		if k < n {
			t.Errorf("Packets %d: wrote %d", n, k)
		}
		if got := len(readPcap(t, b)); got != k {
			t.Errorf("Packets %d: file holds %d, Stats say %d", n, got, k)
		}
		if same, _ := writeMix(t, Options{Packets: k, Seed: 3}); !bytes.Equal(same, b) {
			t.Errorf("Packets %d wrote %d packets, but Packets %d writes another file", n, k, k)
		}
		more, st2 := writeMix(t, Options{Packets: k + 1, Seed: 3})
		if st2.Packets <= k || !bytes.HasPrefix(more, b) {
			t.Errorf("Packets %d: %d packets, not a longer file starting with the %d of Packets %d", k+1, st2.Packets, k, n)
		}
		if !bytes.HasPrefix(longer, b) {
			t.Errorf("Packets %d: output is not a prefix of a longer run", n)
		}
	}
}

func TestOpenSessions(t *testing.T) {
	tests := []struct {
		n    int
		seed uint64
	}{{1000, 1}, {1000, 2}, {1, 3}, {0, 4}}
	for _, tc := range tests {
		var buf bytes.Buffer
		st, err := OpenSessions(&buf, tc.n, tc.seed)
		if err != nil {
			t.Fatal(err)
		}
		recs := readPcap(t, buf.Bytes())
		if len(recs) != 5*tc.n || st.Packets != 5*tc.n {
			t.Errorf("n=%d: %d packets in file, Stats %d, want %d", tc.n, len(recs), st.Packets, 5*tc.n)
		}
		if tc.n == 0 {
			continue
		}
		o := analyse(t, recs)
		if len(o.tcpFlows) != tc.n || len(o.udpFlows) != 0 {
			t.Errorf("n=%d: %d TCP and %d UDP 5-tuples", tc.n, len(o.tcpFlows), len(o.udpFlows))
		}
		if len(o.synFlows) != tc.n {
			t.Errorf("n=%d: %d 5-tuples with a SYN", tc.n, len(o.synFlows))
		}
		if len(o.finOrRST) != 0 {
			t.Errorf("n=%d: %d 5-tuples with FIN or RST", tc.n, len(o.finOrRST))
		}
		if o.stats != st {
			t.Errorf("n=%d: Stats differ from the capture:\n got %+v\nseen %+v", tc.n, st, o.stats)
		}
		if st.TLSHellos != tc.n {
			t.Errorf("n=%d: %d ClientHellos", tc.n, st.TLSHellos)
		}
		if o.span > time.Second {
			t.Errorf("n=%d: capture spans %v", tc.n, o.span)
		}
		if tc.n < 1000 {
			continue
		}
		if v6 := float64(st.IPv6Packets) / float64(st.Packets); v6 < 0.25 || v6 > 0.35 {
			t.Errorf("n=%d: IPv6 share %.3f", tc.n, v6)
		}
		v4clients := 0
		for a := range o.clients {
			if a.Is4() {
				v4clients++
			}
		}
		if v4clients < 16 || v4clients > 64 {
			t.Errorf("n=%d: %d clients", tc.n, v4clients)
		}
		t.Logf("n=%d: %d clients, span %v, concurrency %.0f", tc.n, v4clients, o.span, o.meanConcurrency)
	}
}

// TestOpenSessionsDistinctAcrossPortWrap drives clients through several
// wraps of the ephemeral port range without writing a capture.
func TestOpenSessionsDistinctAcrossPortWrap(t *testing.T) {
	g, _, err := newGen(io.Discard, 9, DefaultStart)
	if err != nil {
		t.Fatal(err)
	}
	g.makeClients(1, 0)
	type tuple struct {
		c     int
		v6    bool
		ip    addr
		cport uint16
	}
	seen := map[tuple]bool{}
	ports := lastPort - firstPort // per wrap, one port is skipped
	for range 5 * ports / 2 {
		s := g.scriptOpen(9, 1000)
		ci := slices.Index(g.clients, s.cl)
		k := tuple{ci, s.v6, s.sip, s.cport}
		if seen[k] {
			t.Fatalf("5-tuple repeated after %d sessions: %+v", len(seen), k)
		}
		seen[k] = true
		g.free = append(g.free, s)
	}
}
