package quic

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"unsafe"
)

// testHello builds a test ClientHello handshake message (type 1, 3-byte
// length) with SNI sni, ALPN h3 and a key share of keyShare bytes, like the
// X25519Kyber768 share that pushes Chrome's ClientHello past one packet.
func testHello(sni string, keyShare int) []byte {
	ext := func(b []byte, typ uint16, data []byte) []byte {
		b = binary.BigEndian.AppendUint16(b, typ)
		b = binary.BigEndian.AppendUint16(b, uint16(len(data)))
		return append(b, data...)
	}
	var exts []byte
	name := []byte{0, byte((len(sni) + 3) >> 8), byte(len(sni) + 3), 0, byte(len(sni) >> 8), byte(len(sni))}
	exts = ext(exts, 0, append(name, sni...))
	exts = ext(exts, 16, []byte{0, 3, 2, 'h', '3'})
	exts = ext(exts, 43, []byte{2, 3, 4})
	ks := make([]byte, 6+keyShare)
	binary.BigEndian.PutUint16(ks, uint16(4+keyShare))
	binary.BigEndian.PutUint16(ks[2:], 0x6399)
	binary.BigEndian.PutUint16(ks[4:], uint16(keyShare))
	for i := range keyShare {
		ks[6+i] = byte(i*7 + 3)
	}
	exts = ext(exts, 51, ks)
	body := []byte{3, 3}
	for i := range 32 {
		body = append(body, byte(i))
	}
	body = append(body, 0)                                        // session ID
	body = append(body, 0, 6, 0x13, 0x01, 0x13, 0x02, 0x13, 0x03) // cipher suites
	body = append(body, 1, 0)                                     // compression
	body = binary.BigEndian.AppendUint16(body, uint16(len(exts)))
	body = append(body, exts...)
	return append([]byte{1, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
}

// piece is a CRYPTO frame's range of the test ClientHello, or another frame.
type piece struct {
	lo, hi int    // CRYPTO range of the hello
	raw    []byte // if not nil: these frame bytes instead
}

func cr(lo, hi int) piece      { return piece{lo: lo, hi: hi} }
func rawFrame(b ...byte) piece { return piece{raw: b} }

// testPacket is one Initial packet of a test connection.
type testPacket struct {
	version uint32 // 0: the connection's
	dcid    string // "": the connection's first DCID
	keyDCID string // DCID the keys derive from; "": the connection's
	token   string
	pn      uint64
	pnLen   int // 0: 1
	pieces  []piece
	noPad   bool // no PADDING: the last frame ends the packet
}

// testConn describes a test connection.
type testConn struct {
	version uint32
	dcid    string // hex
	hello   []byte
	gquic   bool // frames in Google QUIC encoding
}

// seal builds the protected datagram of p, padded to 1200 bytes.
func (c testConn) seal(tb testing.TB, p testPacket) []byte {
	tb.Helper()
	version := c.version
	if p.version != 0 {
		version = p.version
	}
	dcid, keyDCID := c.dcid, c.dcid
	if p.dcid != "" {
		dcid, keyDCID = p.dcid, p.dcid
	}
	if p.keyDCID != "" {
		keyDCID = p.keyDCID
	}
	var payload []byte
	for _, pc := range p.pieces {
		if pc.raw != nil {
			payload = append(payload, pc.raw...)
			continue
		}
		f := cryptoFrameBytes(uint64(pc.lo), c.hello[pc.lo:pc.hi])
		if c.gquic {
			f[0] = 0x08
		}
		payload = append(payload, f...)
	}
	pnLen := max(p.pnLen, 1)
	overhead := 1 + 4 + 1 + len(dcid)/2 + 1 + 1 + len(p.token) + 2 + pnLen + tagLen
	if !p.noPad {
		if c.gquic {
			payload = append(payload, 0) // PADDING to the end
		}
		payload = padTo(payload, 1200-overhead)
	}
	s := newSealer(tb, version, unhex(tb, keyDCID), false)
	return s.SealInitial(unhex(tb, dcid), nil, []byte(p.token), p.pn, pnLen, payload)
}

// TestAssemblerSplit feeds ClientHellos split over several Initial packets
// and CRYPTO frames, out of order and duplicated, encrypted by the test
// encrypter, and checks that exactly the last datagram completes them.
func TestAssemblerSplit(t *testing.T) {
	big := testHello("www.example.com", 1216) // about 1.4 KB: needs 2 packets
	n := len(big)
	small := testHello("small.example", 32)
	const dcid = "8394c8f03e515708"
	zeroRTT := func() []byte { // a 0-RTT packet to coalesce: skipped
		b := []byte{0xd0, 0, 0, 0, 1, 8}
		b = append(b, unhex(t, dcid)...)
		b = append(b, 0, 0x40, 40)
		return append(b, make([]byte, 40)...)
	}
	// chaos: the hello in 24 small CRYPTO frames, shuffled over 2
	// packets with PING and PADDING between them, like Chrome does.
	var chaos1, chaos2 []piece
	step := (n + 23) / 24
	for i, k := 0, 0; i < n; i, k = i+step, k+1 {
		pc := cr(i, min(i+step, n))
		if k%2 == 0 {
			chaos1 = append([]piece{pc, rawFrame(0x01)}, chaos1...)
		} else {
			chaos2 = append(chaos2, pc, rawFrame(0, 0, 0))
		}
	}
	ack := rawFrame(0x02, 0x05, 0x00, 0x01, 0x00, 0x01, 0x01) // largest 5, delay 0, 1 range: first 0, gap 1, len 1
	ackECN := rawFrame(0x03, 0x01, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04)
	for _, tc := range []struct {
		name    string
		conn    testConn
		packets []testPacket
		extra   func(dgs [][]byte) [][]byte // rearranges the datagrams
	}{
		{name: "one packet", conn: testConn{version: VersionV1, dcid: dcid, hello: small},
			packets: []testPacket{{pieces: []piece{cr(0, len(small))}}}},
		{name: "3 frames in 2 packets, in order", conn: testConn{version: VersionV1, dcid: dcid, hello: big},
			packets: []testPacket{{pn: 0, pieces: []piece{cr(0, 500), cr(500, 1000)}}, {pn: 1, pieces: []piece{cr(1000, n)}}}},
		{name: "out of order with a duplicate", conn: testConn{version: VersionV1, dcid: dcid, hello: big},
			packets: []testPacket{
				{pn: 1, pieces: []piece{cr(1000, n), cr(0, 500)}},
				{pn: 0, pieces: []piece{cr(300, 700), cr(500, 1000)}}, // 300-500 again
			}},
		{name: "header frame last", conn: testConn{version: VersionV1, dcid: dcid, hello: big},
			packets: []testPacket{{pn: 0, pieces: []piece{cr(600, n)}}, {pn: 1, pieces: []piece{cr(2, 600)}}, {pn: 2, pieces: []piece{cr(0, 2)}}}},
		{name: "duplicate datagram", conn: testConn{version: VersionV1, dcid: dcid, hello: big},
			packets: []testPacket{{pn: 0, pieces: []piece{cr(0, 800)}}, {pn: 0, pieces: []piece{cr(0, 800)}}, {pn: 1, pieces: []piece{cr(800, n)}}}},
		{name: "chaos: 24 frames, PING, PADDING", conn: testConn{version: VersionV1, dcid: dcid, hello: big},
			packets: []testPacket{{pn: 0, pieces: chaos1}, {pn: 1, pieces: chaos2}}},
		{name: "ACK frames and 2- and 4-byte packet numbers", conn: testConn{version: VersionV1, dcid: dcid, hello: big},
			packets: []testPacket{{pn: 0x1234, pnLen: 2, pieces: []piece{ack, cr(0, 700)}}, {pn: 0x1235, pnLen: 4, pieces: []piece{ackECN, cr(700, n), rawFrame(0x01)}}}},
		{name: "new DCID after the server's Initial, same keys", conn: testConn{version: VersionV1, dcid: dcid, hello: big},
			packets: []testPacket{{pn: 0, pieces: []piece{cr(0, 700)}}, {pn: 1, dcid: "0badc0de", keyDCID: dcid, pieces: []piece{ack, cr(700, n)}}}},
		{name: "Retry: new DCID, new keys, token", conn: testConn{version: VersionV1, dcid: dcid, hello: big},
			packets: []testPacket{{pn: 0, pieces: []piece{cr(0, 700)}}, {pn: 1, dcid: "f067a5502a4262b5", token: "retry token", pieces: []piece{cr(0, 900)}},
				{pn: 2, dcid: "f067a5502a4262b5", token: "retry token", pieces: []piece{cr(900, n)}}}},
		{name: "QUIC v2", conn: testConn{version: VersionV2, dcid: dcid, hello: big},
			packets: []testPacket{{pn: 1, pieces: []piece{cr(900, n)}}, {pn: 0, pieces: []piece{cr(0, 900)}}}},
		{name: "draft-29", conn: testConn{version: 0xff00001d, dcid: dcid, hello: big},
			packets: []testPacket{{pn: 0, pieces: []piece{cr(0, 900)}}, {pn: 1, pieces: []piece{cr(900, n)}}}},
		{name: "mvfst 0xfaceb002", conn: testConn{version: 0xfaceb002, dcid: "ddd8fb2272a30356", hello: small},
			packets: []testPacket{{pn: 16495163, pnLen: 4, pieces: []piece{cr(0, len(small))}}}},
		{name: "Google T051 frames", conn: testConn{version: 0x54303531, dcid: dcid, hello: big, gquic: true},
			packets: []testPacket{{pn: 1, pieces: []piece{rawFrame(0x07), cr(0, 900)}}, {pn: 2, pieces: []piece{cr(900, n)}}}},
		{name: "coalesced with 0-RTT and zero padding", conn: testConn{version: VersionV1, dcid: dcid, hello: big},
			packets: []testPacket{{pn: 0, pieces: []piece{cr(0, 700)}}, {pn: 1, pieces: []piece{cr(700, n)}}},
			extra: func(dgs [][]byte) [][]byte {
				z := zeroRTT()
				return [][]byte{append(append(bytes.Clone(dgs[0]), z...), 0, 0, 0, 0), append(z, dgs[1]...)}
			}},
		{name: "two Initials in one datagram", conn: testConn{version: VersionV1, dcid: dcid, hello: big},
			packets: []testPacket{{pn: 0, pieces: []piece{cr(0, 700)}}, {pn: 1, pieces: []piece{cr(700, n)}}},
			extra: func(dgs [][]byte) [][]byte {
				return [][]byte{append(bytes.Clone(dgs[1]), dgs[0]...)}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var dgs [][]byte
			for _, p := range tc.packets {
				dgs = append(dgs, tc.conn.seal(t, p))
			}
			if tc.extra != nil {
				dgs = tc.extra(dgs)
			}
			var a Assembler
			var first []byte
			for i, dg := range dgs {
				orig := bytes.Clone(dg)
				hello, done, err := a.Add(dg)
				if !bytes.Equal(dg, orig) {
					t.Fatalf("datagram %d: Add modified its input", i)
				}
				if err != nil {
					t.Fatalf("datagram %d: %v", i, err)
				}
				last := i == len(dgs)-1
				if done != last || (hello != nil) != last {
					t.Fatalf("datagram %d of %d: done=%v hello=%d bytes", i+1, len(dgs), done, len(hello))
				}
				if last && !bytes.Equal(hello, tc.conn.hello) {
					t.Fatalf("ClientHello differs:\n got %x\nwant %x", hello, tc.conn.hello)
				}
				first = hello
			}
			if a.st != nil {
				t.Error("connection state kept after done")
			}
			if a.Version() != tc.conn.version || fmt.Sprintf("%x", a.DCID()) != tc.conn.dcid {
				t.Errorf("Version 0x%08x DCID %x, want 0x%08x %s", a.Version(), a.DCID(), tc.conn.version, tc.conn.dcid)
			}
			// Later payloads: done, nothing new, whatever they are.
			for _, dg := range append(dgs, []byte{0x40, 1, 2, 3}, nil) {
				if h, d, e := a.Add(dg); h != nil || !d || e != nil {
					t.Fatalf("Add after done = %d bytes, %v, %v", len(h), d, e)
				}
			}
			if a.Ignored() != 0 {
				t.Errorf("Ignored = %d", a.Ignored())
			}
			// The hello is the caller's: Reset and reuse do not touch it.
			a.Reset()
			if a.Version() != 0 || len(a.DCID()) != 0 || a.Ignored() != 0 {
				t.Fatal("Reset kept the version, DCID or count")
			}
			var again []byte
			for _, dg := range dgs {
				if h, _, _ := a.Add(dg); h != nil {
					again = h
				}
			}
			if !bytes.Equal(again, tc.conn.hello) || !bytes.Equal(first, tc.conn.hello) {
				t.Fatal("second connection after Reset differs, or changed the first ClientHello")
			}
		})
	}
}

// TestAssemblerErrors checks the error of each kind of bad input, and
// whether the Assembler gives up.
func TestAssemblerErrors(t *testing.T) {
	hello := testHello("err.example", 32)
	const dcid = "8394c8f03e515708"
	conn := testConn{version: VersionV1, dcid: dcid, hello: hello}
	good := conn.seal(t, testPacket{pieces: []piece{cr(0, len(hello))}})
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-20] ^= 1
	withFrames := func(pcs ...piece) []byte { return conn.seal(t, testPacket{pieces: pcs}) }
	unpadded := func(pcs ...piece) []byte { return conn.seal(t, testPacket{pieces: pcs, noPad: true}) }
	notHello := testConn{version: VersionV1, dcid: dcid, hello: append([]byte{2}, hello[1:]...)}
	huge := testConn{version: VersionV1, dcid: dcid, hello: []byte{1, 0, 0x40, 0x01, 0}} // 16385-byte body
	longDCID := append([]byte{0xc0, 0, 0, 0, 1, 21}, make([]byte, 40)...)
	type step struct {
		dg      []byte
		want    error // nil: no error
		done    bool
		ignored int
	}
	for _, tc := range []struct {
		name   string
		steps  []step
		sticky bool // the Assembler has given up: a good packet gets the same error
	}{
		{name: "empty", steps: []step{{dg: nil, want: ErrShort}}},
		{name: "short header first", steps: []step{{dg: []byte{0x40, 1, 2, 3, 4, 5, 6, 7}, want: ErrNotQUIC}}},
		{name: "zeros", steps: []step{{dg: make([]byte, 50), want: ErrNotQUIC}}},
		{name: "unknown version", steps: []step{{dg: append([]byte{0xc0, 0x12, 0x34, 0x56, 0x78, 0}, make([]byte, 30)...), want: ErrVersion}}},
		{name: "gQUIC Q050", steps: []step{{dg: append([]byte{0xc3, 'Q', '0', '5', '0', 8}, make([]byte, 30)...), want: ErrVersion}}},
		{name: "version negotiation", steps: []step{{dg: append([]byte{0x80, 0, 0, 0, 0, 0}, make([]byte, 30)...), want: ErrVersion}}},
		{name: "DCID of 21 bytes", steps: []step{{dg: longDCID, want: ErrNotQUIC}}},
		{name: "cut in the DCID", steps: []step{{dg: good[:10], want: ErrShort}}},
		{name: "cut in the payload", steps: []step{{dg: good[:600], want: ErrShort}}},
		{name: "Length too small for the sample", steps: []step{{dg: func() []byte {
			b := bytes.Clone(good[:26])
			b[16], b[17] = 0x40, 8 // Length 8: the packet ends 8 bytes after it
			return b
		}(), want: ErrShort}}},
		{name: "corrupt, then good", steps: []step{{dg: corrupt, want: ErrDecrypt}, {dg: good, done: true}}},
		{name: "short header after an Initial is skipped", steps: []step{
			{dg: withFrames(cr(0, 10))}, {dg: []byte{0x40, 1, 2, 3}}, {dg: withFrames(cr(10, len(hello))), done: true}}},
		{name: "8 undecryptable packets: gives up", sticky: true, steps: []step{
			{dg: corrupt, want: ErrDecrypt}, {dg: corrupt, want: ErrDecrypt}, {dg: corrupt, want: ErrDecrypt}, {dg: corrupt, want: ErrDecrypt},
			{dg: corrupt, want: ErrDecrypt}, {dg: corrupt, want: ErrDecrypt}, {dg: corrupt, want: ErrDecrypt}, {dg: corrupt, want: ErrDecrypt},
			{dg: good, want: ErrDecrypt}}},
		{name: "STREAM frame not allowed, CRYPTO before it kept", steps: []step{
			{dg: withFrames(cr(0, 20), rawFrame(0x08, 0, 0)), want: ErrFrame}, {dg: withFrames(cr(20, len(hello))), done: true}}},
		{name: "frame type cut off", steps: []step{{dg: unpadded(rawFrame(0x01, 0x01, 0x40)), want: ErrFrame}}},
		{name: "ACK cut off", steps: []step{{dg: unpadded(rawFrame(0x01, 0x02, 0x05)), want: ErrFrame}}},
		{name: "CRYPTO longer than the packet", steps: []step{{dg: withFrames(rawFrame(0x06, 0x00, 0x7f, 0xff, 1)), want: ErrFrame}}},
		{name: "CRYPTO cut in its offset", steps: []step{{dg: unpadded(rawFrame(0x06, 0x80, 0)), want: ErrFrame}}},
		{name: "ACK with too many ranges", steps: []step{{dg: withFrames(rawFrame(0x02, 0, 0, 0x80, 0, 0x10, 0, 0)), want: ErrFrame}}},
		{name: "CONNECTION_CLOSE cut off", steps: []step{{dg: unpadded(rawFrame(0x1c, 0, 0, 0x20)), want: ErrFrame}}},
		{name: "CONNECTION_CLOSE skipped", steps: []step{{dg: withFrames(rawFrame(0x1c, 0, 0, 2, 'h', 'i'), cr(0, len(hello))), done: true}}},
		{name: "not a ClientHello", sticky: true, steps: []step{
			{dg: notHello.seal(t, testPacket{pieces: []piece{cr(0, 10)}}), want: ErrFrame}, {dg: good, want: ErrFrame}}},
		{name: "ClientHello longer than MaxCrypto", sticky: true, steps: []step{
			{dg: huge.seal(t, testPacket{pieces: []piece{cr(0, 5)}}), want: ErrFrame, ignored: 1}, {dg: good, want: ErrFrame, ignored: 1}}},
		{name: "header learnt from 2 frames: not a ClientHello", sticky: true, steps: []step{
			{dg: notHello.seal(t, testPacket{pieces: []piece{cr(2, 10), cr(0, 2)}}), want: ErrFrame}}},
		{name: "CRYPTO beyond MaxCrypto ignored and counted", steps: []step{
			{dg: withFrames(rawFrame(append([]byte{0x06, 0x80, 0, 0x40, 0, 4}, 1, 2, 3, 4)...)), ignored: 1},
			{dg: withFrames(rawFrame(append([]byte{0x06, 0x80, 0, 0x3f, 0xfe, 4}, 1, 2, 3, 4)...)), ignored: 2},
			{dg: good, done: true, ignored: 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a Assembler
			for i, s := range tc.steps {
				hello, done, err := a.Add(s.dg)
				if s.want == nil && err != nil || s.want != nil && !errors.Is(err, s.want) {
					t.Fatalf("step %d: err %v, want %v", i, err, s.want)
				}
				if done != s.done || (hello != nil) != s.done {
					t.Fatalf("step %d: done=%v hello %d bytes, want done=%v", i, done, len(hello), s.done)
				}
				if a.Ignored() != s.ignored {
					t.Fatalf("step %d: Ignored %d, want %d", i, a.Ignored(), s.ignored)
				}
				if s.want != nil && err.Error() == s.want.Error() {
					t.Errorf("step %d: error %q does not say what was wrong", i, err)
				}
			}
			if tc.sticky != (a.err != nil) {
				t.Fatalf("gave up = %v, want %v (%v)", a.err != nil, tc.sticky, a.err)
			}
			if tc.sticky && a.st != nil {
				t.Fatal("state kept after giving up")
			}
		})
	}
}

// TestAssemblerIdleSize checks that an idle Assembler is small: the engine
// keeps one per QUIC-looking UDP session.
func TestAssemblerIdleSize(t *testing.T) {
	if s := unsafe.Sizeof(Assembler{}); s > 64 {
		t.Errorf("Assembler is %d bytes, want at most 64", s)
	}
}

func TestIsInitial(t *testing.T) {
	conn := testConn{version: VersionV1, dcid: "8394c8f03e515708", hello: testHello("x.example", 0)}
	good := conn.seal(t, testPacket{pieces: []piece{cr(0, 10)}})
	v2 := testConn{version: VersionV2, dcid: "8394c8f03e515708", hello: conn.hello}.seal(t, testPacket{pieces: []piece{cr(0, 10)}})
	hs := bytes.Clone(good)
	hs[0] = 0xe0 // Handshake
	v2as1 := bytes.Clone(v2)
	v2as1[0] &^= 0x30 // v1's Initial bits mean Retry in v2
	for _, tc := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"v1 Initial", good, true},
		{"v2 Initial", v2, true},
		{"draft-29", testConn{version: 0xff00001d, dcid: "01", hello: conn.hello}.seal(t, testPacket{pieces: []piece{cr(0, 1)}}), true},
		{"T051", testConn{version: 0x54303531, dcid: "01", hello: conn.hello}.seal(t, testPacket{pieces: []piece{cr(0, 1)}}), true},
		{"Handshake", hs, false},
		{"v2 with v1 Initial bits", v2as1, false},
		{"short header", []byte{0x40, 0, 0, 0, 1, 0, 0, 0}, false},
		{"Q050", append([]byte{0xc0, 'Q', '0', '5', '0'}, make([]byte, 20)...), false},
		{"version negotiation", append([]byte{0xc0, 0, 0, 0, 0}, make([]byte, 20)...), false},
		{"DCID 21", append([]byte{0xc0, 0, 0, 0, 1, 21}, make([]byte, 50)...), false},
		{"SCID 21", append([]byte{0xc0, 0, 0, 0, 1, 0, 21}, make([]byte, 50)...), false},
		{"cut in the DCID", good[:10], false},
		{"cut after the SCID", good[:15], false},
		{"6 bytes", good[:6], false},
		{"empty", nil, false},
	} {
		if got := IsInitial(tc.b); got != tc.want {
			t.Errorf("%s: IsInitial = %v", tc.name, got)
		}
	}
}

