// Package flow keeps the session table: it maps each packet to its TCP or
// UDP session by 5-tuple, decides which side is the client, counts packets
// and bytes per direction, keeps a bounded timeline of the first packets, and
// ends sessions on FIN, RST, idle timeout, table pressure or end of input.
//
// # Who is the client
//
// The client is the side that sent the first SYN (a SYN without ACK); when
// the first packet seen is a SYN-ACK, its receiver. When the capture starts
// mid-stream, and for UDP, the ports decide (ServiceSide): a port below 1024
// is the server's when the other is not; else a registered service port (see
// servicePorts) is the server's; else a port below 32768 is the server's when
// the other is in the ephemeral range (32768-65535). When the ports say
// nothing, the sender of the first packet is the client.
//
// # How sessions end
//
//   - TCP: after a FIN in each direction, or a RST, the session is closed but
//     lingers for Config.Linger of packet time so that the last ACKs and
//     retransmissions are still counted to it; then it is written with
//     end_reason fin or rst. A SYN (without ACK) on a closed 5-tuple ends the
//     closed session at once and starts a new one. A SYN from the client on
//     an open session with a different initial sequence number (port reuse
//     after a silent death) ends the old one with end_reason timeout.
//   - TCPTimeout or UDPTimeout of silence: end_reason timeout.
//   - A full table (MaxFlows): the session idle the longest is ended with
//     end_reason evicted to make room, and counted.
//   - Flush at end of input or shutdown: every session left.
//
// Time is packet time: Expire is called with the newest packet timestamp.
//
// A Table is owned by one goroutine. It allocates memory in chunks as the
// table grows and reuses it, so Packet does not allocate in steady state.
package flow

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"tamon/daemon/internal/decode"
	"tamon/daemon/internal/openaddr"
	"tamon/daemon/internal/pages"
	"tamon/daemon/internal/record"
)

// Config sets the table's limits. Durations are nanoseconds of packet time.
type Config struct {
	TCPTimeout int64
	UDPTimeout int64
	Linger     int64 // how long a closed TCP session keeps absorbing packets
	MaxFlows   int   // open sessions at most; the longest idle is evicted beyond
	Timeline   int   // packets kept in each session's timeline (0..255)
}

// DefaultConfig returns the defaults: tcp_timeout 300 s, udp_timeout 60 s,
// linger 5 s, 65,536 flows, timeline of 32 packets.
func DefaultConfig() Config {
	return Config{TCPTimeout: 300e9, UDPTimeout: 60e9, Linger: 5e9, MaxFlows: 65536, Timeline: 32}
}

// Key is a session's canonical 5-tuple: endpoint A sorts before endpoint B.
// IPv4 addresses use the first 4 bytes of A and B.
type Key struct {
	A, B   [16]byte
	PA, PB uint16
	Proto  uint8
	Family uint8
}

// Session is one tracked session. Its exported fields are read by the
// caller of Table.Packet and by the OnEnd callback; the Table owns the
// memory and reuses it after OnEnd returns.
type Session struct {
	Key       Key
	ClientIsA bool
	VLAN      uint16
	ClientMAC [6]byte
	ServerMAC [6]byte
	Start     int64 // ns, first packet
	Last      int64 // ns, latest packet
	BytesUp   uint64
	BytesDown uint64
	PktsUp    uint32
	PktsDown  uint32
	Ext       uint32 // free for dissectors: an index into their own tables (0 = none)
	// Acct is free for the caller's per-batch traffic accounting (the
	// pipeline keeps a devices.Tally hint here); zero on a new session.
	Acct uint32

	isn    uint32
	hash   uint32
	tl     uint32 // first timeline block + 1 (0: none yet)
	prev   uint32
	next   uint32
	list   uint8
	state  uint8
	reason uint8 // end reason once closing
	ntl    uint8 // timeline entries used
}

const (
	flagFinC = 1 << iota
	flagFinS
	flagClosed
	flagSynSeen
	flagData // saw a packet other than the initial SYN
)

const none = ^uint32(0)

const (
	listTCP = iota
	listUDP
	listClosing
	numLists
)

// End reasons as indexes; see record.End*.
const (
	reasonFIN = iota
	reasonRST
	reasonTimeout
	reasonEvicted
	reasonEOF
	reasonShutdown
)

