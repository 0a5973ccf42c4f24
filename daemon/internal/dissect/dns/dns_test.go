package dns

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// msgA is a plain response, written out as hex: www.example.com A, one
// answer whose owner is a compression pointer to the question name.
var msgA = mustHex(`
	1234 8180 0001 0001 0000 0000                  # id, QR RD RA, counts
	03 777777 07 6578616d706c65 03 636f6d 00       # www.example.com
	0001 0001                                      # A IN
	c00c 0001 0001 00000e10 0004 5db8d822          # -> A IN 3600 93.184.216.34
`)

// msgTypical is a realistic resolver answer: a CNAME chain ending in four
// A records (six answers), with an EDNS OPT record. Offsets: question name
// at 12 (netflix at 16, com at 24), answer 1 RDATA at 45, answer 2 RDATA
// at 67.
var msgTypical = cat(
	header(0xbeef, fQR|fRD|fRA, 1, 6, 0, 1),
	question(wname("www", "netflix", "com"), 1, 1),
	rr(ptr(12), 5, 1, 1800, cat(labels("www", "geo"), ptr(16))),                // at 33, RDATA 45..54
	rr(ptr(45), 5, 1, 300, cat(labels("www", "us-west-2", "prodaa"), ptr(16))), // at 55, RDATA 67
	rr(ptr(67), 1, 1, 60, []byte{52, 38, 7, 83}),
	rr(ptr(67), 1, 1, 60, []byte{54, 187, 119, 138}),
	rr(ptr(67), 1, 1, 60, []byte{3, 225, 92, 8}),
	rr(ptr(67), 1, 1, 60, []byte{44, 240, 158, 19}),
	rr(root(), 41, 1232, 0, nil),
)

// parseTest is a hand-built message and what Parse must make of it.
type parseTest struct {
	name    string
	msg     []byte
	err     error
	qname   string
	qtype   uint16
	answers []string // answerLines
	check   func(t *testing.T, m *Message)
}

