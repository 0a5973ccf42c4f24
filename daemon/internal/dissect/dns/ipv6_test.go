package dns

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

func formatIPv6(p [16]byte) string {
	var w writer
	var b [64]byte
	w.buf = b[:]
	w.ipv6(p[:])
	return string(b[:w.n])
}

func TestIPv6Fixed(t *testing.T) {
	tests := []struct{ in, want string }{
		{"::", "::"},
		{"::1", "::1"},
		{"1::", "1::"},
		{"2001:db8::1", "2001:db8::1"},
		{"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"}, // one zero group: not compressed
		{"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},          // longest run wins
		{"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},    // first run wins a tie
		{"fe80::abcd:ef01:2345:6789", "fe80::abcd:ef01:2345:6789"},
		{"::ffff:192.0.2.1", "::ffff:192.0.2.1"},
		{"::192.0.2.1", "::c000:201"},
		{"ABCD:EF01::", "abcd:ef01::"},
		{"0:1:2:3:4:5:6:0", "0:1:2:3:4:5:6:0"},
	}
	for _, tt := range tests {
		a := netip.MustParseAddr(tt.in)
		if got := formatIPv6(a.As16()); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestIPv6MatchesNetip compares the formatter with net/netip on random
// addresses biased towards zero groups, so that every shape of zero run
// turns up, plus IPv4-mapped ones.
func TestIPv6MatchesNetip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		var p [16]byte
		switch i % 4 {
		case 0: // uniformly random
			for j := range p {
				p[j] = byte(r.Uint32())
			}
		case 1, 2: // each group zero with probability 1/2, else small or large
			for g := 0; g < 8; g++ {
				if r.IntN(2) == 0 {
					continue
				}
				v := uint16(r.Uint32())
				if r.IntN(2) == 0 {
					v &= 0x00ff
				}
				p[2*g], p[2*g+1] = byte(v>>8), byte(v)
			}
		case 3: // IPv4-mapped
			p[10], p[11] = 0xff, 0xff
			for j := 12; j < 16; j++ {
				p[j] = byte(r.Uint32())
			}
		}
		want := netip.AddrFrom16(p).String()
		if got := formatIPv6(p); got != want {
			t.Fatalf("%x: got %s, want %s", p, got, want)
		}
	}
}