var reasonText = [...]string{record.EndFIN, record.EndRST, record.EndTimeout, record.EndEvicted, record.EndEOF, record.EndShutdown}

// Counters are a Table's running totals.
type Counters struct {
	Open    uint64 // sessions open now
	Opened  uint64
	Ended   uint64
	Evicted uint64
	Reused  uint64 // TCP port reuse splits
}

const chunkBits = 10
const chunkSize = 1 << chunkBits

// Timelines are kept in a small head block of headSteps steps, then
// chained blocks of blockSteps, so that a short session (most of them)
// holds only the head and the default timeline of 32 fits in a head and
// one block.
const (
	headSteps  = 8
	blockSteps = 24
)

type tlHead struct {
	steps [headSteps]record.Step
	next  uint32 // first block + 1
}

type tlBlock struct {
	steps [blockSteps]record.Step
	next  uint32 // next block + 1
}

// Table is the session table.
type Table struct {
	cfg     Config
	slab    slab[Session]
	tlHeads slab[tlHead]  // timeline heads
	blocks  slab[tlBlock] // timeline blocks after the head
	index   []uint32      // open addressing: 0 empty, else slotTag | session index + 1
	mask    uint32
	heads   [numLists]uint32
	tails   [numLists]uint32
	onEnd   func(s *Session, reason string)
	C       Counters
}

// New returns an empty Table. onEnd is called for every session that ends,
// synchronously, with the reason text (record.End*); the *Session and its
// Timeline are valid only during the call.
func New(cfg Config, onEnd func(s *Session, reason string)) *Table {
	if cfg.MaxFlows <= 0 {
		cfg.MaxFlows = DefaultConfig().MaxFlows
	}
	if cfg.Timeline < 0 {
		cfg.Timeline = 0
	}
	if cfg.Timeline > 255 {
		cfg.Timeline = 255
	}
	cfg.MaxFlows = min(cfg.MaxFlows, MaxFlows)
	t := &Table{cfg: cfg, onEnd: onEnd}
	for i := range t.heads {
		t.heads[i], t.tails[i] = none, none
	}
	t.resize(1024)
	return t
}

// SetTimeouts changes the idle timeouts (on configuration reload).
func (t *Table) SetTimeouts(tcp, udp int64) { t.cfg.TCPTimeout, t.cfg.UDPTimeout = tcp, udp }

// Config returns the table's configuration.
func (t *Table) Config() Config { return t.cfg }

func (t *Table) at(i uint32) *Session { return t.slab.at(i) }

// AppendTimeline appends the timeline of s to dst.
func (t *Table) AppendTimeline(dst []record.Step, s *Session) []record.Step {
	n := int(s.ntl)
	if s.tl == 0 || n == 0 {
		return dst
	}
	h := t.head(s.tl - 1)
	k := min(n, headSteps)
	dst = append(dst, h.steps[:k]...)
	n -= k
	for b := h.next; b != 0 && n > 0; {
		blk := t.block(b - 1)
		k := min(n, blockSteps)
		dst = append(dst, blk.steps[:k]...)
		n -= k
		b = blk.next
	}
	return dst
}

func (t *Table) head(i uint32) *tlHead { return t.tlHeads.at(i) }

func (t *Table) allocHead() uint32 {
	i := t.tlHeads.alloc()
	t.head(i).next = 0
	return i
}

func (t *Table) block(i uint32) *tlBlock { return t.blocks.at(i) }

func (t *Table) allocBlock() uint32 {
	i := t.blocks.alloc()
	t.block(i).next = 0
	return i
}

// addStep appends st to the timeline of s.
func (t *Table) addStep(s *Session, st record.Step) {
	n := int(s.ntl)
	if n == 0 {
		s.tl = t.allocHead() + 1
	}
	h := t.head(s.tl - 1)
	if n < headSteps {
		h.steps[n] = st
		s.ntl++
		return
	}
	m := n - headSteps
	if m%blockSteps == 0 {
		nb := t.allocBlock() + 1
		if m == 0 {
			h.next = nb
		} else {
			b := t.block(h.next - 1)
			for b.next != 0 {
				b = t.block(b.next - 1)
			}
			b.next = nb
		}
	}
	b := t.block(h.next - 1)
	for k := m / blockSteps; k > 0; k-- {
		b = t.block(b.next - 1)
	}
	b.steps[m%blockSteps] = st
	s.ntl++
}