// parseTests returns the hand-built messages; FuzzParse seeds from them too.
func parseTests() []parseTest {
	long63 := strings.Repeat("a", 63)
	return []parseTest{
		{
			name:    "A",
			msg:     msgA,
			qname:   "www.example.com",
			qtype:   1,
			answers: []string{"www.example.com A 3600 93.184.216.34"},
			check: func(t *testing.T, m *Message) {
				if m.ID != 0x1234 || !m.Response || !m.RecursionDesired || !m.RecursionAvailable ||
					m.Authoritative || m.Truncated || m.Opcode != 0 || m.Rcode != 0 || m.QClass != 1 ||
					m.QDCount != 1 || m.ANCount != 1 || m.NSCount != 0 || m.ARCount != 0 || m.EDNS {
					t.Errorf("header: %+v", m)
				}
				a := &m.Answers[0]
				if a.Class != 1 {
					t.Errorf("class %d", a.Class)
				}
			},
		},
		{
			name: "AAAA",
			msg: cat(header(2, fQR|fAA, 1, 3, 0, 0),
				question(wname("example", "com"), 28, 1),
				rr(ptr(12), 28, 1, 86400, mustHex("20010db8 00000000 00000000 00000001")),
				rr(ptr(12), 28, 1, 86400, mustHex("20010db8 00000001 00000000 00000000")),
				rr(ptr(12), 28, 1, 86400, mustHex("00000000 00000000 0000ffff c0000201"))),
			qname: "example.com",
			qtype: 28,
			answers: []string{
				"example.com AAAA 86400 2001:db8::1",
				"example.com AAAA 86400 2001:db8:0:1::",
				"example.com AAAA 86400 ::ffff:192.0.2.1",
			},
			check: func(t *testing.T, m *Message) {
				if !m.Authoritative || m.RecursionAvailable {
					t.Error("flags")
				}
			},
		},
		{
			name:  "CNAME chain",
			msg:   msgTypical,
			qname: "www.netflix.com",
			qtype: 1,
			answers: []string{
				"www.netflix.com CNAME 1800 www.geo.netflix.com",
				"www.geo.netflix.com CNAME 300 www.us-west-2.prodaa.netflix.com",
				"www.us-west-2.prodaa.netflix.com A 60 52.38.7.83",
				"www.us-west-2.prodaa.netflix.com A 60 54.187.119.138",
				"www.us-west-2.prodaa.netflix.com A 60 3.225.92.8",
				"www.us-west-2.prodaa.netflix.com A 60 44.240.158.19",
			},
			check: func(t *testing.T, m *Message) {
				if !m.EDNS || m.UDPSize != 1232 || m.ExtRcode != 0 {
					t.Errorf("EDNS %v %d %d", m.EDNS, m.UDPSize, m.ExtRcode)
				}
			},
		},
		{
			name: "MX",
			msg: cat(header(3, fQR, 1, 3, 0, 0),
				question(wname("example", "com"), 15, 1),
				rr(ptr(12), 15, 1, 300, cat(u16(10), labels("mail"), ptr(12))),
				rr(ptr(12), 15, 1, 300, cat(u16(20), wname("mx2", "example", "org"))),
				rr(ptr(12), 15, 1, 300, cat(u16(0), root()))), // null MX, RFC 7505
			qname: "example.com",
			qtype: 15,
			answers: []string{
				"example.com MX 300 10 mail.example.com",
				"example.com MX 300 20 mx2.example.org",
				"example.com MX 300 0 .",
			},
		},
		{
			name: "TXT",
			msg: cat(header(4, fQR, 1, 2, 0, 0),
				question(wname("example", "com"), 16, 1),
				rr(ptr(12), 16, 1, 60, cat([]byte{7}, []byte("v=spf1 "), []byte{0}, []byte{4}, []byte("-all"))),
				rr(ptr(12), 16, 1, 60, nil)),
			qname: "example.com",
			qtype: 16,
			answers: []string{
				"example.com TXT 60 v=spf1 -all",
				"example.com TXT 60 ",
			},
		},
		{
			name: "TXT cut to buffer",
			msg: cat(header(4, fQR, 1, 1, 0, 0),
				question(wname("example", "com"), 16, 1),
				rr(ptr(12), 16, 1, 60, cat([]byte{255}, bytes.Repeat([]byte("x"), 255), []byte{255}, bytes.Repeat([]byte("y"), 255)))),
			qname:   "example.com",
			qtype:   16,
			answers: []string{"example.com TXT 60 " + strings.Repeat("x", 255) + strings.Repeat("y", MaxData-255)},
		},
		{
			name: "SRV",
			msg: cat(header(5, fQR, 1, 2, 0, 0),
				question(wname("_sip", "_tcp", "example", "com"), 33, 1), // example at 22
				rr(ptr(12), 33, 1, 600, cat(u16(10), u16(60), u16(5060), labels("sip"), ptr(22))),
				rr(ptr(12), 33, 1, 600, cat(u16(0), u16(0), u16(0), root()))),
			qname: "_sip._tcp.example.com",
			qtype: 33,
			answers: []string{
				"_sip._tcp.example.com SRV 600 10 60 5060 sip.example.com",
				"_sip._tcp.example.com SRV 600 0 0 0 .",
			},
		},
		{
			name: "SOA",
			msg: cat(header(6, fQR|fAA, 1, 1, 0, 0),
				question(wname("example", "com"), 6, 1),
				rr(ptr(12), 6, 1, 3600, cat(labels("ns1"), ptr(12), labels("hostmaster"), ptr(12),
					u32(2024010101), u32(7200), u32(3600), u32(1209600), u32(300)))),
			qname:   "example.com",
			qtype:   6,
			answers: []string{"example.com SOA 3600 ns1.example.com hostmaster.example.com 2024010101 7200 3600 1209600 300"},
		},
		{
			name: "SOA cut to buffer",
			msg: cat(header(6, fQR|fAA, 1, 1, 0, 0),
				question(wname("example", "com"), 6, 1),
				rr(ptr(12), 6, 1, 3600, cat(wname(long63, long63, long63), wname(long63, long63, long63),
					u32(1), u32(2), u32(3), u32(4), u32(5)))),
			qname: "example.com",
			qtype: 6,
			answers: []string{"example.com SOA 3600 " + (long63 + "." + long63 + "." + long63 + " " +
				long63 + "." + long63 + "." + long63)[:MaxData]},
		},
		{
			name: "PTR NS DNAME",
			msg: cat(header(7, fQR, 1, 3, 0, 0),
				question(wname("34", "216", "184", "93", "in-addr", "arpa"), 12, 1),
				rr(ptr(12), 12, 1, 3600, wname("host", "example")),
				rr(wname("example"), 2, 1, 3600, cat(labels("ns"), ptr(61))), // 61: "example" of the PTR target
				rr(wname("old"), 39, 1, 3600, wname("new", "example"))),
			qname: "34.216.184.93.in-addr.arpa",
			qtype: 12,
			answers: []string{
				"34.216.184.93.in-addr.arpa PTR 3600 host.example",
				"example NS 3600 ns.example",
				"old DNAME 3600 new.example",
			},
		},
		{
			name: "NXDOMAIN with SOA in authority",
			msg: cat(header(8, fQR|fRD|fRA|3, 1, 0, 1, 0),
				question(wname("no", "such", "example"), 1, 1), // example at 20
				rr(ptr(20), 6, 1, 300, cat(labels("ns"), ptr(20), labels("admin"), ptr(20),
					u32(1), u32(2), u32(3), u32(4), u32(5)))),
			qname: "no.such.example",
			qtype: 1,
			check: func(t *testing.T, m *Message) {
				if m.Rcode != 3 || m.ExtRcode != 3 || RcodeString(uint16(m.Rcode)) != "NXDOMAIN" || m.NSCount != 1 ||
					!m.AnswersComplete() {
					t.Errorf("rcode %d ext %d ns %d", m.Rcode, m.ExtRcode, m.NSCount)
				}
			},
		},
		{
			name: "EDNS OPT with extended rcode and ECS option",
			msg: cat(header(9, fQR, 1, 0, 0, 2),
				question(wname("example", "com"), 1, 1),
				rr(root(), 41, 4096, 1<<24|0x8000, cat(u16(8), u16(7), u16(1), []byte{24, 0, 192, 0, 2})),
				rr(root(), 41, 512, 0, nil)), // a second OPT is ignored
			qname: "example.com",
			qtype: 1,
			check: func(t *testing.T, m *Message) {
				if !m.EDNS || m.UDPSize != 4096 || m.EDNSVersion != 0 || m.ExtRcode != 16 || m.Rcode != 0 ||
					RcodeString(m.ExtRcode) != "BADVERS" {
					t.Errorf("EDNS %v size %d ext %d", m.EDNS, m.UDPSize, m.ExtRcode)
				}
			},
		},
		{
			name:  "truncated flag",
			msg:   cat(header(10, fQR|fTC|fRD|fRA, 1, 0, 0, 0), question(wname("big", "example"), 255, 1)),
			qname: "big.example",
			qtype: 255,
			check: func(t *testing.T, m *Message) {
				if !m.Truncated || m.NAnswers != 0 {
					t.Error("TC not seen")
				}
			},
		},
		{
			name:  "query with opcode",
			msg:   cat(header(11, 5<<11|fRD, 1, 0, 0, 0), question(wname("example"), 6, 1)),
			qname: "example",
			qtype: 6,
			check: func(t *testing.T, m *Message) {
				if m.Response || m.Opcode != 5 || !m.RecursionDesired {
					t.Errorf("opcode %d", m.Opcode)
				}
			},
		},
		{
			name: "zero questions",
			msg: cat(header(12, fQR, 0, 1, 0, 0),
				rr(wname("example", "com"), 1, 1, 5, []byte{192, 0, 2, 7})),
			answers: []string{"example.com A 5 192.0.2.7"},
			check: func(t *testing.T, m *Message) {
				if m.HasQuestion || m.QType != 0 || m.Question.Len() != 0 {
					t.Error("question set")
				}
			},
		},
		{
			name:  "header only",
			msg:   header(13, 0, 0, 0, 0, 0),
			check: func(t *testing.T, m *Message) {},
		},
		{
			name: "two questions",
			msg: cat(header(14, fQR, 2, 1, 0, 0),
				question(wname("a", "example"), 1, 1),
				question(cat(labels("b"), ptr(14)), 28, 1),
				rr(ptr(12), 1, 1, 5, []byte{192, 0, 2, 1})),
			err:     ErrTooManyQuestions,
			qname:   "a.example",
			qtype:   1,
			answers: []string{"a.example A 5 192.0.2.1"},
		},
		{
			name: "root question",
			msg: cat(header(15, fQR, 1, 1, 0, 0), question(root(), 2, 1),
				rr(root(), 2, 1, 518400, wname("a", "root-servers", "net"))),
			qname:   "",
			qtype:   2,
			answers: []string{" NS 518400 a.root-servers.net"},
		},
		{
			name: "escaped labels",
			msg: cat(header(16, 0, 1, 0, 0, 0),
				question(cat(labels("a.b", "\x00 \\", "\x7fZ\xff"), root()), 1, 1)),
			qname: `a\046b.\000\032\092.\127Z\255`,
			qtype: 1,
		},
		{
			name:  "longest name",
			msg:   cat(header(17, 0, 1, 0, 0, 0), question(wname(long63, long63, long63, long63[:61]), 1, 1)),
			qname: long63 + "." + long63 + "." + long63 + "." + long63[:61],
			qtype: 1,
		},
		{
			name: "unknown types as hex",
			msg: cat(header(18, fQR, 1, 3, 0, 0),
				question(wname("example", "com"), 65, 1),
				rr(ptr(12), 65, 1, 300, mustHex("0001 00 0001 0006 02683202 6833")),
				rr(ptr(12), 999, 1, 300, mustHex("DEADBEEF")),
				rr(ptr(12), 10, 1, 300, bytes.Repeat([]byte{0xab}, 200))),
			qname: "example.com",
			qtype: 65,
			answers: []string{
				"example.com HTTPS 300 00010000010006026832026833",
				"example.com TYPE999 300 deadbeef",
				"example.com NULL 300 " + strings.Repeat("ab", MaxData/2),
			},
		},
		{
			name: "more answers than kept",
			msg: func() []byte {
				b := cat(header(19, fQR, 1, MaxAnswers+8, 0, 0), question(wname("many", "example"), 1, 1))
				for i := 0; i < MaxAnswers+8; i++ {
					b = append(b, rr(ptr(12), 1, 1, uint32(i), []byte{10, 0, 0, byte(i)})...)
				}
				return b
			}(),
			qname: "many.example",
			qtype: 1,
			answers: func() []string {
				var s []string
				for i := 0; i < MaxAnswers; i++ {
					s = append(s, "many.example A "+itoa(i)+" 10.0.0."+itoa(i))
				}
				return s
			}(),
		},

		// Malformed messages.
		{name: "empty", msg: nil, err: ErrShort},
		{name: "header cut", msg: msgA[:11], err: ErrShort},
		{name: "question name cut", msg: msgA[:20], err: ErrShort},
		{name: "question type cut", msg: msgA[:31], err: ErrShort},
		{
			name: "pointer to itself",
			msg:  cat(header(20, 0, 1, 0, 0, 0), ptr(12), u16(1), u16(1)),
			err:  ErrName,
		},
		{
			name: "pointer loop through a label",
			msg:  cat(header(21, 0, 1, 0, 0, 0), labels("a"), ptr(12), u16(1), u16(1)),
			err:  ErrName,
		},
		{
			name: "pointer loop in answer",
			msg: cat(header(22, fQR, 1, 1, 0, 0), question(wname("example"), 1, 1),
				rr(cat(labels("x"), ptr(25)), 1, 1, 0, []byte{1, 2, 3, 4})), // 25: the answer itself
			err:   ErrName,
			qname: "example",
			qtype: 1,
		},
		{
			name: "forward pointer",
			msg:  cat(header(23, 0, 1, 0, 0, 0), ptr(18), u16(1), u16(1), wname("x")),
			err:  ErrName,
		},
		{
			name: "pointer out of range",
			msg:  cat(header(24, 0, 1, 0, 0, 0), ptr(0x3fff), u16(1), u16(1)),
			err:  ErrName,
		},
		{
			name: "label too long",
			msg:  cat(header(25, 0, 1, 0, 0, 0), []byte{64}, bytes.Repeat([]byte("a"), 64), root(), u16(1), u16(1)),
			err:  ErrName,
		},
		{
			name: "reserved label type",
			msg:  cat(header(26, 0, 1, 0, 0, 0), []byte{0x80, 0}, u16(1), u16(1)),
			err:  ErrName,
		},
		{
			name: "name over 255 bytes",
			msg:  cat(header(27, 0, 1, 0, 0, 0), question(wname(long63, long63, long63, long63[:62]), 1, 1)),
			err:  ErrName,
		},
		{
			name: "name over 255 bytes through pointers",
			msg: cat(header(28, fQR, 1, 1, 0, 0), question(wname(long63, long63, long63), 1, 1),
				rr(cat(labels(long63), ptr(12)), 1, 1, 0, []byte{1, 2, 3, 4})),
			err:   ErrName,
			qname: long63 + "." + long63 + "." + long63,
			qtype: 1,
		},
		{
			name: "escaped name too long",
			msg: cat(header(29, 0, 1, 0, 0, 0),
				question(wname(strings.Repeat("\xff", 63), strings.Repeat("\xff", 63)), 1, 1)),
			err: ErrName,
		},
		{
			name: "rdlength past end",
			msg:  cat(msgA[:len(msgA)-6], u16(4), []byte{93, 184}),
			err:  ErrRData,
			check: func(t *testing.T, m *Message) {
				if m.NAnswers != 0 || m.AnswersComplete() || m.Question.String() != "www.example.com" {
					t.Error("partial state")
				}
			},
			qname: "www.example.com",
			qtype: 1,
		},
		{
			name:  "A with 5 bytes",
			msg:   cat(msgA[:len(msgA)-6], u16(5), []byte{93, 184, 216, 34, 0}),
			err:   ErrRData,
			qname: "www.example.com",
			qtype: 1,
		},
		{
			name: "AAAA with 4 bytes",
			msg: cat(header(30, fQR, 1, 1, 0, 0), question(wname("x"), 28, 1),
				rr(ptr(12), 28, 1, 0, []byte{1, 2, 3, 4})),
			err:   ErrRData,
			qname: "x",
			qtype: 28,
		},
		{
			name: "CNAME with bytes after the name",
			msg: cat(header(31, fQR, 1, 1, 0, 0), question(wname("x"), 5, 1),
				rr(ptr(12), 5, 1, 0, cat(wname("y"), []byte{0}))),
			err:   ErrRData,
			qname: "x",
			qtype: 5,
		},
		{
			name: "CNAME running past its RDATA",
			msg: cat(header(32, fQR, 1, 1, 0, 0), question(wname("x"), 5, 1),
				rr(ptr(12), 5, 1, 0, labels("abc")), wname("def")),
			err:   ErrRData,
			qname: "x",
			qtype: 5,
		},
		{
			name: "CNAME pointing into its own RDATA",
			msg: cat(header(33, fQR, 1, 1, 0, 0), question(wname("x"), 5, 1),
				rr(ptr(12), 5, 1, 0, cat(labels("a"), ptr(31)))), // 31: the RDATA start
			err:   ErrName,
			qname: "x",
			qtype: 5,
		},
		{
			name: "MX too short",
			msg: cat(header(34, fQR, 1, 1, 0, 0), question(wname("x"), 15, 1),
				rr(ptr(12), 15, 1, 0, u16(10))),
			err:   ErrRData,
			qname: "x",
			qtype: 15,
		},
		{
			name: "TXT string past RDATA",
			msg: cat(header(35, fQR, 1, 1, 0, 0), question(wname("x"), 16, 1),
				rr(ptr(12), 16, 1, 0, []byte{5, 'a', 'b'})),
			err:   ErrRData,
			qname: "x",
			qtype: 16,
		},
		{
			name: "SOA with 19 number bytes",
			msg: cat(header(36, fQR, 1, 1, 0, 0), question(wname("x"), 6, 1),
				rr(ptr(12), 6, 1, 0, cat(root(), root(), make([]byte, 19)))),
			err:   ErrRData,
			qname: "x",
			qtype: 6,
		},
		{
			name:    "authority cut off after good answers",
			msg:     cat(msgA[:7], []byte{1, 0, 2}, msgA[10:]), // NSCOUNT 2, none present
			err:     ErrShort,
			qname:   "www.example.com",
			qtype:   1,
			answers: []string{"www.example.com A 3600 93.184.216.34"},
			check: func(t *testing.T, m *Message) {
				if !m.AnswersComplete() || m.NSCount != 2 {
					t.Error("answers should be complete")
				}
			},
		},
		{
			name: "bad name in additional",
			msg: cat(header(37, fQR, 1, 1, 0, 1), question(wname("x"), 1, 1),
				rr(ptr(12), 1, 1, 0, []byte{1, 2, 3, 4}),
				rr(ptr(40), 1, 1, 0, []byte{1, 2, 3, 4})),
			err:     ErrName,
			qname:   "x",
			qtype:   1,
			answers: []string{"x A 0 1.2.3.4"},
		},
		{
			name: "bad record past MaxAnswers",
			msg: func() []byte {
				b := cat(header(38, fQR, 1, MaxAnswers+1, 0, 0), question(wname("x"), 1, 1))
				for i := 0; i < MaxAnswers; i++ {
					b = append(b, rr(ptr(12), 1, 1, 0, []byte{1, 2, 3, 4})...)
				}
				return append(b, rr(ptr(12), 1, 1, 0, []byte{1, 2, 3, 4})[:12]...)
			}(),
			err:     ErrRData,
			qname:   "x",
			qtype:   1,
			answers: strings.Split(strings.Repeat("x A 0 1.2.3.4\n", MaxAnswers-1)+"x A 0 1.2.3.4", "\n"),
			check: func(t *testing.T, m *Message) {
				if m.NAnswers != MaxAnswers || m.AnswersComplete() {
					t.Errorf("NAnswers %d", m.NAnswers)
				}
			},
		},
	}
}