func TestVarint(t *testing.T) {
	// RFC 9000 A.1 examples.
	for _, tc := range []struct {
		in   string
		v    uint64
		n    int
		fail bool
	}{
		{in: "c2197c5eff14e88c", v: 151288809941952652, n: 8},
		{in: "9d7f3e7d", v: 494878333, n: 4},
		{in: "7bbd", v: 15293, n: 2},
		{in: "25", v: 37, n: 1},
		{in: "4025", v: 37, n: 2},
		{in: "9d7f3e", fail: true},
		{in: "", fail: true},
	} {
		v, n := varint(unhex(t, tc.in))
		if tc.fail && n != 0 || !tc.fail && (v != tc.v || n != tc.n) {
			t.Errorf("varint(%s) = %d, %d", tc.in, v, n)
		}
		if !tc.fail {
			if enc := appendVarint(nil, tc.v, tc.n); !bytes.Equal(enc, unhex(t, tc.in)) {
				t.Errorf("appendVarint(%d, %d) = %x", tc.v, tc.n, enc)
			}
		}
	}
}

func TestDecodePacketNumber(t *testing.T) {
	for _, tc := range []struct {
		largest   int64
		truncated uint64
		bits      int
		want      int64
	}{
		{0xa82f30ea, 0x9b32, 16, 0xa82f9b32}, // RFC 9000 A.3
		{-1, 0, 8, 0},
		{-1, 200, 8, 200},
		{-1, 16495163, 32, 16495163},
		{250, 3, 8, 259},    // wrapped forward
		{260, 0xff, 8, 255}, // a late packet
		{1 << 40, 5, 8, 1<<40 + 5},
	} {
		if got := decodePacketNumber(tc.largest, tc.truncated, tc.bits); got != tc.want {
			t.Errorf("decodePacketNumber(%d, %d, %d) = %d, want %d", tc.largest, tc.truncated, tc.bits, got, tc.want)
		}
	}
}

