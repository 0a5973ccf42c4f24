package mdns

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"tamon/daemon/internal/dissect/dns"
)

// FuzzParse checks that Parse survives any input, leaves it untouched, keeps
// its invariants and gives the same result whatever the Info and Parser
// held before. Seeds: the hand-built messages and corpus mDNS messages.
func FuzzParse(f *testing.F) {
	f.Add(announce())
	f.Add(message(false, []string{"myhost.local"}, nil, []rr{aRR("myhost.local", "192.0.2.9")}, nil))
	f.Add(message(true, nil, []rr{txtRR("Den TV._device-info._tcp.local", "model=AppleTV5,3")}, nil, nil))
	for _, msg := range corpusSeeds(f) {
		f.Add(msg)
	}
	var p1, p2 Parser
	var i1, i2 Info
	f.Fuzz(func(t *testing.T, msg []byte) {
		orig := bytes.Clone(msg)
		err1 := p1.Parse(msg, &i1)
		if !bytes.Equal(msg, orig) {
			t.Fatal("Parse modified its input")
		}
		if err1 != nil && !errors.Is(err1, dns.ErrShort) && !errors.Is(err1, dns.ErrName) && !errors.Is(err1, dns.ErrRData) {
			t.Fatalf("unexpected error %v", err1)
		}
		if i1.NAddrs < 0 || i1.NAddrs > MaxAddrs || i1.Model.Len() > MaxModel {
			t.Fatalf("NAddrs %d, model %d bytes", i1.NAddrs, i1.Model.Len())
		}
		if i1.Source == SourceNone && (i1.Hostname.Len() != 0 || i1.NAddrs != 0) {
			t.Fatalf("host %q and %d addresses without a source", i1.Hostname.String(), i1.NAddrs)
		}
		if i1.Source == SourceDeviceInfo && i1.NAddrs != 0 {
			t.Fatal("addresses for a device-info name")
		}
		_ = p2.Parse(announce(), &i2)
		err2 := p2.Parse(msg, &i2)
		if err1 != err2 {
			t.Fatalf("errors differ: %v, %v", err1, err2)
		}
		if i1.Hostname.String() != i2.Hostname.String() || i1.Source != i2.Source || i1.NAddrs != i2.NAddrs ||
			i1.Model.String() != i2.Model.String() || i1.Response != i2.Response || i1.Probe != i2.Probe || i1.Records != i2.Records {
			t.Fatalf("results differ:\n%+v\n%+v", i1, i2)
		}
		for i := range i1.NAddrs {
			if i1.Addrs[i] != i2.Addrs[i] {
				t.Fatalf("address %d differs: %v, %v", i, i1.Addrs[i], i2.Addrs[i])
			}
		}
	})
}

// FuzzParseAddr checks the allocation-free address parser against
// netip.ParseAddr.
func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "2001:db8::7", "::ffff:192.0.2.1", "::", "1:2:3:4:5:6:7:8", "fe80::1", "01.1.1.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := netip.ParseAddr(s)
		if err == nil && want.Zone() != "" {
			err = errors.New("zone")
		}
		v6 := strings.Contains(s, ":")
		got, ok := parseAddr([]byte(s), v6)
		if ok != (err == nil) || ok && got != want {
			t.Fatalf("parseAddr(%q) = %v %v, netip: %v %v", s, got, ok, want, err)
		}
	})
}
