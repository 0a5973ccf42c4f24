package namemap

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"tamon/daemon/internal/record"
)

func TestLearnFollowsCNAMEs(t *testing.T) {
	m := New(16, 0)
	m.Learn("www.example.org", []record.Answer{
		{Name: "www.example.org", Type: "CNAME", TTL: 60, Data: "cdn.example.net"},
		{Name: "cdn.example.net", Type: "CNAME", TTL: 60, Data: "edge.example.net"},
		{Name: "edge.example.net", Type: "A", TTL: 60, Data: "192.0.2.7"},
		{Name: "edge.example.net", Type: "AAAA", TTL: 60, Data: "2001:db8::7"},
		{Name: "other.example.com", Type: "A", TTL: 60, Data: "192.0.2.99"}, // not in the chain
	}, 1000)
	cases := []struct {
		addr string
		at   int64
		want string
		ok   bool
	}{
		{"192.0.2.7", 1000, "www.example.org", true},
		{"2001:db8::7", 60_000, "www.example.org", true},
		{"192.0.2.7", 61_001, "", false}, // TTL over, no grace
		{"192.0.2.99", 1000, "other.example.com", true},
		{"192.0.2.8", 1000, "", false},
	}
	for _, c := range cases {
		got, ok := m.Lookup(netip.MustParseAddr(c.addr), c.at)
		if got != c.want || ok != c.ok {
			t.Errorf("Lookup(%s, %d) = %q %v, want %q %v", c.addr, c.at, got, ok, c.want, c.ok)
		}
	}
}

func TestCNAMELoopIsBounded(t *testing.T) {
	m := New(16, 0)
	m.Learn("q.example", []record.Answer{
		{Name: "a.example", Type: "CNAME", TTL: 60, Data: "b.example"},
		{Name: "b.example", Type: "CNAME", TTL: 60, Data: "a.example"},
		{Name: "a.example", Type: "A", TTL: 60, Data: "192.0.2.1"},
	}, 0)
	if _, ok := m.Lookup(netip.MustParseAddr("192.0.2.1"), 0); !ok {
		t.Fatal("address of a looping chain not learned")
	}
}

func TestOldestIsEvictedFirst(t *testing.T) {
	m := New(3, 0)
	for i, a := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"} {
		m.Put(netip.MustParseAddr(a), "n", int64(i), 3600)
	}
	if m.Len() != 3 {
		t.Fatalf("Len %d, want 3", m.Len())
	}
	if _, ok := m.Lookup(netip.MustParseAddr("192.0.2.1"), 0); ok {
		t.Error("oldest entry survived")
	}
	// Refreshing an address keeps one entry for it.
	m.Put(netip.MustParseAddr("192.0.2.2"), "new", 10, 3600)
	m.Put(netip.MustParseAddr("192.0.2.5"), "n", 11, 3600)
	if got, _ := m.Lookup(netip.MustParseAddr("192.0.2.2"), 11); got != "new" {
		t.Errorf("refreshed entry %q, want new", got)
	}
}

// TestAgainstModel runs random Puts and Lookups against a plain model
// (a slice in learning order) through growth, refreshes and evictions.
func TestAgainstModel(t *testing.T) {
	type ment struct {
		addr netip.Addr
		name string
		exp  int64
	}
	for _, size := range []int{1, 3, 64, 65, 300} {
		m := New(size, 0)
		var model []ment
		rng := rand.New(rand.NewPCG(uint64(size), 7))
		addrs := make([]netip.Addr, 2*size+5)
		for i := range addrs {
			if i%3 == 0 {
				addrs[i] = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)})
			} else {
				addrs[i] = netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})
				if i >= 256 {
					addrs[i] = netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})
				}
			}
		}
		for op := 0; op < 20000; op++ {
			a := addrs[rng.IntN(len(addrs))]
			now := int64(op)
			if rng.IntN(2) == 0 {
				name := []string{"a.example", "b.example", "c.example"}[rng.IntN(3)]
				ttl := uint32(rng.IntN(3))
				m.Put(a, name, now, ttl)
				exp := now + int64(ttl)*1000
				found := -1
				for i, e := range model {
					if e.addr == a {
						found = i
					}
				}
				switch {
				case found >= 0 && model[found].name == name && model[found].exp >= exp:
				case found >= 0:
					model = append(append(model[:found:found], model[found+1:]...), ment{a, name, exp})
				default:
					if len(model) == size {
						model = model[1:]
					}
					model = append(model, ment{a, name, exp})
				}
			}
			got, ok := m.Lookup(a, now)
			want, wok := "", false
			for _, e := range model {
				if e.addr == a && now <= e.exp {
					want, wok = e.name, true
				}
			}
			if got != want || ok != wok {
				t.Fatalf("size %d op %d: Lookup(%s) = %q %v, want %q %v", size, op, a, got, ok, want, wok)
			}
			if m.Len() != len(model) {
				t.Fatalf("size %d op %d: Len %d, want %d", size, op, m.Len(), len(model))
			}
		}
	}
}

// An address must not match its IPv4-mapped IPv6 twin or another family.
func TestFamiliesDiffer(t *testing.T) {
	m := New(8, 0)
	m.Put(netip.MustParseAddr("192.0.2.1"), "v4.example", 0, 60)
	if _, ok := m.Lookup(netip.MustParseAddr("::ffff:192.0.2.1"), 0); ok {
		t.Error("IPv4-mapped address matched the IPv4 entry")
	}
}

// Learning at capacity, as on a busy network, allocates nothing.
func TestPutAtCapacityAllocatesNothing(t *testing.T) {
	m := New(64, 0)
	i := 0
	put := func() {
		m.Put(netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}), "cdn.example", int64(i), 60)
		i++
	}
	for range 200 {
		put()
	}
	if n := testing.AllocsPerRun(1000, put); n != 0 {
		t.Errorf("Put at capacity allocates %.1f times", n)
	}
}

// BenchmarkLearn feeds responses of two A answers behind a CNAME to a full
// map, as a busy network does.
func BenchmarkLearn(b *testing.B) {
	m := New(16384, 0)
	answers := []record.Answer{
		{Name: "www.example.org", Type: "CNAME", TTL: 60, Data: "edge.example.net"},
		{Name: "edge.example.net", Type: "A", TTL: 60, Data: "198.51.100.7"},
		{Name: "edge.example.net", Type: "A", TTL: 60, Data: "198.51.100.8"},
	}
	ips := make([]string, 65536)
	for i := range ips {
		ips[i] = netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}).String()
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		answers[1].Data, answers[2].Data = ips[i&0xffff], ips[(i+1)&0xffff]
		m.Learn("www.example.org", answers, int64(i))
		i += 2
	}
}
