package flow

import (
	"cmp"
	"fmt"
	"slices"
	"testing"

	"tamon/daemon/internal/decode"
)

type ended struct {
	reason           string
	up, down         uint32
	clientPort       uint16
	clientIsSrcOfOne bool
	tl               int
}

type pk struct {
	ts    int64 // seconds
	fromA bool  // 192.0.2.1:sport -> 198.51.100.1:dport, else the reverse
	sport uint16
	dport uint16
	flags uint8
	seq   uint32
	udp   bool
}

func mkPacket(x pk) decode.Packet {
	p := decode.Packet{TS: x.ts * 1e9, Family: 4, Proto: 6, IPLen: 100, TCPFlags: x.flags, Seq: x.seq}
	if x.udp {
		p.Proto = 17
		p.TCPFlags = 0
	}
	a, b := [16]byte{192, 0, 2, 1}, [16]byte{198, 51, 100, 1}
	if x.fromA {
		p.Src, p.Dst, p.SrcPort, p.DstPort = a, b, x.sport, x.dport
	} else {
		p.Src, p.Dst, p.SrcPort, p.DstPort = b, a, x.dport, x.sport
	}
	return p
}

func runTable(cfg Config, pkts []pk, expireAt int64, flush bool) []ended {
	var out []ended
	var t *Table
	t = New(cfg, func(s *Session, reason string) {
		cp := s.Key.PA
		if !s.ClientIsA {
			cp = s.Key.PB
		}
		out = append(out, ended{reason, s.PktsUp, s.PktsDown, cp, false, len(t.AppendTimeline(nil, s))})
	})
	for _, x := range pkts {
		p := mkPacket(x)
		t.Packet(&p)
	}
	if expireAt > 0 {
		t.Expire(expireAt * 1e9)
	}
	if flush {
		t.Flush(false)
	}
	return out
}

const (
	S  = decode.SYN
	SA = decode.SYN | decode.ACK
	A  = decode.ACK
	FA = decode.FIN | decode.ACK
	R  = decode.RST
)

func TestSessionLifecycle(t *testing.T) {
	cfg := DefaultConfig()
	hs := []pk{{0, true, 40000, 443, S, 1, false}, {0, false, 40000, 443, SA, 9, false}, {0, true, 40000, 443, A, 2, false}}
	cases := []struct {
		name   string
		pkts   []pk
		expire int64
		flush  bool
		want   []ended
	}{
		{"fin both ways lingers for the last ack", append(hs[:3:3],
			pk{1, true, 40000, 443, FA, 2, false}, pk{1, false, 40000, 443, FA, 10, false}, pk{1, true, 40000, 443, A, 3, false}),
			7, false, []ended{{"fin", 4, 2, 40000, false, 6}}},
		{"rst", append(hs[:3:3], pk{2, false, 40000, 443, R, 10, false}), 8, false, []ended{{"rst", 2, 2, 40000, false, 4}}},
		{"one fin is not the end", append(hs[:3:3], pk{2, true, 40000, 443, FA, 2, false}), 8, false, nil},
		{"timeout", hs, 301, false, []ended{{"timeout", 2, 1, 40000, false, 3}}},
		{"not yet timed out", hs, 300, false, nil},
		{"eof", hs, 0, true, []ended{{"eof", 2, 1, 40000, false, 3}}},
		{"new syn on closed tuple starts a new session", append(hs[:3:3],
			pk{1, false, 40000, 443, R, 10, false}, pk{2, true, 40000, 443, S, 500, false}),
			0, true, []ended{{"rst", 2, 2, 40000, false, 4}, {"eof", 1, 0, 40000, false, 1}}},
		{"syn retransmission stays in the session", []pk{{0, true, 40000, 443, S, 1, false}, {1, true, 40000, 443, S, 1, false}},
			0, true, []ended{{"eof", 2, 0, 40000, false, 2}}},
		{"port reuse with a new isn splits", append(hs[:3:3], pk{100, true, 40000, 443, S, 7777, false}),
			0, true, []ended{{"timeout", 2, 1, 40000, false, 3}, {"eof", 1, 0, 40000, false, 1}}},
		{"syn-ack first: receiver is the client", []pk{{0, false, 40000, 443, SA, 9, false}},
			0, true, []ended{{"eof", 0, 1, 40000, false, 1}}},
		{"mid-stream: service port decides", []pk{{0, false, 40000, 443, A, 9, false}, {0, true, 40000, 443, A, 9, false}},
			0, true, []ended{{"eof", 1, 1, 40000, false, 2}}},
		{"udp aggregates and times out", []pk{{0, true, 50000, 53, 0, 0, true}, {0, false, 50000, 53, 0, 0, true}, {30, true, 50000, 53, 0, 0, true}},
			91, false, []ended{{"timeout", 2, 1, 50000, false, 3}}},
		{"udp response seen first: port 53 is the server", []pk{{0, false, 50000, 53, 0, 0, true}},
			0, true, []ended{{"eof", 0, 1, 50000, false, 1}}},
	}
	for _, c := range cases {
		got := runTable(cfg, c.pkts, c.expire, c.flush)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s:\n got %v\nwant %v", c.name, got, c.want)
		}
	}
}