func TestSpanSet(t *testing.T) {
	type r = [2]int
	for _, tc := range []struct {
		name   string
		add    []r
		want   []r
		prefix int
	}{
		{"one", []r{{0, 10}}, []r{{0, 10}}, 10},
		{"adjacent merge", []r{{10, 20}, {0, 10}}, []r{{0, 20}}, 20},
		{"gap", []r{{0, 5}, {10, 20}}, []r{{0, 5}, {10, 20}}, 5},
		{"fill the gap", []r{{0, 5}, {10, 20}, {5, 10}}, []r{{0, 20}}, 20},
		{"overlap many", []r{{2, 3}, {5, 6}, {8, 9}, {12, 14}, {1, 10}}, []r{{1, 10}, {12, 14}}, 0},
		{"inside", []r{{0, 100}, {10, 20}}, []r{{0, 100}}, 100},
		{"before all", []r{{50, 60}, {10, 20}, {0, 5}}, []r{{0, 5}, {10, 20}, {50, 60}}, 5},
		{"duplicate", []r{{3, 7}, {3, 7}}, []r{{3, 7}}, 0},
	} {
		var s spanSet
		for _, x := range tc.add {
			if !s.add(x[0], x[1]) {
				t.Fatalf("%s: add %v failed", tc.name, x)
			}
		}
		var got []r
		for _, sp := range s.sp[:s.n] {
			got = append(got, r{int(sp.lo), int(sp.hi)})
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) || s.prefix() != tc.prefix {
			t.Errorf("%s: spans %v prefix %d, want %v %d", tc.name, got, s.prefix(), tc.want, tc.prefix)
		}
	}
	// Full: a disjoint range is refused, a touching one is merged.
	var s spanSet
	for i := range maxSpans {
		s.add(10*i, 10*i+5)
	}
	if s.add(1000, 1001) {
		t.Error("add beyond maxSpans accepted")
	}
	if !s.add(5, 10) || s.n != maxSpans-1 {
		t.Errorf("merge in a full set: n = %d", s.n)
	}
}

// TestAssemblerFragmented sends a ClientHello in more disjoint pieces than
// the span set holds: the excess is ignored and counted, and a later
// retransmission of everything completes it.
func TestAssemblerFragmented(t *testing.T) {
	hello := testHello("frag.example", 400)
	conn := testConn{version: VersionV1, dcid: "8394c8f03e515708", hello: hello}
	var pcs []piece
	for i := range maxSpans + 4 {
		pcs = append(pcs, cr(1+10*i, 5+10*i))
	}
	var a Assembler
	if h, done, err := a.Add(conn.seal(t, testPacket{pn: 0, pieces: pcs})); h != nil || done || err != nil {
		t.Fatalf("first: %d bytes, %v, %v", len(h), done, err)
	}
	if a.Ignored() != 4 {
		t.Fatalf("Ignored = %d, want 4", a.Ignored())
	}
	h, done, err := a.Add(conn.seal(t, testPacket{pn: 1, pieces: []piece{cr(0, len(hello))}}))
	if err != nil || !done || !bytes.Equal(h, hello) {
		t.Fatalf("retransmission: done=%v err=%v", done, err)
	}
}
