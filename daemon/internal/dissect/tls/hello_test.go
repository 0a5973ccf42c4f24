package tls

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseClientHello(t *testing.T) {
	chrome := chromeLike()
	echSpec := chromeLike()
	echSpec.exts = append(echSpec.exts, rawExt(ExtEncryptedClientHello, []byte{0, 0, 1, 0, 1, 7, 0, 0, 0, 0}))
	manyCiphers := clientHelloSpec{ciphers: make([]uint16, MaxList+5)}
	for i := range manyCiphers.ciphers {
		manyCiphers.ciphers[i] = uint16(i + 1)
	}
	longSNI := clientHelloSpec{ciphers: []uint16{0x002f}, exts: []ext{sniExt(strings.Repeat("a", MaxSNI+10))}}
	longALPN := clientHelloSpec{ciphers: []uint16{0x002f}, exts: []ext{alpnExt(strings.Repeat("x", 40)+"9", "a", "b", "c", "d", "e", "f", "g", "h", "i")}}
	dupSNI := clientHelloSpec{ciphers: []uint16{0x002f}, exts: []ext{sniExt("first.example"), sniExt("second.example")}}
	otherNameFirst := clientHelloSpec{ciphers: []uint16{0x002f}, exts: []ext{
		rawExt(ExtServerName, vec16(append(append([]byte{7}, vec16([]byte("x"))...), append([]byte{0}, vec16([]byte("b.example"))...)...)))}}
	badContent := clientHelloSpec{ciphers: []uint16{0x002f}, exts: []ext{
		rawExt(ExtServerName, []byte{0, 9, 0, 0, 40, 'a'}),   // name length past the list
		rawExt(ExtSupportedGroups, []byte{0, 5, 0, 0x1d, 0}), // odd, cut
		rawExt(ExtALPN, []byte{0, 3, 2, 'h', '2', 9}),        // second name cut
		rawExt(ExtSupportedVersions, []byte{9, 3, 4}),        // cut
	}}
	ssl3 := clientHelloSpec{version: 0x0300, ciphers: []uint16{0x000a, 0x0005}, noExts: true}

	tests := []struct {
		name  string
		msg   []byte
		check func(t *testing.T, ch *ClientHello)
	}{
		{"chrome-like", chrome.marshal(), func(t *testing.T, ch *ClientHello) {
			eq(t, "version", ch.LegacyVersion, uint16(0x0303))
			eqs(t, "ciphers", ch.Ciphers[:ch.NCiphers], chrome.ciphers)
			var types []uint16
			for _, e := range chrome.exts {
				types = append(types, e.typ)
			}
			eqs(t, "exts", ch.Exts[:ch.NExts], types)
			eqs(t, "groups", ch.Groups[:ch.NGroups], []uint16{0x3a3a, 0x001d, 0x0017, 0x0018})
			eqs(t, "point formats", ch.PointFormats[:ch.NPointFormats], []uint8{0})
			eqs(t, "sigalgs", ch.SigAlgs[:ch.NSigAlgs], []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601})
			eqs(t, "versions", ch.Versions[:ch.NVersions], []uint16{0x8a8a, 0x0304, 0x0303})
			eq(t, "sni", ch.SNIString(), "www.example.com")
			eq(t, "alpn", ch.ALPNString(), "h2,http/1.1")
			eq(t, "max version", ch.MaxVersion(), uint16(0x0304))
			eq(t, "ech", ch.ECH, false)
			eq(t, "dropped", ch.Dropped, 0)
		}},
		{"ech", echSpec.marshal(), func(t *testing.T, ch *ClientHello) {
			eq(t, "ech", ch.ECH, true)
			eq(t, "outer sni", ch.SNIString(), "www.example.com")
			eq(t, "has ext", ch.HasExt(ExtEncryptedClientHello), true)
		}},
		{"ssl 3.0 without extensions", ssl3.marshal(), func(t *testing.T, ch *ClientHello) {
			eq(t, "version", ch.LegacyVersion, uint16(0x0300))
			eq(t, "nexts", ch.NExts, 0)
			eq(t, "max version", ch.MaxVersion(), uint16(0x0300))
		}},
		{"cipher list past MaxList", manyCiphers.marshal(), func(t *testing.T, ch *ClientHello) {
			eq(t, "ncipher", ch.NCiphers, MaxList)
			eq(t, "dropped", ch.Dropped, 5)
			eq(t, "last kept", ch.Ciphers[MaxList-1], uint16(MaxList))
		}},
		{"long sni", longSNI.marshal(), func(t *testing.T, ch *ClientHello) {
			eq(t, "sni length", ch.SNILen, MaxSNI)
			eq(t, "dropped", ch.Dropped, 1)
		}},
		{"long and many alpn", longALPN.marshal(), func(t *testing.T, ch *ClientHello) {
			eq(t, "nalpn", ch.NALPN, MaxALPN)
			eq(t, "first cut", int(ch.ALPNLen[0]), MaxALPNLen)
			eq(t, "dropped", ch.Dropped, 1+2) // one cut name, two names past MaxALPN
			eq(t, "real last byte", ch.alpnLast, byte('9'))
		}},
		{"duplicate sni", dupSNI.marshal(), func(t *testing.T, ch *ClientHello) {
			eq(t, "sni", ch.SNIString(), "first.example")
			eq(t, "nexts", ch.NExts, 2)
		}},
		{"other name type first", otherNameFirst.marshal(), func(t *testing.T, ch *ClientHello) {
			eq(t, "sni", ch.SNIString(), "b.example")
		}},
		{"broken extension content", badContent.marshal(), func(t *testing.T, ch *ClientHello) {
			eq(t, "sni", ch.SNIString(), "")
			eqs(t, "groups", ch.Groups[:ch.NGroups], []uint16{0x001d})
			eq(t, "alpn", ch.ALPNString(), "h2")
			eqs(t, "versions", ch.Versions[:ch.NVersions], []uint16{0x0304})
			eq(t, "nexts", ch.NExts, 4)
		}},
		{"trailing bytes after the message", append(chrome.marshal(), 1, 2, 3), func(t *testing.T, ch *ClientHello) {
			eq(t, "sni", ch.SNIString(), "www.example.com")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ch ClientHello
			if err := ParseClientHello(tt.msg, &ch); err != nil {
				t.Fatal(err)
			}
			tt.check(t, &ch)
		})
	}
}

