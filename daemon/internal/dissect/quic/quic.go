// Package quic recovers the TLS ClientHello from QUIC Initial packets (RFC 9000/9001 for QUIC v1,
// RFC 9369 for v2) by removing header protection and decrypting them with the Initial keys
// derived from the client's Destination Connection ID.
//
// Initial packets are encrypted, but with keys that anyone can derive from
// the Destination Connection ID (DCID) in their header and a salt fixed by
// the QUIC version (RFC 9001 section 5.2). An [Assembler] does that for the
// packets that one client sends on one UDP 5-tuple: it derives the keys from
// the first Initial packet, removes header protection, decrypts, walks the
// frames, and puts the CRYPTO frames back together until the whole
// ClientHello handshake message (type 1, 3-byte length, body) is there,
// whatever the order, duplication or splitting of the frames and packets.
// [IsInitial] is a cheap test, without cryptography, that tells whether a UDP
// payload starts with an Initial packet worth an Assembler.
//
// Versions: QUIC v1 (0x00000001) and v2 (0x6b3343cf), plus the older wire
// versions still seen in captures, whose Initial packets differ from v1 only
// by their salt: IETF drafts 23 to 34 (0xff000017-0xff000022), Facebook mvfst
// (0xfaceb002, 0xfaceb00e, based on draft 27) and Google T051 (0x54303531,
// TLS in Google QUIC frames). Google QUIC with its own crypto handshake (Q0xx)
// is not QUIC-TLS and is refused with [ErrVersion]. Only AES-128-GCM protects
// Initial packets, so that is the only cipher here.
//
// Every length read from a packet is checked against the bytes that hold it,
// no input makes the package panic, and the CRYPTO data kept per connection
// is bounded by [MaxCrypto].
package quic

import (
	"encoding/binary"
	"errors"
)

// Versions of QUIC with their own names in this package. See the package
// documentation for the full list of versions an Assembler decrypts.
const (
	VersionV1 uint32 = 0x00000001 // RFC 9000
	VersionV2 uint32 = 0x6b3343cf // RFC 9369
)

const (
	// MaxCrypto is the number of CRYPTO stream bytes, from offset 0, that an
	// Assembler keeps. A ClientHello longer than this cannot be recovered;
	// CRYPTO data beyond it is ignored and counted (see [Assembler.Ignored]).
	MaxCrypto = 16 << 10

	// MaxCIDLen is the largest connection ID length of QUIC v1 and v2.
	MaxCIDLen = 20
)

var (
	// ErrNotQUIC means the payload does not start with a QUIC long-header
	// packet (and the Assembler has not seen an Initial packet yet), or that
	// a long header is malformed, for example a connection ID longer than
	// MaxCIDLen.
	ErrNotQUIC = errors.New("quic: not a QUIC long-header packet")

	// ErrVersion means a long-header packet of a version whose Initial keys
	// are unknown here (or a Version Negotiation packet).
	ErrVersion = errors.New("quic: unsupported QUIC version")

	// ErrDecrypt means an Initial packet whose authentication tag does not
	// match with the Initial keys: it is corrupt, of another connection, or
	// not QUIC at all. After 8 such packets in a row an Assembler gives up
	// and returns this error for every later payload until Reset.
	ErrDecrypt = errors.New("quic: Initial packet does not decrypt with the Initial keys")

	// ErrShort means a packet cut off before the end that its header
	// announces (a truncated capture), or too short to hold the header
	// protection sample and the authentication tag.
	ErrShort = errors.New("quic: packet cut off")

	// ErrFrame means a decrypted Initial packet whose frames do not parse,
	// or a frame type that is not allowed in Initial packets, or a CRYPTO
	// stream that does not start with a ClientHello that fits in MaxCrypto.
	// CRYPTO frames before the bad frame are still used.
	ErrFrame = errors.New("quic: malformed frame in Initial packet")
)

// versionInfo is what differs between the versions that this package
// decrypts.
type versionInfo struct {
	salt      string // initial_salt, 20 bytes
	labels    string // prefix of the HKDF labels: "quic " or "quicv2 "
	typeShift byte   // v2 rotates the long-header packet types by one (RFC 9369 3.2)
	gquic     bool   // Google QUIC frame encoding (T051)
}

