package appid

import (
	"bytes"
	"slices"
	"strings"
)

// IP protocol numbers of the signatures' proto field.
const (
	protoTCP = 6
	protoUDP = 17
)

// expandPorts is the widest port range indexed port by port; wider ranges,
// exclusions and empty port fields go to the per-protocol lists.
const expandPorts = 64

type portRange struct {
	lo, hi uint16
	not    bool
}

// portSet is a port condition; no ranges means any port.
type portSet struct{ ranges []portRange }

func (p portSet) any() bool { return len(p.ranges) == 0 }

// match reports whether port is in one of the plain ranges (or there is
// none) and in none of the excluded ones.
func (p portSet) match(port uint16) bool {
	in, plain := false, false
	for _, r := range p.ranges {
		hit := port >= r.lo && port <= r.hi
		if r.not {
			if hit {
				return false
			}
			continue
		}
		plain = true
		in = in || hit
	}
	return in || !plain
}

// exact returns the ports of a set made of plain items only, when they
// number at most expandPorts.
func (p portSet) exact() ([]uint16, bool) {
	if len(p.ranges) == 0 {
		return nil, false
	}
	n := 0
	for _, r := range p.ranges {
		if r.not {
			return nil, false
		}
		n += int(r.hi-r.lo) + 1
		if n > expandPorts {
			return nil, false
		}
	}
	out := make([]uint16, 0, n)
	for _, r := range p.ranges {
		for q := int(r.lo); q <= int(r.hi); q++ {
			out = append(out, uint16(q))
		}
	}
	return out, true
}

// hostPattern is a lower-case host substring with optional anchors.
type hostPattern struct {
	lit        string
	start, end bool
}

// payByte is one N:xx payload condition.
type payByte struct {
	off int32 // negative: from the end
	val byte
}

// rule is one signature.
type rule struct {
	app     int32 // index into Rules.apps
	proto   uint8 // 0: tcp and udp
	sport   portSet
	dport   portSet
	host    hostPattern
	request string // OAF request URL; kept, never matched
	pay     []payByte
	search  []byte // OAF search string: the payload must contain it
}

func (rl *rule) hasPayload() bool { return len(rl.pay) > 0 || len(rl.search) > 0 }

func (rl *rule) matchPorts(proto uint8, clientPort, serverPort uint16) bool {
	return (rl.proto == 0 || rl.proto == proto) && rl.sport.match(clientPort) && rl.dport.match(serverPort)
}

func (rl *rule) matchPayload(p []byte) bool {
	n := len(p)
	for _, b := range rl.pay {
		off := int(b.off)
		if off < 0 {
			off += n
		}
		if off < 0 || off >= n || p[off] != b.val {
			return false
		}
	}
	return len(rl.search) == 0 || bytes.Contains(p, rl.search)
}

// hostRef is a signature that uses a host literal, with its anchors.
type hostRef struct {
	rule       int32
	start, end bool
}

// portIndex finds the signatures of one protocol by server port.
type portIndex struct {
	byPort map[uint16][]int32 // exact server ports, rule order
	rest   []int32            // any other port condition, rule order
}

// payIndex finds the payload signatures of one protocol.
type payIndex struct {
	byPort  map[uint16][]uint16 // exact server ports
	byFirst [256][]uint16       // any port, fixed first payload byte
	rest    []uint16
}

// Rules are parsed signatures in file order, with the indexes that match
// them. A Rules value is read-only once built: safe for concurrent use.
type Rules struct {
	apps  []App
	rules []rule

	ac          automaton   // over the distinct host literals
	litLen      []int32     // per literal
	litAnchored []bool      // per literal: a signature anchors it
	litRules    [][]hostRef // per literal, rule order

	portOnly [2]portIndex // signatures with neither host nor payload: tcp, udp
	pay      [2]payIndex  // signatures with a payload condition: tcp, udp
}

// Len returns the number of signatures (alternatives), which is also one
// more than the largest index PayloadHits can return.
func (r *Rules) Len() int { return len(r.rules) }

// slot maps an IP protocol number to the index slot of tcp or udp.
func slot(proto uint8) int {
	switch proto {
	case protoTCP:
		return 0
	case protoUDP:
		return 1
	}
	return -1
}

// slotsOf returns the index slots a signature's protocol applies to.
func slotsOf(proto uint8) []int {
	switch proto {
	case protoTCP:
		return []int{0}
	case protoUDP:
		return []int{1}
	}
	return []int{0, 1}
}

