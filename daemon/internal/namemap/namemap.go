// Package namemap remembers, from DNS answers, which name a client asked for
// to reach each server address, so that a session with no name of its own
// (no TLS SNI, no HTTP Host) can still be labelled. It is bounded in size,
// honours the answers' TTLs, and forgets the oldest entry first, so its
// content depends only on the order of the answers fed to it.
//
// A Map is owned by one goroutine (the pipeline's enricher).
package namemap

import (
	"net/netip"

	"tamon/daemon/internal/intern"

	"tamon/daemon/internal/record"
)

// MaxCNAMEHops bounds how far a CNAME chain is followed back to the name
// that was asked for (the prototype used 10).
const MaxCNAMEHops = 10

type entry struct {
	name    string
	expires int64 // Unix ms
	gen     uint64
}

type slot struct {
	addr netip.Addr
	gen  uint64
}

// Map is a bounded, TTL-aware map from server address to name.
type Map struct {
	m     map[netip.Addr]entry
	ring  []slot // insertion order, for eviction; grows up to max
	max   int
	head  int
	n     int
	gen   uint64
	grace int64 // ms an entry stays usable past its TTL
	names intern.Table
}

// New returns a Map holding at most size addresses. An entry stays usable
// for grace milliseconds after its TTL ran out, since clients keep using
// addresses past the TTL.
func New(size int, grace int64) *Map {
	if size < 1 {
		size = 1
	}
	return &Map{m: make(map[netip.Addr]entry), max: size, grace: grace, names: intern.Table{Max: 4 * size}}
}

// Len returns the number of addresses held.
func (m *Map) Len() int { return len(m.m) }

// Put records that addr answered for name until now+ttl seconds.
func (m *Map) Put(addr netip.Addr, name string, now int64, ttl uint32) {
	m.gen++
	exp := now + int64(ttl)*1000
	if e, ok := m.m[addr]; ok && e.name == name && e.expires >= exp {
		return
	}
	if m.n == len(m.ring) && len(m.ring) < m.max {
		// Not full yet, so nothing was evicted and head is 0: grow.
		grown := make([]slot, min(m.max, max(64, 2*len(m.ring))))
		copy(grown, m.ring)
		m.ring = grown
	}
	if m.n == len(m.ring) {
		old := m.ring[m.head]
		if e, ok := m.m[old.addr]; ok && e.gen == old.gen {
			delete(m.m, old.addr)
		}
		m.head = (m.head + 1) % len(m.ring)
		m.n--
	}
	m.ring[(m.head+m.n)%len(m.ring)] = slot{addr, m.gen}
	m.n++
	// A private copy: name may live in a large record arena that this
	// long-lived entry must not keep alive.
	name = m.names.String(name)
	m.m[addr] = entry{name: name, expires: exp, gen: m.gen}
}

// Lookup returns the name for addr if it was valid at time at (Unix ms).
func (m *Map) Lookup(addr netip.Addr, at int64) (string, bool) {
	e, ok := m.m[addr]
	if !ok || at > e.expires+m.grace {
		return "", false
	}
	return e.name, true
}

// Learn feeds the answers of one response. Each A or AAAA answer maps its
// address to the name the client asked for: the owner name followed back
// through the CNAME chain, at most MaxCNAMEHops hops (normally the
// question, qname).
func (m *Map) Learn(qname string, answers []record.Answer, now int64) {
	for i := range answers {
		a := &answers[i]
		if a.Type != "A" && a.Type != "AAAA" {
			continue
		}
		addr, err := netip.ParseAddr(a.Data)
		if err != nil {
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
		m.Put(addr.Unmap(), name, now, a.TTL)
	}
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
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