// Initial salts (RFC 9001 5.2, RFC 9369 3.3.1, draft-ietf-quic-tls-23 and
// -29 section 5.2, Google's T051).
const (
	saltV1      = "\x38\x76\x2c\xf7\xf5\x59\x34\xb3\x4d\x17\x9a\xe6\xa4\xc8\x0c\xad\xcc\xbb\x7f\x0a"
	saltV2      = "\x0d\xed\xe3\xde\xf7\x00\xa6\xdb\x81\x93\x81\xbe\x6e\x26\x9d\xcb\xf9\xbd\x2e\xd9"
	saltDraft29 = "\xaf\xbf\xec\x28\x99\x93\xd2\x4c\x9e\x97\x86\xf1\x9c\x61\x11\xe0\x43\x90\xa8\x99"
	saltDraft23 = "\xc3\xee\xf7\x12\xc7\x2e\xbb\x5a\x11\xa7\xd2\x43\x2b\xb4\x63\x65\xbe\xf9\xf5\x02"
	saltT051    = "\x7a\x4e\xde\xf4\xe7\xcc\xee\x5f\xa4\x50\x6c\x19\x12\x4f\xc8\xcc\xda\x6e\x03\x3d"
)

// lookupVersion returns how to decrypt Initial packets of wire version v.
func lookupVersion(v uint32) (versionInfo, bool) {
	switch {
	case v == VersionV1, v == 0xff000021, v == 0xff000022: // v1, drafts 33 and 34
		return versionInfo{salt: saltV1, labels: "quic "}, true
	case v == VersionV2:
		return versionInfo{salt: saltV2, labels: "quicv2 ", typeShift: 1}, true
	case v >= 0xff00001d && v <= 0xff000020: // drafts 29 to 32
		return versionInfo{salt: saltDraft29, labels: "quic "}, true
	case v >= 0xff000017 && v <= 0xff00001c, v == 0xfaceb002, v == 0xfaceb00e: // drafts 23 to 28, mvfst
		return versionInfo{salt: saltDraft23, labels: "quic "}, true
	case v == 0x54303531: // Google T051
		return versionInfo{salt: saltT051, labels: "quic ", gquic: true}, true
	}
	return versionInfo{}, false
}

// Long-header packet types, as QUIC v1 numbers them.
const (
	typeInitial   = 0
	typeZeroRTT   = 1
	typeHandshake = 2
	typeRetry     = 3
)

// packetType returns the v1 packet type of a long header's first byte.
func (vi versionInfo) packetType(first byte) byte {
	return (first>>4 - vi.typeShift) & 3
}

// IsInitial reports quickly (no crypto) whether a UDP payload starts with a
// QUIC long-header Initial packet of a supported version: the long-header
// bit, a version listed in the package documentation, the Initial packet
// type of that version, and connection ID lengths that fit MaxCIDLen and the
// payload. The engine uses it to decide whether to create an Assembler.
func IsInitial(udpPayload []byte) bool {
	b := udpPayload
	if len(b) < 7 || b[0]&0x80 == 0 {
		return false
	}
	vi, ok := lookupVersion(binary.BigEndian.Uint32(b[1:5]))
	if !ok || vi.packetType(b[0]) != typeInitial {
		return false
	}
	dl := int(b[5])
	if dl > MaxCIDLen || 6+dl >= len(b) {
		return false
	}
	sl := int(b[6+dl])
	return sl <= MaxCIDLen && 7+dl+sl < len(b)
}

// varint reads a QUIC variable-length integer (RFC 9000 section 16) from the
// start of b. n is 0 if b is too short.
func varint(b []byte) (v uint64, n int) {
	if len(b) == 0 {
		return 0, 0
	}
	n = 1 << (b[0] >> 6)
	if len(b) < n {
		return 0, 0
	}
	v = uint64(b[0] & 0x3f)
	for _, c := range b[1:n] {
		v = v<<8 | uint64(c)
	}
	return v, n
}