// PayloadHits appends to dst the index of every signature with a payload
// condition whose protocol, ports and payload condition match payload, one
// payload of one of the first packets of a session, and returns the
// extended slice. dir (1 client to server, 2 server to client) does not
// change the result: signatures match payload in either direction, and
// their ports are always the client's (sport) and the server's (dport). An
// index already in dst is not appended again.
//
// PayloadHits does not allocate when dst has room, and tests only the
// signatures indexed under the protocol and server port, under the first
// payload byte, or that have neither. It may be called from any goroutine.
func (r *Rules) PayloadHits(dst []uint16, proto uint8, clientPort, serverPort uint16, dir uint8, payload []byte) []uint16 {
	_ = dir
	s := slot(proto)
	if s < 0 || len(payload) == 0 {
		return dst
	}
	idx := &r.pay[s]
	if idx.byPort != nil {
		for _, i := range idx.byPort[serverPort] {
			dst = r.tryPayload(dst, i, proto, clientPort, serverPort, payload)
		}
	}
	for _, i := range idx.byFirst[payload[0]] {
		dst = r.tryPayload(dst, i, proto, clientPort, serverPort, payload)
	}
	for _, i := range idx.rest {
		dst = r.tryPayload(dst, i, proto, clientPort, serverPort, payload)
	}
	return dst
}

func (r *Rules) tryPayload(dst []uint16, i uint16, proto uint8, clientPort, serverPort uint16, payload []byte) []uint16 {
	rl := &r.rules[i]
	if !rl.matchPorts(proto, clientPort, serverPort) || !rl.matchPayload(payload) || slices.Contains(dst, i) {
		return dst
	}
	return append(dst, i)
}

// Match returns the application of the first signature, in file order,
// that matches the whole session: proto (6 tcp, 17 udp), the client's and
// the server's port, host (the session's best-known name, "" if none;
// matched case-insensitively) and, for signatures with a payload condition,
// that their index is in hits (what PayloadHits returned for the session's
// first packets). It scans host once with a multi-pattern automaton and
// tests only the signatures indexed under the protocol and server port, so
// its cost hardly grows with the size of the library. It does not allocate
// and may be called from any goroutine.
func (r *Rules) Match(proto uint8, clientPort, serverPort uint16, host string, hits []uint16) (App, bool) {
	none := int32(len(r.rules))
	best := none
	if host != "" && len(r.litLen) > 0 {
		best = r.matchHost(best, proto, clientPort, serverPort, host, hits)
	}
	for _, h := range hits {
		i := int32(h)
		if i >= best {
			continue
		}
		rl := &r.rules[i]
		if rl.host.lit == "" && rl.hasPayload() && rl.matchPorts(proto, clientPort, serverPort) {
			best = i
		}
	}
	if s := slot(proto); s >= 0 {
		idx := &r.portOnly[s]
		if idx.byPort != nil {
			best = r.firstPortOnly(best, idx.byPort[serverPort], proto, clientPort, serverPort)
		}
		best = r.firstPortOnly(best, idx.rest, proto, clientPort, serverPort)
	}
	if best == none {
		return App{}, false
	}
	return r.apps[r.rules[best].app], true
}

func (r *Rules) firstPortOnly(best int32, list []int32, proto uint8, clientPort, serverPort uint16) int32 {
	for _, i := range list {
		if i >= best {
			break
		}
		if r.rules[i].matchPorts(proto, clientPort, serverPort) {
			return i
		}
	}
	return best
}

// matchHost runs the automaton over host and returns the smallest index
// below best of a host signature that matches the session.
func (r *Rules) matchHost(best int32, proto uint8, clientPort, serverPort uint16, host string, hits []uint16) int32 {
	a := &r.ac
	// A literal without anchored signatures gives the same answer wherever
	// it is found: the first few such literals are tested once only, which
	// keeps a name like "aaaa..." against many "a" signatures linear.
	var done [16]int32
	nd := 0
	var st int32
	for i := 0; i < len(host); i++ {
		st = a.step(st, lower(host[i]))
		o := st
		if a.outStart[o] == a.outStart[o+1] {
			o = a.dict[o]
		}
		for o > 0 {
		lits:
			for _, lit := range a.outLit[a.outStart[o]:a.outStart[o+1]] {
				if !r.litAnchored[lit] {
					for _, d := range done[:nd] {
						if d == lit {
							continue lits
						}
					}
					if nd < len(done) {
						done[nd] = lit
						nd++
					}
				}
				startsAtZero := i+1 == int(r.litLen[lit])
				for _, ref := range r.litRules[lit] {
					if ref.rule >= best {
						break
					}
					if (ref.start && !startsAtZero) || (ref.end && !endsAt(host, i)) {
						continue
					}
					rl := &r.rules[ref.rule]
					if rl.matchPorts(proto, clientPort, serverPort) &&
						(!rl.hasPayload() || slices.Contains(hits, uint16(ref.rule))) {
						best = ref.rule
						break
					}
				}
			}
			o = a.dict[o]
		}
	}
	return best
}

