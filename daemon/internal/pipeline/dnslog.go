package pipeline

import (
	"tamon/daemon/internal/decode"
	"tamon/daemon/internal/dissect/dns"
	"tamon/daemon/internal/flow"
)

// dnsTracker pairs DNS queries with their responses within one worker (a
// client and its resolver always share a worker) and emits one record per
// transaction: on the response, or when the query times out unanswered, or
// for a response whose query was not seen. Outstanding queries live in a
// fixed slab with an insertion-ordered list for expiry.
type dnsTracker struct {
	w       *worker
	msg     dns.Message
	queries *pending[dnsKey, pendingQuery]
	timeout int64
	streams map[streamKey]*tcpStream

	C DNSCounters
}

// DNSCounters are the DNS tracker's running totals.
type DNSCounters struct {
	Messages   uint64
	Malformed  uint64 // messages that did not parse (not written as records)
	Unanswered uint64 // queries written after the timeout
	Orphans    uint64 // responses written without their query
	TCPGaps    uint64 // DNS-over-TCP streams that lost bytes
}

type dnsKey struct {
	client, server [16]byte
	cport          uint16
	txid           uint16
	family         uint8
	tcp            bool
}

type pendingQuery struct {
	mac   [6]byte
	qtype uint16
	qlen  uint8
	qname [dns.MaxName]byte
}

type querySlot = pendingSlot[dnsKey, pendingQuery]

type streamKey struct {
	k   flow.Key
	dir uint8
}

type tcpStream struct {
	next uint32 // next expected sequence number
	buf  []byte
}

const maxTCPDNS = 65535 + 2

func newDNSTracker(w *worker, max int, timeout int64) *dnsTracker {
	return &dnsTracker{w: w, queries: newPending[dnsKey, pendingQuery](max), timeout: timeout,
		streams: make(map[streamKey]*tcpStream)}
}

const none = ^uint32(0)

// packet handles a TCP or UDP packet to or from port 53.
func (t *dnsTracker) packet(p *decode.Packet, s *flow.Session, dir uint8) {
	if len(p.Payload) == 0 {
		return
	}
	if p.Proto == 17 {
		t.message(p, p.Payload)
		return
	}
	// DNS over TCP: length-prefixed messages, possibly several per segment
	// or one over several segments. Bytes are taken in sequence order; a
	// retransmitted segment is skipped, a gap drops the partial message.
	sk := streamKey{s.Key, dir}
	st := t.streams[sk]
	if st == nil {
		if len(t.streams) >= 1024 {
			return
		}
		st = &tcpStream{next: p.Seq}
		t.streams[sk] = st
	}
	data := p.Payload
	if len(data) < p.PayloadLen {
		data = nil // cut by the snap length: cannot be used
	}
	d := int32(p.Seq - st.next)
	switch {
	case d < 0:
		if behind(d) >= int64(len(data)) {
			return // a retransmission of bytes already taken
		}
		data = data[behind(d):]
	case d > 0 || data == nil:
		if len(st.buf) > 0 {
			t.C.TCPGaps++
		}
		st.buf = st.buf[:0]
		st.next = p.Seq + uint32(p.PayloadLen)
		return
	}
	st.next += uint32(len(data))
	if len(st.buf) == 0 {
		n := dns.Split(data, func(m []byte) { t.message(p, m) })
		data = data[n:]
		if len(data) > 0 {
			st.buf = append(st.buf, data...)
		}
		return
	}
	if len(st.buf)+len(data) > maxTCPDNS {
		st.buf = st.buf[:0]
		t.C.TCPGaps++
		return
	}
	st.buf = append(st.buf, data...)
	n := dns.Split(st.buf, func(m []byte) { t.message(p, m) })
	st.buf = st.buf[:copy(st.buf, st.buf[n:])]
}

// sessionEnded forgets the TCP stream state of a session.
func (t *dnsTracker) sessionEnded(k *flow.Key) {
	if len(t.streams) == 0 {
		return
	}
	delete(t.streams, streamKey{*k, 1})
	delete(t.streams, streamKey{*k, 2})
}

