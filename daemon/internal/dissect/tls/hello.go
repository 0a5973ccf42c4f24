package tls

import "strings"

// ClientHello is the part of a TLS ClientHello that fingerprints and records
// use. Every list keeps the wire order and the GREASE values; an N field
// counts the entries kept in its array, and entries past an array's end are
// counted in Dropped. A ClientHello is about 2 KiB and holds no reference
// to the message it was parsed from: allocate one per goroutine and reuse it.
type ClientHello struct {
	// LegacyVersion is the hello's version field (0x0303 for TLS 1.2 and
	// 1.3 clients); JA3 uses it.
	LegacyVersion uint16

	Ciphers  [MaxList]uint16 // cipher suites
	NCiphers int

	Exts  [MaxList]uint16 // extension types
	NExts int

	Groups  [MaxGroups]uint16 // supported_groups (extension 10)
	NGroups int

	PointFormats  [MaxPointFormats]uint8 // ec_point_formats (extension 11)
	NPointFormats int

	SigAlgs  [MaxSigAlgs]uint16 // signature_algorithms (extension 13)
	NSigAlgs int

	Versions  [MaxVersions]uint16 // supported_versions (extension 43)
	NVersions int

	// SNI is the first host_name of the server_name extension (0), SNILen
	// its length (0 without one). With ECH it is the outer, public name.
	SNI    [MaxSNI]byte
	SNILen int

	// ALPN holds the protocol names of the ALPN extension (16), in order:
	// ALPN[i][:ALPNLen[i]] for i < NALPN.
	ALPN    [MaxALPN][MaxALPNLen]byte
	ALPNLen [MaxALPN]uint8
	NALPN   int

	// ECH is set when the encrypted_client_hello extension (0xfe0d) is
	// present: the real server name is encrypted and SNI is the public one.
	ECH bool

	// Dropped counts what did not fit: list entries past the arrays, ALPN
	// names past MaxALPN, and one for each name cut (SNI or ALPN).
	Dropped int

	// alpnLast is the real last byte of the first ALPN name, which may be
	// longer than MaxALPNLen; JA4 needs it.
	alpnLast byte
}

// ServerHello is the part of a TLS ServerHello that fingerprints and records
// use. It holds no reference to the message it was parsed from.
type ServerHello struct {
	// LegacyVersion is the hello's version field; JA3S uses it.
	LegacyVersion uint16
	// Cipher is the cipher suite the server chose.
	Cipher uint16
	// Exts lists the extension types in wire order.
	Exts  [MaxServerExts]uint16
	NExts int
	// SelectedVersion is the supported_versions extension's value (TLS 1.3
	// and later), 0 without it.
	SelectedVersion uint16
	// ALPN is the protocol the server chose: ALPN[:ALPNLen] (cut to
	// MaxALPNLen bytes).
	ALPN    [MaxALPNLen]byte
	ALPNLen int
	// HelloRetry is set when the message is a TLS 1.3 HelloRetryRequest (a
	// ServerHello with the special random of RFC 8446 4.1.3).
	HelloRetry bool
	// Dropped counts extension types past MaxServerExts, and a cut ALPN.
	Dropped int
}

// helloRetryRandom is SHA-256("HelloRetryRequest") (RFC 8446 4.1.3).
const helloRetryRandom = "\xcf\x21\xad\x74\xe5\x9a\x61\x11\xbe\x1d\x8c\x02\x1e\x65\xb8\x91" +
	"\xc2\xa2\x11\x16\x7a\xbb\x8c\x5e\x07\x9e\x09\xe2\xc8\xa8\x33\x9c"