// endsAt reports whether a pattern ending at host[i] ends the name: at the
// end of host, or before a ":port" or a final dot.
func endsAt(host string, i int) bool {
	switch {
	case i == len(host)-1:
		return true
	case host[i+1] == ':':
		return true
	case host[i+1] == '.' && i+2 == len(host):
		return true
	}
	return false
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// builder collects parsed lines; finish builds the indexes.
type builder struct {
	apps   []App
	appIdx map[App]int32
	rules  []rule
}

func newBuilder() *builder { return &builder{appIdx: make(map[App]int32)} }

func (b *builder) add(app App, sigs []rule) {
	ai, ok := b.appIdx[app]
	if !ok {
		ai = int32(len(b.apps))
		b.apps = append(b.apps, app)
		b.appIdx[app] = ai
	}
	for _, rl := range sigs {
		rl.app = ai
		b.rules = append(b.rules, rl)
	}
}

func (b *builder) finish() *Rules {
	r := &Rules{apps: b.apps, rules: b.rules}
	litID := make(map[string]int32)
	var lits []string
	for i := range r.rules {
		rl := &r.rules[i]
		idx := int32(i)
		if rl.hasPayload() {
			for _, s := range slotsOf(rl.proto) {
				r.pay[s].add(rl, uint16(i))
			}
		}
		switch {
		case rl.host.lit != "":
			id, ok := litID[rl.host.lit]
			if !ok {
				id = int32(len(lits))
				litID[rl.host.lit] = id
				lits = append(lits, rl.host.lit)
				r.litRules = append(r.litRules, nil)
				r.litLen = append(r.litLen, int32(len(rl.host.lit)))
				r.litAnchored = append(r.litAnchored, false)
			}
			r.litAnchored[id] = r.litAnchored[id] || rl.host.start || rl.host.end
			r.litRules[id] = append(r.litRules[id], hostRef{rule: idx, start: rl.host.start, end: rl.host.end})
		case rl.hasPayload():
			// Found through the hits.
		case rl.request != "":
			// An OAF request-URL signature: never matched.
		default:
			for _, s := range slotsOf(rl.proto) {
				r.portOnly[s].add(rl, idx)
			}
		}
	}
	r.ac = buildAutomaton(lits)
	return r
}

func (p *portIndex) add(rl *rule, i int32) {
	ports, ok := rl.dport.exact()
	if !ok {
		p.rest = append(p.rest, i)
		return
	}
	if p.byPort == nil {
		p.byPort = make(map[uint16][]int32)
	}
	for _, q := range ports {
		p.byPort[q] = append(p.byPort[q], i)
	}
}

func (p *payIndex) add(rl *rule, i uint16) {
	if ports, ok := rl.dport.exact(); ok {
		if p.byPort == nil {
			p.byPort = make(map[uint16][]uint16)
		}
		for _, q := range ports {
			p.byPort[q] = append(p.byPort[q], i)
		}
		return
	}
	for _, b := range rl.pay {
		if b.off == 0 {
			p.byFirst[b.val] = append(p.byFirst[b.val], i)
			return
		}
	}
	p.rest = append(p.rest, i)
}

// automaton is an Aho-Corasick automaton over lower-case byte strings.
// Bytes are first mapped to classes (class 0: a byte no pattern contains,
// which always leads back to the root). It is stored flat: node n's edges
// are edgeCls/edgeTo[edgeStart[n]:edgeStart[n+1]], its own outputs (literal
// ids) outLit[outStart[n]:outStart[n+1]]. The root and every node with
// more than denseEdges edges have a full row of transitions
// (rows[dense[n]*classes:]), failure links already applied, so the search
// rarely walks failure links. dict[n] is the nearest node on n's failure
// chain that has outputs (0: none).
type automaton struct {
	class     [256]uint8
	classes   int
	edgeStart []int32
	edgeCls   []uint8
	edgeTo    []int32
	fail      []int32
	dense     []int32 // row number, or -1
	rows      []int32
	outStart  []int32
	outLit    []int32
	dict      []int32
}

// denseEdges is the edge count above which a node gets a full row.
const denseEdges = 4

func (a *automaton) step(st int32, c byte) int32 {
	cl := a.class[c]
	if cl == 0 {
		return 0
	}
	for {
		if d := a.dense[st]; d >= 0 {
			return a.rows[int(d)*a.classes+int(cl)]
		}
		for j := a.edgeStart[st]; j < a.edgeStart[st+1]; j++ {
			if a.edgeCls[j] == cl {
				return a.edgeTo[j]
			}
		}
		st = a.fail[st] // the root has a row: this ends
	}
}

func buildAutomaton(lits []string) automaton {
	var a automaton
	a.classes = 1
	size := 0
	for _, lit := range lits {
		size += len(lit)
		for i := 0; i < len(lit); i++ {
			if a.class[lit[i]] == 0 {
				a.class[lit[i]] = uint8(a.classes)
				a.classes++
			}
		}
	}
	// The trie, built from the literals in sorted order: each one shares
	// its common prefix with the one before it, so the nodes of that
	// prefix are on path and only the rest is new. No map, and no search
	// among a node's children. Rules passes distinct literals, each ending
	// at its own node; a repeated one would end where its twin does, and
	// the node gets both. The ends come in node order: in sorted order a
	// literal ends on a node it creates, or on its twin's, never on an
	// older one (a prefix sorts first).
	order := make([]int32, len(lits))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int { return strings.Compare(lits[x], lits[y]) })
	// An edge is packed as from<<40 | class<<32 | to, so that sorting the
	// numbers groups the edges by node, in class order.
	edges := make([]uint64, 0, size)
	ends := make([]uint64, 0, len(lits)) // node<<32 | literal, of each literal's last node
	nodes := int32(1)
	path := make([]int32, 1, 64) // path[i]: node of the previous literal's first i bytes
	prev := ""
	for _, id := range order {
		lit := lits[id]
		common := 0
		for common < len(lit) && common < len(prev) && lit[common] == prev[common] {
			common++
		}
		path = path[:common+1]
		n := path[common]
		for i := common; i < len(lit); i++ {
			next := nodes
			nodes++
			edges = append(edges, uint64(n)<<40|uint64(a.class[lit[i]])<<32|uint64(next))
			path = append(path, next)
			n = next
		}
		ends = append(ends, uint64(n)<<32|uint64(id))
		prev = lit
	}
	slices.Sort(edges)
	a.edgeStart = make([]int32, nodes+1)
	a.edgeCls = make([]uint8, len(edges))
	a.edgeTo = make([]int32, len(edges))
	a.fail = make([]int32, nodes)
	a.dense = make([]int32, nodes)
	a.outStart = make([]int32, nodes+1)
	a.outLit = make([]int32, 0, len(lits))
	a.dict = make([]int32, nodes)
	for i, e := range edges {
		a.edgeCls[i] = uint8(e >> 32)
		a.edgeTo[i] = int32(uint32(e))
		a.edgeStart[e>>40+1]++
	}
	for _, e := range ends {
		a.outStart[e>>32+1]++
		a.outLit = append(a.outLit, int32(uint32(e)))
	}
	rows := 1
	for n := int32(0); n < nodes; n++ {
		if a.edgeStart[n+1] > denseEdges {
			rows++
		}
		a.edgeStart[n+1] += a.edgeStart[n]
		a.outStart[n+1] += a.outStart[n]
		a.dense[n] = -1
	}
	a.rows = make([]int32, 0, rows*a.classes)
	// Breadth-first, so that a node's failure link (shallower) and the rows
	// of shallower nodes are set before they are used.
	queue := make([]int32, 1, nodes)
	for qi := 0; qi < len(queue); qi++ {
		u := queue[qi]
		for j := a.edgeStart[u]; j < a.edgeStart[u+1]; j++ {
			v := a.edgeTo[j]
			if u != 0 {
				a.fail[v] = a.stepClass(a.fail[u], a.edgeCls[j])
			}
			f := a.fail[v]
			if a.outStart[f] != a.outStart[f+1] {
				a.dict[v] = f
			} else {
				a.dict[v] = a.dict[f]
			}
			queue = append(queue, v)
		}
		if u == 0 || a.edgeStart[u+1]-a.edgeStart[u] > denseEdges {
			a.addRow(u)
		}
	}
	return a
}

// stepClass is step on a byte class, for the build.
func (a *automaton) stepClass(st int32, cl uint8) int32 {
	for {
		if d := a.dense[st]; d >= 0 {
			return a.rows[int(d)*a.classes+int(cl)]
		}
		for j := a.edgeStart[st]; j < a.edgeStart[st+1]; j++ {
			if a.edgeCls[j] == cl {
				return a.edgeTo[j]
			}
		}
		st = a.fail[st]
	}
}

// addRow gives node n a full row of transitions. Its failure link must be
// set, and the root's row built first.
func (a *automaton) addRow(n int32) {
	base := len(a.rows)
	a.rows = a.rows[:base+a.classes] // capacity: buildAutomaton counted the rows
	for cl := 1; cl < a.classes; cl++ {
		to := int32(-1)
		for j := a.edgeStart[n]; j < a.edgeStart[n+1]; j++ {
			if int(a.edgeCls[j]) == cl {
				to = a.edgeTo[j]
			}
		}
		if to < 0 {
			if n == 0 {
				to = 0
			} else {
				to = a.stepClass(a.fail[n], uint8(cl))
			}
		}
		a.rows[base+cl] = to
	}
	a.dense[n] = int32(base / a.classes)
}
