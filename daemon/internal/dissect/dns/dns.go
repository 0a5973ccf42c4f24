// Package dns parses DNS messages (RFC 1035 and later) from untrusted bytes without allocating.
//
// The parser is written for a packet monitor: it reads one message from a
// byte slice into a caller-owned [Message], never allocates, never panics,
// and keeps no reference to the input once [Parse] returns. Every name and
// every record's RDATA is copied into fixed-size buffers inside the Message
// in presentation (text) form, so a Message can outlive the packet buffer it
// was decoded from.
//
// A Message is large (about 19 KiB, mostly the answer records), so callers
// should allocate one per goroutine and reuse it for every packet rather
// than declaring one per call. A Message is not safe for concurrent use;
// distinct Messages may be filled concurrently from the same input.
//
// Only the header, the first question and the answer section are kept. The
// authority and additional sections are walked and checked for structure, and
// the first OPT record in the additional section (EDNS, RFC 6891) is decoded
// into the Message.
//
// For DNS over TCP, [Split] cuts a byte stream into the length-prefixed
// messages it carries.
package dns

import "errors"

const (
	// MaxAnswers is the number of answer-section records kept per message.
	// Records past it are checked for structure but not decoded, and records
	// of the authority and additional sections are never kept.
	MaxAnswers = 32

	// MaxName is the largest length, in bytes, of a name in presentation form
	// that a Name holds. It equals the largest wire length of a name (RFC 1035
	// 2.3.4); a name that would need more text than this once escaped is
	// rejected with ErrName.
	MaxName = 255

	// MaxData is the size of the buffer holding an RR's RDATA in text form.
	MaxData = 320

	// maxPointers bounds the compression pointers followed while reading one
	// name. A valid name has at most 127 labels, so it never needs more.
	maxPointers = 128

	headerLen = 12
	rrFixed   = 10 // TYPE, CLASS, TTL, RDLENGTH
)

// RR types whose RDATA Parse renders specially, plus OPT.
const (
	TypeA     = 1
	TypeNS    = 2
	TypeCNAME = 5
	TypeSOA   = 6
	TypePTR   = 12
	TypeMX    = 15
	TypeTXT   = 16
	TypeAAAA  = 28
	TypeSRV   = 33
	TypeDNAME = 39
	TypeOPT   = 41
)

// Errors returned by Parse. They are sentinels: compare with errors.Is.
var (
	// ErrShort means the message ends inside the header or inside a section:
	// a count in the header promises more than the bytes hold.
	ErrShort = errors.New("dns: message cut off")

	// ErrName means a malformed domain name: a label of a reserved type or
	// longer than 63 bytes, a compression pointer that loops, points forward
	// or out of range, or a name longer than 255 bytes (on the wire, or in
	// text once escaped).
	ErrName = errors.New("dns: malformed name")

	// ErrRData means a record whose RDLENGTH runs past the end of the message,
	// or whose RDATA does not match its type (an A record that is not 4
	// bytes, a CNAME whose target does not end where the RDATA ends, ...).
	ErrRData = errors.New("dns: malformed record data")

	// ErrTooManyQuestions reports a message with QDCOUNT > 1 (see RFC 9619).
	// It is informational: when Parse returns it, the message was decoded
	// completely, with the first question in Message.Question, exactly as if
	// the error were nil. Callers that accept such messages can ignore it.
	ErrTooManyQuestions = errors.New("dns: more than one question")
)

// Name is a domain name in presentation form: labels joined by '.', without
// the trailing dot, in the case found on the wire (Parse does not
// lower-case). The root name is the empty string. Label bytes that are not
// printable ASCII, and space, '.' and '\\', are written as \DDD decimal
// escapes as in RFC 1035 master files, so the text is unambiguous.
//
// The zero Name is the root. A Name is a value: copying it copies the text.
type Name struct {
	buf [MaxName]byte
	n   uint8
}

// Bytes returns the name's text. The slice is a view into n: it is valid
// until n is next modified (for a Name inside a Message, until the next Parse
// into that Message). Its capacity is its length, so appending to it copies.
func (n *Name) Bytes() []byte { return n.buf[:n.n:n.n] }

