package dns

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// Helpers that spell out wire bytes for the hand-built test messages.

func u16(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }

func u32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// labels encodes labels without the terminating root label, to be followed
// by a pointer or by root().
func labels(ls ...string) []byte {
	var b []byte
	for _, l := range ls {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return b
}

// wname encodes a full uncompressed name: wname("www", "example", "com").
func wname(ls ...string) []byte { return append(labels(ls...), 0) }

func root() []byte { return []byte{0} }

// ptr is a compression pointer to off.
func ptr(off int) []byte { return []byte{0xc0 | byte(off>>8), byte(off)} }

// Header flag bits, as the 16-bit word after the ID.
const (
	fQR = 0x8000
	fAA = 0x0400
	fTC = 0x0200
	fRD = 0x0100
	fRA = 0x0080
)

func header(id, flags, qd, an, ns, ar uint16) []byte {
	return cat(u16(id), u16(flags), u16(qd), u16(an), u16(ns), u16(ar))
}

func question(name []byte, typ, class uint16) []byte { return cat(name, u16(typ), u16(class)) }

func rr(name []byte, typ, class uint16, ttl uint32, rdata []byte) []byte {
	return cat(name, u16(typ), u16(class), u32(ttl), u16(uint16(len(rdata))), rdata)
}

// mustHex decodes hex written with spaces, newlines and "#" comments.
func mustHex(s string) []byte {
	var clean strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		clean.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(clean.String())
	if err != nil {
		panic(err)
	}
	return b
}

// answerLines renders the kept answers as "name TYPE ttl data" lines.
func answerLines(m *Message) []string {
	var out []string
	for i := 0; i < m.NAnswers; i++ {
		a := &m.Answers[i]
		out = append(out, fmt.Sprintf("%s %s %d %s", a.Name.String(), TypeString(a.Type), a.TTL, a.DataBytes()))
	}
	return out
}

// sameResult reports how two parses differ, looking only at what the API
// exposes (answers past NAnswers are unspecified). It returns "" if they
// are the same.
func sameResult(a, b *Message) string {
	type hdr struct {
		ID                 uint16
		QR, AA, TC, RD, RA bool
		Op, Rcode          uint8
		Ext                uint16
		QD, AN, NS, AR     uint16
		HasQ               bool
		Q                  string
		QT, QC             uint16
		N                  int
		EDNS               bool
		UDP                uint16
		Ver                uint8
		Done               bool
	}
	h := func(m *Message) hdr {
		return hdr{m.ID, m.Response, m.Authoritative, m.Truncated, m.RecursionDesired, m.RecursionAvailable,
			m.Opcode, m.Rcode, m.ExtRcode, m.QDCount, m.ANCount, m.NSCount, m.ARCount,
			m.HasQuestion, m.Question.String(), m.QType, m.QClass, m.NAnswers, m.EDNS, m.UDPSize, m.EDNSVersion,
			m.AnswersComplete()}
	}
	if ha, hb := h(a), h(b); ha != hb {
		return fmt.Sprintf("header %+v != %+v", ha, hb)
	}
	for i := 0; i < a.NAnswers; i++ {
		x, y := &a.Answers[i], &b.Answers[i]
		if x.Name.String() != y.Name.String() || x.Type != y.Type || x.Class != y.Class || x.TTL != y.TTL ||
			string(x.DataBytes()) != string(y.DataBytes()) {
			return fmt.Sprintf("answer %d differs", i)
		}
	}
	return ""
}

func checkNoDiff(t *testing.T, a, b *Message) {
	t.Helper()
	if d := sameResult(a, b); d != "" {
		t.Fatal(d)
	}
}
