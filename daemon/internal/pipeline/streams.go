package pipeline

import (
	"errors"

	"tamon/daemon/internal/appid"
	"tamon/daemon/internal/decode"
	"tamon/daemon/internal/dissect/http"
	"tamon/daemon/internal/dissect/quic"
	"tamon/daemon/internal/dissect/tls"
	"tamon/daemon/internal/flow"
	"tamon/daemon/internal/intern"
	"tamon/daemon/internal/record"
)

// Application-layer state of a session (TLS, HTTP, QUIC), kept in a slab
// per worker and found through flow.Session.Ext. Only sessions whose first
// payload looks like one of these protocols get a state. Each direction of
// a TCP session is reassembled in sequence order, bounded: out-of-order
// segments wait (at most maxOOOSegs of at most maxOOOBytes in all), a gap
// that does not close gives up that direction, retransmitted bytes are
// skipped. Only what the parsers need is buffered: a TLS hello (up to
// tls.MaxHello) and HTTP heads (up to http.MaxHead); HTTP bodies are
// skipped by length without buffering.
const (
	maxOOOSegs  = 8
	maxOOOBytes = 32 << 10
	maxApps     = 8192 // application states per worker; beyond, sessions are not dissected
	appChunk    = 256
	maxPipeline = 16 // HTTP requests waiting for their responses
	bufStart    = 2 << 10
	maxBuffered = 2 << 20 // bytes held in pending-bytes buffers per worker
)

// maxHits bounds the payload signature hits kept per session; appHitPackets
// is how many first packets of a session are checked.
const (
	maxHits       = 8
	appHitPackets = 8
)

const (
	kindUnknown = iota
	kindTLS
	kindHTTP
	kindQUIC
	kindNone
	// kindPending: the client's first payload came after a hole at the
	// start of its stream (its first segment is late); the held bytes are
	// read, and the kind decided, when the stream's first bytes come.
	kindPending
)

// host ranks: the best-known name of a session.
const (
	rankNone = iota
	rankHTTP
	rankQUIC
	rankTLS
)

type oooSeg struct {
	seq  uint32
	data []byte
}

type dirStream struct {
	started bool
	hinted  bool // next is the peer's acknowledgment number, and no byte was read yet
	dead    bool
	next    uint32
	buf     []byte
	ooo     []oooSeg
	oooN    int
	body    http.Body
	inBody  bool
	resync  bool // bytes were lost: wait for a segment that starts a message
	heads   bool // HTTP: a message head was seen in this direction
}

type appState struct {
	host string // interned (streams.hosts): it outlives the records it came from
	// dirs is the reassembly state of a TLS or HTTP session, nil otherwise
	// and once a TLS session has read both hellos: most sessions hold only
	// the small rest of appState for their lifetime.
	dirs *[2]dirStream

	tlsRec *record.TLS     // TLS and QUIC: the record until both hellos are in
	quic   *quic.Assembler // QUIC: until the ClientHello is read

	// HTTP: requests waiting for their responses; nil except in HTTP
	// sessions (most sessions are not HTTP)
	*httpReqs

	// payload signature hits (appid) of the first packets, for the rules
	// they were computed with
	rules *appid.Rules
	hits  [maxHits]uint16
	nhits uint8

	kind     uint8
	hostRank uint8
	chDone   bool // TLS
	shDone   bool
	quicDone bool
}

// httpReqs are the requests of a session waiting for their responses,
// oldest first.
type httpReqs struct {
	reqs      [maxPipeline]*record.HTTP
	reqMethod [maxPipeline]uint8  // methodHead, methodConnect or methodOther: how its response is framed
	reqEnd    [maxPipeline]uint32 // client sequence number after the segment that ended its head
	nreq      int
}

// StreamCounters count what the application-layer dissectors did.
type StreamCounters struct {
	TLSHellos   uint64 // ClientHellos parsed over TCP (QUIC's: QUICHellos)
	TLSErrors   uint64 // TCP hellos that did not parse (truncated, malformed, too large)
	HTTPReqs    uint64
	HTTPErrors  uint64 // malformed or oversized heads, bad bodies
	StreamGaps  uint64 // directions given up on because bytes were missing
	Untracked   uint64 // sessions not dissected because maxApps was reached
	QUICHellos  uint64
	QUICErrors  uint64
	TooManyReqs uint64 // HTTP requests beyond maxPipeline waiting for responses
	BufferFull  uint64 // directions not dissected: the worker's buffer budget was spent
}