// String returns the name's text. It allocates.
func (n *Name) String() string { return string(n.buf[:n.n]) }

// Len returns the length of the name's text in bytes.
func (n *Name) Len() int { return int(n.n) }

// Equal reports whether n and o are the same name, comparing ASCII letters
// case-insensitively (RFC 4343). Escaped bytes are compared exactly.
func (n *Name) Equal(o *Name) bool {
	if n.n != o.n {
		return false
	}
	a, b := n.buf[:n.n], o.buf[:n.n]
	for i := range a {
		if a[i] != b[i] && lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// RR is one resource record. Its RDATA is kept as text in DataBuf, in a form
// that depends on the type:
//
//	A                    192.0.2.1
//	AAAA                 2001:db8::1 (RFC 5952; IPv4-mapped as ::ffff:192.0.2.1)
//	CNAME, NS, PTR, DNAME  the target name
//	MX                   10 mail.example.com
//	SRV                  priority weight port target
//	TXT                  the character-strings concatenated, raw bytes
//	SOA                  mname rname serial refresh retry expire minimum
//	anything else        lower-case hex of the RDATA
//
// Names inside RDATA follow the Name rules, except that the root name is
// written "." so that fields stay visible ("0 ." for a null MX). Text that
// does not fit in DataBuf (long TXT, SOA, hex) is cut at MaxData bytes.
type RR struct {
	Name  Name
	Type  uint16
	Class uint16
	TTL   uint32

	DataBuf [MaxData]byte
	DataLen uint16
}

// DataBytes returns the RDATA text. Like Name.Bytes it is a view into r,
// valid until r is next modified, with capacity equal to its length.
func (r *RR) DataBytes() []byte { return r.DataBuf[:r.DataLen:r.DataLen] }

// Message is a decoded DNS message. Parse fills it; the zero value is ready
// for use, and one Message is meant to be reused for many messages. It holds
// no reference to the input. A Message is not safe for concurrent use: do
// not read it while a Parse into it is running.
type Message struct {
	// Header (RFC 1035 4.1.1).
	ID                 uint16
	Response           bool  // QR
	Opcode             uint8 // 4 bits
	Authoritative      bool  // AA
	Truncated          bool  // TC
	RecursionDesired   bool  // RD
	RecursionAvailable bool  // RA
	// Rcode is the 4-bit RCODE of the header.
	Rcode uint8
	// ExtRcode is the full 12-bit response code: the header RCODE combined
	// with the upper 8 bits from the EDNS OPT record when there is one
	// (RFC 6891 6.1.3), else equal to Rcode. Use it with RcodeString.
	ExtRcode uint16

	QDCount, ANCount, NSCount, ARCount uint16

	// The first question, if QDCount > 0 (HasQuestion).
	HasQuestion bool
	Question    Name
	QType       uint16
	QClass      uint16

	// Answers holds the first NAnswers records of the answer section, in
	// wire order; NAnswers ≤ MaxAnswers. Entries at index NAnswers and above
	// hold leftovers of earlier messages and must be ignored.
	Answers  [MaxAnswers]RR
	NAnswers int

	// EDNS reports an OPT record in the additional section; UDPSize is its
	// advertised UDP payload size (its CLASS field) and EDNSVersion its
	// version. Only the first OPT record is used.
	EDNS        bool
	UDPSize     uint16
	EDNSVersion uint8

	// answersDone is set once the whole answer section was read.
	answersDone bool
}

// AnswersComplete reports whether the last Parse got through the header, the
// question section and the whole answer section. When Parse fails in the
// authority or additional section (a capture cut by the snap length, say),
// this is true and the header, question and answer fields can be used.
func (m *Message) AnswersComplete() bool { return m.answersDone }

// reset clears every field that Parse sets. The answer records are not
// cleared: NAnswers = 0 hides them, and each kept record is overwritten in
// full. Clearing 19 KiB per packet would cost more than parsing it.
func (m *Message) reset() {
	m.ID = 0
	m.Response = false
	m.Opcode = 0
	m.Authoritative = false
	m.Truncated = false
	m.RecursionDesired = false
	m.RecursionAvailable = false
	m.Rcode = 0
	m.ExtRcode = 0
	m.QDCount, m.ANCount, m.NSCount, m.ARCount = 0, 0, 0, 0
	m.HasQuestion = false
	m.Question.n = 0
	m.QType, m.QClass = 0, 0
	m.NAnswers = 0
	m.EDNS = false
	m.UDPSize = 0
	m.EDNSVersion = 0
	m.answersDone = false
}

// Parse decodes the DNS message msg into m, resetting m first. It never
// allocates, never panics whatever msg holds, does not modify msg, and keeps
// no reference to msg after it returns. Bytes after the last section are
// ignored.
//
// It returns nil, ErrTooManyQuestions (informational: see its doc), or
// ErrShort, ErrName or ErrRData for a malformed message. On error m keeps
// every field decoded before the fault was found: the header fields are
// filled as soon as msg holds 12 bytes, NAnswers counts only records decoded
// in full, and AnswersComplete tells whether the answer section was read to
// its end, so a caller can still use the answers of a message whose authority
// or additional section is cut off.
//
// Names in the question and in kept answers are decompressed (RFC 1035
// 4.1.4). A compression pointer must point strictly before the start of the
// run of labels it ends (so before the pointer itself), which rules out
// loops, and at most 128 pointers are followed per name. Names in records
// that are not kept are checked for structure but not decompressed.
func Parse(msg []byte, m *Message) error {
	m.reset()
	if len(msg) < headerLen {
		return ErrShort
	}
	m.ID = be16(msg[0:])
	f1, f2 := msg[2], msg[3]
	m.Response = f1&0x80 != 0
	m.Opcode = f1 >> 3 & 0x0f
	m.Authoritative = f1&0x04 != 0
	m.Truncated = f1&0x02 != 0
	m.RecursionDesired = f1&0x01 != 0
	m.RecursionAvailable = f2&0x80 != 0
	m.Rcode = f2 & 0x0f
	m.ExtRcode = uint16(m.Rcode)
	m.QDCount = be16(msg[4:])
	m.ANCount = be16(msg[6:])
	m.NSCount = be16(msg[8:])
	m.ARCount = be16(msg[10:])

	off := headerLen
	var err error

	// Question section: keep the first, skip the rest.
	if m.QDCount > 0 {
		var n int
		if n, off, err = readName(msg, off, m.Question.buf[:]); err != nil {
			return err
		}
		if len(msg)-off < 4 {
			return ErrShort
		}
		m.Question.n = uint8(n)
		m.QType = be16(msg[off:])
		m.QClass = be16(msg[off+2:])
		m.HasQuestion = true
		off += 4
	}
	for i := 1; i < int(m.QDCount); i++ {
		if off, err = skipName(msg, off); err != nil {
			return err
		}
		if len(msg)-off < 4 {
			return ErrShort
		}
		off += 4
	}

	// Answer section: decode up to MaxAnswers records, skip the rest.
	var q *Name
	if m.HasQuestion {
		q = &m.Question
	}
	for i := 0; i < int(m.ANCount); i++ {
		if i < MaxAnswers {
			off, err = readRR(msg, off, &m.Answers[i], q)
			if err != nil {
				return err
			}
			m.NAnswers++
		} else if off, _, err = skipRR(msg, off); err != nil {
			return err
		}
	}
	m.answersDone = true

	// Authority section: structure only.
	for i := 0; i < int(m.NSCount); i++ {
		if off, _, err = skipRR(msg, off); err != nil {
			return err
		}
	}

	// Additional section: structure, plus the first OPT record.
	for i := 0; i < int(m.ARCount); i++ {
		start := off
		var typ uint16
		if off, typ, err = skipRR(msg, off); err != nil {
			return err
		}
		if typ == TypeOPT && !m.EDNS {
			m.decodeOPT(msg, start)
		}
	}

	if m.QDCount > 1 {
		return ErrTooManyQuestions
	}
	return nil
}

// decodeOPT reads the fixed fields of the OPT record at msg[off:], which
// skipRR has already checked.
func (m *Message) decodeOPT(msg []byte, off int) {
	off, _ = skipName(msg, off)
	// TYPE(2) CLASS=UDP size(2) TTL=extended RCODE(1) version(1) flags(2)
	m.EDNS = true
	m.UDPSize = be16(msg[off+2:])
	m.ExtRcode = uint16(msg[off+4])<<4 | uint16(m.Rcode)
	m.EDNSVersion = msg[off+5]
}

// readRR decodes the record at msg[off:] into rr and returns the offset
// after it. q is the question's name, read from offset headerLen, or nil:
// an owner name that is just a pointer to it (most answers' are) is copied
// from q, which is what decoding it again would give.
func readRR(msg []byte, off int, rr *RR, q *Name) (int, error) {
	if q != nil && len(msg)-off >= 2 && msg[off] == 0xc0 && msg[off+1] == headerLen {
		rr.Name.n = uint8(copy(rr.Name.buf[:], q.Bytes()))
		off += 2
	} else {
		n, next, err := readName(msg, off, rr.Name.buf[:])
		if err != nil {
			return next, err
		}
		rr.Name.n = uint8(n)
		off = next
	}
	if len(msg)-off < rrFixed {
		return off, ErrShort
	}
	rr.Type = be16(msg[off:])
	rr.Class = be16(msg[off+2:])
	rr.TTL = be32(msg[off+4:])
	rdlen := int(be16(msg[off+8:]))
	off += rrFixed
	if len(msg)-off < rdlen {
		return off, ErrRData
	}
	end := off + rdlen
	rr.DataLen = 0
	if err := rr.decodeData(msg[:end], off); err != nil {
		return off, err
	}
	return end, nil
}

// skipRR checks the structure of the record at msg[off:] without decoding
// it, and returns the offset after it and its type.
func skipRR(msg []byte, off int) (next int, typ uint16, err error) {
	if off, err = skipName(msg, off); err != nil {
		return off, 0, err
	}
	if len(msg)-off < rrFixed {
		return off, 0, ErrShort
	}
	typ = be16(msg[off:])
	rdlen := int(be16(msg[off+8:]))
	off += rrFixed
	if len(msg)-off < rdlen {
		return off, 0, ErrRData
	}
	return off + rdlen, typ, nil
}

// decodeData writes the text form of the RDATA msg[off:] into r.DataBuf.
// msg ends where the RDATA ends; names in the RDATA may point back into it.
func (r *RR) decodeData(msg []byte, off int) error {
	rd := msg[off:]
	w := writer{buf: r.DataBuf[:]}
	switch r.Type {
	case TypeA:
		if len(rd) != 4 {
			return ErrRData
		}
		w.ipv4(rd)
	case TypeAAAA:
		if len(rd) != 16 {
			return ErrRData
		}
		w.ipv6(rd)
	case TypeNS, TypeCNAME, TypePTR, TypeDNAME:
		if err := w.name(msg, off); err != nil {
			return err
		}
	case TypeMX:
		if len(rd) < 3 {
			return ErrRData
		}
		w.uint(uint32(be16(rd)))
		w.byte(' ')
		if err := w.name(msg, off+2); err != nil {
			return err
		}
	case TypeSRV:
		if len(rd) < 7 {
			return ErrRData
		}
		for i := 0; i < 6; i += 2 {
			w.uint(uint32(be16(rd[i:])))
			w.byte(' ')
		}
		if err := w.name(msg, off+6); err != nil {
			return err
		}
	case TypeTXT:
		for len(rd) > 0 {
			l := int(rd[0])
			if len(rd) < 1+l {
				return ErrRData
			}
			w.bytes(rd[1 : 1+l])
			rd = rd[1+l:]
		}
	case TypeSOA:
		next, err := w.nameAt(msg, off)
		if err != nil {
			return err
		}
		w.byte(' ')
		if next, err = w.nameAt(msg, next); err != nil {
			return err
		}
		if len(msg)-next != 20 {
			return ErrRData
		}
		for i := next; i < len(msg); i += 4 {
			w.byte(' ')
			w.uint(be32(msg[i:]))
		}
	default:
		w.hex(rd)
	}
	r.DataLen = uint16(w.n)
	return nil
}

// readName decodes the possibly compressed name at msg[off:] into dst as
// text and returns the text length and the offset just past the name's own
// bytes (after its root label or its first pointer). It fails with ErrName if
// the text would not fit in dst, which callers make MaxName bytes long.
//
// Termination: each pointer must target an offset strictly below runStart,
// the offset where the current run of labels began, so successive runs start
// at strictly decreasing offsets; maxPointers bounds the work on top of that.
func readName(msg []byte, off int, dst []byte) (n, next int, err error) {
	next = -1
	runStart := off
	wire := 1 // wire length, counting the final root label
	ptrs := 0
	for {
		if off >= len(msg) {
			return 0, off, ErrShort
		}
		c := int(msg[off])
		switch c & 0xc0 {
		case 0x00:
			if c == 0 {
				if next < 0 {
					next = off + 1
				}
				return n, next, nil
			}
			off++
			if len(msg)-off < c {
				return 0, off, ErrShort
			}
			if wire += c + 1; wire > MaxName {
				return 0, off, ErrName
			}
			if n > 0 {
				if n >= len(dst) {
					return 0, off, ErrName
				}
				dst[n] = '.'
				n++
			}
			label := msg[off : off+c]
			if len(dst)-n >= c && allPlain(label) {
				n += copy(dst[n:], label)
			} else if n, err = appendEscaped(dst, n, label); err != nil {
				return 0, off, err
			}
			off += c
		case 0xc0:
			if len(msg)-off < 2 {
				return 0, off, ErrShort
			}
			target := (c&0x3f)<<8 | int(msg[off+1])
			if next < 0 {
				next = off + 2
			}
			if target >= runStart {
				return 0, off, ErrName
			}
			if ptrs++; ptrs > maxPointers {
				return 0, off, ErrName
			}
			runStart, off = target, target
		default: // 0x40 and 0x80: extended and reserved label types
			return 0, off, ErrName
		}
	}
}

// skipName checks the name at msg[off:] without following its pointer, and
// returns the offset after it. A pointer must still point before the name.
func skipName(msg []byte, off int) (int, error) {
	start := off
	wire := 1
	for {
		if off >= len(msg) {
			return off, ErrShort
		}
		c := int(msg[off])
		switch c & 0xc0 {
		case 0x00:
			if c == 0 {
				return off + 1, nil
			}
			if wire += c + 1; wire > MaxName {
				return off, ErrName
			}
			off += 1 + c // a label cut off shows up as ErrShort above
		case 0xc0:
			if len(msg)-off < 2 {
				return off, ErrShort
			}
			if (c&0x3f)<<8|int(msg[off+1]) >= start {
				return off, ErrName
			}
			return off + 2, nil
		default:
			return off, ErrName
		}
	}
}

// plainByte[b] reports whether a label byte is written as itself in
// presentation form: printable ASCII other than space, '.' and '\\'.
var plainByte = func() (t [256]bool) {
	for b := '!'; b <= '~'; b++ {
		t[b] = b != '.' && b != '\\'
	}
	return t
}()

func allPlain(label []byte) bool {
	for _, b := range label {
		if !plainByte[b] {
			return false
		}
	}
	return true
}

// appendEscaped writes label into dst[n:], escaping bytes that are not plain
// as \DDD, and returns the new length; ErrName if it does not fit.
func appendEscaped(dst []byte, n int, label []byte) (int, error) {
	for _, b := range label {
		if plainByte[b] {
			if n >= len(dst) {
				return n, ErrName
			}
			dst[n] = b
			n++
			continue
		}
		if len(dst)-n < 4 {
			return n, ErrName
		}
		dst[n] = '\\'
		dst[n+1] = '0' + b/100
		dst[n+2] = '0' + b/10%10
		dst[n+3] = '0' + b%10
		n += 4
	}
	return n, nil
}

func be16(b []byte) uint16 {
	_ = b[1]
	return uint16(b[0])<<8 | uint16(b[1])
}

func be32(b []byte) uint32 {
	_ = b[3]
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
