package pipeline_test

import (
	"context"
	"encoding/binary"
	"testing"

	"tamon/daemon/internal/decode"
	"tamon/daemon/internal/pipeline"
	"tamon/daemon/internal/record"
)

// tcpFrame is an Ethernet/IPv4/TCP frame between 192.0.2.11:40000 (the
// client) and 198.51.100.10:443, without checksums (nothing checks them).
func tcpFrame(fromServer bool, flags uint8, seq, ack uint32, payload []byte) []byte {
	return tcpFrameTo(443, fromServer, flags, seq, ack, payload)
}

// tcpFrameTo is tcpFrame to another server port.
func tcpFrameTo(port uint16, fromServer bool, flags uint8, seq, ack uint32, payload []byte) []byte {
	b := make([]byte, 54+len(payload))
	cmac, smac := []byte{2, 0, 0, 0, 0, 1}, []byte{2, 0, 0, 0, 0, 2}
	cip, sip := []byte{192, 0, 2, 11}, []byte{198, 51, 100, 10}
	cport, sport := uint16(40000), port
	if fromServer {
		cmac, smac, cip, sip, cport, sport = smac, cmac, sip, cip, sport, cport
	}
	copy(b[0:6], smac)
	copy(b[6:12], cmac)
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := b[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(40+len(payload)))
	ip[8], ip[9] = 64, 6
	copy(ip[12:16], cip)
	copy(ip[16:20], sip)
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp[0:], cport)
	binary.BigEndian.PutUint16(tcp[2:], sport)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], ack)
	tcp[12] = 5 << 4
	tcp[13] = flags
	binary.BigEndian.PutUint16(tcp[14:], 65535)
	copy(tcp[20:], payload)
	return b
}

// streamScript turns fuzz bytes into the frames of one TCP connection on
// port 443: per segment a flags byte (bit 0 from the server, then the TCP
// flags FIN SYN RST PSH ACK in bits 1-5), a signed 16-bit offset from that
// direction's next sequence number (-32768: 2^31, half the sequence space
// away), the acknowledgment as a signed 8-bit offset from the other
// direction's, and a payload length, then the payload.
func streamScript(port uint16, script []byte) [][]byte {
	var frames [][]byte
	next := [2]uint32{1000, 5000}
	for len(script) >= 5 {
		f, dseq, dack, n := script[0], int16(binary.BigEndian.Uint16(script[1:])), int8(script[3]), int(script[4])
		script = script[5:]
		n = min(n, len(script))
		payload := script[:n]
		script = script[n:]
		dir := int(f & 1)
		seq := next[dir] + uint32(int32(dseq))
		if dseq == -1<<15 {
			seq = next[dir] + 1<<31
		}
		ack := next[1-dir] + uint32(int32(dack))
		frames = append(frames, tcpFrameTo(port, dir == 1, f>>1&0x1f, seq, ack, payload))
		if end := seq + uint32(n); int32(end-next[dir]) > 0 {
			next[dir] = end
		}
	}
	return frames
}

// segment is one step of a stream script (see streamScript).
func segment(fromServer bool, tcpFlags uint8, dseq int16, dack int8, payload []byte) []byte {
	f := tcpFlags << 1
	if fromServer {
		f |= 1
	}
	b := []byte{f, 0, 0, byte(dack), byte(len(payload))}
	binary.BigEndian.PutUint16(b[1:], uint16(dseq))
	return append(b, payload...)
}

