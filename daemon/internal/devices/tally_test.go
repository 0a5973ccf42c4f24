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
				obs := tl.Observations()
				if len(obs) != devices+1 {
					t.Fatalf("round %d: %d sums, want %d", round, len(obs), devices+1)
				}
				var up, down uint64
				seen := map[tallyKey]bool{}
				for _, o := range obs {
					k := tallyKey{o.MAC, o.IP}
					if seen[k] || o.Kind != ObsTraffic || o.TS != last[k] {
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
			inv.ApplyAll(tl.Observations(), nil)
			tl.Reset()
		}
	}
}
