package pipeline_test

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"tamon/daemon/internal/capture"
	"tamon/daemon/internal/pipeline"
	"tamon/daemon/internal/record"
)

// liveSource yields its frames, then reports an empty ring (ErrTimeout)
// until the context ends, like a quiet live interface.
type liveSource struct {
	frames [][]byte
	i      int
	ctx    context.Context
}

func (s *liveSource) Next(f *capture.Frame) error {
	if s.i < len(s.frames) {
		*f = capture.Frame{Data: s.frames[s.i], WireLen: len(s.frames[s.i]), TS: time.Now().UnixNano(), Link: capture.LinkEthernet}
		s.i++
		return nil
	}
	select {
	case <-s.ctx.Done():
		return io.EOF
	case <-time.After(20 * time.Millisecond):
		return capture.ErrTimeout
	}
}
func (s *liveSource) Stats() capture.Stats { return capture.Stats{} }
func (s *liveSource) Close() error         { return nil }
func (s *liveSource) Name() string         { return "test" }

func synFrame(t *testing.T, sport uint16) []byte {
	eth := &layers.Ethernet{SrcMAC: []byte{2, 0, 0, 0, 0, 1}, DstMAC: []byte{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: []byte{192, 0, 2, 1}, DstIP: []byte{198, 51, 100, 1}}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: 443, SYN: true, Seq: 1}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Active lists open sessions while the engine runs on a live source, and
// the shutdown flush writes them with end_reason shutdown.
func TestActiveAndShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	src := &liveSource{frames: [][]byte{synFrame(t, 40001), synFrame(t, 40002)}, ctx: ctx}
	var shutdown atomic.Int32
	sink := pipeline.SinkFunc(func(rs []record.Record) error {
		for _, r := range rs {
			if s, ok := r.(*record.Session); ok && s.EndReason == record.EndShutdown {
				shutdown.Add(1)
			}
		}
		return nil
	})
	e := pipeline.New(pipeline.Config{Sensor: "t", Workers: 2, Live: true, IdleTick: 50 * time.Millisecond}, sink)
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, src) }()
	var act []record.Session
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if act = e.Active(); len(act) == 2 {
			break
		}
	}
	if len(act) != 2 || act[0].ServerPort != 443 || act[0].ClientIP != "192.0.2.1" || act[0].EndReason != "" {
		t.Fatalf("active sessions: %+v", act)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if shutdown.Load() != 2 {
		t.Fatalf("%d sessions written with end_reason shutdown, want 2", shutdown.Load())
	}
}
