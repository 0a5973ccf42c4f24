package devices

import "net/netip"

// Tally sums the traffic of devices over a batch of packets, so that the
// inventory gets one ObsTraffic per device and address per batch instead of
// one per packet. A worker keeps one Tally, calls Add for each packet of a
// session (with the session's client MAC and address: up for client to
// server, down for server to client) and hands Observations to the merger
// with the batch's records. A Tally is not safe for concurrent use; after
// warm-up it allocates nothing.
type Tally struct {
	obs     []Observation
	macs    []uint64         // obs[i].MAC packed, for a fast scan
	hit     int              // entry of the last Add
	index   map[tallyKey]int // position in obs, once the batch has many devices
	indexed bool
}

type tallyKey struct {
	mac [6]byte
	ip  netip.Addr
}

// linearTally is the number of entries searched linearly before the index
// map is used.
const linearTally = 16

// Add counts one packet of ts (Unix ms) for the device at mac using address
// ip (may be invalid).
func (t *Tally) Add(mac [6]byte, ip netip.Addr, ts int64, up, down uint64) {
	k := packMAC(mac)
	i := t.hit
	if i >= len(t.obs) || t.macs[i] != k || t.obs[i].IP != ip {
		i = t.lookup(k, mac, ip)
	}
	if i < 0 {
		i = len(t.obs)
		t.obs = append(t.obs, Observation{Kind: ObsTraffic, MAC: mac, IP: ip})
		t.macs = append(t.macs, k)
		switch {
		case t.indexed:
			t.index[tallyKey{mac, ip}] = i
		case len(t.obs) > linearTally:
			if t.index == nil {
				t.index = make(map[tallyKey]int, 4*linearTally)
			}
			for j := range t.obs {
				t.index[tallyKey{t.obs[j].MAC, t.obs[j].IP}] = j
			}
			t.indexed = true
		}
	}
	t.hit = i
	o := &t.obs[i]
	o.TS = max(o.TS, ts)
	o.Up += up
	o.Down += down
}

func (t *Tally) lookup(k uint64, mac [6]byte, ip netip.Addr) int {
	if t.indexed {
		if i, ok := t.index[tallyKey{mac, ip}]; ok {
			return i
		}
		return -1
	}
	for i, m := range t.macs {
		if m == k && t.obs[i].IP == ip {
			return i
		}
	}
	return -1
}

func packMAC(m [6]byte) uint64 {
	return uint64(m[0])<<40 | uint64(m[1])<<32 | uint64(m[2])<<24 | uint64(m[3])<<16 | uint64(m[4])<<8 | uint64(m[5])
}

// Observations returns the sums, one per device and address in the order
// first seen, each stamped with the time of its last packet. The slice is
// the Tally's and is reused by the next batch: a worker that hands it to
// another goroutine copies it first (append(dst, t.Observations()...)).
func (t *Tally) Observations() []Observation { return t.obs }

// Reset empties the Tally for the next batch, keeping its memory.
func (t *Tally) Reset() {
	t.obs = t.obs[:0]
	t.macs = t.macs[:0]
	if t.indexed {
		clear(t.index)
		t.indexed = false
	}
}
