package pipeline_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"tamon/daemon/internal/capture"
	"tamon/daemon/internal/pipeline"
	"tamon/daemon/internal/record"
)

// cutSource yields frames, each cut to at most snap bytes (WireLen stays
// whole), then io.EOF: a capture whose snap length is smaller than the
// GRO/GSO aggregates a live bridge sees.
type cutSource struct {
	frames [][]byte
	snap   int
	i      int
}

func (s *cutSource) Next(f *capture.Frame) error {
	if s.i == len(s.frames) {
		return io.EOF
	}
	b := s.frames[s.i]
	s.i++
	*f = capture.Frame{Data: b[:min(len(b), s.snap)], WireLen: len(b), TS: int64(s.i) * 1e6, Link: capture.LinkEthernet}
	return nil
}
func (s *cutSource) Stats() capture.Stats { return capture.Stats{} }
func (s *cutSource) Close() error         { return nil }
func (s *cutSource) Name() string         { return "cut" }

// tcpConv builds the frames of one TCP connection.
type tcpConv struct {
	t          *testing.T
	seqC, seqS uint32
	frames     [][]byte
}

func (c *tcpConv) add(fromClient bool, syn, ack, fin bool, payload []byte) {
	eth := &layers.Ethernet{SrcMAC: []byte{2, 0, 0, 0, 0, 1}, DstMAC: []byte{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: []byte{192, 0, 2, 11}, DstIP: []byte{198, 51, 100, 10}}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 80, SYN: syn, ACK: ack, FIN: fin, Window: 65535, Seq: c.seqC, Ack: c.seqS}
	if !fromClient {
		eth.SrcMAC, eth.DstMAC = eth.DstMAC, eth.SrcMAC
		ip.SrcIP, ip.DstIP = ip.DstIP, ip.SrcIP
		tcp.SrcPort, tcp.DstPort = tcp.DstPort, tcp.SrcPort
		tcp.Seq, tcp.Ack = c.seqS, c.seqC
	}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		c.t.Fatal(err)
	}
	n := uint32(len(payload))
	if syn || fin {
		n++
	}
	if fromClient {
		c.seqC += n
	} else {
		c.seqS += n
	}
	c.frames = append(c.frames, buf.Bytes())
}

// A segment cut by the snap length still gives the HTTP response head
// it starts with, and when the bytes cut are body the next message on the
// connection is read too.
func TestSnapCutSegment(t *testing.T) {
	body := strings.Repeat("x", 6000)
	tests := []struct {
		name       string
		snap       int
		wantStatus []int
	}{
		{"whole frames", 65535, []int{200, 404}},
		{"response cut after its head", 1500, []int{200, 404}},
		// The rest of the head is lost: the direction is given up, as
		// after any gap that may hold a head.
		{"response cut inside its head", 120, []int{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &tcpConv{t: t, seqC: 1000, seqS: 5000}
			c.add(true, true, false, false, nil)
			c.add(false, true, true, false, nil)
			c.add(true, false, true, false, nil)
			c.add(true, false, true, false, []byte("GET /big HTTP/1.1\r\nHost: files.example\r\n\r\n"))
			c.add(false, false, true, false, []byte("HTTP/1.1 200 OK\r\nContent-Length: 6000\r\nServer: "+strings.Repeat("s", 100)+"\r\n\r\n"+body))
			c.add(true, false, true, false, []byte("GET /next HTTP/1.1\r\nHost: files.example\r\n\r\n"))
			c.add(false, false, true, false, []byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
			c.add(true, false, true, true, nil)
			c.add(false, false, true, true, nil)
			var got []int
			sink := pipeline.SinkFunc(func(rs []record.Record) error {
				for _, r := range rs {
					if h, ok := r.(*record.HTTP); ok {
						got = append(got, int(h.Status))
					}
				}
				return nil
			})
			e := pipeline.New(pipeline.Config{Sensor: "t", Workers: 1}, sink)
			if err := e.Run(context.Background(), &cutSource{frames: c.frames, snap: tt.snap}); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.wantStatus) {
				t.Fatalf("HTTP statuses %v, want %v", got, tt.wantStatus)
			}
			for i := range got {
				if got[i] != tt.wantStatus[i] {
					t.Fatalf("HTTP statuses %v, want %v", got, tt.wantStatus)
				}
			}
		})
	}
}
