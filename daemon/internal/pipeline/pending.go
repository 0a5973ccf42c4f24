package pipeline

// pending is a bounded table of outstanding requests (DNS queries, ICMP
// echo requests) waiting for their answers: a map from key to a slot in a
// slab that grows up to a bound, and a list of slots in insertion order, so
// that expiry looks only at the oldest. Values live in the slab: adding and
// removing entries allocates nothing once the slab and the map have grown
// to the busiest moment so far, and a quiet link keeps them small. Slot
// pointers are valid until the next add. Owned by one worker.
type pending[K comparable, V any] struct {
	idx   map[K]uint32
	slots []pendingSlot[K, V]
	free  []uint32
	max   int // slots at most
	head  uint32
	tail  uint32
}

type pendingSlot[K comparable, V any] struct {
	key        K
	ts         int64 // ns, when the request was seen
	seq        uint64
	val        V
	prev, next uint32
}

func newPending[K comparable, V any](n int) *pending[K, V] {
	return &pending[K, V]{idx: make(map[K]uint32), max: n, head: none, tail: none}
}

// find returns the slot of k.
func (p *pending[K, V]) find(k K) (uint32, bool) {
	i, ok := p.idx[k]
	return i, ok
}

func (p *pending[K, V]) slot(i uint32) *pendingSlot[K, V] { return &p.slots[i] }

// full reports whether add needs a slot freed first (see oldest).
func (p *pending[K, V]) full() bool { return len(p.free) == 0 && len(p.slots) >= p.max }

// oldest returns the slot added first, or none.
func (p *pending[K, V]) oldest() uint32 { return p.head }

// add stores k, which must not be present, with its time and order key,
// and returns its slot for the caller to fill. The table must not be full.
func (p *pending[K, V]) add(k K, ts int64, seq uint64) *pendingSlot[K, V] {
	var i uint32
	if n := len(p.free); n > 0 {
		i = p.free[n-1]
		p.free = p.free[:n-1]
	} else {
		if len(p.slots) == cap(p.slots) {
			// Grow by doubling, within the bound.
			grown := make([]pendingSlot[K, V], len(p.slots), min(p.max, max(16, 2*cap(p.slots))))
			copy(grown, p.slots)
			p.slots = grown
		}
		i = uint32(len(p.slots))
		p.slots = p.slots[:i+1]
	}
	s := &p.slots[i]
	var zero V
	s.key, s.ts, s.seq, s.val = k, ts, seq, zero
	s.next, s.prev = none, p.tail
	if p.tail != none {
		p.slots[p.tail].next = i
	} else {
		p.head = i
	}
	p.tail = i
	p.idx[k] = i
	return s
}

// remove frees slot i.
func (p *pending[K, V]) remove(i uint32) {
	s := &p.slots[i]
	if s.prev != none {
		p.slots[s.prev].next = s.next
	} else {
		p.head = s.next
	}
	if s.next != none {
		p.slots[s.next].prev = s.prev
	} else {
		p.tail = s.prev
	}
	delete(p.idx, s.key)
	p.free = append(p.free, i)
}

// expire calls fn for, then removes, every entry older than timeout at
// packet time now (all of them when timeout < 0), oldest first.
func (p *pending[K, V]) expire(now, timeout int64, fn func(s *pendingSlot[K, V])) {
	for p.head != none {
		s := &p.slots[p.head]
		if timeout >= 0 && now-s.ts <= timeout {
			return
		}
		fn(s)
		p.remove(p.head)
	}
}