type streams struct {
	w          *worker
	apps       [][]appState // chunks of appChunk, so that growth wastes little
	napps      int
	free       []uint32
	bufs       [][]byte // free buffers
	held       int      // bytes accounted to buffers in use (see getBuf)
	asms       []*quic.Assembler
	reqPool    []*httpReqs
	dirPool    []*[2]dirStream
	hosts      intern.Table
	ch         tls.ClientHello
	sh         tls.ServerHello
	req        http.Request
	resp       http.Response
	scratch    []byte
	fp         []byte
	tmp        []byte
	hits       []uint16
	endRules   *appid.Rules // payload hits of the session sessionEnded just ended
	endHits    [maxHits]uint16
	endN       uint8
	lenient    []byte
	lenientURI *[]byte
	respTS     int64
	ack        uint32 // acknowledgment number of the TCP segment being handled
	acked      bool   // that segment has the ACK flag: ack is one
	C          StreamCounters
}

func newStreams(w *worker) *streams {
	return &streams{w: w, scratch: make([]byte, 0, tls.MaxHello), fp: make([]byte, 0, tls.FingerprintRoom+64),
		hosts: intern.Table{Max: 4096}}
}

func (st *streams) state(s *flow.Session) *appState {
	if s.Ext == 0 {
		return nil
	}
	i := s.Ext - 1
	return &st.apps[i/appChunk][i%appChunk]
}

func (st *streams) alloc(s *flow.Session, kind uint8) *appState {
	var i uint32
	if n := len(st.free); n > 0 {
		i = st.free[n-1]
		st.free = st.free[:n-1]
	} else {
		if st.napps >= maxApps {
			st.C.Untracked++
			return nil
		}
		if st.napps%appChunk == 0 {
			st.apps = append(st.apps, make([]appState, appChunk))
		}
		i = uint32(st.napps)
		st.napps++
	}
	a := &st.apps[i/appChunk][i%appChunk]
	*a = appState{kind: kind}
	if kind == kindHTTP {
		a.httpReqs = st.getReqs()
	}
	if kind == kindHTTP || kind == kindTLS || kind == kindPending {
		if n := len(st.dirPool); n > 0 {
			a.dirs = st.dirPool[n-1]
			st.dirPool = st.dirPool[:n-1]
		} else {
			a.dirs = new([2]dirStream)
		}
	}
	s.Ext = i + 1
	return a
}

func (st *streams) release(s *flow.Session) {
	a := st.state(s)
	if a == nil {
		return
	}
	st.putAssembler(a)
	if a.httpReqs != nil {
		*a.httpReqs = httpReqs{}
		st.reqPool = append(st.reqPool, a.httpReqs)
	}
	st.putDirs(a)
	*a = appState{}
	st.free = append(st.free, s.Ext-1)
	s.Ext = 0
}

// putDirs gives back a's reassembly state with its buffers.
func (st *streams) putDirs(a *appState) {
	if a.dirs == nil {
		return
	}
	for d := range a.dirs {
		st.putBuf(a.dirs[d].buf)
		for _, o := range a.dirs[d].ooo {
			st.putBuf(o.data)
		}
	}
	*a.dirs = [2]dirStream{}
	if len(st.dirPool) < 64 {
		st.dirPool = append(st.dirPool, a.dirs)
	}
	a.dirs = nil
}

// getBuf returns an empty buffer for a direction's pending bytes, or nil
// when the worker already holds maxBuffered bytes in such buffers (a burst
// of connections that never complete a hello must not exhaust a router's
// memory; those directions are given up and counted).
func (st *streams) getReqs() *httpReqs {
	if n := len(st.reqPool); n > 0 {
		r := st.reqPool[n-1]
		st.reqPool = st.reqPool[:n-1]
		return r
	}
	return new(httpReqs)
}

func (st *streams) getBuf() []byte {
	if st.held+bufStart > maxBuffered {
		st.C.BufferFull++
		return nil
	}
	st.held += bufStart
	if n := len(st.bufs); n > 0 {
		b := st.bufs[n-1]
		st.bufs = st.bufs[:n-1]
		return b[:0]
	}
	return make([]byte, 0, bufStart)
}

// putBuf gives back a buffer from getBuf (or one that grew from it).
func (st *streams) putBuf(b []byte) {
	if b == nil {
		return
	}
	st.held -= bufStart
	if cap(b) == bufStart && len(st.bufs) < 64 {
		st.bufs = append(st.bufs, b[:0])
	}
}