func TestParseClientHelloErrors(t *testing.T) {
	good := chromeLike().marshal()
	body := good[4:]
	// Offsets in the body: version 0, random 2, session id length 34.
	sidAt, ciphersAt := 34, 34+1+32
	tests := []struct {
		name string
		msg  []byte
	}{
		{"empty", nil},
		{"short header", good[:3]},
		{"server hello type", append([]byte{2}, good[1:]...)},
		{"length past the message", good[:len(good)-1]},
		{"body ends in random", handshake(1, body[:20])},
		{"session id over 32", handshake(1, patch(body, sidAt, 33))},
		{"odd cipher list", handshake(1, patch(body, ciphersAt+1, 31))},
		{"cipher list past the body", handshake(1, patch(body, ciphersAt, 0x40))},
		{"no compression byte", handshake(1, body[:ciphersAt+2+32])},
		{"compression past the body", handshake(1, append(bytes.Clone(body[:ciphersAt+2+32]), 5, 0))},
		{"extensions length past the body", handshake(1, append(bytes.Clone(body[:ciphersAt+2+32+2]), 0x10, 0))},
		{"one byte of extensions length", handshake(1, append(bytes.Clone(body[:ciphersAt+2+32+2]), 0))},
		{"extension past the block", handshake(1, append(bytes.Clone(body[:ciphersAt+2+32+2]), 0, 4, 0, 0, 0, 9))},
		{"extension header cut", handshake(1, append(bytes.Clone(body[:ciphersAt+2+32+2]), 0, 3, 0, 0, 0))},
	}
	for _, tt := range tests {
		var ch ClientHello
		err := ParseClientHello(tt.msg, &ch)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", tt.name, err)
		}
		if err != nil && !strings.Contains(err.Error(), "parsing") {
			t.Errorf("%s: error %q does not name the action", tt.name, err)
		}
	}
}

// TestParseTruncated cuts hello bodies at every length, keeping the header
// consistent: no panic, and any error wraps ErrMalformed.
func TestParseTruncated(t *testing.T) {
	ch := chromeLike().marshal()[4:]
	sh := serverHelloSpec{version: 0x0303, cipher: 0x1301, sessionID: make([]byte, 32),
		exts: []ext{serverVersionExt(0x0304), alpnExt("h2")}}.marshal()[4:]
	var c ClientHello
	var s ServerHello
	for n := range len(ch) + 1 {
		if err := ParseClientHello(handshake(1, ch[:n]), &c); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("client hello cut at %d: %v", n, err)
		}
	}
	for n := range len(sh) + 1 {
		if err := ParseServerHello(handshake(2, sh[:n]), &s); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("server hello cut at %d: %v", n, err)
		}
	}
}

// TestParseClientHelloReuse checks that a ClientHello keeps nothing of the
// previous message.
func TestParseClientHelloReuse(t *testing.T) {
	var reused, fresh ClientHello
	small := clientHelloSpec{ciphers: []uint16{0x002f}, exts: []ext{groupsExt(0x17)}}.marshal()
	if err := ParseClientHello(chromeLike().marshal(), &reused); err != nil {
		t.Fatal(err)
	}
	if err := ParseClientHello(small, &reused); err != nil {
		t.Fatal(err)
	}
	if err := ParseClientHello(small, &fresh); err != nil {
		t.Fatal(err)
	}
	if reused != fresh {
		t.Fatal("a reused ClientHello differs from a fresh one")
	}
}