func (t *Table) freeBlocks(s *Session) {
	if s.tl == 0 {
		return
	}
	h := t.head(s.tl - 1)
	for b := h.next; b != 0; {
		next := t.block(b - 1).next
		t.blocks.release(b - 1)
		b = next
	}
	t.tlHeads.release(s.tl - 1)
	s.tl = 0
}

func (t *Table) indexOf(s *Session) uint32 {
	// hash slot lookup avoids pointer arithmetic: find the index via the
	// hash table entry that points at s.
	for j := s.hash & t.mask; ; j = (j + 1) & t.mask {
		v := t.index[j]
		if v != 0 && t.at(slotSession(v)) == s {
			return slotSession(v)
		}
	}
}

// Len returns the number of open sessions.
func (t *Table) Len() int { return int(t.C.Open) }

func hashKey(k *Key) uint32 {
	const m = 0x9E3779B97F4A7C15
	a0 := binary.LittleEndian.Uint64(k.A[0:8])
	a1 := binary.LittleEndian.Uint64(k.A[8:16])
	b0 := binary.LittleEndian.Uint64(k.B[0:8])
	b1 := binary.LittleEndian.Uint64(k.B[8:16])
	p := uint64(k.PA)<<32 | uint64(k.PB)<<16 | uint64(k.Proto)<<8 | uint64(k.Family)
	h := mix(a0^m, a1^p)
	h = mix(h^b0, b1^m)
	return uint32(h ^ h>>32)
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b^0xBF58476D1CE4E5B9)
	return hi ^ lo
}

// equal is k == *o, field by field: the compiler compares the two
// addresses with word loads in line, where the whole 38-byte struct is one
// call to memequal.
func (k *Key) equal(o *Key) bool {
	return k.A == o.A && k.B == o.B && k.PA == o.PA && k.PB == o.PB && k.Proto == o.Proto && k.Family == o.Family
}

// set makes k the canonical key of p and reports whether p travels from A
// to B. Addresses are compared as two big-endian words: the decoder leaves
// the last 12 bytes of an IPv4 address zero, so the order is the byte order
// of the addresses for both families. It writes k in place rather than
// returning a 38-byte key, which the caller would copy.
func (k *Key) set(p *decode.Packet) bool {
	k.Proto, k.Family = p.Proto, p.Family
	s, d := binary.BigEndian.Uint64(p.Src[0:8]), binary.BigEndian.Uint64(p.Dst[0:8])
	if s == d {
		s, d = binary.BigEndian.Uint64(p.Src[8:16]), binary.BigEndian.Uint64(p.Dst[8:16])
	}
	if s < d || (s == d && p.SrcPort <= p.DstPort) {
		k.A, k.B, k.PA, k.PB = p.Src, p.Dst, p.SrcPort, p.DstPort
		return true
	}
	k.A, k.B, k.PA, k.PB = p.Dst, p.Src, p.DstPort, p.SrcPort
	return false
}

// FirstByte returns the sequence number of the client's first payload
// byte, and whether it is known: the session began with the client's SYN.
func (s *Session) FirstByte() (uint32, bool) { return s.isn + 1, s.state&flagSynSeen != 0 }

// An index slot holds a session's number + 1 in its low slotBits bits and
// the top bits of the session's hash above them (its tag). lookup reads a
// session only when the tag matches: the other sessions on a probe path,
// scattered over the slab and mostly out of the cache, are passed over
// without a memory access each. The tag bits overlap the bits that choose
// the home slot only in a table of more than 2^22 slots.
const (
	slotBits = 22
	slotMask = 1<<slotBits - 1
	// MaxFlows is the most sessions a Table holds (New lowers a larger
	// Config.MaxFlows to it): their numbers + 1 fit in slotBits bits.
	MaxFlows = slotMask
)

func slotTag(h uint32) uint32 { return h &^ slotMask }

// slotSession returns the session number an occupied index slot holds.
func slotSession(v uint32) uint32 { return v&slotMask - 1 }

