package dhcp

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParse checks that Parse survives any input, leaves it untouched, and
// gives the same result whatever the Message held before.
// Seeds: the hand-built test messages and the DHCP messages of corpus
// captures.
func FuzzParse(f *testing.F) {
	f.Add(discover())
	f.Add(msgBuilder{op: BootRequest, mac: testMAC,
		file:    opts(opt(OptHostName, 'f'), []byte{OptEnd}),
		sname:   opts(opt(OptVendorClass, 's'), []byte{OptEnd}),
		options: opts(opt(OptOverload, 3), opt(OptClientFQDN, 4, 0, 0, 1, 'a', 0), []byte{OptEnd})}.bytes())
	for _, msg := range corpusSeeds(f) {
		f.Add(msg)
	}
	var m1, m2 Message
	f.Fuzz(func(t *testing.T, msg []byte) {
		orig := bytes.Clone(msg)
		err1 := Parse(msg, &m1)
		if !bytes.Equal(msg, orig) {
			t.Fatal("Parse modified its input")
		}
		if err1 != nil && !errors.Is(err1, ErrShort) && !errors.Is(err1, ErrCookie) {
			t.Fatalf("unexpected error %v", err1)
		}
		if len(msg) < headerLen && m1 != (Message{}) {
			t.Fatal("fields set from a message shorter than the header")
		}
		if err1 == ErrCookie && (m1.Type != 0 || m1.HostName.Len() != 0) {
			t.Fatal("options read without a cookie")
		}
		_ = Parse(discover(), &m2)
		err2 := Parse(msg, &m2)
		if err1 != err2 {
			t.Fatalf("errors differ: %v, %v", err1, err2)
		}
		if !same(&m1, &m2) {
			t.Fatalf("results differ:\n%+v\n%+v", m1, m2)
		}
		if p := m1.AppendParamList(nil); len(p) > 4*255 {
			t.Fatalf("param list text of %d bytes", len(p))
		}
	})
}

// same compares the visible parts of two Messages.
func same(a, b *Message) bool {
	texts := func(m *Message) [][]byte {
		return [][]byte{m.HostName.Bytes(), m.FQDN.Bytes(), m.ParamList.Bytes(), m.VendorClass.Bytes(), m.ClientID.Bytes()}
	}
	ta, tb := texts(a), texts(b)
	for i := range ta {
		if !bytes.Equal(ta[i], tb[i]) {
			return false
		}
	}
	return a.Op == b.Op && a.HType == b.HType && a.HLen == b.HLen && a.Hops == b.Hops && a.XID == b.XID &&
		a.Secs == b.Secs && a.Flags == b.Flags && a.CIAddr == b.CIAddr && a.YIAddr == b.YIAddr &&
		a.SIAddr == b.SIAddr && a.GIAddr == b.GIAddr && a.CHAddr == b.CHAddr && a.Type == b.Type &&
		a.FQDNFlags == b.FQDNFlags && a.HasFQDN == b.HasFQDN && a.RequestedIP == b.RequestedIP &&
		a.ServerID == b.ServerID && a.BadOptions == b.BadOptions
}
