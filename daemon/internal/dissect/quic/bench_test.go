package quic

import (
	"testing"
)

// steadyState returns an Assembler that has its keys and buffers (it has
// taken a first Initial packet) and a 1200-byte Initial packet of the same
// connection that it decrypts and stores without completing the
// ClientHello, so that it can be given again and again.
func steadyState(tb testing.TB) (*Assembler, []byte) {
	tb.Helper()
	hello := testHello("www.example.com", 1216)
	conn := testConn{version: VersionV1, dcid: "8394c8f03e515708", hello: hello}
	a := new(Assembler)
	if _, done, err := a.Add(conn.seal(tb, testPacket{pn: 0, pieces: []piece{cr(0, 600)}})); done || err != nil {
		tb.Fatalf("first packet: done=%v err=%v", done, err)
	}
	// The tail of the hello is never sent: every later packet is a
	// retransmission of the middle, with an ACK and a PING.
	pkt := conn.seal(tb, testPacket{pn: 1, pieces: []piece{
		rawFrame(0x02, 0x00, 0x00, 0x00, 0x00), cr(300, 900), rawFrame(0x01),
	}})
	if _, done, err := a.Add(pkt); done || err != nil {
		tb.Fatalf("second packet: done=%v err=%v", done, err)
	}
	return a, pkt
}

// TestAddAllocs checks that packets after the first allocate nothing.
func TestAddAllocs(t *testing.T) {
	a, pkt := steadyState(t)
	allocs := testing.AllocsPerRun(200, func() {
		if _, done, err := a.Add(pkt); done || err != nil {
			t.Fatalf("done=%v err=%v", done, err)
		}
	})
	if allocs != 0 {
		t.Errorf("Add of a later Initial packet: %v allocations, want 0", allocs)
	}
	// Skipped payloads (short header) and the completing packet do not
	// allocate either.
	short := []byte{0x41, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	if n := testing.AllocsPerRun(100, func() { a.Add(short) }); n != 0 {
		t.Errorf("Add of a short-header packet: %v allocations", n)
	}
	done := new(Assembler)
	if n := testing.AllocsPerRun(100, func() { done.done = true; done.Add(pkt) }); n != 0 {
		t.Errorf("Add after done: %v allocations", n)
	}
}

// BenchmarkAdd measures Add per Initial packet after the first (header
// protection, AES-GCM of a 1200-byte packet, frames, reassembly), and per
// connection (key derivation and cipher setup, then one packet).
func BenchmarkAdd(b *testing.B) {
	b.Run("later-packet", func(b *testing.B) {
		a, pkt := steadyState(b)
		b.SetBytes(int64(len(pkt)))
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := a.Add(pkt); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("first-packet", func(b *testing.B) {
		pkt := unhex(b, rfc9001ClientInitial)
		b.SetBytes(int64(len(pkt)))
		b.ReportAllocs()
		var a Assembler
		for b.Loop() {
			a.Reset()
			if _, done, err := a.Add(pkt); !done || err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("IsInitial", func(b *testing.B) {
		pkt := unhex(b, rfc9001ClientInitial)
		b.ReportAllocs()
		for b.Loop() {
			if !IsInitial(pkt) {
				b.Fatal("not Initial")
			}
		}
	})
}