func (t *Table) lookup(k *Key, h uint32) (uint32, uint32) {
	tag := slotTag(h)
	for j := h & t.mask; ; j = (j + 1) & t.mask {
		v := t.index[j]
		if v == 0 {
			return none, j
		}
		if v&^slotMask != tag {
			continue
		}
		i := slotSession(v)
		s := t.at(i)
		if s.hash == h && s.Key.equal(k) {
			return i, j
		}
	}
}

func (t *Table) resize(n int) {
	old := t.index
	t.index = pages.Make[uint32](n, n) // the probes below read a slot before they fill it
	t.mask = uint32(n - 1)
	for _, v := range old {
		if v == 0 {
			continue
		}
		h := t.at(slotSession(v)).hash
		j := h & t.mask
		for t.index[j] != 0 {
			j = (j + 1) & t.mask
		}
		t.index[j] = v
	}
}

// removeSlot deletes index slot j (openaddr.Delete).
func (t *Table) removeSlot(j uint32) {
	openaddr.Delete(t.index, t.mask, j, func(v uint32) uint32 { return t.at(slotSession(v)).hash & t.mask })
}

func (t *Table) alloc() uint32 { return t.slab.alloc() }

func (t *Table) unlink(i uint32, s *Session) {
	l := s.list
	if s.prev != none {
		t.at(s.prev).next = s.next
	} else {
		t.heads[l] = s.next
	}
	if s.next != none {
		t.at(s.next).prev = s.prev
	} else {
		t.tails[l] = s.prev
	}
}

func (t *Table) pushBack(i uint32, s *Session, l uint8) {
	s.list = l
	s.next = none
	s.prev = t.tails[l]
	if s.prev != none {
		t.at(s.prev).next = i
	} else {
		t.heads[l] = i
	}
	t.tails[l] = i
}

func (t *Table) touch(i uint32, s *Session) {
	if t.tails[s.list] == i {
		return
	}
	t.unlink(i, s)
	t.pushBack(i, s, s.list)
}

// end removes session i and reports it.
func (t *Table) end(i uint32, reason int) {
	s := t.at(i)
	if reason == reasonEvicted {
		t.C.Evicted++
	}
	t.C.Ended++
	t.C.Open--
	if t.onEnd != nil {
		t.onEnd(s, reasonText[reason])
	}
	_, j := t.lookup(&s.Key, s.hash)
	t.removeSlot(j)
	t.unlink(i, s)
	t.freeBlocks(s)
	*s = Session{}
	t.slab.release(i)
}

// Packet accounts p (a TCP or UDP packet) to its session, creating the
// session when needed. It returns the session and the direction: 1 when p
// travels client to server, 2 otherwise.
func (t *Table) Packet(p *decode.Packet) (*Session, uint8) {
	var k Key
	aToB := k.set(p)
	h := hashKey(&k)
	i, _ := t.lookup(&k, h)
	tcp := p.Proto == 6
	if i != none && tcp && p.TCPFlags&(decode.SYN|decode.ACK) == decode.SYN {
		s := t.at(i)
		srcIsClient := aToB == s.ClientIsA
		switch {
		case s.state&flagClosed != 0:
			t.end(i, int(s.reason))
			i = none
		case srcIsClient && s.state&(flagData|flagSynSeen) == flagData|flagSynSeen && p.Seq != s.isn:
			t.C.Reused++
			t.end(i, reasonTimeout)
			i = none
		}
	}
	var s *Session
	if i == none {
		if int(t.C.Open) >= t.cfg.MaxFlows {
			t.evictOne()
		}
		i = t.alloc()
		s = t.at(i)
		*s = Session{Key: k, hash: h, Start: p.TS, VLAN: p.VLAN}
		srcIsClient := decideClient(p)
		s.ClientIsA = srcIsClient == aToB
		if srcIsClient {
			s.ClientMAC, s.ServerMAC = p.SrcMAC, p.DstMAC
		} else {
			s.ClientMAC, s.ServerMAC = p.DstMAC, p.SrcMAC
		}
		if tcp && p.TCPFlags&(decode.SYN|decode.ACK) == decode.SYN {
			s.state |= flagSynSeen
			s.isn = p.Seq
		}
		// insert into the index
		if uint64(t.C.Open+1)*2 > uint64(len(t.index)) {
			t.resize(len(t.index) * 2)
		}
		j := h & t.mask
		for t.index[j] != 0 {
			j = (j + 1) & t.mask
		}
		t.index[j] = slotTag(h) | (i + 1)
		l := uint8(listUDP)
		if tcp {
			l = listTCP
		}
		t.pushBack(i, s, l)
		t.C.Open++
		t.C.Opened++
	} else {
		s = t.at(i)
		t.touch(i, s)
	}
	dir := uint8(2)
	if aToB == s.ClientIsA {
		dir = 1
		s.BytesUp += uint64(p.IPLen)
		s.PktsUp++
	} else {
		s.BytesDown += uint64(p.IPLen)
		s.PktsDown++
	}
	s.Last = p.TS
	if int(s.ntl) < t.cfg.Timeline {
		dt := max((p.TS-s.Start)/1e6, 0)
		t.addStep(s, record.Step{DT: uint32(min(dt, 1<<32-1)), Dir: dir, Flags: p.TCPFlags, Len: uint16(min(p.IPLen, 0xffff))})
	}
	if tcp {
		f := p.TCPFlags
		if f&(decode.SYN|decode.ACK) != decode.SYN {
			s.state |= flagData
		}
		if s.state&flagClosed == 0 {
			if f&decode.RST != 0 {
				t.close(i, s, reasonRST)
			} else if f&decode.FIN != 0 {
				if dir == 1 {
					s.state |= flagFinC
				} else {
					s.state |= flagFinS
				}
				if s.state&(flagFinC|flagFinS) == flagFinC|flagFinS {
					t.close(i, s, reasonFIN)
				}
			}
		}
	}
	return s, dir
}

