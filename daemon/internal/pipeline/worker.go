package pipeline

import (
	"encoding/binary"
	"net/netip"
	"sort"
	"sync/atomic"
	"unsafe"

	"tamon/daemon/internal/appid"
	"tamon/daemon/internal/decode"
	"tamon/daemon/internal/devices"
	"tamon/daemon/internal/dissect/dhcp"
	"tamon/daemon/internal/dissect/mdns"
	"tamon/daemon/internal/flow"
	"tamon/daemon/internal/pages"
	"tamon/daemon/internal/record"
)

// worker owns one shard's state: decoder, session table, DNS tracker. All
// of it is touched only by the worker's goroutine; counters are published
// with atomics after each batch.
type worker struct {
	id      int
	cfg     *Config
	dec     *decode.Decoder
	touched byte // sum of touch's loads, kept so that they are not optimised away
	pkt     decode.Packet
	inner   decode.Packet // a tunnelled packet inside pkt (Teredo)
	table   *flow.Table
	dns     *dnsTracker
	icmpT   *icmpTracker
	streams *streams
	arena   record.Arena
	out     *[]envelope
	macs    [1 << macCacheBits]macText // see mac
	ips     [1 << ipCacheBits]ipText   // see ip
	textBuf []byte
	scratch []byte
	tl      []record.Step

	// emission context: the record order key of whatever is emitted now
	seq    uint64
	sub    int64
	expiry bool

	pub atomic.Pointer[WorkerStats]

	// device observations (only when cfg.Devices is set)
	tally     devices.Tally
	trafficAt int64 // b.now when the tally was last handed over
	dhcpMsg   dhcp.Message
	mdnsP     mdns.Parser
	mdnsI     mdns.Info

	activeReq chan chan []record.Session // Engine.Active asks here; answered between batches

	timeouts  *atomic.Pointer[Timeouts] // the engine's, see Engine.SetTimeouts
	dissectOn *atomic.Bool              // the engine's, see Engine.SetDissect
	dissect   bool                      // for this batch
	apps      *atomic.Pointer[appid.Rules]
	rules     *appid.Rules // for this batch
	applied   *Timeouts

	// flushCh carries the records of the final table flush to the merger,
	// in chunks, sorted; closed when done. flushing, set during that
	// flush, hands a full chunk over after each session's records.
	flushCh  chan []envelope
	flushing func()
}

func newWorker(id int, cfg *Config, fc flow.Config) *worker {
	w := &worker{id: id, cfg: cfg, dec: decode.NewDecoder(cfg.FragSlots)}
	w.table = flow.New(fc, w.sessionEnded)
	w.dns = newDNSTracker(w, cfg.DNSPending, cfg.DNSTimeout)
	w.icmpT = newICMPTracker(w, cfg.DNSPending, cfg.DNSTimeout)
	w.streams = newStreams(w)
	w.pub.Store(&WorkerStats{})
	w.flushCh = make(chan []envelope, 2)
	w.activeReq = make(chan chan []record.Session, 1)
	return w
}

// process handles the frames of this worker's shard in b, then expires idle
// state at b.now.
func (w *worker) process(b *batch) {
	select {
	case reply := <-w.activeReq:
		reply <- w.active()
	default:
	}
	w.rules = w.apps.Load()
	w.dissect = w.dissectOn.Load()
	if t := w.timeouts.Load(); t != w.applied {
		w.applied = t
		w.table.SetTimeouts(t.TCP, t.UDP)
		w.dns.timeout, w.icmpT.timeout = t.Request, t.Request
	}
	w.out = &b.out[w.id]
	w.expiry = false
	w.touch(b.frames[w.id])
	for i := range b.frames[w.id] {
		fm := &b.frames[w.id][i]
		w.seq = b.seq0 + uint64(fm.pos)
		w.sub = 0
		if w.dec.Decode(fm.data, fm.link, int(fm.wire), fm.ts, &w.pkt) != decode.ReasonOK {
			continue
		}
		w.packet(&w.pkt)
	}
	// Expiry and flush records sort after every packet of the batch.
	w.seq = b.seq0 + uint64(b.n)
	w.expiry = true
	// Per-device traffic: the tally sums a second of packet time (or up to
	// the end of input), then the merger sums the workers' tallies
	// (Engine.sumTraffic) and applies them after the batch's packets. Every
	// worker hands over at the same batches (b.now is the batch's), so the
	// result does not depend on the number of workers.
	if b.now-w.trafficAt >= trafficEvery || b.final != finalNone {
		b.traffic[w.id] = append(b.traffic[w.id][:0], w.tally.Traffic()...)
		if w.tally.Reset() {
			w.table.Each(func(s *flow.Session) { s.Acct = 0 })
		}
		w.trafficAt = b.now
	}
	if b.now > 0 {
		w.table.Expire(b.now)
		w.dns.expire(b.now)
		w.icmpT.expire(b.now)
	}
	if b.final != finalNone {
		// Open sessions are flushed by the merger once every worker is
		// done (Engine.flushSessions), streaming, in a global order.
		w.dns.flush()
		w.icmpT.flush()
	}
	w.publish()
}