func (t *dnsTracker) message(p *decode.Packet, b []byte) {
	m := &t.msg
	t.C.Messages++
	err := dns.Parse(b, m)
	if err != nil && err != dns.ErrTooManyQuestions && !(m.AnswersComplete() && m.HasQuestion) {
		t.C.Malformed++
		return
	}
	if m.Opcode != 0 {
		return // NOTIFY, UPDATE...: not a lookup
	}
	var k dnsKey
	k.family, k.tcp, k.txid = p.Family, p.Proto == 6, m.ID
	if !m.Response {
		k.client, k.server, k.cport = p.Src, p.Dst, p.SrcPort
		if _, dup := t.queries.find(k); dup {
			return // a retransmitted query: the first one counts
		}
		if t.queries.full() {
			t.expireOne()
		}
		q := t.queries.add(k, p.TS, t.w.seq)
		q.val.qtype, q.val.mac = m.QType, p.SrcMAC
		q.val.qlen = uint8(copy(q.val.qname[:], m.Question.Bytes()))
		return
	}
	k.client, k.server, k.cport = p.Dst, p.Src, p.DstPort
	i, ok := t.queries.find(k)
	if !ok {
		t.C.Orphans++
		t.emitResponse(p, k, nil)
		return
	}
	t.emitResponse(p, k, t.queries.slot(i))
	t.queries.remove(i)
}

func (t *dnsTracker) emitResponse(p *decode.Packet, k dnsKey, q *querySlot) {
	w := t.w
	m := &t.msg
	r := w.arena.DNS()
	r.Sensor = w.cfg.Sensor
	r.ClientIP, r.ServerIP = w.ip(k.client, k.family), w.ip(k.server, k.family)
	r.Proto = "udp"
	if k.tcp {
		r.Proto = "tcp"
	}
	r.TxID = k.txid
	r.RCode = dns.RcodeString(m.ExtRcode)
	if q != nil {
		r.TS = q.ts / 1e6
		r.ClientMAC = w.mac(q.val.mac)
		r.Query = w.arena.String(q.val.qname[:q.val.qlen])
		r.QType = dns.TypeString(q.val.qtype)
		r.RTTMs = (p.TS - q.ts) / 1e6
	} else {
		r.TS = p.TS / 1e6
		r.ClientMAC = w.mac(p.DstMAC)
		r.Query = w.arena.String(m.Question.Bytes())
		r.QType = dns.TypeString(m.QType)
		r.RTTMs = -1
	}
	if m.NAnswers > 0 {
		r.Answers = w.arena.Answers(m.NAnswers)
		for i := 0; i < m.NAnswers; i++ {
			rr := &m.Answers[i]
			a := &r.Answers[i]
			a.Name = w.arena.String(rr.Name.Bytes())
			a.Type = dns.TypeString(rr.Type)
			a.TTL = rr.TTL
			a.Data = w.arena.String(rr.DataBytes())
		}
	}
	w.emit(r, 0, 0)
}

// emitUnanswered writes a query that got no response.
func (t *dnsTracker) emitUnanswered(q *querySlot) {
	w := t.w
	r := w.arena.DNS()
	r.Sensor = w.cfg.Sensor
	r.TS = q.ts / 1e6
	r.ClientMAC = w.mac(q.val.mac)
	r.ClientIP, r.ServerIP = w.ip(q.key.client, q.key.family), w.ip(q.key.server, q.key.family)
	r.Proto = "udp"
	if q.key.tcp {
		r.Proto = "tcp"
	}
	r.TxID = q.key.txid
	r.Query = w.arena.String(q.val.qname[:q.val.qlen])
	r.QType = dns.TypeString(q.val.qtype)
	r.RTTMs = -1
	t.C.Unanswered++
	w.emit(r, q.ts, q.seq)
}

// expireOne writes and forgets the oldest outstanding query (table full).
func (t *dnsTracker) expireOne() {
	i := t.queries.oldest()
	expiry := t.w.expiry
	t.w.expiry = true
	t.emitUnanswered(t.queries.slot(i))
	t.w.expiry = expiry
	t.queries.remove(i)
}

// expire writes queries older than the timeout at packet time now.
func (t *dnsTracker) expire(now int64) { t.queries.expire(now, t.timeout, t.emitUnanswered) }

// flush writes every outstanding query (end of input).
func (t *dnsTracker) flush() {
	t.queries.expire(0, -1, t.emitUnanswered)
	clear(t.streams)
}