func (t *Table) close(i uint32, s *Session, reason int) {
	s.state |= flagClosed
	s.reason = uint8(reason)
	t.unlink(i, s)
	t.pushBack(i, s, listClosing)
}

// evictOne ends the session idle the longest: a closed one first.
func (t *Table) evictOne() {
	if h := t.heads[listClosing]; h != none {
		s := t.at(h)
		t.end(h, int(s.reason))
		return
	}
	best := none
	for l := 0; l < listClosing; l++ {
		h := t.heads[l]
		if h == none {
			continue
		}
		if best == none || t.at(h).Last < t.at(best).Last {
			best = h
		}
	}
	if best != none {
		t.end(best, reasonEvicted)
	}
}

// Expire ends every session idle past its timeout at packet time now.
func (t *Table) Expire(now int64) {
	timeouts := [numLists]int64{t.cfg.TCPTimeout, t.cfg.UDPTimeout, t.cfg.Linger}
	for l := 0; l < numLists; l++ {
		for {
			h := t.heads[l]
			if h == none {
				break
			}
			s := t.at(h)
			if now-s.Last <= timeouts[l] {
				break
			}
			r := reasonTimeout
			if l == listClosing {
				r = int(s.reason)
			}
			t.end(h, r)
		}
	}
}

// Flush ends every session, in Each's order: closed ones with their own
// reason, the others with record.EndEOF, or record.EndShutdown when
// shutdown is set (EndAll in list order).
func (t *Table) Flush(shutdown bool) {
	order := make([]*Session, 0, t.C.Open)
	t.Each(func(s *Session) { order = append(order, s) })
	t.EndAll(order, shutdown)
}

// End ends the open session s now: a closed one with its own reason, the
// others with end_reason eof, or shutdown when shutdown is set.
func (t *Table) End(s *Session, shutdown bool) {
	i := t.indexOf(s)
	switch {
	case s.state&flagClosed != 0:
		t.end(i, int(s.reason))
	case shutdown:
		t.end(i, reasonShutdown)
	default:
		t.end(i, reasonEOF)
	}
}