// touch reads the first bytes of every frame of the shard before any is
// decoded. The reader's core wrote them; loaded one by one as each frame's
// turn comes, every first read waits for its cache line, while these loads
// do not depend on each other and the processor overlaps them.
func (w *worker) touch(frames []frameMeta) {
	var sum byte
	for i := range frames {
		if d := frames[i].data; len(d) > 64 {
			sum += d[0] + d[64]
		} else if len(d) > 0 {
			sum += d[0]
		}
	}
	w.touched += sum
}

const teredoPort = 3544

// trafficEvery is how much packet time (ns) of device traffic a worker sums
// before handing it to the device inventory.
const trafficEvery = 1e9

// device feeds the device inventory: the client's traffic (tallied per
// batch), and DHCP and mDNS messages (one observation each).
func (w *worker) device(p *decode.Packet, s *flow.Session, dir uint8) {
	if s.ClientMAC != ([6]byte{}) {
		up, down := uint64(p.IPLen), uint64(0)
		if dir == 2 {
			up, down = 0, uint64(p.IPLen)
		}
		if !w.tally.AddCached(s.Acct, p.TS/1e6, up, down) {
			cip, _, _, _ := s.Ends()
			w.tally.AddFlow(&s.Acct, s.ClientMAC, addrOf(cip, s.Key.Family), p.TS/1e6, up, down)
		}
	}
	if p.Proto != 17 || len(p.Payload) == 0 {
		return
	}
	var obs devices.Observation
	ok := false
	switch {
	case (p.SrcPort == 67 || p.SrcPort == 68) && (p.DstPort == 67 || p.DstPort == 68):
		if dhcp.Parse(p.Payload, &w.dhcpMsg) == nil {
			ok = devices.FromDHCP(&w.dhcpMsg, p.TS/1e6, &obs)
		}
	case p.SrcPort == 5353 && p.HasMAC:
		if w.mdnsP.Parse(p.Payload, &w.mdnsI) == nil {
			ok = devices.FromMDNS(&w.mdnsI, p.TS/1e6, p.SrcMAC, addrOf(p.Src, p.Family), &obs)
		}
	}
	if ok {
		o := obs
		w.emitObs(&o)
	}
}

// emitObs queues a device observation in packet order.
func (w *worker) emitObs(o *devices.Observation) {
	*w.out = append(*w.out, envelope{seq: w.seq, sub1: w.sub, obs: o})
	w.sub++
}

// active returns the open sessions as records with their counters so far
// (end_reason "", end_ts = last packet). They are freshly allocated: the
// caller owns them.
func (w *worker) active() []record.Session {
	out := make([]record.Session, 0, w.table.Len())
	w.table.Each(func(s *flow.Session) {
		r := record.Session{Sensor: w.cfg.Sensor, Proto: "udp", VLAN: s.VLAN,
			StartTS: s.Start / 1e6, EndTS: s.Last / 1e6, BytesUp: s.BytesUp, BytesDown: s.BytesDown,
			PktsUp: uint64(s.PktsUp), PktsDown: uint64(s.PktsDown)}
		if s.Key.Proto == 6 {
			r.Proto = "tcp"
		}
		cip, sip, cp, sp := s.Ends()
		r.ClientIP, r.ServerIP = addrOf(cip, s.Key.Family).String(), addrOf(sip, s.Key.Family).String()
		r.ClientPort, r.ServerPort = cp, sp
		r.ClientMAC, r.ServerMAC = formatMAC(s.ClientMAC), formatMAC(s.ServerMAC)
		if a := w.streams.state(s); a != nil {
			r.Host = a.host
		}
		out = append(out, r)
	})
	return out
}

