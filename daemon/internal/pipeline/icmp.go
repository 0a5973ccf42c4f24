package pipeline

import (
	"encoding/binary"
	"strconv"

	"tamon/daemon/internal/decode"
	"tamon/daemon/internal/record"
)

// icmpTracker writes one record per ICMP/ICMPv6 echo exchange (request
// paired with its reply by addresses, identifier and sequence number: rtt_ms;
// an unanswered request after the request timeout with rtt_ms -1) and one per
// error or other message. Neighbour discovery, router solicitations and
// advertisements (ICMPv4 9/10, ICMPv6 133-137) and multicast listener
// messages (ICMPv6 130-132, 143) are LAN background chatter: they are only
// counted (ICMPCounted), not written.
type icmpTracker struct {
	w       *worker
	echoes  *pending[echoKey, echoReq]
	timeout int64
	buf     []byte
	C       ICMPCounters
}

// ICMPCounters are the ICMP tracker's totals.
type ICMPCounters struct {
	Messages   uint64
	Echoes     uint64 // echo exchanges written (answered or not)
	Unanswered uint64
	Counted    [len(countedICMP)]uint64 // chatter, by countedICMP entry
}

// countedICMP lists the chatter types that are counted, not written:
// family<<8 | type.
var countedICMP = [...]uint16{4<<8 | 9, 4<<8 | 10, 6<<8 | 130, 6<<8 | 131, 6<<8 | 132, 6<<8 | 133,
	6<<8 | 134, 6<<8 | 135, 6<<8 | 136, 6<<8 | 137, 6<<8 | 143}

// CountedICMPName names entry i of ICMPCounters.Counted.
func CountedICMPName(i int) string {
	v := countedICMP[i]
	return "icmpv" + strconv.Itoa(int(v>>8)) + "_type_" + strconv.Itoa(int(v&0xff))
}

type echoKey struct {
	src, dst [16]byte
	id, seq  uint16
	family   uint8
}

type echoReq struct {
	mac  [6]byte
	typ  uint8
	code uint8
}

type echoSlot = pendingSlot[echoKey, echoReq]

func newICMPTracker(w *worker, max int, timeout int64) *icmpTracker {
	return &icmpTracker{w: w, echoes: newPending[echoKey, echoReq](max), timeout: timeout}
}

func (t *icmpTracker) packet(p *decode.Packet) {
	t.C.Messages++
	v6 := p.Family == 6
	typ := p.ICMPType
	key := uint16(p.Family)<<8 | uint16(typ)
	for i, c := range countedICMP {
		if c == key {
			t.C.Counted[i]++
			return
		}
	}
	switch {
	case (!v6 && typ == 8) || (v6 && typ == 128): // echo request
		k := echoKey{p.Src, p.Dst, p.ICMPID, p.ICMPSeq, p.Family}
		if _, dup := t.echoes.find(k); dup {
			return
		}
		if t.echoes.full() {
			i := t.echoes.oldest()
			expiry := t.w.expiry
			t.w.expiry = true
			t.emitUnanswered(t.echoes.slot(i))
			t.w.expiry = expiry
			t.echoes.remove(i)
		}
		s := t.echoes.add(k, p.TS, t.w.seq)
		s.val = echoReq{mac: p.SrcMAC, typ: typ, code: p.ICMPCode}
	case (!v6 && typ == 0) || (v6 && typ == 129): // echo reply
		k := echoKey{p.Dst, p.Src, p.ICMPID, p.ICMPSeq, p.Family}
		if i, ok := t.echoes.find(k); ok {
			s := t.echoes.slot(i)
			r := t.record(s.key.src, s.key.dst, s.key.family, s.val.typ, s.val.code, s.val.mac, s.ts)
			r.EchoID, r.EchoSeq = s.key.id, s.key.seq
			r.RTTMs = (p.TS - s.ts) / 1e6
			t.C.Echoes++
			t.w.emit(r, 0, 0)
			t.echoes.remove(i)
			return
		}
		r := t.record(p.Src, p.Dst, p.Family, typ, p.ICMPCode, p.DstMAC, p.TS)
		r.EchoID, r.EchoSeq = p.ICMPID, p.ICMPSeq
		t.w.emit(r, 0, 0)
	default: // errors and other messages
		mac := p.SrcMAC
		quoted := p.ICMPBody
		isErr := (!v6 && (typ == 3 || typ == 4 || typ == 5 || typ == 11 || typ == 12)) || (v6 && typ < 128)
		if isErr {
			mac = p.DstMAC // the device whose packet caused the error
			if v6 && len(quoted) >= 4 {
				quoted = quoted[4:] // ICMPv6 errors: 4 bytes (unused/MTU/pointer) before the packet
			}
		}
		r := t.record(p.Src, p.Dst, p.Family, typ, p.ICMPCode, mac, p.TS)
		if isErr {
			r.Quoted = t.quoted(quoted)
		}
		t.w.emit(r, 0, 0)
	}
}