// tcp handles the payload of a TCP packet of session s.
func (st *streams) tcp(p *decode.Packet, s *flow.Session, dir uint8) {
	if len(p.Payload) == 0 {
		return
	}
	st.ack, st.acked = p.Ack, p.TCPFlags&decode.ACK != 0
	a := st.state(s)
	if a == nil {
		if s.Ext != 0 || s.PktsUp+s.PktsDown > 64 {
			return // decided before, or too late to start
		}
		kind := startKind(p.Payload, s, dir)
		// The client's first payload, after its SYN, but not at the first
		// byte of its stream: the segment before it is late. (By its third
		// packet, SYN and ACK first, no payload of the client was seen.)
		first, synSeen := s.FirstByte()
		if off := int32(p.Seq - first); kind == kindNone && dir == 1 && synSeen && s.PktsUp <= 3 && off > 0 && off <= maxOOOBytes {
			kind = kindPending
		}
		if kind == kindNone {
			return
		}
		if a = st.alloc(s, kind); a == nil {
			return
		}
		if kind == kindPending {
			a.dirs[0].started, a.dirs[0].next = true, first
		}
	}
	if a.dirs == nil {
		return // not TLS or HTTP, or a TLS session past its hellos
	}
	if o := &a.dirs[2-dir]; !o.started && p.TCPFlags&decode.ACK != 0 {
		// The peer has received the other direction up to p.Ack, so that
		// direction goes on from there: at its first byte, when this is
		// the first payload of the session. Its segments that come out of
		// order before that byte (a ServerHello behind the segments that
		// follow it) are then held, not taken for its start.
		o.started, o.hinted, o.next = true, true, p.Ack
	}
	d := &a.dirs[dir-1]
	if d.dead {
		return
	}
	if off := int32(p.Seq - d.next); d.hinted && len(d.ooo) == 0 && (off < 0 || off > maxOOOBytes) {
		// Not where the acknowledgment said (a capture of both sides of a
		// middlebox that rewrites sequence numbers, say): start at this
		// segment, as without a hint.
		d.started, d.hinted = false, false
	}
	data := p.Payload
	if len(data) < p.PayloadLen {
		// The snap length cut the segment (live capture sees GRO/GSO
		// aggregates of up to 64 KiB). In order, the bytes kept are read
		// (an HTTP head or a TLS hello starts them) and the bytes cut
		// are passed over when they are HTTP body for sure; else they
		// are a gap.
		if d.started && (p.Seq != d.next || len(d.ooo) > 0) {
			st.gap(a, d, s, dir)
			return
		}
		d.started, d.hinted, d.next = true, false, p.Seq+uint32(p.PayloadLen)
		st.deliver(a, d, s, dir, data, p.TS)
		if a.dirs == nil {
			return // the hellos are in: d was given back
		}
		if !d.dead && !skipCut(a, d, data, p.PayloadLen-len(data)) {
			st.gap(a, d, s, dir)
		}
		return
	}
	if !d.started {
		d.started, d.next = true, p.Seq
	}
	off := int32(p.Seq - d.next)
	switch {
	case off < 0: // retransmission, perhaps with new bytes at its end
		if behind(off) >= int64(len(data)) {
			return
		}
		data = data[behind(off):]
	case off > 0: // a gap: hold the segment until the gap is filled
		if len(d.ooo) >= maxOOOSegs || d.oooN+len(data) > maxOOOBytes || off > maxOOOBytes {
			st.gap(a, d, s, dir)
			if a.kind == kindHTTP {
				// HTTP can start again at the next message.
				d.dead, d.resync, d.hinted, d.next = false, true, false, p.Seq+uint32(len(data))
				st.deliver(a, d, s, dir, data, p.TS)
			}
			return
		}
		for _, o := range d.ooo {
			if o.seq == p.Seq {
				return // a retransmitted out-of-order segment
			}
		}
		buf := st.getBuf()
		if buf == nil {
			st.gap(a, d, s, dir)
			return
		}
		buf = append(buf, data...)
		d.ooo = append(d.ooo, oooSeg{p.Seq, buf})
		d.oooN += len(buf)
		return
	}
	d.next += uint32(len(data))
	d.hinted = false
	st.deliver(a, d, s, dir, data, p.TS)
	// Segments that waited may now follow (unless the state was given
	// back: a TLS session past its hellos).
	for progress := true; progress && a.dirs != nil && len(d.ooo) > 0 && !d.dead; {
		progress = false
		for i := 0; i < len(d.ooo); i++ {
			o := d.ooo[i]
			off := int32(o.seq - d.next)
			if off > 0 {
				continue
			}
			d.ooo = append(d.ooo[:i], d.ooo[i+1:]...)
			d.oooN -= len(o.data)
			if behind(off) < int64(len(o.data)) {
				rest := o.data[behind(off):]
				d.next += uint32(len(rest))
				st.deliver(a, d, s, dir, rest, p.TS)
			}
			st.putBuf(o.data)
			progress = true
			break
		}
	}
}

