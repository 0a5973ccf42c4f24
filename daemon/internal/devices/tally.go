package devices

import "net/netip"

// Tally sums the traffic of devices over a batch of packets, so that the
// inventory gets one Traffic sum per device and address per batch instead of
// one per packet. A worker keeps one Tally, calls Add for each packet of a
// session (with the session's client MAC and address: up for client to
// server, down for server to client) and hands the sums (Traffic) to the merger
// with the batch's records. A Tally is not safe for concurrent use; after
// warm-up it allocates nothing.
//
// A caller that keeps a 32-bit word per flow (a session) passes it to
// AddFlow and AddCached as a hint: the first packet of a flow in a batch
// looks its device entry up, the others add to it without hashing.
type Tally struct {
	obs   []Traffic
	macs  []uint64 // obs[i].MAC packed
	hit   int      // entry of the last Add
	slots []int32  // open addressing over (MAC, address): obs index + 1, 0 empty
	gen   uint32   // batch generation, 1..0xffff: the high half of a valid hint
}

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
		t.obs = append(t.obs, Traffic{MAC: mac, IP: ip})
		t.macs = append(t.macs, k)
		if 2*len(t.obs) > len(t.slots) {
			t.rehash(max(256, 4*len(t.obs)))
		} else {
			t.place(k, ip, i)
		}
	}
	t.hit = i
	o := &t.obs[i]
	o.TS = max(o.TS, ts)
	o.Up += up
	o.Down += down
}

// AddCached adds a packet to the entry that *hint names when the hint was
// set in this batch (by AddFlow), and reports whether it did. It is meant to
// be inlined into the per-packet path.
func (t *Tally) AddCached(hint uint32, ts int64, up, down uint64) bool {
	i := int(hint & 0xffff)
	if hint>>16 != t.gen || i >= len(t.obs) {
		return false
	}
	o := &t.obs[i]
	o.TS = max(o.TS, ts)
	o.Up += up
	o.Down += down
	return true
}

// AddFlow is Add that also sets *hint to the entry, for AddCached.
func (t *Tally) AddFlow(hint *uint32, mac [6]byte, ip netip.Addr, ts int64, up, down uint64) {
	if t.gen == 0 {
		t.gen = 1
	}
	t.Add(mac, ip, ts, up, down)
	if t.hit <= 0xffff {
		*hint = t.gen<<16 | uint32(t.hit)
	}
}

func tallyHash(k uint64, ip netip.Addr) uint64 {
	a := ip.As16()
	h := k*0x9E3779B97F4A7C15 ^ (uint64(a[8])<<56 | uint64(a[9])<<48 | uint64(a[10])<<40 | uint64(a[11])<<32 |
		uint64(a[12])<<24 | uint64(a[13])<<16 | uint64(a[14])<<8 | uint64(a[15]))
	h ^= uint64(a[0])<<8 | uint64(a[1]) | uint64(a[2])<<16 | uint64(a[7])<<24
	h *= 0xBF58476D1CE4E5B9
	return h ^ h>>31
}

func (t *Tally) lookup(k uint64, mac [6]byte, ip netip.Addr) int {
	if len(t.slots) == 0 {
		return -1
	}
	mask := uint64(len(t.slots) - 1)
	for j := tallyHash(k, ip) & mask; ; j = (j + 1) & mask {
		v := t.slots[j]
		if v == 0 {
			return -1
		}
		if i := int(v - 1); t.macs[i] == k && t.obs[i].IP == ip {
			return i
		}
	}
}

func (t *Tally) place(k uint64, ip netip.Addr, i int) {
	mask := uint64(len(t.slots) - 1)
	j := tallyHash(k, ip) & mask
	for t.slots[j] != 0 {
		j = (j + 1) & mask
	}
	t.slots[j] = int32(i + 1)
}

func (t *Tally) rehash(n int) {
	size := 1
	for size < n {
		size <<= 1
	}
	if len(t.slots) != size {
		t.slots = make([]int32, size)
	} else {
		clear(t.slots)
	}
	for i := range t.obs {
		t.place(t.macs[i], t.obs[i].IP, i)
	}
}

func packMAC(m [6]byte) uint64 {
	return uint64(m[0])<<40 | uint64(m[1])<<32 | uint64(m[2])<<24 | uint64(m[3])<<16 | uint64(m[4])<<8 | uint64(m[5])
}

// Traffic is what a device sent and received with one address over a
// batch: ApplyTraffic turns it into an ObsTraffic observation.
type Traffic struct {
	MAC      [6]byte
	IP       netip.Addr
	TS       int64  // Unix ms of the last packet
	Up, Down uint64 // IP bytes sent and received
}

// Traffic returns the sums, one per device and address in the order first
// seen, each stamped with the time of its last packet. The slice is the
// Tally's and is reused by the next batch: a worker that hands it to
// another goroutine copies it first (append(dst, t.Traffic()...)).
func (t *Tally) Traffic() []Traffic { return t.obs }

// Reset empties the Tally for the next batch, keeping its memory. It
// reports true when the batch generation wrapped around (every 65,535
// batches): the caller must then zero every hint it keeps, or an old hint
// could name an entry of the new generation.
func (t *Tally) Reset() (clearHints bool) {
	t.obs = t.obs[:0]
	t.macs = t.macs[:0]
	clear(t.slots)
	t.gen++
	if t.gen > 0xffff {
		t.gen = 1
		return true
	}
	return false
}