func TestServiceSide(t *testing.T) {
	cases := []struct {
		a, b uint16
		want int
	}{
		{443, 51000, 1}, {51000, 443, 2}, {53, 53, 0}, {8080, 40000, 1}, {40000, 3306, 2},
		{20000, 50000, 1}, {50000, 20000, 2}, {40000, 50000, 0}, {2000, 3000, 0},
	}
	for _, c := range cases {
		if got := ServiceSide(c.a, c.b); got != c.want {
			t.Errorf("ServiceSide(%d, %d) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestTimelineIsBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Timeline = 4
	var pkts []pk
	for i := 0; i < 10; i++ {
		pkts = append(pkts, pk{int64(i), i%2 == 0, 40000, 443, A, uint32(i), false})
	}
	got := runTable(cfg, pkts, 0, true)
	if len(got) != 1 || got[0].tl != 4 || got[0].up+got[0].down != 10 {
		t.Fatalf("got %v", got)
	}
}

func TestEvictionKeepsTableBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxFlows = 100
	var endedN, evicted int
	tb := New(cfg, func(s *Session, reason string) {
		endedN++
		if reason == "evicted" {
			evicted++
		}
	})
	for i := 0; i < 1000; i++ {
		p := mkPacket(pk{int64(i), true, uint16(10000 + i), 80, S, 1, false})
		tb.Packet(&p)
		if tb.Len() > 100 {
			t.Fatalf("table holds %d sessions, cap 100", tb.Len())
		}
	}
	if evicted != 900 || tb.C.Evicted != 900 {
		t.Fatalf("evicted %d (counter %d), want 900", evicted, tb.C.Evicted)
	}
	// The survivors are the 100 newest.
	tb.Each(func(s *Session) {
		if s.Start < 900e9 {
			t.Errorf("old session %d survived eviction", s.Start/1e9)
		}
	})
}

// Many sessions coming and going: lookups stay correct after deletions
// (backward-shift deletion in the index).
func TestIndexChurn(t *testing.T) {
	cfg := DefaultConfig()
	cfg.UDPTimeout = 5e9
	open := map[uint16]bool{}
	tb := New(cfg, func(s *Session, reason string) { delete(open, s.Key.PA) })
	for i := 0; i < 20000; i++ {
		port := uint16(1024 + (i*7919)%5000)
		p := mkPacket(pk{int64(i / 100), true, port, 53, 0, 0, true})
		s, dir := tb.Packet(&p)
		if dir != 1 || s.Key.PA != port && s.Key.PB != port {
			t.Fatalf("packet %d got the wrong session", i)
		}
		open[port] = true
		tb.Expire(p.TS)
	}
	if tb.Len() != len(open) {
		t.Fatalf("table has %d sessions, expected %d", tb.Len(), len(open))
	}
}

func TestPacketAllocatesNothing(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxFlows = 512
	tb := New(cfg, func(s *Session, reason string) {})
	var pkts []decode.Packet
	for i := 0; i < 2000; i++ {
		port := uint16(20000 + i%700)
		pkts = append(pkts, mkPacket(pk{int64(i), i%3 != 0, port, 443, []uint8{S, SA, A, FA}[i%4], uint32(i), false}))
	}
	for i := range pkts { // warm up: grow the slab and index to their size
		tb.Packet(&pkts[i])
	}
	n := testing.AllocsPerRun(20, func() {
		for i := range pkts {
			tb.Packet(&pkts[i])
			tb.Expire(pkts[i].TS)
		}
	})
	if n != 0 {
		t.Fatalf("Packet allocates %.1f times per %d packets", n, len(pkts))
	}
}

func BenchmarkPacket(b *testing.B) {
	tb := New(DefaultConfig(), func(s *Session, reason string) {})
	var pkts []decode.Packet
	for i := 0; i < 4096; i++ {
		pkts = append(pkts, mkPacket(pk{int64(i / 64), i%2 == 0, uint16(20000 + i%1000), 443, A, uint32(i), false}))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tb.Packet(&pkts[i&4095])
		i++
	}
}

// BenchmarkPacketOpen accounts packets to sessions picked at random among
// 16,384 open ones (OpenWrt's default connection-tracking limit), where the
// table and its lists no longer fit a core's cache as in BenchmarkPacket.
func BenchmarkPacketOpen(b *testing.B) {
	const open = 16384
	tb := New(DefaultConfig(), func(s *Session, reason string) {})
	var pkts []decode.Packet
	for i := range open {
		p := mkPacket(pk{0, true, uint16(1024 + i%60000), 443, 0, 0, true})
		p.Src[3] = byte(i / 60000)
		pkts = append(pkts, p)
		tb.Packet(&pkts[i])
	}
	order := make([]uint32, 1<<16)
	x := uint32(1)
	for i := range order {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		order[i] = x % open
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tb.Packet(&pkts[order[i&(1<<16-1)]])
		i++
	}
	if tb.Len() != open {
		b.Fatalf("%d sessions open, want %d", tb.Len(), open)
	}
}

// TestEndAll ends every open session in the caller's order, each with the
// reason End gives it (a closed one its own, the others eof or shutdown),
// with its timeline, and leaves an empty table that works as a new one.
func TestEndAll(t *testing.T) {
	for _, shutdown := range []bool{false, true} {
		var got []string
		var tb *Table
		tb = New(DefaultConfig(), func(s *Session, reason string) {
			got = append(got, fmt.Sprintf("%d %s %d", s.Key.PA, reason, len(tb.AppendTimeline(nil, s))))
		})
		for _, x := range []pk{
			{1, true, 40001, 443, S, 1, false}, {1, false, 40001, 443, SA, 1, false},
			{2, true, 40002, 80, S, 7, false}, {2, true, 40002, 80, R, 8, false}, // closed: rst
			{3, true, 40003, 53, 0, 0, true}, {3, false, 40003, 53, 0, 0, true}, {4, true, 40003, 53, 0, 0, true},
		} {
			p := mkPacket(x)
			tb.Packet(&p)
		}
		var open []*Session
		tb.Each(func(s *Session) { open = append(open, s) })
		slices.SortFunc(open, func(a, b *Session) int { return cmp.Compare(b.Key.PA, a.Key.PA) }) // any order the caller likes
		tb.EndAll(open, shutdown)
		rest := "eof"
		if shutdown {
			rest = "shutdown"
		}
		want := []string{"40003 " + rest + " 3", "40002 rst 2", "40001 " + rest + " 2"}
		if !slices.Equal(got, want) {
			t.Errorf("shutdown %v: ended %q, want %q", shutdown, got, want)
		}
		if tb.Len() != 0 || tb.C.Ended != 3 || tb.C.Open != 0 {
			t.Errorf("after EndAll: %d open, counters %+v", tb.Len(), tb.C)
		}
		tb.Each(func(s *Session) { t.Errorf("session %d left after EndAll", s.Key.PA) })
		// The emptied table takes new sessions and finds them again: one
		// with the 5-tuple of an ended session is new, not the old one.
		got = got[:0]
		p := mkPacket(pk{10, true, 40001, 443, A, 9, false})
		if s, _ := tb.Packet(&p); s.PktsUp != 1 || s.PktsDown != 0 || tb.C.Opened != 4 {
			t.Fatalf("5-tuple of an ended session after EndAll: %d/%d packets, %d opened", s.PktsUp, s.PktsDown, tb.C.Opened)
		}
		for i := range 50 {
			p := mkPacket(pk{10, true, uint16(50000 + i), 443, S, uint32(i), false})
			tb.Packet(&p)
			p = mkPacket(pk{10, false, uint16(50000 + i), 443, SA, uint32(i), false})
			if s, dir := tb.Packet(&p); dir != 2 || s.PktsUp != 1 || s.PktsDown != 1 {
				t.Fatalf("new session %d after EndAll: dir %d, %d/%d packets", i, dir, s.PktsUp, s.PktsDown)
			}
		}
		// Slots are reused from the start, not leaked.
		if tb.slab.n != 51 {
			t.Errorf("%d session slots handed out for 51 sessions after EndAll", tb.slab.n)
		}
		tb.Flush(false)
		if len(got) != 51 || tb.Len() != 0 {
			t.Errorf("after reuse: %d ended, %d open", len(got), tb.Len())
		}
	}
	// Not every open session: a programming error.
	tb := New(DefaultConfig(), nil)
	p := mkPacket(pk{1, true, 40001, 443, S, 1, false})
	tb.Packet(&p)
	defer func() {
		if recover() == nil {
			t.Error("EndAll with a session missing did not panic")
		}
	}()
	tb.EndAll(nil, false)
}

// TestSameTagSameHome: sessions whose hashes share the home slot and the
// tag (the bits an index slot keeps) are told apart by their keys, found
// again after one of them is removed, and the slots behind it stay
// reachable.
func TestSameTagSameHome(t *testing.T) {
	// Port pairs whose keys share a home slot in the first index (1024
	// slots) and a tag: found by search, about one in 2^20 keys.
	type pair struct{ sport, dport uint16 }
	var pairs []pair
	var want uint32
	for n := 0; n < 1<<26 && len(pairs) < 3; n++ {
		x := pk{0, true, uint16(1024 + n%60000), uint16(1 + n/60000), 0, 0, true}
		p := mkPacket(x)
		var k Key
		k.set(&p)
		h := hashKey(&k)
		sig := slotTag(h) | h&1023
		if len(pairs) == 0 {
			want = sig
		}
		if sig == want {
			pairs = append(pairs, pair{x.sport, x.dport})
		}
	}
	if len(pairs) < 3 {
		t.Fatalf("found %d port pairs with the same tag and home", len(pairs))
	}
	cfg := DefaultConfig()
	cfg.UDPTimeout = 10e9
	var gone []pair
	tb := New(cfg, func(s *Session, reason string) { gone = append(gone, pair{s.Key.PA, s.Key.PB}) })
	send := func(ts int64, x pair) *Session {
		p := mkPacket(pk{ts, true, x.sport, x.dport, 0, 0, true})
		s, _ := tb.Packet(&p)
		return s
	}
	sessions := map[pair]*Session{}
	for _, x := range pairs {
		sessions[x] = send(0, x)
	}
	// The first session ends; the other two, behind it on the probe
	// path, are still found, each as itself.
	send(5, pairs[1])
	send(5, pairs[2])
	tb.Expire(12e9)
	if len(gone) != 1 || gone[0] != pairs[0] {
		t.Fatalf("ended %v, want only %v", gone, pairs[0])
	}
	for _, x := range pairs[1:] {
		if s := send(6, x); s != sessions[x] || s.PktsUp != 3 {
			t.Errorf("%v: got the session of ports %d %d with %d packets, want its own with 3", x, s.Key.PA, s.Key.PB, s.PktsUp)
		}
	}
	if tb.Len() != 2 {
		t.Errorf("%d open sessions, want 2", tb.Len())
	}
}

// TestMaxFlowsBound: New lowers MaxFlows to what an index slot can number.
func TestMaxFlowsBound(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxFlows = 1 << 30
	if got := New(cfg, nil).Config().MaxFlows; got != MaxFlows {
		t.Errorf("MaxFlows %d, want %d", got, MaxFlows)
	}
}
