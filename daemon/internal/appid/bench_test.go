package appid

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkMatch matches one finished session against the full shipped
// library.
func BenchmarkMatch(b *testing.B) {
	r := loadLibrary(b)
	tests := []struct {
		name         string
		proto        uint8
		cport, sport uint16
		host         string
	}{
		{"tls-host", 6, 49357, 443, "scontent-mxp1-1.cdninstagram.com"},
		{"tls-host-company", 6, 49357, 443, "aweme.snssdk.com"},
		{"tls-host-unknown", 6, 49357, 443, "www.iit.cnr.it"},
		{"quic-host", 17, 56074, 443, "rr3---sn-hpa7kn7s.googlevideo.com"},
		{"no-host", 6, 52000, 8443, ""},
		{"no-host-port-rule", 6, 49193, 5223, ""},
	}
	for _, tc := range tests {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.Match(tc.proto, tc.cport, tc.sport, tc.host, nil)
			}
		})
	}
}

// BenchmarkPayloadHits tests one early payload of a session against the
// full shipped library.
func BenchmarkPayloadHits(b *testing.B) {
	r := loadLibrary(b)
	hello := append([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03}, bytes.Repeat([]byte{0x5a}, 506)...)
	quic := append([]byte{0xc3, 0x00, 0x00, 0x00, 0x01}, bytes.Repeat([]byte{0x11}, 1245)...)
	tests := []struct {
		name         string
		proto        uint8
		cport, sport uint16
		payload      []byte
	}{
		{"tls-clienthello", 6, 49357, 443, hello},
		{"quic-initial", 17, 56074, 443, quic},
		{"bittorrent", 6, 52915, 60163, []byte("\x13BitTorrent protocol\x00\x00\x00\x00\x00\x10\x00\x05")},
		{"stun-3478", 17, 51518, 3478, []byte{0x00, 0x03, 0x00, 0x6a, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0x75, 0x10, 0xf8, 0x43, 0x43, 0x1f, 0xd0, 0x5e, 0x23, 0x79, 0x40, 0x00, 0x00, 0x66}},
		{"dns", 17, 40000, 53, []byte{0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0}},
	}
	for _, tc := range tests {
		b.Run(tc.name, func(b *testing.B) {
			hits := make([]uint16, 0, 16)
			b.ReportAllocs()
			for b.Loop() {
				hits = r.PayloadHits(hits[:0], tc.proto, tc.cport, tc.sport, 1, tc.payload)
			}
		})
	}
}

// BenchmarkParseLibrary parses the shipped library (start and reload).
func BenchmarkParseLibrary(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(filepath.Dir(findUp(b, "go.mod")), "features.txt"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, errs := Parse("features.txt", bytes.NewReader(data)); len(errs) != 0 {
			b.Fatal(errs)
		}
	}
}

// The shipped library's Match and PayloadHits do not allocate either.
func TestLibraryDoesNotAllocate(t *testing.T) {
	r := loadLibrary(t)
	hits := make([]uint16, 0, 16)
	bt := []byte("\x13BitTorrent protocol")
	if n := testing.AllocsPerRun(100, func() {
		hits = r.PayloadHits(hits[:0], 6, 52915, 60163, 1, bt)
		r.Match(6, 52915, 60163, "", hits)
		r.Match(6, 49357, 443, "scontent-mxp1-1.cdninstagram.com", nil)
		r.Match(17, 56074, 443, "WWW.GOOGLE.COM:443", nil)
	}); n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}
