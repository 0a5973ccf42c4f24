package namemap

import (
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