// behind returns how many bytes before the next expected one a segment
// starts, given off = int32(seq - next) < 0. It is an int64 because -off
// overflows an int32, and a 32-bit int, for a segment half the sequence
// space away (off = math.MinInt32): such a segment must be taken for old
// bytes, not sliced at a negative offset.
func behind(off int32) int64 { return -int64(off) }

// skipCut passes n bytes that the snap length cut from an HTTP segment
// over the body framing, when the body surely holds them all, and reports
// whether it did. kept, the bytes of the segment that were kept, stand in
// for them: the framing only counts body bytes.
func skipCut(a *appState, d *dirStream, kept []byte, n int) bool {
	if a.kind != kindHTTP || !d.inBody || len(kept) == 0 {
		return false
	}
	if r := d.body.Remaining(); r >= 0 && r < int64(n) {
		return false
	}
	for n > 0 {
		k := min(n, len(kept))
		_, done, err := d.body.Skip(kept[:k])
		if err != nil {
			return false
		}
		if done {
			d.inBody = false
		}
		n -= k
	}
	return true
}

// udp handles the payload of a UDP packet of session s: QUIC Initial
// packets from the client, decrypted to read the ClientHello.
func (st *streams) udp(p *decode.Packet, s *flow.Session, dir uint8) {
	if len(p.Payload) == 0 {
		return
	}
	if p.SrcPort == ssdpPort || p.DstPort == ssdpPort {
		st.ssdp(p, s, dir)
		return
	}
	if dir != 1 {
		return
	}
	a := st.state(s)
	if a == nil {
		if s.Ext != 0 || s.PktsUp > 16 || !quic.IsInitial(p.Payload) {
			return
		}
		if a = st.alloc(s, kindQUIC); a == nil {
			return
		}
		if n := len(st.asms); n > 0 {
			a.quic = st.asms[n-1]
			st.asms = st.asms[:n-1]
		} else {
			a.quic = new(quic.Assembler)
		}
	}
	if a.kind != kindQUIC || a.quicDone || a.quic == nil {
		return
	}
	hello, done, err := a.quic.Add(p.Payload)
	if err != nil {
		st.C.QUICErrors++
		a.quicDone = true
		st.putAssembler(a)
		return
	}
	if hello != nil {
		if tls.ParseClientHello(hello, &st.ch) != nil {
			st.C.QUICErrors++
		} else {
			st.C.QUICHellos++
			r := st.tlsRecord(a, s, p.TS, "quic", true)
			st.w.fillClientHello(r, &st.ch, true)
			if st.ch.SNILen > 0 && a.hostRank < rankQUIC {
				a.host, a.hostRank = st.hosts.String(r.SNI), rankQUIC
			}
			st.emitTLS(a, s)
		}
	}
	if done || hello != nil {
		a.quicDone = true
		st.putAssembler(a)
	}
}

const ssdpPort = 1900

// ssdp logs SSDP (HTTP over UDP: M-SEARCH, NOTIFY and their responses),
// one record per datagram: devices announce themselves this way.
func (st *streams) ssdp(p *decode.Packet, s *flow.Session, dir uint8) {
	w := st.w
	b := p.Payload
	if len(b) < p.PayloadLen {
		return
	}
	var r *record.HTTP
	switch {
	case http.IsRequestStart(b) || looksLikeMethod(b):
		if http.ParseRequest(b, &st.req) != nil {
			st.C.HTTPErrors++
			return
		}
		st.C.HTTPReqs++
		r = st.httpRecord(s, p.TS)
		q := &st.req
		r.Method = w.arena.String(q.Method)
		r.Host = w.arena.String(http.Unfold(w.scratch[:0], q.Host))
		r.URI = w.arena.String(q.URI)
		r.UserAgent = w.arena.String(http.Unfold(w.scratch[:0], q.UserAgent))
		r.Referer = w.arena.String(http.Unfold(w.scratch[:0], q.Referer))
	case http.IsResponseStart(b):
		if http.ParseResponse(b, &st.resp) != nil {
			st.C.HTTPErrors++
			return
		}
		r = st.httpRecord(s, p.TS)
		r.Status = uint16(st.resp.Status)
		r.ContentType = w.arena.String(http.Unfold(w.scratch[:0], st.resp.ContentType))
	default:
		return
	}
	w.emit(r, 0, 0)
}

// httpRecord returns a new http record for session s.
func (st *streams) httpRecord(s *flow.Session, ts int64) *record.HTTP {
	w := st.w
	r := w.arena.HTTP()
	r.Sensor = w.cfg.Sensor
	r.TS = ts / 1e6
	cip, sip, cp, sp := s.Ends()
	r.ClientMAC = w.mac(s.ClientMAC)
	r.ClientIP, r.ServerIP = w.ip(cip, s.Key.Family), w.ip(sip, s.Key.Family)
	r.ClientPort, r.ServerPort = cp, sp
	return r
}

