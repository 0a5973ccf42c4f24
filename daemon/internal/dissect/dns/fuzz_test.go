package dns

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParse checks that Parse survives any input and keeps its invariants.
// Seeds: the hand-built test messages, DNS messages from a few corpus
// captures, and testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, tt := range parseTests() {
		f.Add(tt.msg)
	}
	// Real messages from the shared corpus, when it is there.
	for _, name := range []string{"arkime_dns-udp.pcap", "zeek_dns-edns-ecs.pcap", "zeek_dns_dns-invalid-names.pcap"} {
		for _, msg := range captureMessages(name) {
			f.Add(msg)
		}
	}
	var m1, m2 Message
	f.Fuzz(func(t *testing.T, msg []byte) {
		orig := bytes.Clone(msg)
		err1 := Parse(msg, &m1)
		if !bytes.Equal(msg, orig) {
			t.Fatal("Parse modified its input")
		}
		if err1 != nil && !errors.Is(err1, ErrShort) && !errors.Is(err1, ErrName) &&
			!errors.Is(err1, ErrRData) && !errors.Is(err1, ErrTooManyQuestions) {
			t.Fatalf("unexpected error %v", err1)
		}
		checkInvariants(t, msg, err1, &m1)

		// m2 first holds another message: a second Parse of msg must give
		// the same result whatever the Message held before.
		_ = Parse(msgTypical, &m2)
		err2 := Parse(msg, &m2)
		if err1 != err2 {
			t.Fatalf("errors differ: %v, %v", err1, err2)
		}
		if d := sameResult(&m1, &m2); d != "" {
			t.Fatal(d)
		}
	})
}

func checkInvariants(t *testing.T, msg []byte, err error, m *Message) {
	t.Helper()
	if m.NAnswers < 0 || m.NAnswers > MaxAnswers || m.NAnswers > int(m.ANCount) {
		t.Fatalf("NAnswers %d (ANCount %d)", m.NAnswers, m.ANCount)
	}
	if len(msg) < headerLen && (err != ErrShort || m.ID != 0) {
		t.Fatalf("short message: %v", err)
	}
	if m.HasQuestion && m.QDCount == 0 {
		t.Fatal("HasQuestion without QDCount")
	}
	if !m.HasQuestion && m.Question.Len() != 0 {
		t.Fatal("question name without HasQuestion")
	}
	if (err == nil || err == ErrTooManyQuestions) && (!m.AnswersComplete() || m.NAnswers != min(int(m.ANCount), MaxAnswers) ||
		m.HasQuestion != (m.QDCount > 0)) {
		t.Fatalf("parsed but incomplete: %d answers of %d", m.NAnswers, m.ANCount)
	}
	if err == ErrTooManyQuestions && m.QDCount < 2 {
		t.Fatal("ErrTooManyQuestions with QDCount < 2")
	}
	checkName(t, &m.Question)
	owners := ownerOffsets(msg, m)
	var name [MaxName]byte
	for i := 0; i < m.NAnswers; i++ {
		a := &m.Answers[i]
		checkName(t, &a.Name)
		// Each owner name reads as it does on its own (readRR copies the
		// question's text for a pointer to the question).
		if n, _, err := readName(msg, owners[i], name[:]); err != nil || !bytes.Equal(name[:n], a.Name.Bytes()) {
			t.Fatalf("answer %d: owner %q, read alone %q (%v)", i, a.Name.Bytes(), name[:n], err)
		}
		if int(a.DataLen) > MaxData || len(a.DataBytes()) != int(a.DataLen) {
			t.Fatalf("DataLen %d", a.DataLen)
		}
	}
	if !m.EDNS && (m.UDPSize != 0 || m.ExtRcode != uint16(m.Rcode)) {
		t.Fatal("EDNS fields without EDNS")
	}
}

// checkName checks that a name is at most MaxName bytes of printable ASCII
// in which every '\\' starts a \DDD escape.
func checkName(t *testing.T, n *Name) {
	t.Helper()
	b := n.Bytes()
	if len(b) > MaxName {
		t.Fatalf("name of %d bytes", len(b))
	}
	if len(b) > 0 && (b[0] == '.' || b[len(b)-1] == '.') {
		t.Fatalf("name %q starts or ends with a dot", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c <= ' ' || c >= 0x7f {
			t.Fatalf("name %q has byte %#x", b, c)
		}
		if c == '\\' {
			if i+3 >= len(b) || !isDigit(b[i+1]) || !isDigit(b[i+2]) || !isDigit(b[i+3]) ||
				int(b[i+1]-'0')*100+int(b[i+2]-'0')*10+int(b[i+3]-'0') > 255 {
				t.Fatalf("name %q: bad escape at %d", b, i)
			}
			i += 3
		}
	}
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// ownerOffsets returns where the owner names of m's kept answers start in
// msg, walking the message the way Parse does.
func ownerOffsets(msg []byte, m *Message) []int {
	off := headerLen
	var err error
	for range m.QDCount {
		if off, err = skipName(msg, off); err != nil {
			return nil
		}
		off += 4
	}
	var offs []int
	for range m.NAnswers {
		offs = append(offs, off)
		if off, _, err = skipRR(msg, off); err != nil {
			break
		}
	}
	return offs
}
