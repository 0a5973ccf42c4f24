package quic

import (
	"bytes"
	"testing"
)

// A sealed Initial is InitialOverhead bytes longer than its payload, and
// an Assembler reads back the ClientHello it carries.
func TestSealInitial(t *testing.T) {
	hello := testHello("seal.example", 32)
	for _, c := range []struct {
		dcid, scid, token []byte
		pnLen             int
	}{
		{[]byte{1, 2, 3, 4, 5, 6, 7, 8}, nil, nil, 1},
		{bytes.Repeat([]byte{9}, 20), []byte{1, 2, 3}, []byte("token"), 4},
		{nil, nil, bytes.Repeat([]byte{7}, 70), 2},
	} {
		payload := padTo(AppendCryptoFrame(nil, 0, hello), 1100)
		s, err := NewSealer(1, c.dcid, false)
		if err != nil {
			t.Fatal(err)
		}
		pkt := s.SealInitial(c.dcid, c.scid, c.token, 0, c.pnLen, payload)
		if want := InitialOverhead(c.dcid, c.scid, c.token, c.pnLen) + len(payload); len(pkt) != want {
			t.Errorf("dcid %d, token %d, pn %d bytes: packet of %d bytes, InitialOverhead says %d",
				len(c.dcid), len(c.token), c.pnLen, len(pkt), want)
		}
		var a Assembler
		got, done, err := a.Add(pkt)
		if err != nil || !done || !bytes.Equal(got, hello) {
			t.Errorf("dcid %d: Add: done %v, err %v, %d of %d hello bytes", len(c.dcid), done, err, len(got), len(hello))
		}
	}
	if _, err := NewSealer(0x0a0a0a0a, nil, false); err == nil {
		t.Error("NewSealer of an unknown version: no error")
	}
}