func TestGREASE(t *testing.T) {
	var n int
	for v := range 0x10000 {
		if IsGREASE(uint16(v)) {
			n++
			if v&0xff != v>>8 || v&0x0f != 0x0a {
				t.Errorf("%#04x taken for GREASE", v)
			}
		}
	}
	if n != 16 {
		t.Errorf("%d GREASE values, want 16", n)
	}
	for _, v := range []uint16{0xeded, 0xeeee, 0xefef, 0x0a1a, 0xfafb} {
		if IsGREASE(v) {
			t.Errorf("%#04x taken for GREASE", v)
		}
	}
}

func TestParseServerHello(t *testing.T) {
	hrr := []byte(helloRetryRandom)
	tests := []struct {
		name    string
		msg     []byte
		version uint16 // negotiated
		cipher  uint16
		exts    []uint16
		alpn    string
		retry   bool
		ja3s    string
	}{
		{"tls 1.3", serverHelloSpec{version: 0x0303, cipher: 0x1301, sessionID: make([]byte, 32),
			exts: []ext{rawExt(0x0033, make([]byte, 36)), serverVersionExt(0x0304)}}.marshal(),
			0x0304, 0x1301, []uint16{51, 43}, "", false, "771,4865,51-43"},
		{"tls 1.2 with alpn", serverHelloSpec{version: 0x0303, cipher: 0xc02f,
			exts: []ext{rawExt(0xff01, []byte{0}), emptyExt(0x0000), alpnExt("h2"), emptyExt(0x2a2a)}}.marshal(),
			0x0303, 0xc02f, []uint16{0xff01, 0, 16, 0x2a2a}, "h2", false, "771,49199,65281-0-16"},
		{"hello retry request", serverHelloSpec{version: 0x0303, cipher: 0x1302, random: hrr,
			exts: []ext{serverVersionExt(0x0304), rawExt(0x0033, u16(0x001d))}}.marshal(),
			0x0304, 0x1302, []uint16{43, 51}, "", true, "771,4866,43-51"},
		{"tls 1.0 without extensions", handshake(2, append(append(u16(0x0301), make([]byte, 33)...), 0, 0x05, 0)),
			0x0301, 0x0005, nil, "", false, "769,5,"},
		// Draft 18 (arkime_tls13.pcap): no session id, no compression method.
		{"tls 1.3 draft 18", handshake(2, append(append(append(u16(0x7f12), make([]byte, 32)...), u16(0x1301)...),
			vec16(append(u16(40), vec16(make([]byte, 36))...))...)),
			0x7f12, 0x1301, []uint16{40}, "", false, "32530,4865,40"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sh ServerHello
			if err := ParseServerHello(tt.msg, &sh); err != nil {
				t.Fatal(err)
			}
			eq(t, "version", sh.Version(), tt.version)
			eq(t, "cipher", sh.Cipher, tt.cipher)
			eqs(t, "exts", sh.Exts[:sh.NExts], tt.exts)
			eq(t, "alpn", sh.ALPNString(), tt.alpn)
			eq(t, "retry", sh.HelloRetry, tt.retry)
			eq(t, "ja3s_full", string(AppendJA3SString(nil, &sh)), tt.ja3s)
		})
	}
	var sh ServerHello
	for _, bad := range [][]byte{nil, {2, 0, 0}, chromeLike().marshal(), handshake(2, make([]byte, 20)),
		handshake(2, append(append(u16(0x0303), make([]byte, 32)...), 40)),               // session id over 32
		handshake(2, append(append(u16(0x0303), make([]byte, 33)...), 0x13)),             // cipher cut
		handshake(2, append(append(u16(0x0303), make([]byte, 33)...), 0x13, 1, 0, 0, 9)), // extensions past the body
	} {
		if err := ParseServerHello(bad, &sh); !errors.Is(err, ErrMalformed) {
			t.Errorf("% x: got %v, want ErrMalformed", bad, err)
		}
	}
}

func TestVersionString(t *testing.T) {
	for v, want := range map[uint16]string{
		0x0304: "TLS 1.3", 0x0303: "TLS 1.2", 0x0302: "TLS 1.1", 0x0301: "TLS 1.0", 0x0300: "SSL 3.0",
		0x0002: "SSL 2.0", 0xfeff: "DTLS 1.0", 0xfefd: "DTLS 1.2", 0xfefc: "DTLS 1.3",
		0x7f12: "TLS 1.3 draft 18", 0xfb1a: "TLS 1.3 Fizz 26", 0x1234: "0x1234", 0x0a0a: "0x0a0a", 0: "",
	} {
		if got := VersionString(v); got != want {
			t.Errorf("VersionString(%#04x) = %q, want %q", v, got, want)
		}
	}
}

// patch returns a copy of b with b[i] set to v.
func patch(b []byte, i int, v byte) []byte {
	c := bytes.Clone(b)
	c[i] = v
	return c
}

// eq fails the test when got and want differ.
func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

// eqs fails the test when two slices differ in content (nil and empty are
// alike).
func eqs[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}