// ParseClientHello decodes a ClientHello handshake message, header included:
// a message returned by Records, or one reassembled from QUIC CRYPTO frames
// (same format). Bytes after the 4+length bytes the header announces are
// ignored. ch is overwritten in full, also on error (then it holds what was
// decoded before the error). ParseClientHello does not allocate and keeps
// no reference to msg.
//
// The framing is checked strictly: the fixed fields, the cipher suite and
// compression lists and each extension must fit in their containers, or the
// error wraps ErrMalformed. The content of the extensions it decodes
// (server_name, supported_groups, ec_point_formats, signature_algorithms,
// ALPN, supported_versions) is read leniently: what is well formed is kept,
// the rest of that extension is skipped, and the extension type stays in
// Exts. Only the first of two extensions of the same type is decoded.
func ParseClientHello(msg []byte, ch *ClientHello) error {
	*ch = ClientHello{}
	b, err := helloBody(msg, TypeClientHello)
	if err != nil {
		return err
	}
	if len(b) < 2+32+1 {
		return errFixedPart
	}
	ch.LegacyVersion = be16(b)
	b = b[34:]
	sid := int(b[0])
	if sid > 32 || len(b) < 1+sid+2 {
		return errSessionID
	}
	b = b[1+sid:]
	cl := int(be16(b))
	if cl%2 != 0 || len(b) < 2+cl {
		return errCipherList
	}
	for i := 2; i < 2+cl; i += 2 {
		if ch.NCiphers < MaxList {
			ch.Ciphers[ch.NCiphers] = be16(b[i:])
			ch.NCiphers++
		} else {
			ch.Dropped++
		}
	}
	b = b[2+cl:]
	if len(b) < 1 || len(b) < 1+int(b[0]) {
		return errCompression
	}
	b = b[1+int(b[0]):]
	exts, err := extensionsBlock(b)
	if err != nil {
		return err
	}
	var seen uint8 // decoded extensions, one bit each
	for len(exts) > 0 {
		if len(exts) < 4 || len(exts) < 4+int(be16(exts[2:])) {
			return errExtension
		}
		t := be16(exts)
		data := exts[4 : 4+int(be16(exts[2:]))]
		exts = exts[4+len(data):]
		if ch.NExts < MaxList {
			ch.Exts[ch.NExts] = t
			ch.NExts++
		} else {
			ch.Dropped++
		}
		bit := extBit(t)
		if bit == 0 || seen&bit != 0 {
			continue
		}
		seen |= bit
		switch t {
		case ExtServerName:
			ch.readSNI(data)
		case ExtSupportedGroups:
			ch.NGroups = readU16List(vector16(data), ch.Groups[:], &ch.Dropped)
		case ExtECPointFormats:
			l := vector8(data)
			for _, v := range l {
				if ch.NPointFormats < MaxPointFormats {
					ch.PointFormats[ch.NPointFormats] = v
					ch.NPointFormats++
				} else {
					ch.Dropped++
				}
			}
		case ExtSignatureAlgorithms:
			ch.NSigAlgs = readU16List(vector16(data), ch.SigAlgs[:], &ch.Dropped)
		case ExtALPN:
			ch.readALPN(data)
		case ExtSupportedVersions:
			ch.NVersions = readU16List(vector8(data), ch.Versions[:], &ch.Dropped)
		case ExtEncryptedClientHello:
			ch.ECH = true
		}
	}
	return nil
}

// extBit gives each decoded extension type a bit, 0 for the others.
func extBit(t uint16) uint8 {
	switch t {
	case ExtServerName:
		return 1
	case ExtSupportedGroups:
		return 2
	case ExtECPointFormats:
		return 4
	case ExtSignatureAlgorithms:
		return 8
	case ExtALPN:
		return 16
	case ExtSupportedVersions:
		return 32
	case ExtEncryptedClientHello:
		return 64
	}
	return 0
}

// helloBody checks the handshake header and returns the body.
func helloBody(msg []byte, typ byte) ([]byte, error) {
	if len(msg) < handshakeHeaderLen {
		return nil, errShortHeader
	}
	if msg[0] != typ {
		if typ == TypeClientHello {
			return nil, errNotClientHello
		}
		return nil, errNotServerHello
	}
	n := be24(msg[1:])
	if len(msg)-handshakeHeaderLen < n {
		return nil, errBodyLength
	}
	return msg[handshakeHeaderLen : handshakeHeaderLen+n], nil
}

// extensionsBlock returns the extensions of a hello whose fixed part has been
// read: none when the body ends there (as SSL 3.0 hellos do).
func extensionsBlock(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if len(b) < 2 || len(b) < 2+int(be16(b)) {
		return nil, errExtensionsBlock
	}
	return b[2 : 2+int(be16(b))], nil
}

// vector16 returns the content of a vector with a 2-byte length, cut to the
// bytes present; vector8 does the same for a 1-byte length.
func vector16(b []byte) []byte {
	if len(b) < 2 {
		return nil
	}
	return b[2:min(len(b), 2+int(be16(b)))]
}

func vector8(b []byte) []byte {
	if len(b) < 1 {
		return nil
	}
	return b[1:min(len(b), 1+int(b[0]))]
}

// readU16List stores the 16-bit values of l in dst and returns their number,
// counting the values that do not fit in *dropped. An odd last byte is
// ignored.
func readU16List(l []byte, dst []uint16, dropped *int) int {
	n := 0
	for i := 0; i+1 < len(l); i += 2 {
		if n < len(dst) {
			dst[n] = be16(l[i:])
			n++
		} else {
			*dropped++
		}
	}
	return n
}

// readSNI keeps the first host_name (type 0) entry of a server_name list.
func (ch *ClientHello) readSNI(data []byte) {
	l := vector16(data)
	for len(l) >= 3 {
		typ, n := l[0], int(be16(l[1:]))
		if len(l) < 3+n {
			return
		}
		if typ == 0 {
			ch.SNILen = copy(ch.SNI[:], l[3:3+n])
			if n > MaxSNI {
				ch.Dropped++
			}
			return
		}
		l = l[3+n:]
	}
}