func formatMAC(m [6]byte) string {
	if m == ([6]byte{}) {
		return ""
	}
	b := macChars(m)
	return string(b[:])
}

// flushTable ends every open session after the final batch, oldest first
// (start time, then 5-tuple hash), and hands the records to the merger in
// chunks of flushChunk (Engine.flushSessions). It blocks while the merger
// is two chunks behind, which bounds memory.
func (w *worker) flushTable(shutdown bool) {
	// Sorted by keys copied out of the sessions: comparing sessions in
	// place would read two of them, scattered in memory, per comparison.
	keys := make([]flushKey, 0, w.table.Len())
	w.table.Each(func(s *flow.Session) { keys = append(keys, flushKey{s.Start, keyHash(&s.Key), s}) })
	sort.Sort(flushKeys(keys))
	open := make([]*flow.Session, len(keys))
	for i := range keys {
		open[i] = keys[i].s
	}
	w.expiry = true
	chunk := pages.Make[envelope](0, flushChunk) // appends run write barriers, which read first
	w.out = &chunk
	w.flushing = func() {
		if len(chunk) >= flushChunk {
			w.flushCh <- chunk
			chunk = pages.Make[envelope](0, flushChunk)
			w.out = &chunk
		}
	}
	w.table.EndAll(open, shutdown)
	w.flushing = nil
	if len(chunk) > 0 {
		w.flushCh <- chunk
	}
	close(w.flushCh)
	w.publish()
}

func (w *worker) packet(p *decode.Packet) {
	switch p.Proto {
	case 6, 17:
	case 1, 58:
		if w.dissect {
			w.icmpT.packet(p)
		}
		return
	default:
		return
	}
	s, dir := w.table.Packet(p)
	if w.cfg.Devices != nil {
		w.device(p, s, dir)
	}
	switch {
	case p.SrcPort == 53 || p.DstPort == 53:
		w.dns.packet(p, s, dir)
	case !w.dissect:
	case p.Proto == 6:
		w.streams.tcp(p, s, dir)
	default:
		w.streams.udp(p, s, dir)
	}
	if w.rules != nil {
		w.streams.payloadHits(p, s, dir)
	}
	if p.Proto == 17 && (p.SrcPort == teredoPort || p.DstPort == teredoPort) && w.dissect {
		// Teredo: the UDP datagram counts in its session; the IPv6 packet
		// inside gets its own ICMPv6 log.
		if w.dec.DecodeTeredo(p.Payload, p, &w.inner) == decode.ReasonOK && w.inner.Proto == 58 {
			w.icmpT.packet(&w.inner)
		}
	}
}

// emit queues r in the batch output with the current order key.
func (w *worker) emit(r record.Record, sub1 int64, sub2 uint64) {
	if !w.expiry {
		sub1 = w.sub
		sub2 = 0
		w.sub++
	}
	*w.out = append(*w.out, envelope{seq: w.seq, sub1: sub1, sub2: sub2, rec: r})
}

func (w *worker) sessionEnded(s *flow.Session, reason string) {
	r := w.arena.Session()
	r.Sensor = w.cfg.Sensor
	k := &s.Key
	if k.Proto == 6 {
		r.Proto = "tcp"
	} else {
		r.Proto = "udp"
	}
	ca, sa, cp, sp := k.A, k.B, k.PA, k.PB
	if !s.ClientIsA {
		ca, sa, cp, sp = k.B, k.A, k.PB, k.PA
	}
	r.ClientIP, r.ServerIP = w.ip(ca, k.Family), w.ip(sa, k.Family)
	r.ClientPort, r.ServerPort = cp, sp
	r.ClientMAC, r.ServerMAC = w.mac(s.ClientMAC), w.mac(s.ServerMAC)
	r.VLAN = s.VLAN
	r.StartTS, r.EndTS = s.Start/1e6, s.Last/1e6
	r.BytesUp, r.BytesDown = s.BytesUp, s.BytesDown
	r.PktsUp, r.PktsDown = uint64(s.PktsUp), uint64(s.PktsDown)
	r.EndReason = reason
	w.streams.endRules, w.streams.endN = nil, 0
	r.Host = w.streams.sessionEnded(s) // writes its pending TLS and HTTP records first
	w.tl = w.table.AppendTimeline(w.tl[:0], s)
	r.Timeline = w.arena.Steps(w.tl)
	if k.Proto == 6 && (k.PA == 53 || k.PB == 53) {
		w.dns.sessionEnded(k)
	}
	w.emit(r, s.Start, uint64(keyHash(k)))
	out := *w.out
	env := &out[len(out)-1]
	env.srv = addrOf(sa, k.Family)
	env.rules, env.hits, env.nhits = w.streams.endRules, w.streams.endHits, w.streams.endN
	if w.flushing != nil {
		w.flushing()
	}
}

