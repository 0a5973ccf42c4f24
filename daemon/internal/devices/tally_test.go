package devices

import (
	"fmt"
	"net/netip"
	"testing"
)

// tallyKey names one device and address in the test's own bookkeeping.
type tallyKey struct {
	mac [6]byte
	ip  netip.Addr
}

func TestTally(t *testing.T) {
	for _, devices := range []int{3, 40} { // linear search, then the index
		t.Run(fmt.Sprint(devices), func(t *testing.T) {
			var tl Tally
			for round := range 2 {
				last := map[tallyKey]int64{}
				for i := range 1000 {
					m := [6]byte{0, 0x1b, 0x21, 0, 0, byte(i % devices)}
					ip := netip.AddrFrom4([4]byte{192, 0, 2, byte(i % devices)})
					if i%devices == 0 && i/devices%2 == 1 {
						ip = netip.MustParseAddr("2001:db8::1") // device 0 also uses IPv6
					}
					tl.Add(m, ip, t0+int64(i), 10, 100)
					last[tallyKey{m, ip}] = t0 + int64(i)
				}
				obs := tl.Traffic()
				if len(obs) != devices+1 {
					t.Fatalf("round %d: %d sums, want %d", round, len(obs), devices+1)
				}
				var up, down uint64
				seen := map[tallyKey]bool{}
				for _, o := range obs {
					k := tallyKey{o.MAC, o.IP}
					if seen[k] || o.TS != last[k] {
						t.Fatalf("sum %+v", o)
					}
					seen[k] = true
					up += o.Up
					down += o.Down
				}
				if up != 10_000 || down != 100_000 {
					t.Errorf("round %d: up %d down %d", round, up, down)
				}
				tl.Reset()
			}
		})
	}
}

// TestTallyHints: a flow that keeps a hint looks its device entry up once,
// not once per batch; the sums are per batch; when the Tally starts afresh
// (MaxEntries reached) hints stop matching and the batch's sums survive;
// Reset asks for the hints to be cleared when the epoch wraps.
func TestTallyHints(t *testing.T) {
	type flowState struct {
		mac  [6]byte
		ip   netip.Addr
		hint uint32
	}
	flows := []*flowState{
		{mac: [6]byte{0, 0x1b, 0x21, 0, 0, 1}, ip: netip.MustParseAddr("192.0.2.1")},
		{mac: [6]byte{0, 0x1b, 0x21, 0, 0, 1}, ip: netip.MustParseAddr("2001:db8::1")},
		{mac: [6]byte{0, 0x1b, 0x21, 0, 0, 2}, ip: netip.MustParseAddr("192.0.2.2")},
	}
	var tl Tally
	packets := func() (lookups int) {
		for i := range 9 {
			f := flows[i%len(flows)]
			if !tl.AddCached(f.hint, t0+int64(i), 10, 1) {
				tl.AddFlow(&f.hint, f.mac, f.ip, t0+int64(i), 10, 1)
				lookups++
			}
		}
		return lookups
	}
	check := func(batch int, extra int) {
		t.Helper()
		obs := tl.Traffic()
		if len(obs) != len(flows)+extra {
			t.Fatalf("batch %d: %d sums, want %d", batch, len(obs), len(flows)+extra)
		}
		for j, f := range flows {
			o := obs[j]
			if o.MAC != f.mac || o.IP != f.ip || o.Up != 30 || o.Down != 3 || o.TS != t0+int64(6+j) {
				t.Fatalf("batch %d: sum %d = %+v", batch, j, o)
			}
		}
	}
	for batch := range 100 {
		want := 0
		if batch == 0 {
			want = len(flows)
		}
		if n := packets(); n != want {
			t.Fatalf("batch %d: %d lookups, want %d", batch, n, want)
		}
		check(batch, 0)
		if tl.Reset() {
			t.Fatalf("batch %d: Reset asks to clear hints", batch)
		}
	}
	// A batch that brings MaxEntries new pairs: the Tally starts afresh in
	// its middle, keeping what the batch summed so far.
	packets()
	for i := range MaxEntries {
		tl.Add([6]byte{0, 0x1b, 0x21, 1, byte(i >> 8), byte(i)}, netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), t0, 1, 0)
	}
	if n := packets(); n != len(flows) {
		t.Fatalf("after starting afresh: %d lookups, want %d", n, len(flows))
	}
	obs := tl.Traffic()
	var up uint64
	for _, o := range obs {
		up += o.Up
	}
	if want := uint64(2*30*len(flows) + MaxEntries); up != want {
		t.Errorf("bytes up in the batch that started afresh: %d, want %d", up, want)
	}
	tl.Reset()
	// The epoch wraps: Reset says so once.
	tl.epoch = 0xffff
	tl.drop()
	if !tl.Reset() || tl.Reset() {
		t.Error("Reset does not report the epoch wrap exactly once")
	}
}

// BenchmarkTrafficPerPacket is the per-packet cost of device accounting as
// the engine is meant to do it: each worker adds every packet to a Tally,
// and the merger applies the sums of each batch of 256 packets (16 devices,
// a few addresses each) with ApplyTraffic. ns/op is per packet.
func BenchmarkTrafficPerPacket(b *testing.B) {
	inv := New(Config{})
	var tl Tally
	const batch = 256
	macs := make([][6]byte, 16)
	ips := make([]netip.Addr, 48)
	for i := range macs {
		macs[i] = [6]byte{0, 0x1b, 0x21, 0, 0, byte(i)}
	}
	for i := range ips {
		ips[i] = netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})
	}
	b.ReportAllocs()
	ts := t0
	n := 0
	for b.Loop() {
		d := n * 7 % 16 // interleaved devices
		tl.Add(macs[d], ips[d*3%48], ts, 1500, 0)
		ts++
		n++
		if n%batch == 0 {
			inv.ApplyTraffic(tl.Traffic(), nil)
			tl.Reset()
		}
	}
}

// BenchmarkTrafficPerPacketFlows is the same with the engine's hints: 64
// flows of 16 devices interleaved, each flow keeping its hint, so that only
// a flow's first packet looks its device up. ns/op is per packet.
func BenchmarkTrafficPerPacketFlows(b *testing.B) {
	inv := New(Config{})
	var tl Tally
	const batch = 256
	type flowState struct {
		mac  [6]byte
		ip   netip.Addr
		hint uint32
	}
	flows := make([]flowState, 64)
	for i := range flows {
		flows[i] = flowState{mac: [6]byte{0, 0x1b, 0x21, 0, 0, byte(i % 16)}, ip: netip.AddrFrom4([4]byte{192, 0, 2, byte(i % 48)})}
	}
	b.ReportAllocs()
	ts := t0
	n := 0
	for b.Loop() {
		f := &flows[n*7%64]
		if !tl.AddCached(f.hint, ts, 1500, 0) {
			tl.AddFlow(&f.hint, f.mac, f.ip, ts, 1500, 0)
		}
		ts++
		n++
		if n%batch == 0 {
			inv.ApplyTraffic(tl.Traffic(), nil)
			if tl.Reset() {
				for i := range flows {
					flows[i].hint = 0
				}
			}
		}
	}
}
