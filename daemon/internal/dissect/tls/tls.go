// Package tls reads TLS ClientHello and ServerHello messages from untrusted
// bytes and computes the JA3, JA3S and JA4 fingerprints.
//
// The package is written for a packet monitor. It never decrypts anything:
// it looks at the first handshake message of each direction of a connection,
// which TLS (up to 1.3) and QUIC send in the clear.
//
//   - [Records] takes the first bytes of one direction of a TCP connection
//     and returns its first handshake message once it is complete, joining
//     handshake fragments carried by several TLS records. It tells a stream
//     that is not TLS (an SSLv2-compatible hello included) from one that only
//     needs more bytes.
//   - [ParseClientHello] and [ParseServerHello] decode a handshake message
//     (4-byte header and body: what Records returns, and what QUIC carries in
//     its CRYPTO frames) into a caller-owned [ClientHello] or [ServerHello].
//   - [AppendJA3String], [AppendJA3], [AppendJA3SString], [AppendJA3S],
//     [AppendJA4] and [AppendJA4R] write fingerprints into a caller buffer.
//
// Nothing on that path allocates: the hellos keep every list in fixed-size
// arrays, the parsers keep no reference to their input once they return, and
// the Append functions only grow dst when its spare capacity is too small
// (see [FingerprintRoom]). The String methods allocate; they are meant to be
// called once per session, when a record is written.
//
// All functions are safe for concurrent use on distinct values. A ClientHello
// or ServerHello must not be filled by one goroutine while another reads it.
//
// JA3 and JA3S follow the Salesforce definition (as TShark computes them):
// decimal values, GREASE values removed, wire order kept. JA4 follows FoxIO's
// specification (technical_details/JA4.md, the BSD-3-Clause part of JA4+).
package tls

import (
	"errors"
	"strconv"
)

// Handshake message types this package decodes.
const (
	TypeClientHello = 1
	TypeServerHello = 2
)

// Limits of the fixed-size arrays in [ClientHello] and [ServerHello]. Entries
// past a limit are not kept and are counted in the hello's Dropped field;
// fingerprints are then computed over the kept entries. No hello in the
// test corpus comes near them (its longest lists: 91 cipher suites, 18
// extensions, 25 groups, 23 signature algorithms).
const (
	// MaxHello is the largest handshake message, header included, that
	// Records assembles: a full 16 KiB TLS record plus the 4-byte handshake
	// header.
	MaxHello = 16384 + 4

	// MaxList is the number of cipher suites, and of extension types, kept
	// from a ClientHello.
	MaxList = 256

	// MaxGroups is the number of supported_groups entries kept.
	MaxGroups = 64

	// MaxPointFormats is the number of ec_point_formats entries kept.
	MaxPointFormats = 16

	// MaxSigAlgs is the number of signature_algorithms entries kept.
	MaxSigAlgs = 64

	// MaxVersions is the number of supported_versions entries kept.
	MaxVersions = 32

	// MaxSNI is the longest server name kept. A longer one (no DNS name is)
	// is cut to MaxSNI bytes and counted in Dropped.
	MaxSNI = 256

	// MaxALPN is the number of ALPN protocol names kept from a ClientHello.
	MaxALPN = 8

	// MaxALPNLen is the longest ALPN protocol name kept; a longer name is cut
	// to this length (and counted in Dropped), but JA4 still sees its real
	// last byte.
	MaxALPNLen = 32

	// MaxServerExts is the number of extension types kept from a ServerHello.
	MaxServerExts = 64

	// FingerprintRoom is the spare capacity of dst (cap(dst)-len(dst)) with
	// which no Append function of this package ever grows dst, whatever the
	// hello: JA3 and JA4 build their hash input in that spare room before
	// replacing it with the digest.
	FingerprintRoom = 4096
)

// Extension types this package decodes or names.
const (
	ExtServerName           = 0x0000
	ExtSupportedGroups      = 0x000a
	ExtECPointFormats       = 0x000b
	ExtSignatureAlgorithms  = 0x000d
	ExtALPN                 = 0x0010
	ExtSupportedVersions    = 0x002b
	ExtQUICTransportParams  = 0x0039
	ExtEncryptedClientHello = 0xfe0d
)

// Errors. They are sentinels: compare with errors.Is. The errors actually
// returned wrap them and name the field that was wrong, without allocating.
var (
	// ErrNotTLS means the bytes are not the start of a TLS handshake: the
	// first record is not a handshake record (or a warning alert) of SSL
	// 3.0 to TLS 1.3 (an SSLv2-compatible ClientHello is refused with it),
	// the stream starts with a fatal alert, or the first handshake message
	// is not a ClientHello or ServerHello.
	ErrNotTLS = errors.New("tls: not a TLS handshake")

	// ErrMalformed means the bytes look like TLS but break its framing: a
	// record of another content type inside a handshake message, an empty
	// or oversized record, a length that runs past its container, a hello
	// field of an impossible size.
	ErrMalformed = errors.New("tls: malformed handshake")

	// ErrTooLarge means the first handshake message is longer than MaxHello.
	ErrTooLarge = errors.New("tls: handshake message larger than MaxHello")
)

