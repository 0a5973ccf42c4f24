package mdns

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"tamon/daemon/internal/dissect/dns"
)

// rr is a resource record for the test message builder. Names are written
// label by label without compression; a label may hold any byte but '.'.
type rr struct {
	name string
	typ  uint16
	data []byte
}

func wireName(name string) []byte {
	var b []byte
	if name != "" {
		for _, l := range strings.Split(name, ".") {
			b = append(b, byte(len(l)))
			b = append(b, l...)
		}
	}
	return append(b, 0)
}

func aRR(name, ip string) rr {
	a := netip.MustParseAddr(ip)
	if a.Is4() {
		v := a.As4()
		return rr{name, dns.TypeA, v[:]}
	}
	v := a.As16()
	return rr{name, dns.TypeAAAA, v[:]}
}

func ptrRR(name, target string) rr { return rr{name, dns.TypePTR, wireName(target)} }

func srvRR(name, target string) rr {
	return rr{name, dns.TypeSRV, append([]byte{0, 0, 0, 0, 0x1f, 0x90}, wireName(target)...)}
}

func txtRR(name string, strs ...string) rr {
	var d []byte
	for _, s := range strs {
		d = append(d, byte(len(s)))
		d = append(d, s...)
	}
	return rr{name, dns.TypeTXT, d}
}

// message builds an mDNS message with the given questions and sections.
func message(response bool, questions []string, an, ns, ar []rr) []byte {
	b := make([]byte, 12)
	if response {
		b[2] = 0x84 // QR, AA
	}
	binary.BigEndian.PutUint16(b[4:], uint16(len(questions)))
	binary.BigEndian.PutUint16(b[6:], uint16(len(an)))
	binary.BigEndian.PutUint16(b[8:], uint16(len(ns)))
	binary.BigEndian.PutUint16(b[10:], uint16(len(ar)))
	for _, q := range questions {
		b = append(b, wireName(q)...)
		b = append(b, 0, 255, 0, 1)
	}
	for _, sec := range [][]rr{an, ns, ar} {
		for _, r := range sec {
			b = append(b, wireName(r.name)...)
			b = binary.BigEndian.AppendUint16(b, r.typ)
			b = append(b, 0x80, 1, 0, 0, 0x11, 0x94)
			b = binary.BigEndian.AppendUint16(b, uint16(len(r.data)))
			b = append(b, r.data...)
		}
	}
	return b
}

// announce is what a laptop sends when it joins: its addresses, reverse
// mappings and a service with its device info.
func announce() []byte {
	return message(true, nil, []rr{
		ptrRR("_ssh._tcp.local", "laptop._ssh._tcp.local"),
		srvRR("laptop._ssh._tcp.local", "Laptop-7.local"),
		aRR("Laptop-7.local", "192.0.2.7"),
		aRR("Laptop-7.local", "2001:db8::7"),
		ptrRR("7.2.0.192.in-addr.arpa", "Laptop-7.local"),
	}, nil, []rr{
		txtRR("Laptop 7._device-info._tcp.local", "model=MacBookPro18,3", "osxvers=23"),
		aRR("Laptop-7.local", "fe80::7"),
	})
}

