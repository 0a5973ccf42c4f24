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
	f, r, err := openBare(path)
	if err != nil {
		return res, err
	}
	defer f.Close()
	bp := newBareParser()
	start := time.Now()
	for {
		data, _, err := r.ZeroCopyReadPacketData()
		if err != nil {
			res.Elapsed = time.Since(start)
			if errors.Is(err, io.EOF) {
				return res, nil
			}
			return res, err
		}
		bp.decode(data, &res)
	}
}

// handoffBatchBytes is the frame buffer of one BareDecodeHandoff batch, as
// the engine's file batches (pipeline's fileBatchBytes).
const handoffBatchBytes = 128 << 10

// BareDecodeHandoff is BareDecode split over two goroutines, as a pipeline
// hands frames from its reader to its workers: one reads and copies the
// frames into batches of 128 KiB (8 in flight), the other decodes them.
// The work is the same as BareDecode's, plus the copy; the difference in
// time is what handing freshly read frames to another goroutine, most
// often on the other core, costs on the machine. It is a diagnostic for
// BENCHMARKS.md, not a yardstick.
func BareDecodeHandoff(path string) (BareResult, error) {
	var res BareResult
	f, r, err := openBare(path)
	if err != nil {
		return res, err
	}
	defer f.Close()
	type batch struct {
		buf    []byte
		frames [][]byte
	}
	free, full := make(chan *batch, 8), make(chan *batch, 8)
	for range 8 {
		free <- &batch{buf: make([]byte, 0, handoffBatchBytes), frames: make([][]byte, 0, 1024)}
	}
	decoded := make(chan BareResult)
	go func() {
		var dres BareResult
		bp := newBareParser()
		for b := range full {
			for _, data := range b.frames {
				bp.decode(data, &dres)
			}
			b.buf, b.frames = b.buf[:0], b.frames[:0]
			free <- b
		}
		decoded <- dres
	}()
	start := time.Now()
	var readErr error
	b := <-free
	for {
		data, _, err := r.ZeroCopyReadPacketData()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
		if len(b.buf)+len(data) > cap(b.buf) && len(b.frames) > 0 {
			full <- b
			b = <-free
		}
		off := len(b.buf)
		b.buf = append(b.buf, data...) // a frame over 128 KiB grows this batch's buffer once
		b.frames = append(b.frames, b.buf[off:])
	}
	full <- b
	close(full)
	res = <-decoded
	res.Elapsed = time.Since(start)
	return res, readErr
}

// openBare opens a pcap file for the bare loops: pcapgo's reader over a
// 1 MiB bufio. The caller closes the file.
func openBare(path string) (*os.File, *pcapgo.Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	r, err := pcapgo.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, r, nil
}

// bareParser is BareDecode's decoder: the layers, the parser and the list
// of decoded layers, all allocated once.
type bareParser struct {
	eth     layers.Ethernet
	dot1q   layers.Dot1Q
	ip4     layers.IPv4
	ip6     layers.IPv6
	tcp     layers.TCP
	udp     layers.UDP
	icmp4   layers.ICMPv4
	icmp6   layers.ICMPv6
	payload gopacket.Payload
	parser  *gopacket.DecodingLayerParser
	decoded []gopacket.LayerType
}

func newBareParser() *bareParser {
	bp := &bareParser{decoded: make([]gopacket.LayerType, 0, 16)}
	bp.parser = gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet)
	var dlc gopacket.DecodingLayerContainer = gopacket.DecodingLayerSparse(nil)
	for _, d := range []gopacket.DecodingLayer{&bp.eth, &bp.dot1q, &bp.ip4, &bp.ip6, &bp.tcp, &bp.udp, &bp.icmp4, &bp.icmp6, &bp.payload} {
		dlc = dlc.Put(d)
	}
	bp.parser.SetDecodingLayerContainer(dlc)
	bp.parser.IgnoreUnsupported = true
	return bp
}

// decode decodes one frame and counts it and its layers in res.
func (bp *bareParser) decode(data []byte, res *BareResult) {
	res.Packets++
	res.Bytes += uint64(len(data))
	// Decode errors (none in generated files) end a frame's decoding
	// early, as in any bare program; the counts show what was decoded.
	_ = bp.parser.DecodeLayers(data, &bp.decoded)
	for _, t := range bp.decoded {
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
