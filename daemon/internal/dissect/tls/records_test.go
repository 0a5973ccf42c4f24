package tls

import (
	"bytes"
	"errors"
	"testing"
)

func TestRecords(t *testing.T) {
	hello := chromeLike().marshal()
	server := serverHelloSpec{version: 0x0303, cipher: 0x1301, exts: []ext{serverVersionExt(0x0304)}}.marshal()
	warning := record(contentAlert, 0x0303, []byte{alertWarning, 112})
	big := handshake(TypeClientHello, make([]byte, MaxHello-4))
	tests := []struct {
		name    string
		stream  []byte
		want    []byte // the message, when complete
		err     error  // sentinel, when an error
		aliases bool   // msg must alias stream
	}{
		{"one record", records(hello), hello, nil, true},
		{"one record then more", append(records(hello), record(20, 0x0303, []byte{1})...), hello, nil, true},
		{"server hello", records(server), server, nil, true},
		{"server hello sharing its record", record(contentHandshake, 0x0303, append(bytes.Clone(server), handshake(11, make([]byte, 40))...)), server, nil, true},
		{"two records", records(hello, 100), hello, nil, false},
		{"three records", records(hello, 2, 200), hello, nil, false},
		{"header split over records", records(hello, 1, 1, 1), hello, nil, false},
		{"one byte per record", records(hello, ones(len(hello))...), hello, nil, false},
		{"warning alert first", append(bytes.Clone(warning), records(server)...), server, nil, true},
		{"largest message", records(big, 16384), big, nil, false},
		{"not a handshake record", record(23, 0x0303, []byte("GET")), nil, ErrNotTLS, false},
		{"http", []byte("GET / HTTP/1.1\r\n\r\n"), nil, ErrNotTLS, false},
		{"sslv2 compatible hello", []byte{0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10}, nil, ErrNotTLS, false},
		{"record version 2.0", record(contentHandshake, 0x0200, hello), nil, ErrNotTLS, false},
		{"record version 3.5", record(contentHandshake, 0x0305, hello), nil, ErrNotTLS, false},
		{"first message a certificate", records(handshake(11, make([]byte, 8))), nil, ErrNotTLS, false},
		{"fatal alert", record(contentAlert, 0x0303, []byte{2, 40}), nil, ErrNotTLS, false},
		{"long alert", record(contentAlert, 0x0303, []byte{1, 112, 0}), nil, ErrNotTLS, false},
		{"alert inside the message", append(append(records(hello[:10]), warning...), records(hello[10:])...), nil, ErrMalformed, false},
		{"change cipher spec inside the message", append(records(hello[:10]), record(20, 0x0303, []byte{1})...), nil, ErrMalformed, false},
		{"bad version inside the message", append(records(hello[:10]), record(contentHandshake, 0x0400, hello[10:])...), nil, ErrMalformed, false},
		{"empty record", record(contentHandshake, 0x0301, nil), nil, ErrMalformed, false},
		{"oversized record", append(record(contentHandshake, 0x0301, nil)[:3], 0x48, 0x01), nil, ErrMalformed, false},
		{"message over MaxHello", records(handshake(TypeClientHello, make([]byte, MaxHello-3))[:100]), nil, ErrTooLarge, false},
		{"message over MaxHello, header split", records(handshake(TypeClientHello, make([]byte, MaxHello-3))[:100], 2), nil, ErrTooLarge, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scratch := make([]byte, 0, MaxHello)
			msg, need, err := Records(tt.stream, scratch)
			if tt.err != nil {
				if !errors.Is(err, tt.err) || msg != nil || need != 0 {
					t.Fatalf("got msg %d bytes, need %d, err %v; want %v", len(msg), need, err, tt.err)
				}
				return
			}
			if err != nil || need != 0 || !bytes.Equal(msg, tt.want) {
				t.Fatalf("got msg %d bytes, need %d, err %v; want the %d-byte message", len(msg), need, err, len(tt.want))
			}
			inStream := aliases(msg, tt.stream)
			if inStream != tt.aliases {
				t.Fatalf("msg aliases stream: %v, want %v", inStream, tt.aliases)
			}
			if !inStream && !aliases(msg, scratch[:cap(scratch)]) {
				t.Fatal("msg aliases neither stream nor scratch")
			}
		})
	}
}