func (st *streams) putAssembler(a *appState) {
	if a.quic == nil {
		return
	}
	a.quic.Reset()
	if len(st.asms) < 64 {
		st.asms = append(st.asms, a.quic)
	}
	a.quic = nil
}

// gap gives up a direction whose bytes are missing.
func (st *streams) gap(a *appState, d *dirStream, s *flow.Session, dir uint8) {
	if a.kind == kindPending {
		// The stream's first bytes did not come in time: not a gap in a
		// stream being read, just nothing to read. d is given back.
		a.kind = kindNone
		st.putDirs(a)
		return
	}
	d.dead = true
	st.C.StreamGaps++
	st.putBuf(d.buf)
	d.buf = nil
	for _, o := range d.ooo {
		st.putBuf(o.data)
	}
	d.ooo, d.oooN = nil, 0
}

// deliver hands in-order bytes of one direction to the session's parser.
func (st *streams) deliver(a *appState, d *dirStream, s *flow.Session, dir uint8, data []byte, ts int64) {
	switch a.kind {
	case kindTLS:
		st.tlsData(a, d, s, dir, data, ts)
	case kindHTTP:
		st.httpData(a, d, s, dir, data, ts)
	case kindPending:
		if dir == 1 && st.decide(a, s, data) {
			st.deliver(a, d, s, dir, data, ts)
		}
	}
}

// decide sets the kind of a pending session from the first bytes of the
// client's stream, and reports whether it is TLS or HTTP; otherwise the
// session's reassembly state is given back.
func (st *streams) decide(a *appState, s *flow.Session, b []byte) bool {
	switch a.kind = startKind(b, s, 1); a.kind {
	case kindTLS:
	case kindHTTP:
		a.httpReqs = st.getReqs()
	default:
		st.putDirs(a)
		return false
	}
	return true
}

// startKind says what the first bytes b of a direction of session s
// start: a TLS record (either side), an HTTP request (the client's, dir 1)
// or response (the server's, dir 2), also when b holds only their first
// bytes; else kindNone.
func startKind(b []byte, s *flow.Session, dir uint8) uint8 {
	switch {
	case tls.IsHelloStart(b):
		return kindTLS
	case dir == 1 && (http.IsRequestStart(b) || http.IsRequestPrefix(b) || (isHTTPPort(s) && looksLikeMethod(b))):
		return kindHTTP
	case dir == 2 && (http.IsResponseStart(b) || http.IsResponsePrefix(b)):
		return kindHTTP
	}
	return kindNone
}

func (st *streams) tlsData(a *appState, d *dirStream, s *flow.Session, dir uint8, data []byte, ts int64) {
	if (dir == 1 && a.chDone) || (dir == 2 && a.shDone) {
		return
	}
	var msg []byte
	var need int
	var err error
	if len(d.buf) == 0 {
		// Most hellos arrive whole in one segment: read them in place.
		msg, need, err = tls.Records(data, st.scratch[:0])
		if need > 0 {
			if d.buf == nil {
				if d.buf = st.getBuf(); d.buf == nil {
					d.dead = true
					return
				}
			}
			d.buf = append(d.buf, data[:min(len(data), tls.MaxHello+5*8)]...)
			return
		}
	} else {
		if len(d.buf)+len(data) > tls.MaxHello+5*8 {
			data = data[:max(0, tls.MaxHello+5*8-len(d.buf))]
		}
		d.buf = append(d.buf, data...)
		msg, need, err = tls.Records(d.buf, st.scratch[:0])
		if need > 0 && len(d.buf) < tls.MaxHello+5*8 {
			return
		}
	}
	done := func() {
		st.putBuf(d.buf)
		d.buf = nil
		d.dead = true // nothing more to read in this direction
	}
	if err != nil || msg == nil {
		st.C.TLSErrors++
		done()
		return
	}
	w := st.w
	if dir == 1 {
		if tls.ParseClientHello(msg, &st.ch) != nil {
			st.C.TLSErrors++
			done()
			return
		}
		st.C.TLSHellos++
		a.chDone = true
		r := st.tlsRecord(a, s, ts, "tcp", false)
		w.fillClientHello(r, &st.ch, false)
		if st.ch.SNILen > 0 && a.hostRank < rankTLS {
			a.host, a.hostRank = st.hosts.String(r.SNI), rankTLS
		}
	} else {
		if tls.ParseServerHello(msg, &st.sh) != nil {
			st.C.TLSErrors++
			done()
			return
		}
		a.shDone = true
		r := st.tlsRecord(a, s, ts, "tcp", false)
		st.fp = tls.AppendJA3S(st.fp[:0], &st.sh)
		r.JA3S = w.arena.String(st.fp)
		r.Version = tls.VersionString(st.sh.Version())
	}
	done()
	if a.chDone && a.shDone {
		st.emitTLS(a, s)
	}
	if a.dirs[0].dead && a.dirs[1].dead {
		st.putDirs(a) // nothing more to read: keep only the small state
	}
}

