package tls

import (
	"crypto/md5"
	"encoding/hex"
	"strings"
	"testing"
)

func parsed(t testing.TB, s clientHelloSpec) *ClientHello {
	t.Helper()
	ch := new(ClientHello)
	if err := ParseClientHello(s.marshal(), ch); err != nil {
		t.Fatal(err)
	}
	return ch
}

func TestJA3(t *testing.T) {
	tests := []struct {
		name string
		spec clientHelloSpec
		want string
	}{
		{"chrome-like: GREASE removed, wire order", chromeLike(),
			"771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53," +
				"27-0-51-16-17513-23-45-13-5-35-18-43-65281-11-10-21,29-23-24,0"},
		{"no extensions", clientHelloSpec{version: 0x0300, ciphers: []uint16{0x000a, 0x0005}, noExts: true},
			"768,10-5,,,"},
		{"empty lists", clientHelloSpec{exts: []ext{groupsExt(), pointFormatsExt()}}, "771,,10-11,,"},
		{"several point formats", clientHelloSpec{ciphers: []uint16{0x2f}, exts: []ext{pointFormatsExt(0, 1, 2)}},
			"771,47,11,,0-1-2"},
	}
	for _, tt := range tests {
		ch := parsed(t, tt.spec)
		got := string(AppendJA3String(nil, ch))
		if got != tt.want {
			t.Errorf("%s: JA3 string\n got %s\nwant %s", tt.name, got, tt.want)
		}
		sum := md5.Sum([]byte(tt.want))
		if h := string(AppendJA3(nil, ch)); h != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: JA3 %s is not the MD5 of its string", tt.name, h)
		}
	}
	// Appending keeps what dst held.
	ch := parsed(t, chromeLike())
	if got := string(AppendJA3([]byte("ja3="), ch)); !strings.HasPrefix(got, "ja3=") || len(got) != 4+32 {
		t.Errorf("AppendJA3 with a prefix: %q", got)
	}
}

func TestJA3S(t *testing.T) {
	var sh ServerHello
	msg := serverHelloSpec{version: 0x0303, cipher: 0xc030, exts: []ext{rawExt(0xff01, []byte{0}), emptyExt(0x0a0a), emptyExt(0x0023)}}.marshal()
	if err := ParseServerHello(msg, &sh); err != nil {
		t.Fatal(err)
	}
	s := string(AppendJA3SString(nil, &sh))
	if s != "771,49200,65281-35" {
		t.Errorf("JA3S string %q", s)
	}
	sum := md5.Sum([]byte(s))
	if got := string(AppendJA3S([]byte("x"), &sh)); got != "x"+hex.EncodeToString(sum[:]) {
		t.Errorf("JA3S %q", got)
	}
}

