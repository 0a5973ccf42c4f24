package record

import (
	"unsafe"

	"tamon/daemon/internal/pages"
)

// Arena carves records, strings, timelines and answer lists out of large
// blocks, so that the engine builds records without one allocation per
// record. Nothing is ever written to a block region after it was handed
// out: the strings are immutable like any Go string, and a block is freed
// by the garbage collector once no record refers to it. A new block of
// records is made by pages.Make: the collector scans all of a block, also
// the part not handed out yet. An Arena is owned by one goroutine; what it
// hands out may be passed to others.
type Arena struct {
	buf     []byte
	steps   []Step
	sess    []Session
	dns     []DNS
	icmp    []ICMP
	tls     []TLS
	http    []HTTP
	answers []Answer
}

const (
	arenaBytes   = 64 << 10
	arenaRecords = 256
)

// String returns b as a string backed by the arena.
func (a *Arena) String(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > arenaBytes/4 {
		return string(b)
	}
	if cap(a.buf)-len(a.buf) < len(b) {
		a.buf = make([]byte, 0, arenaBytes)
	}
	start := len(a.buf)
	a.buf = append(a.buf, b...)
	return unsafe.String(&a.buf[start], len(b))
}

// Steps returns a copy of tl backed by the arena.
func (a *Arena) Steps(tl []Step) []Step {
	if len(tl) == 0 {
		return nil
	}
	if cap(a.steps)-len(a.steps) < len(tl) {
		a.steps = make([]Step, 0, max(4096, len(tl)))
	}
	start := len(a.steps)
	a.steps = append(a.steps, tl...)
	return a.steps[start:len(a.steps):len(a.steps)]
}

// Session returns a zeroed Session backed by the arena.
func (a *Arena) Session() *Session {
	if len(a.sess) == cap(a.sess) {
		a.sess = pages.Make[Session](0, arenaRecords)
	}
	a.sess = a.sess[:len(a.sess)+1]
	return &a.sess[len(a.sess)-1]
}

// DNS returns a zeroed DNS record backed by the arena.
func (a *Arena) DNS() *DNS {
	if len(a.dns) == cap(a.dns) {
		a.dns = pages.Make[DNS](0, arenaRecords)
	}
	a.dns = a.dns[:len(a.dns)+1]
	return &a.dns[len(a.dns)-1]
}

// ICMP returns a zeroed ICMP record backed by the arena.
func (a *Arena) ICMP() *ICMP {
	if len(a.icmp) == cap(a.icmp) {
		a.icmp = pages.Make[ICMP](0, arenaRecords)
	}
	a.icmp = a.icmp[:len(a.icmp)+1]
	return &a.icmp[len(a.icmp)-1]
}

// TLS returns a zeroed TLS record backed by the arena.
func (a *Arena) TLS() *TLS {
	if len(a.tls) == cap(a.tls) {
		a.tls = pages.Make[TLS](0, arenaRecords)
	}
	a.tls = a.tls[:len(a.tls)+1]
	return &a.tls[len(a.tls)-1]
}

// HTTP returns a zeroed HTTP record backed by the arena.
func (a *Arena) HTTP() *HTTP {
	if len(a.http) == cap(a.http) {
		a.http = pages.Make[HTTP](0, arenaRecords)
	}
	a.http = a.http[:len(a.http)+1]
	return &a.http[len(a.http)-1]
}

// Answers returns a zeroed slice of n answers backed by the arena.
func (a *Arena) Answers(n int) []Answer {
	if n == 0 {
		return nil
	}
	if cap(a.answers)-len(a.answers) < n {
		a.answers = pages.Make[Answer](0, max(1024, n))
	}
	start := len(a.answers)
	a.answers = a.answers[:start+n]
	return a.answers[start : start+n : start+n]
}