func TestParse(t *testing.T) {
	type want struct {
		err      error
		host     string
		src      Source
		addrs    []string
		model    string
		response bool
		probe    bool
		records  int
	}
	many := make([]rr, 0, 12)
	var manyWant []string
	for i := 1; i <= 12; i++ {
		ip := netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}).String()
		many = append(many, aRR("big.local", ip))
		if i <= MaxAddrs {
			manyWant = append(manyWant, ip)
		}
	}
	cut := announce()
	cut = cut[:len(cut)-30]
	tests := []struct {
		name string
		msg  []byte
		want want
	}{
		{"announcement", announce(), want{host: "Laptop-7", src: SourceAddress,
			addrs: []string{"192.0.2.7", "2001:db8::7", "fe80::7"}, model: "MacBookPro18,3", response: true, records: 7}},
		{"probe: authority section of a query", message(false, []string{"myhost.local"}, nil,
			[]rr{aRR("myhost.local", "192.0.2.9")}, nil),
			want{host: "myhost", src: SourceAddress, addrs: []string{"192.0.2.9"}, probe: true, records: 1}},
		{"known answers of a query are someone else's", message(false, []string{"_airplay._tcp.local", "_raop._tcp.local"},
			[]rr{aRR("tv.local", "192.0.2.20"), srvRR("tv._airplay._tcp.local", "tv.local")}, nil, nil),
			want{}},
		{"authority section of a response is skipped", message(true, nil,
			[]rr{txtRR("x._http._tcp.local", "path=/")}, []rr{aRR("other.local", "192.0.2.30")}, []rr{aRR("me.local", "192.0.2.31")}),
			want{host: "me", src: SourceAddress, addrs: []string{"192.0.2.31"}, response: true, records: 2}},
		{"reverse PTR", message(true, nil, []rr{ptrRR("5.2.0.192.in-addr.arpa", "printer.local")}, nil, nil),
			want{host: "printer", src: SourceReverse, response: true, records: 1}},
		{"SRV target and its address in the additional section", message(true, nil,
			[]rr{srvRR("Office._ipp._tcp.local", "NPI1234.local")}, nil, []rr{aRR("NPI1234.local", "192.0.2.44")}),
			want{host: "NPI1234", src: SourceAddress, addrs: []string{"192.0.2.44"}, response: true, records: 2}},
		{"SRV target alone", message(true, nil, []rr{srvRR("Office._ipp._tcp.local", "NPI1234.local")}, nil, nil),
			want{host: "NPI1234", src: SourceSRV, response: true, records: 1}},
		{"device info instance, UTF-8 and space", message(true, nil,
			[]rr{txtRR("Lucas\u2019s iMac._device-info._tcp.local", "model=iMac14,2")}, nil, nil),
			want{host: "Lucas\u2019s iMac", src: SourceDeviceInfo, model: "iMac14,2", response: true, records: 1}},
		{"device info PTR", message(true, nil, []rr{ptrRR("_device-info._tcp.local", "Den TV._device-info._tcp.local")}, nil, nil),
			want{host: "Den TV", src: SourceDeviceInfo, response: true, records: 1}},
		{"google cast model", message(true, nil,
			[]rr{txtRR("Chromecast-abc._googlecast._tcp.local", "id=abc", "md=Chromecast Ultra", "fn=Living Room")}, nil, nil),
			want{model: "Chromecast Ultra", response: true, records: 1}},
		{"model= wins over md=", message(true, nil,
			[]rr{txtRR("a._googlecast._tcp.local", "md=Cast"), txtRR("a._device-info._tcp.local", "model=J42dAP")}, nil, nil),
			want{host: "a", src: SourceDeviceInfo, model: "J42dAP", response: true, records: 2}},
		{"upper-case suffix", message(true, nil, []rr{aRR("Box.LOCAL", "192.0.2.50")}, nil, nil),
			want{host: "Box", src: SourceAddress, addrs: []string{"192.0.2.50"}, response: true, records: 1}},
		{"escaped bytes in a host label", message(true, nil, []rr{aRR("my host\x01.local", "192.0.2.51")}, nil, nil),
			want{host: "my host\x01", src: SourceAddress, addrs: []string{"192.0.2.51"}, response: true, records: 1}},
		{"names outside .local are not hosts", message(true, nil, []rr{aRR("www.example.com", "192.0.2.52"), aRR("local", "192.0.2.53")}, nil, nil),
			want{response: true, records: 2}},
		{"addresses capped", message(true, nil, many, nil, nil),
			want{host: "big", src: SourceAddress, addrs: manyWant, response: true, records: 12}},
		{"cut off: records before the cut count", cut,
			want{err: dns.ErrShort, host: "Laptop-7", src: SourceAddress, addrs: []string{"192.0.2.7", "2001:db8::7"}, model: "MacBookPro18,3", response: true, records: 6}},
		{"too short", []byte{0, 0, 0x84}, want{err: dns.ErrShort}},
	}
	var p Parser
	var info Info
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := p.Parse(announce(), &info); err != nil {
				t.Fatal(err)
			}
			err := p.Parse(tt.msg, &info)
			w := tt.want
			if !errors.Is(err, w.err) || (w.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, w.err)
			}
			if got := info.Hostname.String(); got != w.host || info.Source != w.src {
				t.Errorf("host %q from %d, want %q from %d", got, info.Source, w.host, w.src)
			}
			var addrs []string
			for _, a := range info.Addrs[:info.NAddrs] {
				addrs = append(addrs, a.String())
			}
			if strings.Join(addrs, " ") != strings.Join(w.addrs, " ") {
				t.Errorf("addrs %v, want %v", addrs, w.addrs)
			}
			if got := info.Model.String(); got != w.model {
				t.Errorf("model %q, want %q", got, w.model)
			}
			if info.Response != w.response || info.Probe != w.probe || info.Records != w.records {
				t.Errorf("response %v probe %v records %d, want %v %v %d", info.Response, info.Probe, info.Records, w.response, w.probe, w.records)
			}
		})
	}
}