func (t *icmpTracker) record(src, dst [16]byte, family, typ, code uint8, mac [6]byte, ts int64) *record.ICMP {
	w := t.w
	r := w.arena.ICMP()
	r.Sensor = w.cfg.Sensor
	r.TS = ts / 1e6
	r.ClientMAC = w.mac(mac)
	r.SrcIP, r.DstIP = w.ip(src, family), w.ip(dst, family)
	r.Family, r.Type, r.Code = family, typ, code
	r.RTTMs = -1
	return r
}

func (t *icmpTracker) emitUnanswered(s *echoSlot) {
	r := t.record(s.key.src, s.key.dst, s.key.family, s.val.typ, s.val.code, s.val.mac, s.ts)
	r.EchoID, r.EchoSeq = s.key.id, s.key.seq
	t.C.Echoes++
	t.C.Unanswered++
	t.w.emit(r, s.ts, s.seq)
}

func (t *icmpTracker) expire(now int64) { t.echoes.expire(now, t.timeout, t.emitUnanswered) }
func (t *icmpTracker) flush()           { t.echoes.expire(0, -1, t.emitUnanswered) }

// quoted describes the packet quoted in an ICMP error: "udp 192.0.2.1:5353
// > 198.51.100.1:53", or "" when too little of it is there.
func (t *icmpTracker) quoted(b []byte) string {
	if len(b) < 1 {
		return ""
	}
	var src, dst [16]byte
	var fam, proto uint8
	var rest []byte
	switch b[0] >> 4 {
	case 4:
		ihl := int(b[0]&0x0f) * 4
		if len(b) < 20 || ihl < 20 || len(b) < ihl {
			return ""
		}
		fam, proto = 4, b[9]
		copy(src[:4], b[12:16])
		copy(dst[:4], b[16:20])
		if binary.BigEndian.Uint16(b[6:8])&0x1fff == 0 { // first fragment: ports follow
			rest = b[ihl:]
		}
	case 6:
		if len(b) < 40 {
			return ""
		}
		fam, proto = 6, b[6]
		copy(src[:], b[8:24])
		copy(dst[:], b[24:40])
		rest = b[40:]
	default:
		return ""
	}
	w := t.w
	buf := t.buf[:0]
	switch proto {
	case 6:
		buf = append(buf, "tcp "...)
	case 17:
		buf = append(buf, "udp "...)
	case 1, 58:
		buf = append(buf, "icmp "...)
	default:
		buf = append(buf, "proto "...)
		buf = strconv.AppendUint(buf, uint64(proto), 10)
		buf = append(buf, ' ')
	}
	ports := (proto == 6 || proto == 17) && len(rest) >= 4
	buf = addrOf(src, fam).AppendTo(buf)
	if ports {
		buf = append(buf, ':')
		buf = strconv.AppendUint(buf, uint64(binary.BigEndian.Uint16(rest[0:2])), 10)
	}
	buf = append(buf, " > "...)
	buf = addrOf(dst, fam).AppendTo(buf)
	if ports {
		buf = append(buf, ':')
		buf = strconv.AppendUint(buf, uint64(binary.BigEndian.Uint16(rest[2:4])), 10)
	}
	t.buf = buf
	return w.arena.String(buf)
}
