package quic

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// This file holds test-only tools: the corpus finder and pcap reader, a
// TShark TSV reader, a small ClientHello parser (independent of
// dissect/tls) and an Initial packet encrypter.

// datagram is one UDP payload of a capture.
type datagram struct {
	frame   int    // frame number, from 1 as in TShark
	flow    string // "src:port>dst:port"
	payload []byte
}

// readDatagrams returns the UDP payloads of a pcap or pcapng file in
// capture order.
func readDatagrams(path string) ([]datagram, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	type source interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var src source
	var link layers.LinkType
	if binary.LittleEndian.Uint32(magic) == 0x0a0d0d0a {
		r, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		src, link = r, r.LinkType()
	} else {
		r, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		src, link = r, r.LinkType()
	}
	var out []datagram
	for frame := 1; ; frame++ {
		data, _, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s frame %d: %w", path, frame, err)
		}
		p := gopacket.NewPacket(data, link, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		udp, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if !ok || p.NetworkLayer() == nil {
			continue
		}
		nf := p.NetworkLayer().NetworkFlow()
		out = append(out, datagram{
			frame:   frame,
			flow:    fmt.Sprintf("%s:%d>%s:%d", nf.Src(), udp.SrcPort, nf.Dst(), udp.DstPort),
			payload: udp.Payload,
		})
	}
}

// tsvRow is one row of a TShark TSV file, by column name.
type tsvRow map[string]string

// readTSV reads a TShark "-T fields -E header=y" file.
func readTSV(path string) ([]tsvRow, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) == 0 {
		return nil, fmt.Errorf("read %s: empty", path)
	}
	head := strings.Split(lines[0], "\t")
	var rows []tsvRow
	for i, l := range lines[1:] {
		cols := strings.Split(l, "\t")
		if len(cols) != len(head) {
			return nil, fmt.Errorf("read %s line %d: %d columns, header has %d", path, i+2, len(cols), len(head))
		}
		r := tsvRow{}
		for j, h := range head {
			r[h] = cols[j]
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// helloInfo is what the test compares of a ClientHello, formatted as TShark
// prints it.
type helloInfo struct {
	sni, alpn, ciphers, extTypes string
}

// parseHelloInfo is a small test-only ClientHello parser: it takes a
// handshake message (type 1, 3-byte length, body).
func parseHelloInfo(m []byte) (helloInfo, error) {
	var hi helloInfo
	if len(m) < 4 || m[0] != 1 {
		return hi, errors.New("not a ClientHello handshake message")
	}
	n := int(m[1])<<16 | int(m[2])<<8 | int(m[3])
	if len(m) != 4+n {
		return hi, fmt.Errorf("ClientHello length %d, message has %d bytes", n, len(m)-4)
	}
	b := m[4:]
	if len(b) < 35 {
		return hi, errors.New("ClientHello too short")
	}
	b = b[34:] // legacy_version, random
	vec := func(lenBytes int) ([]byte, bool) {
		if len(b) < lenBytes {
			return nil, false
		}
		l := 0
		for _, c := range b[:lenBytes] {
			l = l<<8 | int(c)
		}
		if len(b) < lenBytes+l {
			return nil, false
		}
		v := b[lenBytes : lenBytes+l]
		b = b[lenBytes+l:]
		return v, true
	}
	if _, ok := vec(1); !ok { // session ID
		return hi, errors.New("session ID cut off")
	}
	cs, ok := vec(2)
	if !ok || len(cs)%2 != 0 {
		return hi, errors.New("cipher suites cut off")
	}
	var ciphers []string
	for i := 0; i < len(cs); i += 2 {
		ciphers = append(ciphers, fmt.Sprintf("0x%04x", binary.BigEndian.Uint16(cs[i:])))
	}
	hi.ciphers = strings.Join(ciphers, ",")
	if _, ok := vec(1); !ok { // compression methods
		return hi, errors.New("compression methods cut off")
	}
	exts, ok := vec(2)
	if !ok {
		return hi, errors.New("extensions cut off")
	}
	var types, alpns []string
	for len(exts) >= 4 {
		typ := binary.BigEndian.Uint16(exts)
		l := int(binary.BigEndian.Uint16(exts[2:]))
		if len(exts) < 4+l {
			return hi, fmt.Errorf("extension %d cut off", typ)
		}
		data := exts[4 : 4+l]
		exts = exts[4+l:]
		types = append(types, fmt.Sprint(typ))
		switch typ {
		case 0: // server_name
			if len(data) >= 5 && data[2] == 0 {
				nl := int(binary.BigEndian.Uint16(data[3:]))
				if len(data) >= 5+nl {
					hi.sni = string(data[5 : 5+nl])
				}
			}
		case 16: // ALPN
			if len(data) >= 2 {
				for p := data[2:]; len(p) > 0 && len(p) >= 1+int(p[0]); p = p[1+int(p[0]):] {
					alpns = append(alpns, string(p[1:1+int(p[0])]))
				}
			}
		}
	}
	hi.extTypes = strings.Join(types, ",")
	hi.alpn = strings.Join(alpns, ",")
	return hi, nil
}

// unhex decodes hex with optional spaces and newlines, or fails the test.
func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		tb.Fatalf("bad hex in test: %v", err)
	}
	return b
}

// newSealer is NewSealer for a test: it fails the test on error.
func newSealer(tb testing.TB, version uint32, dcid []byte, server bool) *Sealer {
	tb.Helper()
	s, err := NewSealer(version, dcid, server)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// cryptoFrameBytes encodes a CRYPTO frame.
func cryptoFrameBytes(offset uint64, data []byte) []byte { return AppendCryptoFrame(nil, offset, data) }

// padTo appends PADDING frames up to n bytes.
func padTo(b []byte, n int) []byte {
	for len(b) < n {
		b = append(b, 0)
	}
	return b
}