func TestTXTValue(t *testing.T) {
	tests := []struct {
		msg  string
		key  string
		want string
		ok   bool
	}{
		{"\x14model=MacBookPro18,3\x0aosxvers=23", "model=", "MacBookPro18,3", true},
		{"\x06model=\x08model=ab", "model=", "ab", true}, // empty value skipped
		{"\x20model=cut", "model=", "", false},           // runs past the end
		{"model=x", "model=", "", false},                 // no length byte
		{"\x05md=ab\x00", "md=", "ab", true},
	}
	for _, tt := range tests {
		got, ok := txtValue([]byte(tt.msg), tt.key)
		if string(got) != tt.want || ok != tt.ok {
			t.Errorf("txtValue(%q) = %q %v, want %q %v", tt.msg, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseAddr(t *testing.T) {
	for _, s := range []string{
		"192.0.2.1", "0.0.0.0", "255.255.255.255", "::", "::1", "1::", "2001:db8::7", "fe80::da30:62ff:fe56:1c",
		"2001:db8:1:2:3:4:5:6", "::ffff:192.0.2.1", "64:ff9b::192.0.2.33", "1:2:3:4:5:6:192.0.2.1", "2001:DB8::A",
		"1.2.3", "1.2.3.4.5", "01.2.3.4", "256.1.1.1", "1..2.3", "", ":", ":::", "1:::2", "1::2::3", "12345::",
		"1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::8", "1:2:3:4:5:6:7:8::", "::1.2.3", "1:2", "g::", "fe80::1%eth0", "1::2:",
		"::ffff:1.2.3.4.5", "1:2:3:4:5:6:7:1.2.3.4",
	} {
		want, werr := netip.ParseAddr(s)
		if werr == nil && want.Zone() != "" {
			werr = errors.New("zone")
		}
		v6 := strings.Contains(s, ":")
		got, ok := parseAddr([]byte(s), v6)
		if ok != (werr == nil) || (ok && got != want) {
			t.Errorf("parseAddr(%q) = %v %v, netip: %v %v", s, got, ok, want, werr)
		}
	}
}

func TestParseAllocatesNothing(t *testing.T) {
	msg := announce()
	var p Parser
	var info Info
	allocs := testing.AllocsPerRun(100, func() {
		if err := p.Parse(msg, &info); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per Parse", allocs)
	}
}

func BenchmarkParse(b *testing.B) {
	msg := announce()
	var p Parser
	var info Info
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := p.Parse(msg, &info); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseQuery(b *testing.B) {
	msg := message(false, []string{"_airplay._tcp.local", "_raop._tcp.local", "_companion-link._tcp.local"}, nil, nil, nil)
	var p Parser
	var info Info
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Parse(msg, &info); err != nil {
			b.Fatal(err)
		}
	}
}