// FuzzStreams runs the engine over TCP connections of any segments: out of
// order, overlapping, cut by a small snap length, with any flags and
// acknowledgment numbers, to port 443, 80 or 53 (snap modulo 3: TLS, HTTP
// and DNS over TCP are each tried first there). It must neither fail nor
// panic, and write at most one TLS record per session.
func FuzzStreams(f *testing.F) {
	const syn, ack, psh, fin = 0x02, 0x10, 0x08, 0x01
	hello := []byte{0x16, 3, 1, 0, 40, 1, 0, 0, 36, 3, 3}
	hello = append(hello, make([]byte, 34)...)
	f.Add(uint16(65535), append(append(append(
		segment(false, syn, -1, 0, nil), segment(true, syn|ack, -1, 0, nil)...),
		segment(false, psh|ack, 0, 0, hello[:1])...), segment(false, psh|ack, 0, 0, hello[1:])...))
	f.Add(uint16(65535), append(append(
		segment(false, psh|ack, 0, 0, hello), segment(true, psh|ack, 20, 0, []byte("later bytes"))...),
		segment(true, psh|ack, -31, 0, []byte{0x16, 3, 3, 0, 4, 2, 0, 0, 0})...))
	f.Add(uint16(60), append(
		segment(false, psh|ack, 0, 0, []byte("G")), segment(false, psh|ack, 0, 0, []byte("ET / HTTP/1.1\r\nHost: a\r\n\r\n"))...))
	f.Add(uint16(100), append( // port 80
		segment(false, psh|ack, 0, 100, []byte("GET / HTTP/1.1\r\n\r\n")), segment(true, fin|ack, -30000, 0, []byte("HTTP/1.1 200 OK\r\n"))...))
	f.Add(uint16(65535), append(
		segment(true, psh|ack, 0, 0, []byte("HTTP/1")), segment(true, psh|ack, 0, 0, []byte(".1 200 OK\r\n\r\n"))...))
	f.Add(uint16(65534), append( // port 53: two DNS queries, the second across segments
		segment(false, psh|ack, 0, 0, []byte{0, 12, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 12, 0, 2, 1, 0}),
		segment(false, psh|ack, 0, 0, []byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1})...))
	f.Fuzz(func(t *testing.T, snap uint16, script []byte) {
		frames := streamScript([]uint16{443, 80, 53}[snap%3], script)
		sessions, tlsRecs := 0, 0
		sink := pipeline.SinkFunc(func(rs []record.Record) error {
			for _, r := range rs {
				switch r.(type) {
				case *record.Session:
					sessions++
				case *record.TLS:
					tlsRecs++
				}
			}
			return nil
		})
		e := pipeline.New(pipeline.Config{Sensor: "t", Workers: 1}, sink)
		src := &cutSource{frames: frames, snap: max(int(snap), 54)}
		if err := e.Run(context.Background(), src); err != nil {
			t.Fatal(err)
		}
		if tlsRecs > sessions {
			t.Fatalf("%d TLS records for %d sessions", tlsRecs, sessions)
		}
		if st := e.Stats(); st.Frames != uint64(len(frames)) || st.Decode[decode.ReasonOK] != uint64(len(frames)) {
			t.Fatalf("%d frames read, %d decoded, of %d", st.Frames, st.Decode[decode.ReasonOK], len(frames))
		}
	})
}

// A segment that starts exactly half the sequence space away from the next
// expected byte (int32(seq-next) = math.MinInt32) is old bytes to the TLS,
// HTTP and DNS-over-TCP reassembly alike; it once sliced a payload at a
// negative offset and took the daemon down. The rest of the stream is read
// as if it had not come.
func TestHalfSequenceSpace(t *testing.T) {
	const psh, ack = 0x08, 0x10
	hello, _ := hellos(t, "half.example")
	query := []byte{0, 0, 0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 4, 'h', 'a', 'l', 'f', 0, 0, 1, 0, 1}
	query[1] = byte(len(query) - 2)
	for _, tt := range []struct {
		port    uint16
		payload []byte
	}{{443, hello}, {80, []byte("GET /half HTTP/1.1\r\nHost: half.example\r\n\r\n")}, {53, query}} {
		const seq = 1000
		cut := len(tt.payload) / 2
		frames := [][]byte{
			tcpFrameTo(tt.port, false, psh|ack, seq, 5000, tt.payload[:cut]),
			tcpFrameTo(tt.port, false, psh|ack, seq+uint32(cut)+1<<31, 5000, []byte("far away")),
			tcpFrameTo(tt.port, false, psh|ack, seq+uint32(cut), 5000, tt.payload[cut:]),
		}
		var recs []record.Record
		e := pipeline.New(pipeline.Config{Sensor: "t", Workers: 1}, pipeline.SinkFunc(func(rs []record.Record) error {
			recs = append(recs, rs...)
			return nil
		}))
		if err := e.Run(context.Background(), &cutSource{frames: frames, snap: 65535}); err != nil {
			t.Fatalf("port %d: %v", tt.port, err)
		}
		var found bool
		for _, r := range recs {
			switch r := r.(type) {
			case *record.TLS:
				found = found || r.SNI == "half.example"
			case *record.HTTP:
				found = found || r.URI == "/half"
			case *record.DNS:
				found = found || r.Query == "half"
			}
		}
		if !found {
			t.Errorf("port %d: the message around the far segment was not read: %d records", tt.port, len(recs))
		}
	}
}
