package quic

import (
	"bytes"
	"errors"
	"path/filepath"
	"tamon/daemon/internal/corpus"
	"testing"
)

// checkAdd calls a.Add(dg) and checks the invariants that hold for any
// input: the input is not modified, a ClientHello is a well-formed
// handshake header of type 1 whose length matches and fits MaxCrypto, done
// and hello agree, errors are the package's sentinels.
func checkAdd(t *testing.T, a *Assembler, dg []byte) (hello []byte, done bool, err error) {
	t.Helper()
	wasDone := a.done
	orig := bytes.Clone(dg)
	hello, done, err = a.Add(dg)
	if !bytes.Equal(dg, orig) {
		t.Fatal("Add modified its input")
	}
	if err != nil && !errors.Is(err, ErrShort) && !errors.Is(err, ErrNotQUIC) && !errors.Is(err, ErrVersion) &&
		!errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrFrame) {
		t.Fatalf("unexpected error %v", err)
	}
	switch {
	case wasDone && (hello != nil || !done || err != nil):
		t.Fatalf("Add after done = %d bytes, %v, %v", len(hello), done, err)
	case hello != nil && (!done || err != nil):
		t.Fatalf("ClientHello with done=%v err=%v", done, err)
	case hello == nil && done && !wasDone:
		t.Fatal("done without a ClientHello")
	case hello != nil:
		if len(hello) < 4 || hello[0] != 1 || len(hello) != 4+(int(hello[1])<<16|int(hello[2])<<8|int(hello[3])) || len(hello) > MaxCrypto {
			t.Fatalf("malformed ClientHello of %d bytes: % x", len(hello), hello[:min(len(hello), 8)])
		}
	}
	if a.err != nil && a.st != nil {
		t.Fatal("state kept after giving up")
	}
	if a.st != nil && (a.st.spans.n < 0 || a.st.spans.n > maxSpans || a.st.total > MaxCrypto) {
		t.Fatalf("state out of bounds: %d spans, total %d", a.st.spans.n, a.st.total)
	}
	return hello, done, err
}

// FuzzAdd feeds arbitrary UDP payloads to an Assembler, alone and after a
// valid first Initial packet (so that keys and buffers are set up). Seeds:
// the RFC sample packets, test connections, testdata/fuzz/FuzzAdd (client
// and server Initial payloads of the corpus captures: QUIC v1, draft-29,
// mvfst, Google T051, coalesced packets) and, when the corpus is there, the
// first two payloads of every QUIC flow of its captures.
func FuzzAdd(f *testing.F) {
	f.Add(unhex(f, rfc9001ClientInitial))
	f.Add(unhex(f, rfc9369ClientInitial))
	f.Add(unhex(f, rfc9001ServerInitial))
	hello := testHello("fuzz.example", 300)
	conn := testConn{version: VersionV1, dcid: "8394c8f03e515708", hello: hello}
	first := conn.seal(f, testPacket{pn: 0, pieces: []piece{cr(0, 200)}})
	f.Add(conn.seal(f, testPacket{pn: 1, pieces: []piece{cr(200, len(hello))}}))
	f.Add(conn.seal(f, testPacket{pn: 1, pieces: []piece{rawFrame(0x02, 0, 0, 0, 0), cr(100, 300)}, noPad: true}))
	if corpus, ok := corpus.Find(); ok {
		for _, c := range quicCaptures() {
			dgs, err := readDatagrams(filepath.Join(corpus, "pcaps", c.name))
			if err != nil {
				f.Fatal(err)
			}
			seen := map[string]int{}
			for _, d := range dgs {
				if seen[d.flow] < 2 && (IsInitial(d.payload) || seen[d.flow] > 0) {
					seen[d.flow]++
					f.Add(d.payload)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, dg []byte) {
		var a Assembler
		_, done, _ := checkAdd(t, &a, dg)
		checkAdd(t, &a, dg)
		if done {
			return
		}
		// The same payload after a first packet of a test connection.
		var b Assembler
		checkAdd(t, &b, first)
		checkAdd(t, &b, dg)
		if b.err == nil && !b.done && b.st == nil {
			t.Fatal("state lost without giving up or finishing")
		}
	})
}

// FuzzFrames encrypts arbitrary plaintext as the payload of a valid Initial
// packet (QUIC v1 and Google T051 frames), so that the frame parser and the
// reassembly get fuzzed behind the AEAD. Decryption must succeed; a frame
// error is the only error allowed.
func FuzzFrames(f *testing.F) {
	// Seeds: the decrypted payloads of the RFC Initials and test frames.
	crypto := unhex(f, rfcCrypto)
	f.Add(padTo(bytes.Clone(crypto), 1162))
	f.Add(crypto)
	f.Add(unhex(f, rfcServerPayload))
	hello := testHello("frames.example", 100)
	f.Add(append(cryptoFrameBytes(0, hello[:50]), append([]byte{0x01, 0x02, 0x01, 0x00, 0x01, 0x00, 0x1c, 0, 0, 0}, cryptoFrameBytes(50, hello[50:])...)...))
	f.Add(append(cryptoFrameBytes(4, hello[4:]), cryptoFrameBytes(0, hello[:4])...))
	f.Add([]byte{0x06, 0x80, 0, 0x3f, 0xff, 0x05, 1, 0, 0, 1, 0})
	f.Add([]byte{0x03, 0x40, 0x10, 0x00, 0x02, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00})
	const dcid = "8394c8f03e515708"
	type keyed struct {
		s    *Sealer
		base Assembler // has taken a packet with only a PING: keys, no CRYPTO data
	}
	var ks []*keyed
	for _, v := range []uint32{VersionV1, 0x54303531} {
		k := &keyed{s: newSealer(f, v, unhex(f, dcid), false)}
		ping := []byte{1, 1, 1, 1} // PING frames
		if k.s.vi.gquic {
			ping = []byte{7, 7, 7, 7}
		}
		ping = k.s.SealInitial(unhex(f, dcid), nil, nil, 0, 1, ping)
		if _, _, err := k.base.Add(ping); err != nil || k.base.st == nil || k.base.st.prot == nil {
			f.Fatalf("version 0x%08x: keyed Assembler: %v", v, err)
		}
		ks = append(ks, k)
	}
	// clone copies a keyed Assembler; the copies share the read-only ciphers
	// and the decryption buffer, which is fine as they run one at a time.
	clone := func(k *keyed) *Assembler {
		a := k.base
		st := *k.base.st
		a.st = &st
		return &a
	}
	f.Fuzz(func(t *testing.T, plain []byte) {
		if len(plain) > 1<<14 {
			return
		}
		for _, k := range ks {
			pkt := k.s.SealInitial(unhex(t, dcid), nil, nil, 1, 1, padTo(bytes.Clone(plain), 3))
			a := clone(k)
			hello, _, err := checkAdd(t, a, pkt)
			if err != nil && !errors.Is(err, ErrFrame) {
				t.Fatalf("version 0x%08x: %v", k.s.version, err)
			}
			// Another copy gives the same result: nothing depends on
			// state outside the Assembler.
			b := clone(k)
			hello2, _, err2 := checkAdd(t, b, pkt)
			if !bytes.Equal(hello, hello2) || (err == nil) != (err2 == nil) {
				t.Fatalf("second Assembler: %d bytes, %v; first: %d bytes, %v", len(hello2), err2, len(hello), err)
			}
			// A retransmission: the same packet again.
			checkAdd(t, b, pkt)
		}
	})
}
