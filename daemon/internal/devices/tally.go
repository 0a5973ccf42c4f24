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
// Entries (one per device and address) outlive batches, so a caller that
// keeps a 32-bit word per flow (a session) can pass it to AddFlow and
// AddCached as a hint: only the first packet of a flow looks its entry up,
// the others add to it directly. When the Tally holds MaxEntries entries it
// starts afresh, and hints of the old entries stop matching.
type Tally struct {
	ent     []tallyEntry
	macs    []uint64 // ent[i].MAC packed
	slots   []int32  // open addressing over (MAC, address): ent index + 1, 0 empty
	touched []int32  // entries with traffic in this batch, first touched first
	out     []Traffic
	batch   uint32 // batch number, for tallyEntry.batch
	epoch   uint32 // 1..0xffff, bumped when the entries are dropped: the high half of a hint
	wrapped bool   // epoch wrapped around since the last Reset
}

// MaxEntries bounds the device and address pairs a Tally keeps between
// batches (and so the index of a hint, 16 bits).
const MaxEntries = 4096

type tallyEntry struct {
	Traffic
	batch uint32 // batch of the sums; older sums are stale
}

// Traffic is what a device sent and received with one address over a
// batch: ApplyTraffic turns it into an ObsTraffic observation.
type Traffic struct {
	MAC      [6]byte
	IP       netip.Addr
	TS       int64  // Unix ms of the last packet
	Up, Down uint64 // IP bytes sent and received
}

// Add counts one packet of ts (Unix ms) for the device at mac using address
// ip (may be invalid).
func (t *Tally) Add(mac [6]byte, ip netip.Addr, ts int64, up, down uint64) {
	t.add(t.find(mac, ip), ts, up, down)
}

// AddFlow is Add that also sets *hint to the entry, for AddCached.
func (t *Tally) AddFlow(hint *uint32, mac [6]byte, ip netip.Addr, ts int64, up, down uint64) {
	i := t.find(mac, ip)
	t.add(i, ts, up, down)
	*hint = t.epoch<<16 | uint32(i)
}

// AddCached adds a packet to the entry that hint names, if it still names
// one (set by AddFlow since the Tally last started afresh), and reports
// whether it did. It is meant to be inlined into the per-packet path.
func (t *Tally) AddCached(hint uint32, ts int64, up, down uint64) bool {
	i := int(hint & 0xffff)
	if hint>>16 != t.epoch || i >= len(t.ent) {
		return false
	}
	t.add(i, ts, up, down)
	return true
}

func (t *Tally) add(i int, ts int64, up, down uint64) {
	e := &t.ent[i]
	if e.batch != t.batch {
		e.batch = t.batch
		e.TS, e.Up, e.Down = ts, 0, 0
		t.touched = append(t.touched, int32(i))
	}
	e.TS = max(e.TS, ts)
	e.Up += up
	e.Down += down
}

// find returns the entry of (mac, ip), creating it.
func (t *Tally) find(mac [6]byte, ip netip.Addr) int {
	if t.epoch == 0 {
		t.epoch = 1
	}
	k := packMAC(mac)
	if i := t.lookup(k, ip); i >= 0 {
		return i
	}
	if len(t.ent) >= MaxEntries {
		t.drop()
	}
	i := len(t.ent)
	t.ent = append(t.ent, tallyEntry{Traffic: Traffic{MAC: mac, IP: ip}, batch: t.batch - 1})
	t.macs = append(t.macs, k)
	if 2*len(t.ent) > len(t.slots) {
		t.rehash(max(256, 4*len(t.ent)))
	} else {
		t.place(k, ip, i)
	}
	return i
}

// drop forgets every entry (the sums of this batch go to the entries made
// next, so they are kept first) and moves to a new epoch, so that every
// hint stops matching.
func (t *Tally) drop() {
	keep := t.Traffic()
	t.ent, t.macs, t.touched = t.ent[:0], t.macs[:0], t.touched[:0]
	clear(t.slots)
	t.epoch++
	if t.epoch > 0xffff {
		t.epoch = 1
		t.wrapped = true
	}
	for _, o := range keep {
		i := len(t.ent)
		t.ent = append(t.ent, tallyEntry{Traffic: o, batch: t.batch})
		t.macs = append(t.macs, packMAC(o.MAC))
		t.place(t.macs[i], o.IP, i)
		t.touched = append(t.touched, int32(i))
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

func (t *Tally) lookup(k uint64, ip netip.Addr) int {
	if len(t.slots) == 0 {
		return -1
	}
	mask := uint64(len(t.slots) - 1)
	for j := tallyHash(k, ip) & mask; ; j = (j + 1) & mask {
		v := t.slots[j]
		if v == 0 {
			return -1
		}
		if i := int(v - 1); t.macs[i] == k && t.ent[i].IP == ip {
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
	for i := range t.ent {
		t.place(t.macs[i], t.ent[i].IP, i)
	}
}

func packMAC(m [6]byte) uint64 {
	return uint64(m[0])<<40 | uint64(m[1])<<32 | uint64(m[2])<<24 | uint64(m[3])<<16 | uint64(m[4])<<8 | uint64(m[5])
}

// Traffic returns the sums of this batch, one per device and address in
// the order first seen, each stamped with the time of its last packet. The
// slice is the Tally's and is reused: a worker that hands it to another
// goroutine copies it first (append(dst, t.Traffic()...)).
func (t *Tally) Traffic() []Traffic {
	t.out = t.out[:0]
	for _, i := range t.touched {
		t.out = append(t.out, t.ent[i].Traffic)
	}
	return t.out
}

// Reset starts the next batch; the entries stay for the hints. It reports
// true when the hint epoch wrapped around (after the Tally started afresh
// 65,535 times, that is after at least 268 million device and address
// pairs): the caller must then zero every hint it keeps, or an old hint
// could name an entry of the new epoch.
func (t *Tally) Reset() (clearHints bool) {
	t.touched = t.touched[:0]
	t.batch++
	w := t.wrapped
	t.wrapped = false
	return w
}
