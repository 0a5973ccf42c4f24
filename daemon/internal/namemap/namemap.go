// Package namemap remembers, from DNS answers, which name a client asked for
// to reach each server address, so that a session with no name of its own
// (no TLS SNI, no HTTP Host) can still be labelled. It is bounded in size,
// honours the answers' TTLs, and forgets first the entry learned or changed
// longest ago, so its content depends only on the order of the answers fed
// to it.
//
// A Map is owned by one goroutine (the pipeline's enricher).
package namemap

import (
	"encoding/binary"
	"math/bits"
	"net/netip"

	"tamon/daemon/internal/intern"
	"tamon/daemon/internal/openaddr"
	"tamon/daemon/internal/pages"
	"tamon/daemon/internal/record"
)

// MaxCNAMEHops bounds how far a CNAME chain is followed back to the name
// that was asked for (the prototype used 10).
const MaxCNAMEHops = 10

// entry is one address and its name. Entries sit in a fixed array, linked
// in insertion order (prev and next are entry numbers, none at the ends),
// and are found through an open-addressing index of entry numbers.
type entry struct {
	key        [16]byte // the address in its 16-byte form
	v4         bool
	hash       uint32 // hashOf(&key)
	name       string
	expires    int64 // Unix ms
	prev, next int32
}

const none = -1

// Map is a bounded, TTL-aware map from server address to name. It holds
// its entries in one preallocated array and an index of int32s, so that
// learning an address at capacity replaces the oldest one without a Go
// map's hashing of a pointer-carrying key and without allocating.
type Map struct {
	ents       []entry // grows up to max
	max        int
	index      []int32 // entry number + 1; 0 is an empty slot
	mask       uint32
	head, tail int32 // oldest and newest entry
	n          int
	grace      int64 // ms an entry stays usable past its TTL
	names      intern.Table
}

// New returns a Map holding at most size addresses. An entry stays usable
// for grace milliseconds after its TTL ran out, since clients keep using
// addresses past the TTL.
func New(size int, grace int64) *Map {
	if size < 1 {
		size = 1
	}
	return &Map{max: size, grace: grace, head: none, tail: none, names: intern.Table{Max: 4 * size}}
}

// Len returns the number of addresses held.
func (m *Map) Len() int { return m.n }

func keyOf(addr netip.Addr) ([16]byte, bool) {
	return addr.As16(), addr.Is4()
}

func hashOf(k *[16]byte) uint32 {
	const mul = 0x9E3779B97F4A7C15
	a := binary.LittleEndian.Uint64(k[0:8])
	b := binary.LittleEndian.Uint64(k[8:16])
	hi, lo := bits.Mul64(a^mul, b^0xBF58476D1CE4E5B9)
	h := hi ^ lo
	return uint32(h ^ h>>32)
}

// find returns the entry number of k and its index slot, or none and the
// empty slot where k would go.
func (m *Map) find(k *[16]byte, v4 bool, h uint32) (int32, uint32) {
	if m.index == nil {
		return none, 0
	}
	for j := h & m.mask; ; j = (j + 1) & m.mask {
		v := m.index[j]
		if v == 0 {
			return none, j
		}
		if e := &m.ents[v-1]; e.hash == h && e.key == *k && e.v4 == v4 {
			return v - 1, j
		}
	}
}

// unindex removes index slot j (openaddr.Delete).
func (m *Map) unindex(j uint32) {
	openaddr.Delete(m.index, m.mask, j, func(v int32) uint32 { return m.ents[v-1].hash & m.mask })
}

func (m *Map) unlink(i int32) {
	e := &m.ents[i]
	if e.prev != none {
		m.ents[e.prev].next = e.next
	} else {
		m.head = e.next
	}
	if e.next != none {
		m.ents[e.next].prev = e.prev
	} else {
		m.tail = e.prev
	}
}