func TestParse(t *testing.T) {
	tests := parseTests()
	var m Message
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// m is shared on purpose: each Parse must reset what the last left.
			err := Parse(tt.msg, &m)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("Parse: err %v, want %v", err, tt.err)
			}
			if got := m.Question.String(); got != tt.qname {
				t.Errorf("question %q, want %q", got, tt.qname)
			}
			if m.QType != tt.qtype {
				t.Errorf("qtype %d, want %d", m.QType, tt.qtype)
			}
			got := answerLines(&m)
			if strings.Join(got, "\n") != strings.Join(tt.answers, "\n") {
				t.Errorf("answers:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.answers, "\n"))
			}
			if tt.check != nil {
				tt.check(t, &m)
			}
		})
	}

	// Every strict prefix of a well-formed message must fail cleanly, and a
	// failure must never leave more answers than were complete.
	t.Run("prefixes", func(t *testing.T) {
		var p Message
		for _, tt := range tests {
			if tt.err != nil || len(tt.msg) == 0 {
				continue
			}
			for n := 0; n < len(tt.msg); n++ {
				err := Parse(tt.msg[:n], &p)
				if err == nil || err == ErrTooManyQuestions {
					t.Errorf("%s: prefix %d/%d parsed: %v", tt.name, n, len(tt.msg), err)
					continue
				}
				if !errors.Is(err, ErrShort) && !errors.Is(err, ErrRData) {
					t.Errorf("%s: prefix %d: %v", tt.name, n, err)
				}
				if p.NAnswers > len(tt.answers) {
					t.Errorf("%s: prefix %d: %d answers", tt.name, n, p.NAnswers)
				}
			}
		}
	})
}

