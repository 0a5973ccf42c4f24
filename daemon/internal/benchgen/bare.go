package benchgen

import (
	"bufio"
	"errors"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Indexes into BareResult.Layers.
const (
	LayerEthernet = iota
	LayerDot1Q
	LayerIPv4
	LayerIPv6
	LayerTCP
	LayerUDP
	LayerICMP // ICMPv4 and ICMPv6
	LayerPayload
)

// BareResult is what BareDecode saw.
type BareResult struct {
	Packets, Bytes uint64
	Elapsed        time.Duration
	Layers         [8]uint64 // counts per decoded layer kind (Layer* indexes), so the loop can't be optimised away
}

// BareDecode reads a pcap file with pcapgo.Reader.ZeroCopyReadPacketData
// (1 MiB bufio) and decodes every frame with one
// gopacket.DecodingLayerParser over preallocated layers (Ethernet, Dot1Q,
// IPv4, IPv6, TCP, UDP, ICMPv4, ICMPv6, gopacket.Payload) in a
// DecodingLayerSparse container, ignoring unsupported layers, counting
// decoded layers. This is the loop a bare gopacket program runs; it is the
// yardstick the engine is compared with. Elapsed covers the read loop only.
func BareDecode(path string) (BareResult, error) {
	var res BareResult
	f, err := os.Open(path)
	if err != nil {
		return res, err
	}
	defer f.Close()
	r, err := pcapgo.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return res, err
	}

	var (
		eth     layers.Ethernet
		dot1q   layers.Dot1Q
		ip4     layers.IPv4
		ip6     layers.IPv6
		tcp     layers.TCP
		udp     layers.UDP
		icmp4   layers.ICMPv4
		icmp6   layers.ICMPv6
		payload gopacket.Payload
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet)
	var dlc gopacket.DecodingLayerContainer = gopacket.DecodingLayerSparse(nil)
	for _, d := range []gopacket.DecodingLayer{&eth, &dot1q, &ip4, &ip6, &tcp, &udp, &icmp4, &icmp6, &payload} {
		dlc = dlc.Put(d)
	}
	parser.SetDecodingLayerContainer(dlc)
	parser.IgnoreUnsupported = true
	decoded := make([]gopacket.LayerType, 0, 16)

	start := time.Now()
	for {
		data, _, err := r.ZeroCopyReadPacketData()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			res.Elapsed = time.Since(start)
			return res, err
		}
		res.Packets++
		res.Bytes += uint64(len(data))
		// Decode errors (none in generated files) end a frame's decoding
		// early, as in any bare program; the counts show what was decoded.
		_ = parser.DecodeLayers(data, &decoded)
		for _, t := range decoded {
			switch t {
			case layers.LayerTypeEthernet:
				res.Layers[LayerEthernet]++
			case layers.LayerTypeDot1Q:
				res.Layers[LayerDot1Q]++
			case layers.LayerTypeIPv4:
				res.Layers[LayerIPv4]++
			case layers.LayerTypeIPv6:
				res.Layers[LayerIPv6]++
			case layers.LayerTypeTCP:
				res.Layers[LayerTCP]++
			case layers.LayerTypeUDP:
				res.Layers[LayerUDP]++
			case layers.LayerTypeICMPv4, layers.LayerTypeICMPv6:
				res.Layers[LayerICMP]++
			case gopacket.LayerTypePayload:
				res.Layers[LayerPayload]++
			}
		}
	}
	res.Elapsed = time.Since(start)
	return res, nil
}