func (m *Map) pushBack(i int32) {
	e := &m.ents[i]
	e.prev, e.next = m.tail, none
	if m.tail != none {
		m.ents[m.tail].next = i
	} else {
		m.head = i
	}
	m.tail = i
}

// Put records that addr answered for name until now+ttl seconds. A known
// address gets the new name and expiry and counts as learned last.
func (m *Map) Put(addr netip.Addr, name string, now int64, ttl uint32) {
	exp := now + int64(ttl)*1000
	k, v4 := keyOf(addr)
	h := hashOf(&k)
	if i, _ := m.find(&k, v4, h); i != none {
		e := &m.ents[i]
		if e.name == name && e.expires >= exp {
			return
		}
		e.name, e.expires = m.names.String(name), exp
		m.unlink(i)
		m.pushBack(i)
		return
	}
	var i int32
	if m.n < m.max {
		if m.n == len(m.ents) {
			m.grow()
		}
		i = int32(m.n)
		m.n++
	} else {
		// Full: the oldest entry makes room.
		i = m.head
		old := &m.ents[i]
		_, j := m.find(&old.key, old.v4, old.hash)
		m.unindex(j)
		m.unlink(i)
	}
	// A private copy: name may live in a large record arena that this
	// long-lived entry must not keep alive.
	m.ents[i] = entry{key: k, v4: v4, hash: h, name: m.names.String(name), expires: exp}
	m.pushBack(i)
	_, j := m.find(&k, v4, h)
	m.index[j] = i + 1
}

// grow doubles the entry array (up to max) and rebuilds the index at
// twice the entries' capacity, so it stays at most half full.
func (m *Map) grow() {
	n := min(m.max, max(64, 2*len(m.ents)))
	ents := pages.Make[entry](n, n) // copy's write barrier and the collector read before writing
	copy(ents, m.ents)
	m.ents = ents
	size := 1
	for size < 2*n {
		size <<= 1
	}
	m.index = pages.Make[int32](size, size)
	m.mask = uint32(size - 1)
	for i := range m.n {
		e := &m.ents[i]
		_, j := m.find(&e.key, e.v4, e.hash)
		m.index[j] = int32(i) + 1
	}
}

// Lookup returns the name for addr if it was valid at time at (Unix ms).
func (m *Map) Lookup(addr netip.Addr, at int64) (string, bool) {
	k, v4 := keyOf(addr)
	i, _ := m.find(&k, v4, hashOf(&k))
	if i == none {
		return "", false
	}
	e := &m.ents[i]
	if at > e.expires+m.grace {
		return "", false
	}
	return e.name, true
}

// Learn feeds the answers of one response. Each A or AAAA answer maps its
// address to the name the client asked for: the owner name followed back
// through the CNAME chain, at most MaxCNAMEHops hops (normally the
// question, qname).
func (m *Map) Learn(qname string, answers []record.Answer, now int64) {
	var owner, ownerName string
	for i := range answers {
		a := &answers[i]
		if a.Type != "A" && a.Type != "AAAA" {
			continue
		}
		addr, err := netip.ParseAddr(a.Data)
		if err != nil {
			continue
		}
		if a.Name == owner && owner != "" {
			m.Put(addr.Unmap(), ownerName, now, a.TTL)
			continue
		}
		name := a.Name
		for hop := 0; hop < MaxCNAMEHops && !equalFold(name, qname); hop++ {
			prev := ""
			for j := range answers {
				if answers[j].Type == "CNAME" && equalFold(answers[j].Data, name) {
					prev = answers[j].Name
					break
				}
			}
			if prev == "" {
				break
			}
			name = prev
		}
		if equalFold(name, qname) {
			name = qname
		}
		// The next answers of the same owner (a round-robin set) follow
		// the same chain.
		owner, ownerName = a.Name, name
		m.Put(addr.Unmap(), name, now, a.TTL)
	}
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	if a == b {
		return true // the usual case, compared a word at a time
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
