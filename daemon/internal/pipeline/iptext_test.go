package pipeline

import (
	"net"
	"net/netip"
	"testing"

	"tamon/daemon/internal/flow"
)

// TestWorkerIP checks the address text cache against netip's formatting:
// repeats (hits), addresses that share a slot, the same bytes as IPv4 and
// as IPv6, and a text that must not change once handed out.
func TestWorkerIP(t *testing.T) {
	cfg := Config{}
	cfg.setDefaults()
	w := newWorker(0, &cfg, flow.DefaultConfig())
	in := []string{"192.0.2.1", "2001:db8::1", "192.0.2.1", "198.51.100.7", "::ffff:192.0.2.1",
		"2001:db8::1", "203.0.113.255", "0.0.0.0", "::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"}
	// Enough distinct addresses to fill every slot several times over.
	for i := range 3 << ipCacheBits {
		in = append(in, netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}).String(),
			netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)}).String())
	}
	in = append(in, in...) // and all of them again, now partly cached
	var handed []string
	var want []string
	for _, s := range in {
		a := netip.MustParseAddr(s)
		var b [16]byte
		family := uint8(6)
		if a.Is4() {
			family = 4
			v4 := a.As4()
			copy(b[:], v4[:])
		} else {
			b = a.As16()
		}
		got := w.ip(b, family)
		if got != a.String() {
			t.Fatalf("ip(%s) = %q", s, got)
		}
		handed, want = append(handed, got), append(want, a.String())
	}
	for i := range handed {
		if handed[i] != want[i] {
			t.Fatalf("text %d changed after it was handed out: %q, want %q", i, handed[i], want[i])
		}
	}
	// The IPv4 address 192.0.2.1 and the IPv6 address with the same first
	// four bytes must not share a text.
	var b [16]byte
	copy(b[:], []byte{192, 0, 2, 1})
	if v4, v6 := w.ip(b, 4), w.ip(b, 6); v4 != "192.0.2.1" || v6 != "c000:201::" {
		t.Errorf("same bytes as IPv4 and IPv6: %q and %q", v4, v6)
	}
}

// TestWorkerMAC checks the link-layer address text cache: the zero address,
// repeats, addresses that share a slot, and texts that must not change once
// handed out.
func TestWorkerMAC(t *testing.T) {
	cfg := Config{}
	cfg.setDefaults()
	w := newWorker(0, &cfg, flow.DefaultConfig())
	if got := w.mac([6]byte{}); got != "" {
		t.Fatalf("mac(zero) = %q, want \"\"", got)
	}
	var in [][6]byte
	in = append(in, [6]byte{0x3c, 0xa9, 0xf4, 0xa1, 0xe7, 0xa5}, [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		[6]byte{0, 0, 0, 0, 0, 1}, [6]byte{0x3c, 0xa9, 0xf4, 0xa1, 0xe7, 0xa5})
	for i := range 5 << macCacheBits {
		in = append(in, [6]byte{0x02, 0, 0, 0, byte(i >> 8), byte(i)})
	}
	in = append(in, in...)
	var handed, want []string
	for _, m := range in {
		got := w.mac(m)
		exp := net.HardwareAddr(m[:]).String()
		if got != exp {
			t.Fatalf("mac(% x) = %q, want %q", m, got, exp)
		}
		handed, want = append(handed, got), append(want, exp)
	}
	for i := range handed {
		if handed[i] != want[i] {
			t.Fatalf("text %d changed after it was handed out: %q, want %q", i, handed[i], want[i])
		}
	}
}