// EndAll ends every open session in the order given, each with the reason
// End would give it. order must hold every open session once, as Each
// lists them (in any order); EndAll panics otherwise. It does what End one
// by one would, faster: the index, the lists and the slabs are emptied
// once at the end instead of session by session, which touches every
// neighbour in the index and the lists. The table is empty afterwards and
// may be used again.
func (t *Table) EndAll(order []*Session, shutdown bool) {
	if len(order) != int(t.C.Open) {
		panic(fmt.Sprintf("flow: EndAll with %d of %d open sessions", len(order), t.C.Open))
	}
	r := reasonEOF
	if shutdown {
		r = reasonShutdown
	}
	for _, s := range order {
		reason := r
		if s.state&flagClosed != 0 {
			reason = int(s.reason)
		}
		t.C.Ended++
		t.C.Open--
		if t.onEnd != nil {
			t.onEnd(s, reasonText[reason])
		}
	}
	clear(t.index)
	for l := range t.heads {
		t.heads[l], t.tails[l] = none, none
	}
	// Every entry is free again; alloc resets what it hands out.
	t.slab.reset()
	t.tlHeads.reset()
	t.blocks.reset()
}

// Ends returns the client's and the server's address and port.
func (s *Session) Ends() (client, server [16]byte, clientPort, serverPort uint16) {
	if s.ClientIsA {
		return s.Key.A, s.Key.B, s.Key.PA, s.Key.PB
	}
	return s.Key.B, s.Key.A, s.Key.PB, s.Key.PA
}

// Each calls fn for every open session, oldest activity first within TCP,
// then UDP, then closed ones. fn must not change the table.
func (t *Table) Each(fn func(s *Session)) {
	for l := 0; l < numLists; l++ {
		for i := t.heads[l]; i != none; {
			s := t.at(i)
			fn(s)
			i = s.next
		}
	}
}

// decideClient reports whether the sender of p is the client of a new
// session. See the package documentation for the rule.
func decideClient(p *decode.Packet) bool {
	if p.Proto == 6 {
		switch p.TCPFlags & (decode.SYN | decode.ACK) {
		case decode.SYN:
			return true
		case decode.SYN | decode.ACK:
			return false
		}
	}
	switch ServiceSide(p.SrcPort, p.DstPort) {
	case 1:
		return false // the source port is the service
	case 2:
		return true
	}
	return true
}

// ServiceSide says which port of a conversation is the service's: 1 for a,
// 2 for b, 0 when the ports do not tell.
func ServiceSide(a, b uint16) int {
	aw, bw := a < 1024, b < 1024
	switch {
	case aw && !bw:
		return 1
	case bw && !aw:
		return 2
	case aw && bw:
		return 0
	}
	as, bs := isServicePort(a), isServicePort(b)
	switch {
	case as && !bs:
		return 1
	case bs && !as:
		return 2
	}
	ae, be := a >= 32768, b >= 32768
	switch {
	case ae && !be:
		return 2
	case be && !ae:
		return 1
	}
	return 0
}

// servicePorts are registered ports above 1023 that home networks see as
// servers (VPNs, proxies, databases, brokers, media, games).
var servicePorts = [...]uint16{1080, 1194, 1433, 1701, 1723, 1883, 1900, 2049, 3128, 3306, 3389,
	3478, 3479, 4500, 5060, 5061, 5222, 5223, 5228, 5349, 5353, 5355, 5432, 5683, 5900, 6379, 6881,
	8000, 8008, 8080, 8081, 8443, 8883, 8888, 9000, 9443, 11211, 19302, 27017, 51820}

func isServicePort(p uint16) bool {
	for _, s := range servicePorts {
		if s == p {
			return true
		}
	}
	return false
}

// slab hands out entries of T by number, from chunks of chunkSize that
// never move, reusing released numbers first. A reused entry holds what
// it held when released: the caller resets what it uses.
type slab[T any] struct {
	chunks [][]T
	n      uint32 // numbers ever handed out (the high-water mark)
	free   []uint32
}

func (s *slab[T]) at(i uint32) *T { return &s.chunks[i>>chunkBits][i&(chunkSize-1)] }

func (s *slab[T]) alloc() uint32 {
	if n := len(s.free); n > 0 {
		i := s.free[n-1]
		s.free = s.free[:n-1]
		return i
	}
	i := s.n
	if int(i>>chunkBits) == len(s.chunks) {
		s.chunks = append(s.chunks, make([]T, chunkSize))
	}
	s.n++
	return i
}

func (s *slab[T]) release(i uint32) { s.free = append(s.free, i) }

// reset frees every entry; the chunks are kept.
func (s *slab[T]) reset() { s.n, s.free = 0, s.free[:0] }