func itoa(i int) string {
	var w writer
	var b [10]byte
	w.buf = b[:]
	w.uint(uint32(i))
	return string(b[:w.n])
}

func TestParseTwiceSame(t *testing.T) {
	var a, b Message
	if err := Parse(msgTypical, &a); err != nil {
		t.Fatal(err)
	}
	// b first holds a different message, to show no state leaks.
	if err := Parse(cat(msgA[:7], []byte{1, 0, 2}, msgA[10:]), &b); err != ErrShort {
		t.Fatal(err)
	}
	if err := Parse(msgTypical, &b); err != nil {
		t.Fatal(err)
	}
	checkNoDiff(t, &a, &b)
}

func TestParseDoesNotRetainInput(t *testing.T) {
	msg := bytes.Clone(msgTypical)
	var m Message
	if err := Parse(msg, &m); err != nil {
		t.Fatal(err)
	}
	want := answerLines(&m)
	for i := range msg {
		msg[i] = 0xff
	}
	if got := answerLines(&m); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("answers changed with the input:\n%v", got)
	}
}

func TestNameEqual(t *testing.T) {
	var m1, m2 Message
	if err := Parse(cat(header(1, 0, 1, 0, 0, 0), question(wname("WWW", "Example", "COM"), 1, 1)), &m1); err != nil {
		t.Fatal(err)
	}
	if err := Parse(msgA, &m2); err != nil {
		t.Fatal(err)
	}
	if !m1.Question.Equal(&m2.Question) || !m2.Question.Equal(&m1.Question) {
		t.Error("names differing in case not equal")
	}
	if m1.Question.String() != "WWW.Example.COM" {
		t.Errorf("case not kept: %s", m1.Question.String())
	}
	if !m2.Question.Equal(&m2.Answers[0].Name) {
		t.Error("same name not equal")
	}
	var rootName Name
	if rootName.Equal(&m2.Question) || rootName.String() != "" || len(rootName.Bytes()) != 0 {
		t.Error("root")
	}
	if err := Parse(cat(header(1, 0, 1, 0, 0, 0), question(wname("www", "example", "con"), 1, 1)), &m1); err != nil {
		t.Fatal(err)
	}
	if m1.Question.Equal(&m2.Question) {
		t.Error("different names equal")
	}
	b := m2.Question.Bytes()
	if cap(b) != len(b) {
		t.Error("Bytes capacity lets append clobber the name")
	}
}