// detailError is an error that names what was wrong and wraps one of the
// sentinels. Only package-level values of it exist, so returning one never
// allocates.
type detailError struct {
	msg  string
	kind error
}

func (e *detailError) Error() string { return e.msg }
func (e *detailError) Unwrap() error { return e.kind }

func notTLS(msg string) error    { return &detailError{"tls: " + msg, ErrNotTLS} }
func malformed(msg string) error { return &detailError{"tls: " + msg, ErrMalformed} }

var (
	errRecordType      = notTLS("reading records: first record is not a handshake record (content type 22)")
	errRecordVersion   = notTLS("reading records: record version is not SSL 3.0 to TLS 1.3")
	errFirstMsgType    = notTLS("reading records: first handshake message is not a ClientHello or ServerHello")
	errInterleaved     = malformed("reading records: record of another content type inside a handshake message")
	errNextVersion     = malformed("reading records: record version is not SSL 3.0 to TLS 1.3 inside a handshake message")
	errEmptyRecord     = malformed("reading records: empty handshake record")
	errAlertLength     = notTLS("reading records: alert record before the first handshake message is not 2 bytes")
	errFatalAlert      = notTLS("reading records: fatal alert before the first handshake message")
	errRecordTooLong   = malformed("reading records: record length over 18432")
	errTooLarge        = &detailError{"tls: reading records: handshake message longer than MaxHello", ErrTooLarge}
	errShortHeader     = malformed("parsing hello: message shorter than the 4-byte handshake header")
	errNotClientHello  = malformed("parsing ClientHello: handshake type is not 1 (ClientHello)")
	errNotServerHello  = malformed("parsing ServerHello: handshake type is not 2 (ServerHello)")
	errBodyLength      = malformed("parsing hello: handshake length runs past the message")
	errFixedPart       = malformed("parsing hello: body ends inside version and random")
	errSessionID       = malformed("parsing hello: session id longer than 32 bytes or past the body")
	errCipherList      = malformed("parsing ClientHello: cipher suites length odd or past the body")
	errCompression     = malformed("parsing ClientHello: compression methods past the body")
	errServerCipher    = malformed("parsing ServerHello: body ends inside cipher suite or compression method")
	errExtensionsBlock = malformed("parsing hello: extensions length past the body")
	errExtension       = malformed("parsing hello: extension header or data past the extensions block")
)

// IsGREASE reports whether v is one of the 16 GREASE values of RFC 8701
// (0x0a0a, 0x1a1a, ..., 0xfafa), which clients send to keep servers tolerant
// and which fingerprints ignore.
func IsGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}

// VersionString names a protocol version as found in a hello's version
// fields, for the record's version column: "TLS 1.3", "TLS 1.2", "TLS 1.1",
// "TLS 1.0", "SSL 3.0", "SSL 2.0", the DTLS versions, TLS 1.3 drafts
// ("TLS 1.3 draft 18" for 0x7f12) and Facebook's Fizz variants ("TLS 1.3
// Fizz 26" for 0xfb1a), and "" for 0 (no version seen). Other values are
// given in hex ("0x1234"); only those and the draft names allocate.
func VersionString(v uint16) string {
	switch v {
	case 0x0304:
		return "TLS 1.3"
	case 0x0303:
		return "TLS 1.2"
	case 0x0302:
		return "TLS 1.1"
	case 0x0301:
		return "TLS 1.0"
	case 0x0300:
		return "SSL 3.0"
	case 0x0002:
		return "SSL 2.0"
	case 0xfeff:
		return "DTLS 1.0"
	case 0xfefd:
		return "DTLS 1.2"
	case 0xfefc:
		return "DTLS 1.3"
	case 0:
		return ""
	}
	switch v >> 8 {
	case 0x7f:
		return "TLS 1.3 draft " + strconv.Itoa(int(v&0xff))
	case 0xfb:
		return "TLS 1.3 Fizz " + strconv.Itoa(int(v&0xff))
	}
	b := make([]byte, 0, 6)
	b = append(b, "0x"...)
	b = appendHex16(b, v)
	return string(b)
}

// appendHex16 appends v as 4 lower-case hex digits.
func appendHex16(b []byte, v uint16) []byte {
	const digits = "0123456789abcdef"
	return append(b, digits[v>>12], digits[v>>8&0xf], digits[v>>4&0xf], digits[v&0xf])
}

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }
func be24(b []byte) int    { return int(b[0])<<16 | int(b[1])<<8 | int(b[2]) }