// readALPN keeps the protocol names of an ALPN extension.
func (ch *ClientHello) readALPN(data []byte) {
	l := vector16(data)
	for len(l) >= 1 {
		n := int(l[0])
		if len(l) < 1+n {
			return
		}
		name := l[1 : 1+n]
		l = l[1+n:]
		if ch.NALPN == 0 && n > 0 {
			ch.alpnLast = name[n-1]
		}
		if ch.NALPN == MaxALPN {
			ch.Dropped++
			continue
		}
		if n > MaxALPNLen {
			ch.Dropped++
		}
		ch.ALPNLen[ch.NALPN] = uint8(copy(ch.ALPN[ch.NALPN][:], name))
		ch.NALPN++
	}
}

// ParseServerHello decodes a ServerHello handshake message, header included,
// as ParseClientHello does a ClientHello: strict framing, lenient content of
// the supported_versions and ALPN extensions, trailing bytes ignored, sh
// overwritten in full, no allocation, no reference to msg kept. The layout
// of TLS 1.3 drafts 1 to 21 (version 0x7f01 to 0x7f15: no session id and no
// compression method) is understood.
func ParseServerHello(msg []byte, sh *ServerHello) error {
	*sh = ServerHello{}
	b, err := helloBody(msg, TypeServerHello)
	if err != nil {
		return err
	}
	if len(b) < 2+32+1 {
		return errFixedPart
	}
	sh.LegacyVersion = be16(b)
	sh.HelloRetry = string(b[2:34]) == helloRetryRandom
	b = b[34:]
	if v := sh.LegacyVersion; v>>8 == 0x7f && v&0xff < 22 {
		// TLS 1.3 drafts before 22: no session id, no compression method.
		if len(b) < 2 {
			return errServerCipher
		}
		sh.Cipher = be16(b)
		b = b[2:]
	} else {
		sid := int(b[0])
		if sid > 32 || len(b) < 1+sid {
			return errSessionID
		}
		b = b[1+sid:]
		if len(b) < 3 {
			return errServerCipher
		}
		sh.Cipher = be16(b)
		b = b[3:]
	}
	exts, err := extensionsBlock(b)
	if err != nil {
		return err
	}
	var seenVersion, seenALPN bool
	for len(exts) > 0 {
		if len(exts) < 4 || len(exts) < 4+int(be16(exts[2:])) {
			return errExtension
		}
		t := be16(exts)
		data := exts[4 : 4+int(be16(exts[2:]))]
		exts = exts[4+len(data):]
		if sh.NExts < MaxServerExts {
			sh.Exts[sh.NExts] = t
			sh.NExts++
		} else {
			sh.Dropped++
		}
		switch {
		case t == ExtSupportedVersions && !seenVersion:
			seenVersion = true
			if len(data) >= 2 {
				sh.SelectedVersion = be16(data)
			}
		case t == ExtALPN && !seenALPN:
			seenALPN = true
			if l := vector16(data); len(l) >= 1 && len(l) >= 1+int(l[0]) {
				n := int(l[0])
				if n > MaxALPNLen {
					sh.Dropped++
				}
				sh.ALPNLen = copy(sh.ALPN[:], l[1:1+n])
			}
		}
	}
	return nil
}

// HasExt reports whether the hello carries an extension of type t (among
// the first MaxList).
func (ch *ClientHello) HasExt(t uint16) bool {
	for _, e := range ch.Exts[:ch.NExts] {
		if e == t {
			return true
		}
	}
	return false
}

// SNIString returns the server name (empty without one). It allocates.
func (ch *ClientHello) SNIString() string { return string(ch.SNI[:ch.SNILen]) }

// ALPNProto returns the i-th ALPN protocol name; it aliases ch.
func (ch *ClientHello) ALPNProto(i int) []byte { return ch.ALPN[i][:ch.ALPNLen[i]] }

// ALPNString returns the ALPN protocol names joined with commas ("h2,http/1.1"),
// as the tls record's alpn field wants them. It allocates.
func (ch *ClientHello) ALPNString() string {
	var sb strings.Builder
	for i := range ch.NALPN {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.Write(ch.ALPNProto(i))
	}
	return sb.String()
}

// MaxVersion returns the highest non-GREASE supported_versions entry, or
// LegacyVersion when the extension is absent or lists only GREASE. It is
// the version the client asks for at most.
func (ch *ClientHello) MaxVersion() uint16 {
	var v uint16
	for _, x := range ch.Versions[:ch.NVersions] {
		if !IsGREASE(x) && x > v {
			v = x
		}
	}
	if v == 0 {
		return ch.LegacyVersion
	}
	return v
}

// Version returns the negotiated version: SelectedVersion when the server
// sent supported_versions, else LegacyVersion.
func (sh *ServerHello) Version() uint16 {
	if sh.SelectedVersion != 0 {
		return sh.SelectedVersion
	}
	return sh.LegacyVersion
}

// ALPNString returns the protocol the server chose (empty without one). It
// allocates.
func (sh *ServerHello) ALPNString() string { return string(sh.ALPN[:sh.ALPNLen]) }
