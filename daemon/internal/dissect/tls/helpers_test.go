package tls

// This file builds hellos and record streams for the table tests.

type ext struct {
	typ  uint16
	data []byte
}

// clientHelloSpec describes a ClientHello to build.
type clientHelloSpec struct {
	version     uint16
	sessionID   []byte
	ciphers     []uint16
	compression []byte // nil: the one null method
	exts        []ext
	noExts      bool // no extensions block at all (SSL 3.0 style)
}

func u16(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }

func u16s(vs ...uint16) []byte {
	var b []byte
	for _, v := range vs {
		b = append(b, u16(v)...)
	}
	return b
}

func vec16(b []byte) []byte { return append(u16(uint16(len(b))), b...) }
func vec8(b []byte) []byte  { return append([]byte{byte(len(b))}, b...) }

// handshake wraps a body in a handshake header.
func handshake(typ byte, body []byte) []byte {
	n := len(body)
	return append([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

func (s clientHelloSpec) marshal() []byte {
	v := s.version
	if v == 0 {
		v = 0x0303
	}
	b := u16(v)
	b = append(b, make([]byte, 32)...) // random
	b = append(b, vec8(s.sessionID)...)
	b = append(b, vec16(u16s(s.ciphers...))...)
	comp := s.compression
	if comp == nil {
		comp = []byte{0}
	}
	b = append(b, vec8(comp)...)
	if !s.noExts {
		var e []byte
		for _, x := range s.exts {
			e = append(e, u16(x.typ)...)
			e = append(e, vec16(x.data)...)
		}
		b = append(b, vec16(e)...)
	}
	return handshake(TypeClientHello, b)
}

// serverHelloSpec describes a ServerHello to build.
type serverHelloSpec struct {
	version   uint16
	random    []byte // nil: zeros
	sessionID []byte
	cipher    uint16
	exts      []ext
}

func (s serverHelloSpec) marshal() []byte {
	b := u16(s.version)
	r := s.random
	if r == nil {
		r = make([]byte, 32)
	}
	b = append(b, r...)
	b = append(b, vec8(s.sessionID)...)
	b = append(b, u16(s.cipher)...)
	b = append(b, 0)
	var e []byte
	for _, x := range s.exts {
		e = append(e, u16(x.typ)...)
		e = append(e, vec16(x.data)...)
	}
	b = append(b, vec16(e)...)
	return handshake(TypeServerHello, b)
}

func sniExt(name string) ext {
	entry := append([]byte{0}, vec16([]byte(name))...)
	return ext{ExtServerName, vec16(entry)}
}

func alpnExt(names ...string) ext {
	var l []byte
	for _, n := range names {
		l = append(l, vec8([]byte(n))...)
	}
	return ext{ExtALPN, vec16(l)}
}

func groupsExt(g ...uint16) ext     { return ext{ExtSupportedGroups, vec16(u16s(g...))} }
func pointFormatsExt(p ...byte) ext { return ext{ExtECPointFormats, vec8(p)} }
func sigAlgsExt(a ...uint16) ext    { return ext{ExtSignatureAlgorithms, vec16(u16s(a...))} }
func versionsExt(v ...uint16) ext   { return ext{ExtSupportedVersions, vec8(u16s(v...))} }
func emptyExt(t uint16) ext         { return ext{t, nil} }
func rawExt(t uint16, d []byte) ext { return ext{t, d} }
func serverVersionExt(v uint16) ext { return ext{ExtSupportedVersions, u16(v)} }

// record wraps a fragment in a TLS record header.
func record(typ byte, version uint16, frag []byte) []byte {
	return append([]byte{typ, byte(version >> 8), byte(version), byte(len(frag) >> 8), byte(len(frag))}, frag...)
}

// records splits msg into handshake records of the given fragment sizes
// (the last one takes the rest).
func records(msg []byte, sizes ...int) []byte {
	var out []byte
	for _, n := range sizes {
		n = min(n, len(msg))
		out = append(out, record(contentHandshake, 0x0301, msg[:n])...)
		msg = msg[n:]
	}
	if len(msg) > 0 {
		out = append(out, record(contentHandshake, 0x0301, msg)...)
	}
	return out
}

// chromeLike is a TLS 1.3 ClientHello with GREASE in every list, the lists
// of FoxIO's JA4 example (technical_details/JA4.md) and ALPN h2.
func chromeLike() clientHelloSpec {
	return clientHelloSpec{
		sessionID: make([]byte, 32),
		ciphers: []uint16{0x1a1a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
			0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035},
		exts: []ext{
			emptyExt(0x2a2a),
			rawExt(0x001b, []byte{2, 0, 2}),
			sniExt("www.example.com"),
			rawExt(0x0033, vec16(append(u16s(0x1d, 32), make([]byte, 32)...))),
			alpnExt("h2", "http/1.1"),
			rawExt(0x4469, vec16(vec8([]byte("h2")))),
			emptyExt(0x0017),
			rawExt(0x002d, vec8([]byte{1})),
			sigAlgsExt(0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601),
			rawExt(0x0005, []byte{1, 0, 0, 0, 0}),
			emptyExt(0x0023),
			emptyExt(0x0012),
			versionsExt(0x8a8a, 0x0304, 0x0303),
			rawExt(0xff01, []byte{0}),
			pointFormatsExt(0),
			groupsExt(0x3a3a, 0x001d, 0x0017, 0x0018),
			rawExt(0x0015, make([]byte, 10)),
			rawExt(0x1a1a, []byte{0}),
		},
	}
}