func addrOf(a [16]byte, family uint8) netip.Addr {
	if family == 4 {
		return netip.AddrFrom4([4]byte(a[:4]))
	}
	return netip.AddrFrom16(a)
}

func keyHash(k *flow.Key) uint32 {
	// FNV-1a over the key: stable across runs and platforms.
	h := uint32(2166136261)
	add := func(b byte) { h = (h ^ uint32(b)) * 16777619 }
	for _, b := range k.A {
		add(b)
	}
	for _, b := range k.B {
		add(b)
	}
	add(byte(k.PA >> 8))
	add(byte(k.PA))
	add(byte(k.PB >> 8))
	add(byte(k.PB))
	add(k.Proto)
	return h
}

// ip returns the canonical text of an address. Records repeat addresses
// (the LAN's devices, the router, popular servers), so the texts are kept
// in a small direct-mapped cache: a hit costs a hash and a compare instead
// of formatting and copying.
func (w *worker) ip(a [16]byte, family uint8) string {
	x := (binary.LittleEndian.Uint64(a[0:8]) ^ binary.LittleEndian.Uint64(a[8:16])*0x9E3779B97F4A7C15 ^ uint64(family)) *
		0xBF58476D1CE4E5B9
	c := &w.ips[x>>(64-ipCacheBits)]
	if c.a == a && c.family == family && c.text != "" {
		return c.text
	}
	w.scratch = addrOf(a, family).AppendTo(w.scratch[:0])
	c.a, c.family, c.text = a, family, w.cacheText(w.scratch)
	return c.text
}

// cacheText copies b into the blocks of the text caches (ip, mac) and
// returns it as a string. The cached texts live in small blocks of their
// own, not in the record arena: a cached text keeps at most its kilobyte
// alive.
func (w *worker) cacheText(b []byte) string {
	if cap(w.textBuf)-len(w.textBuf) < len(b) {
		w.textBuf = make([]byte, 0, textBlockBytes)
	}
	start := len(w.textBuf)
	w.textBuf = append(w.textBuf, b...)
	return unsafe.String(&w.textBuf[start], len(b))
}

// ipText is one entry of the worker's address text cache.
type ipText struct {
	a      [16]byte
	family uint8
	text   string
}

const (
	ipCacheBits    = 8
	textBlockBytes = 1 << 10
)

// mac returns the lower-case colon-separated text of m; "" for the zero
// address (no link-layer address known). A LAN has few link-layer
// addresses, each in many records, so the texts are kept in a direct-mapped
// cache like the addresses' (see ip), in the same blocks.
func (w *worker) mac(m [6]byte) string {
	if m == ([6]byte{}) {
		return ""
	}
	x := (uint64(binary.LittleEndian.Uint32(m[0:4])) | uint64(binary.LittleEndian.Uint16(m[4:6]))<<32) * 0x9E3779B97F4A7C15
	c := &w.macs[x>>(64-macCacheBits)]
	if c.m == m && c.text != "" {
		return c.text
	}
	b := macChars(m)
	c.m, c.text = m, w.cacheText(b[:])
	return c.text
}

// macText is one entry of the worker's link-layer address text cache.
type macText struct {
	m    [6]byte
	text string
}

const macCacheBits = 6

// macChars is m as "aa:bb:cc:dd:ee:ff".
func macChars(m [6]byte) [17]byte {
	const hexd = "0123456789abcdef"
	var b [17]byte
	for i, x := range m {
		if i > 0 {
			b[i*3-1] = ':'
		}
		b[i*3], b[i*3+1] = hexd[x>>4], hexd[x&0xf]
	}
	return b
}