// TestRecordsTruncated cuts streams at every length: each prefix must give
// need > 0 (never an error, never a message), and need must be a true lower
// bound: the prefix extended by need-1 bytes is still incomplete.
func TestRecordsTruncated(t *testing.T) {
	hello := chromeLike().marshal()
	server := serverHelloSpec{version: 0x0303, cipher: 0xc02f, exts: []ext{alpnExt("h2")}}.marshal()
	streams := map[string][]byte{
		"one record":     records(hello),
		"two records":    records(hello, 150),
		"three records":  records(hello, 1, 3),
		"warning first":  append(record(contentAlert, 0x0303, []byte{1, 112}), records(server)...),
		"shared record":  record(contentHandshake, 0x0303, append(bytes.Clone(server), handshake(11, make([]byte, 300))...)),
		"alert+split":    append(record(contentAlert, 0x0303, []byte{1, 112}), records(server, 5)...),
		"byte by record": records(server, ones(20)...),
	}
	for name, stream := range streams {
		_, _, err := Records(stream, nil)
		if err != nil {
			t.Fatalf("%s: whole stream: %v", name, err)
		}
		// complete is the shortest prefix that holds the message.
		complete := 0
		for k := range len(stream) + 1 {
			if _, need, _ := Records(stream[:k], nil); need == 0 {
				complete = k
				break
			}
		}
		for k := range complete {
			msg, need, err := Records(stream[:k], nil)
			if err != nil || msg != nil || need <= 0 {
				t.Fatalf("%s cut at %d: msg %d bytes, need %d, err %v", name, k, len(msg), need, err)
			}
			if k+need > complete {
				t.Fatalf("%s cut at %d: need %d overshoots (complete at %d)", name, k, need, complete)
			}
		}
	}
}

// TestRecordsSegments feeds a hello split over 3 TCP segments the way the
// engine does: the bytes so far, after each segment.
func TestRecordsSegments(t *testing.T) {
	hello := chromeLike().marshal()
	stream := records(hello, 300) // two records
	cuts := []int{3, 200, len(stream)}
	scratch := make([]byte, 0, MaxHello)
	prev := 0
	for i, cut := range cuts {
		msg, need, err := Records(stream[:cut], scratch)
		if err != nil {
			t.Fatalf("segment %d: %v", i+1, err)
		}
		if i < len(cuts)-1 {
			if need <= 0 || msg != nil || cut+need > len(stream) {
				t.Fatalf("segment %d: need %d, msg %d bytes", i+1, need, len(msg))
			}
		} else if need != 0 || !bytes.Equal(msg, hello) {
			t.Fatalf("last segment: need %d, msg %d bytes", need, len(msg))
		}
		prev = cut
	}
	if prev != len(stream) {
		t.Fatal("segments do not cover the stream")
	}
}

func TestRecordsScratchTooSmall(t *testing.T) {
	hello := chromeLike().marshal()
	msg, need, err := Records(records(hello, 10), make([]byte, 0, 8))
	if err != nil || need != 0 || !bytes.Equal(msg, hello) {
		t.Fatalf("need %d, err %v, msg %d bytes", need, err, len(msg))
	}
}

func TestRecordsEmpty(t *testing.T) {
	msg, need, err := Records(nil, nil)
	if msg != nil || err != nil || need != recordHeaderLen+handshakeHeaderLen {
		t.Fatalf("msg %v, need %d, err %v", msg, need, err)
	}
}

// aliases reports whether msg starts inside buf.
func aliases(msg, buf []byte) bool {
	for i := range buf {
		if &buf[i] == &msg[0] {
			return true
		}
	}
	return false
}

// ones returns n record sizes of 1 byte.
func ones(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// IsHelloStart accepts the start of a hello record, also cut after its
// first bytes, and nothing that Records would refuse at once.
func TestIsHelloStart(t *testing.T) {
	for _, c := range []struct {
		b    []byte
		want bool
	}{
		{nil, false},
		{[]byte{0x16}, true},
		{[]byte{0x16, 3}, true},
		{[]byte{0x16, 3, 1}, true},
		{[]byte{0x16, 3, 3, 0x02}, true},
		{[]byte{0x16, 3, 3, 0x02, 0x00}, true},
		{[]byte{0x16, 3, 1, 0x00, 0x00}, false},      // an empty handshake record (TLS look-alike tunnels send them)
		{[]byte{0x16, 3, 1, 0x40, 0x01, 1}, false},   // longer than 2^14
		{[]byte{0x16, 3, 1, 0x40, 0x00, 1}, true},    // 2^14
		{[]byte{0x16, 3, 1, 0x02, 0x00, 1}, true},    // ClientHello
		{[]byte{0x16, 3, 3, 0x00, 0x5a, 2, 0}, true}, // ServerHello
		{[]byte{0x16, 3, 3, 0x00, 0x5a, 11}, false},  // Certificate first: not a hello
		{[]byte{0x16, 3, 5}, false},                  // no such version
		{[]byte{0x16, 2}, false},
		{[]byte{0x17, 3, 3, 0, 5, 1}, false}, // application data
		{[]byte{0x15, 3, 3, 0, 2}, false},    // an alert
		{[]byte("GET / HTTP/1.1\r\n"), false},
	} {
		if got := IsHelloStart(c.b); got != c.want {
			t.Errorf("IsHelloStart(% x) = %v, want %v", c.b, got, c.want)
		}
	}
}