// tlsRecord returns the session's pending TLS record, creating it.
func (st *streams) tlsRecord(a *appState, s *flow.Session, ts int64, transport string, _ bool) *record.TLS {
	if a.tlsRec != nil {
		return a.tlsRec
	}
	w := st.w
	r := w.arena.TLS()
	r.Sensor = w.cfg.Sensor
	r.TS = ts / 1e6
	r.Transport = transport
	cip, sip, cp, sp := s.Ends()
	r.ClientMAC = w.mac(s.ClientMAC)
	r.ClientIP, r.ServerIP = w.ip(cip, s.Key.Family), w.ip(sip, s.Key.Family)
	r.ClientPort, r.ServerPort = cp, sp
	a.tlsRec = r
	return r
}

func (st *streams) emitTLS(a *appState, s *flow.Session) {
	if a.tlsRec == nil {
		return
	}
	st.w.emit(a.tlsRec, s.Start, uint64(keyHash(&s.Key)))
	a.tlsRec = nil
}

// fillClientHello sets the client-side fields of r from ch.
func (w *worker) fillClientHello(r *record.TLS, ch *tls.ClientHello, quic bool) {
	r.SNI = w.arena.String(ch.SNI[:ch.SNILen])
	w.scratch = w.scratch[:0]
	for i := 0; i < ch.NALPN; i++ {
		if i > 0 {
			w.scratch = append(w.scratch, ',')
		}
		w.scratch = append(w.scratch, ch.ALPNProto(i)...)
	}
	r.ALPN = w.arena.String(w.scratch)
	if r.Version == "" {
		r.Version = tls.VersionString(ch.MaxVersion())
	}
	fp := w.streams.fp
	fp = tls.AppendJA3(fp[:0], ch)
	r.JA3 = w.arena.String(fp)
	fp = tls.AppendJA4(fp[:0], ch, quic)
	r.JA4 = w.arena.String(fp)
	w.streams.fp = fp
	r.ECH = ch.ECH
}

func (st *streams) httpData(a *appState, d *dirStream, s *flow.Session, dir uint8, data []byte, ts int64) {
	if d.resync {
		if (dir == 1 && !http.IsRequestStart(data)) || (dir == 2 && !http.IsResponseStart(data)) {
			return
		}
		d.resync, d.inBody = false, false
		d.buf = d.buf[:0]
	}
	if dir == 2 && !d.heads && !d.inBody && len(d.buf) == 0 && len(data) > 0 &&
		!http.IsResponseStart(data) && !http.IsResponsePrefix(data) {
		st.midResponse(a, d, s)
		return
	}
	for len(data) > 0 && !d.dead {
		if d.inBody {
			n, done, err := d.body.Skip(data)
			if err != nil {
				st.C.HTTPErrors++
				st.gap(a, d, s, dir)
				return
			}
			data = data[n:]
			if done {
				d.inBody = false
			}
			continue
		}
		if d.buf == nil {
			if d.buf = st.getBuf(); d.buf == nil {
				st.gap(a, d, s, dir)
				return
			}
		}
		take := min(len(data), http.MaxHead+1-len(d.buf))
		d.buf = append(d.buf, data[:take]...)
		data = data[take:]
		var headLen int
		var err error
		if dir == 1 {
			err = http.ParseRequest(d.buf, &st.req)
			headLen = st.req.HeadLen
			if errors.Is(err, http.ErrNotHTTP) || errors.Is(err, http.ErrMalformed) {
				headLen, err = st.lenientRequest(d.buf)
			}
		} else {
			err = http.ParseResponse(d.buf, &st.resp)
			headLen = st.resp.HeadLen
		}
		if errors.Is(err, http.ErrIncomplete) && len(d.buf) <= http.MaxHead {
			continue // wait for more bytes (data is empty now)
		}
		if err != nil {
			st.C.HTTPErrors++
			st.gap(a, d, s, dir)
			d.dead, d.resync = false, true // try again at the next message
			return
		}
		d.heads = true
		if dir == 1 {
			st.request(a, d, s, ts)
		} else {
			st.respTS = ts
			st.response(a, d, s)
		}
		// What followed the head goes round again: body, then the next head.
		rest := d.buf[headLen:]
		if len(rest) > 0 {
			st.tmp = append(append(st.tmp[:0], rest...), data...)
			data = st.tmp
		}
		d.buf = d.buf[:0]
	}
}

