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

// TestTallyHints: flows that keep a hint add to their device's entry
// without a lookup within a batch, never to another batch's entry, and
// Reset asks for the hints to be cleared when the generation wraps.
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
	wraps := 0
	for batch := range 70_000 { // past one wrap of the 16-bit generation
		lookups := 0
		for i := range 9 {
			f := flows[i%len(flows)]
			if !tl.AddCached(f.hint, t0+int64(i), 10, 1) {
				tl.AddFlow(&f.hint, f.mac, f.ip, t0+int64(i), 10, 1)
				lookups++
			}
		}
		if lookups != len(flows) {
			t.Fatalf("batch %d: %d lookups, want one per flow (%d)", batch, lookups, len(flows))
		}
		obs := tl.Traffic()
		if len(obs) != len(flows) {
			t.Fatalf("batch %d: %d entries, want %d", batch, len(obs), len(flows))
		}
		for j, o := range obs {
			if o.MAC != flows[j].mac || o.IP != flows[j].ip || o.Up != 30 || o.Down != 3 {
				t.Fatalf("batch %d: entry %d = %+v", batch, j, o)
			}
		}
		if tl.Reset() {
			wraps++
			for _, f := range flows {
				f.hint = 0
			}
		}
	}
	if wraps != 1 {
		t.Errorf("%d generation wraps in 70,000 batches, want 1", wraps)
	}
}

// BenchmarkTrafficPerPacket is the per-packet cost of device accounting as
// the engine is meant to do it: each worker adds every packet to a Tally,
// and the merger applies the sums of each batch of 256 packets (16 devices,
// a few addresses each) with ApplyAll. ns/op is per packet.
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
// a flow's first packet in a batch looks its device up. ns/op is per packet.
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