// TestJA4Spec checks the worked example of FoxIO's specification
// (technical_details/JA4.md): its cipher, extension and signature algorithm
// lists, with GREASE added, give the fingerprints the specification shows.
func TestJA4Spec(t *testing.T) {
	ch := parsed(t, chromeLike())
	for _, tt := range []struct {
		name          string
		raw, original bool
		want          string
	}{
		{"JA4", false, false, "t13d1516h2_8daaf6152771_e5627efa2ab1"},
		{"JA4_r", true, false, "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_" +
			"0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601"},
		{"JA4_o", false, true, "t13d1516h2_acb858a92679_18f69afefd3d"},
		{"JA4_ro", true, true, "t13d1516h2_1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035_" +
			"001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,0015_0403,0804,0401,0503,0805,0501,0806,0601"},
	} {
		if got := string(appendJA4(nil, ch, false, tt.raw, tt.original)); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
	if got := string(AppendJA4R(nil, ch, true)); !strings.HasPrefix(got, "q13d1516h2_002f,") {
		t.Errorf("AppendJA4R over QUIC: %s", got)
	}

	// "If there are no signature algorithms in the hello packet, then the
	// string ends without an underscore": the specification's hash for
	// that string.
	noSig := chromeLike()
	for i, e := range noSig.exts {
		if e.typ == ExtSignatureAlgorithms {
			noSig.exts[i] = sigAlgsExt()
		}
	}
	if got := string(AppendJA4(nil, parsed(t, noSig), false)); got != "t13d1516h2_8daaf6152771_6d807ffa2a79" {
		t.Errorf("without signature algorithms: %s", got)
	}
}

func TestJA4(t *testing.T) {
	base := func(exts ...ext) clientHelloSpec {
		return clientHelloSpec{ciphers: []uint16{0x1301}, exts: exts}
	}
	many := clientHelloSpec{}
	for i := range 120 {
		many.ciphers = append(many.ciphers, uint16(0x0100+i))
		many.exts = append(many.exts, emptyExt(uint16(0x0100+i)))
	}
	tests := []struct {
		name string
		spec clientHelloSpec
		quic bool
		want string // the prefix up to the first '_', or the whole fingerprint
	}{
		{"quic", base(versionsExt(0x0304)), true, "q13i0101"},
		{"legacy version without supported_versions", clientHelloSpec{version: 0x0302, ciphers: []uint16{0x2f}}, false, "t11i0100"},
		{"highest supported version, GREASE ignored", base(versionsExt(0xfafa, 0x0302, 0x0304, 0x0303)), false, "t13i0101"},
		{"unknown version", base(versionsExt(0x7f12, 0x0303)), false, "t00i0101"},
		{"fizz version", base(versionsExt(0x0304, 0xfb1a)), false, "t00i0101"},
		{"only GREASE in supported_versions", clientHelloSpec{version: 0x0301, exts: []ext{versionsExt(0x0a0a)}}, false, "t10i0001"},
		{"ssl 3.0", clientHelloSpec{version: 0x0300, noExts: true}, false, "ts3i0000"},
		{"dtls 1.2", clientHelloSpec{version: 0xfefd}, false, "td2i0000"},
		{"server_name without a host name is still 'd'", base(rawExt(ExtServerName, nil)), false, "t12d0101"},
		{"counts cap at 99", many, false, "t12i9999"},
		{"no ciphers, no extensions", clientHelloSpec{}, false, "t12i000000_000000000000_000000000000"},
		{"only sni and alpn", base(sniExt("a.example"), alpnExt("h2")), false, "t12d0102h2_"},
		{"GREASE signature algorithm ignored", base(sigAlgsExt(0x0403, 0x1a1a, 0x0804)), false,
			string(AppendJA4(nil, parsed(t, base(sigAlgsExt(0x0403, 0x0804))), false))},
	}
	for _, tt := range tests {
		got := string(AppendJA4(nil, parsed(t, tt.spec), tt.quic))
		if !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s: got %s, want %s...", tt.name, got, tt.want)
		}
	}
	// With SNI and ALPN only, the extension part is empty: zeros.
	if got := string(AppendJA4(nil, parsed(t, base(sniExt("a.example"), alpnExt("h2"))), false)); !strings.HasSuffix(got, "_000000000000") {
		t.Errorf("only sni and alpn: %s", got)
	}
}

// TestJA4ALPN checks the ALPN characters, with the specification's examples
// of names whose first or last byte is not an ASCII letter or digit.
func TestJA4ALPN(t *testing.T) {
	tests := []struct {
		alpn []string // nil: no ALPN extension
		want string
	}{
		{nil, "00"},
		{[]string{""}, "00"},
		{[]string{"h2", "http/1.1"}, "h2"},
		{[]string{"http/1.1"}, "h1"},
		{[]string{"h"}, "hh"},
		{[]string{strings.Repeat("x", 40) + "9"}, "x9"},
		{[]string{"\xab"}, "ab"},
		{[]string{"\x20"}, "20"},
		{[]string{"\xab\xcd"}, "ad"},
		{[]string{"\x20\x61"}, "21"},
		{[]string{"\x30\xab"}, "3b"},
		{[]string{"\x61\x20"}, "60"},
		{[]string{"\x30\x31\xab\xcd"}, "3d"},
		{[]string{"\x30\xab\xcd\x31"}, "01"},
	}
	for _, tt := range tests {
		spec := clientHelloSpec{ciphers: []uint16{0x1301}}
		if tt.alpn != nil {
			spec.exts = []ext{alpnExt(tt.alpn...)}
		}
		got := string(AppendJA4(nil, parsed(t, spec), false))
		if got[8:10] != tt.want {
			t.Errorf("ALPN %q: got %s, want %s", tt.alpn, got[8:10], tt.want)
		}
	}
}