func (st *streams) request(a *appState, d *dirStream, s *flow.Session, ts int64) {
	w := st.w
	q := &st.req
	st.C.HTTPReqs++
	r := st.httpRecord(s, ts)
	r.Method = w.arena.String(q.Method)
	r.Host = w.arena.String(http.Unfold(w.scratch[:0], q.Host))
	r.URI = w.arena.String(q.URI)
	if st.lenientURI != nil {
		r.URI = w.arena.String(*st.lenientURI)
		st.lenientURI = nil
	}
	r.UserAgent = w.arena.String(http.Unfold(w.scratch[:0], q.UserAgent))
	r.Referer = w.arena.String(http.Unfold(w.scratch[:0], q.Referer))
	if a.hostRank < rankHTTP && len(q.Host) > 0 {
		a.host, a.hostRank = st.hosts.String(hostOnly(r.Host)), rankHTTP
	}
	if a.nreq == maxPipeline {
		// Too many unanswered: write the oldest without its response.
		st.C.TooManyReqs++
		st.popRequest(a, s)
	}
	a.reqs[a.nreq] = r
	a.reqEnd[a.nreq] = d.next // d is the client's direction
	a.reqMethod[a.nreq] = methodOther
	switch string(q.Method) {
	case "HEAD":
		a.reqMethod[a.nreq] = methodHead
	case "CONNECT":
		a.reqMethod[a.nreq] = methodConnect
	}
	a.nreq++
	d.body.StartRequest(q)
	d.inBody = !d.body.Done()
}

func (st *streams) response(a *appState, d *dirStream, s *flow.Session) {
	w := st.w
	resp := &st.resp
	method := methodNames[methodOther]
	if a.nreq > 0 {
		method = methodNames[a.reqMethod[0]]
	}
	d.body.StartResponse(resp, method)
	d.inBody = !d.body.Done()
	if resp.Interim() {
		return
	}
	if a.nreq == 0 {
		// A response whose request was not seen (capture started
		// mid-stream, or the request was lost): logged on its own.
		r := st.httpRecord(s, st.respTS)
		r.Status = uint16(resp.Status)
		r.ContentType = w.arena.String(http.Unfold(w.scratch[:0], resp.ContentType))
		w.emit(r, s.Start, uint64(keyHash(&s.Key)))
		return
	}
	r := a.reqs[0]
	r.Status = uint16(resp.Status)
	r.ContentType = w.arena.String(http.Unfold(w.scratch[:0], resp.ContentType))
	st.popRequest(a, s)
}

// midResponse handles the first bytes of a server's direction when they do
// not start a response: the capture joined the connection in the middle of
// one. When the server had received the oldest waiting request by then
// (its acknowledgment covers the request), these bytes are most likely of
// its response, whose head went by unseen: the request is written without
// one, so that the next response head is paired with the next request and
// not with it. Either way the direction waits for a message start, and no
// error is counted: nothing was malformed.
func (st *streams) midResponse(a *appState, d *dirStream, s *flow.Session) {
	if a.nreq > 0 && st.acked && int32(st.ack-a.reqEnd[0]) >= 0 {
		st.popRequest(a, s)
	}
	d.heads, d.resync = true, true
}

// popRequest writes the oldest waiting request.
func (st *streams) popRequest(a *appState, s *flow.Session) {
	r := a.reqs[0]
	copy(a.reqs[:], a.reqs[1:a.nreq])
	copy(a.reqMethod[:], a.reqMethod[1:a.nreq])
	copy(a.reqEnd[:], a.reqEnd[1:a.nreq])
	a.nreq--
	a.reqs[a.nreq] = nil
	st.w.emit(r, s.Start, uint64(keyHash(&s.Key)))
}

// payloadHits checks the payload of one of the first packets of s against
// the application signatures, keeping the hits in the session's state.
func (st *streams) payloadHits(p *decode.Packet, s *flow.Session, dir uint8) {
	rules := st.w.rules
	if rules == nil || len(p.Payload) == 0 || s.PktsUp+s.PktsDown > appHitPackets {
		return
	}
	_, _, cp, sp := s.Ends()
	hits := rules.PayloadHits(st.hits[:0], p.Proto, cp, sp, dir, p.Payload)
	if len(hits) == 0 {
		return
	}
	a := st.state(s)
	if a == nil {
		if a = st.alloc(s, kindNone); a == nil {
			return
		}
	}
	if a.rules != rules {
		a.rules, a.nhits = rules, 0
	}
	for _, h := range hits {
		dup := false
		for _, x := range a.hits[:a.nhits] {
			dup = dup || x == h
		}
		if !dup && int(a.nhits) < maxHits {
			a.hits[a.nhits] = h
			a.nhits++
		}
	}
	st.hits = hits
}