func TestTypeAndRcodeStrings(t *testing.T) {
	types := map[uint16]string{1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT",
		28: "AAAA", 33: "SRV", 35: "NAPTR", 41: "OPT", 43: "DS", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY",
		64: "SVCB", 65: "HTTPS", 255: "ANY", 257: "CAA", 54: "TYPE54", 999: "TYPE999", 65535: "TYPE65535", 0: "TYPE0"}
	for v, want := range types {
		if got := TypeString(v); got != want {
			t.Errorf("TypeString(%d) = %q, want %q", v, got, want)
		}
	}
	rcodes := map[uint16]string{0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP",
		5: "REFUSED", 6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE", 16: "BADVERS",
		23: "BADCOOKIE", 12: "RCODE12", 4095: "RCODE4095"}
	for v, want := range rcodes {
		if got := RcodeString(v); got != want {
			t.Errorf("RcodeString(%d) = %q, want %q", v, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = TypeString(28) + RcodeString(3) }); n > 1 {
		// The concatenation may allocate once; the lookups must not.
		t.Errorf("known values allocate: %v", n)
	}
	if n := testing.AllocsPerRun(100, func() { sinkS = TypeString(65) }); n != 0 {
		t.Errorf("TypeString allocates %v", n)
	}
	if n := testing.AllocsPerRun(100, func() { sinkS = RcodeString(3) }); n != 0 {
		t.Errorf("RcodeString allocates %v", n)
	}
}

var sinkS string

func TestParseAllocs(t *testing.T) {
	var m Message
	if err := Parse(msgTypical, &m); err != nil || m.NAnswers != 6 {
		t.Fatalf("%v %d", err, m.NAnswers)
	}
	if n := testing.AllocsPerRun(200, func() { _ = Parse(msgTypical, &m) }); n != 0 {
		t.Errorf("Parse: %v allocs/op", n)
	}
	stream := cat(u16(uint16(len(msgTypical))), msgTypical, u16(uint16(len(msgA))), msgA, []byte{0, 40, 1})
	count := 0
	if n := testing.AllocsPerRun(200, func() {
		Split(stream, func(msg []byte) {
			if Parse(msg, &m) == nil {
				count++
			}
		})
	}); n != 0 {
		t.Errorf("Split: %v allocs/op", n)
	}
	if count == 0 {
		t.Error("Split found nothing")
	}
}

func BenchmarkParse(b *testing.B) {
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(msgTypical)))
	for b.Loop() {
		if err := Parse(msgTypical, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseQuery(b *testing.B) {
	msg := msgA[:33]
	msg = cat(msg[:6], []byte{0, 0}, msg[8:])
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := Parse(msg, &m); err != nil {
			b.Fatal(err)
		}
	}
}