// sessionEnded writes what is still pending (a TLS handshake without its
// ServerHello, requests without responses) and returns the session's
// best-known name from its own protocol, then frees the state.
func (st *streams) sessionEnded(s *flow.Session) string {
	a := st.state(s)
	if a == nil {
		return ""
	}
	st.emitTLS(a, s)
	for a.httpReqs != nil && a.nreq > 0 {
		st.popRequest(a, s)
	}
	host := a.host
	st.endRules, st.endHits, st.endN = a.rules, a.hits, a.nhits
	st.release(s)
	return host
}

const (
	methodOther = iota
	methodHead
	methodConnect
)

var methodNames = [...][]byte{[]byte("GET"), []byte("HEAD"), []byte("CONNECT")}

// httpPorts are the ports on which a request with an unusual method (a
// custom token such as CCM_POST) is still taken as HTTP: tshark's default
// HTTP ports.
var httpPorts = [...]uint16{80, 3128, 3132, 5985, 8080, 8088, 11371, 1900, 2869, 2710}

func isHTTPPort(s *flow.Session) bool {
	_, _, _, sp := s.Ends()
	for _, p := range httpPorts {
		if p == sp {
			return true
		}
	}
	return false
}

// looksLikeMethod reports whether b starts with an upper-case token and a
// space, as a request line with any method does.
func looksLikeMethod(b []byte) bool {
	for i, c := range b {
		switch {
		case (c == ' ' || c == '\r' || c == '\n') && i > 0:
			return true
		case (c >= 'A' && c <= 'Z') || c == '_' || c == '-' || (c >= '0' && c <= '9' && i > 0):
		default:
			return false
		}
		if i > 32 {
			return false
		}
	}
	return false
}

// lenientRequest reads a request whose request line the strict parser
// refused but that is still clearly a request, as tshark reads it: "METHOD
// URI HTTP/1." (a cut version), "METHOD /HTTP/1.1" (no space before the
// version: the rest is the URI), "METHOD" alone (no URI). The line is
// rewritten as "METHOD URI HTTP/1.1" in a scratch buffer for the strict
// parser to read the header fields; the record keeps the URI as sent. It
// returns the head's length in b.
func (st *streams) lenientRequest(b []byte) (int, error) {
	eol := -1
	for i, c := range b {
		if c == '\n' {
			eol = i
			break
		}
	}
	if eol < 0 {
		if len(b) > http.MaxHead {
			return 0, http.ErrTooLong
		}
		return 0, http.ErrIncomplete
	}
	line := b[:eol]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	sp := -1
	for i, c := range line {
		if c == ' ' {
			sp = i
			break
		}
		if !((c >= 'A' && c <= 'Z') || c == '_' || c == '-' || (c >= '0' && c <= '9')) {
			return 0, http.ErrNotHTTP
		}
	}
	method, uri := line, []byte(nil)
	if sp >= 0 {
		method, uri = line[:sp], line[sp+1:]
		// "URI HTTP/1." : drop a trailing version-like word
		for i := len(uri) - 1; i >= 0; i-- {
			if uri[i] == ' ' {
				if len(uri)-i > 5 && string(uri[i+1:i+6]) == "HTTP/" {
					uri = uri[:i]
				}
				break
			}
		}
	}
	if len(method) == 0 {
		return 0, http.ErrNotHTTP
	}
	for _, c := range uri {
		if c < 0x21 || c == 0x7f {
			return 0, http.ErrMalformed
		}
	}
	fixed := append(st.lenient[:0], method...)
	fixed = append(fixed, ' ', '/')
	fixed = append(fixed, " HTTP/1.1\r\n"...)
	delta := len(fixed) - (eol + 1)
	fixed = append(fixed, b[eol+1:]...)
	st.lenient = fixed
	if err := http.ParseRequest(fixed, &st.req); err != nil {
		return 0, err
	}
	st.req.Method = method
	u := uri
	st.lenientURI = &u
	return st.req.HeadLen - delta, nil
}

// hostOnly drops a port from an HTTP Host value ("example.org:8080").
func hostOnly(h string) string {
	if len(h) > 0 && h[0] == '[' { // [v6]:port
		for i := 1; i < len(h); i++ {
			if h[i] == ']' {
				return h[1:i]
			}
		}
		return h
	}
	for i := len(h) - 1; i >= 0; i-- {
		if h[i] == ':' {
			for j := i + 1; j < len(h); j++ {
				if h[j] < '0' || h[j] > '9' {
					return h
				}
			}
			return h[:i]
		}
	}
	return h
}
