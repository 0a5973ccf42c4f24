package tls

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"slices"

	"tamon/daemon/internal/decimal"
)

// The Append functions below append to dst and return the extended slice,
// like the append built-in. They do not allocate when dst has at least
// FingerprintRoom bytes of spare capacity; the JA3 and JA4 hash functions
// use that spare room as workspace, so bytes of dst's backing array past the
// returned length may be overwritten.

// AppendJA3String appends the JA3 string of a ClientHello, as defined by
// Salesforce and computed by TShark: five comma-separated fields, the
// decimal legacy version, then the cipher suites, the extension types, the
// supported groups and the EC point formats, each a dash-separated list of
// decimal values in wire order with GREASE values removed.
// Example: "771,4865-4866-4867,0-23-65281-10-11,29-23-24,0".
func AppendJA3String(dst []byte, ch *ClientHello) []byte {
	dst = decimal.AppendUint(dst, uint64(ch.LegacyVersion))
	dst = append(dst, ',')
	dst = appendDecList(dst, ch.Ciphers[:ch.NCiphers])
	dst = append(dst, ',')
	dst = appendDecList(dst, ch.Exts[:ch.NExts])
	dst = append(dst, ',')
	dst = appendDecList(dst, ch.Groups[:ch.NGroups])
	dst = append(dst, ',')
	for i, v := range ch.PointFormats[:ch.NPointFormats] {
		if i > 0 {
			dst = append(dst, '-')
		}
		dst = decimal.AppendUint(dst, uint64(v))
	}
	return dst
}

// AppendJA3 appends the JA3 fingerprint of a ClientHello: the lower-case hex
// MD5 of its JA3 string (32 characters).
func AppendJA3(dst []byte, ch *ClientHello) []byte {
	n := len(dst)
	dst = AppendJA3String(dst, ch)
	sum := md5.Sum(dst[n:])
	return hex.AppendEncode(dst[:n], sum[:])
}

// AppendJA3SString appends the JA3S string of a ServerHello: the decimal
// legacy version, the chosen cipher suite and the dash-separated extension
// types in wire order (GREASE removed), comma-separated.
// Example: "771,4865,43-51".
func AppendJA3SString(dst []byte, sh *ServerHello) []byte {
	dst = decimal.AppendUint(dst, uint64(sh.LegacyVersion))
	dst = append(dst, ',')
	dst = decimal.AppendUint(dst, uint64(sh.Cipher))
	dst = append(dst, ',')
	return appendDecList(dst, sh.Exts[:sh.NExts])
}

// AppendJA3S appends the JA3S fingerprint of a ServerHello: the lower-case
// hex MD5 of its JA3S string.
func AppendJA3S(dst []byte, sh *ServerHello) []byte {
	n := len(dst)
	dst = AppendJA3SString(dst, sh)
	sum := md5.Sum(dst[n:])
	return hex.AppendEncode(dst[:n], sum[:])
}

// appendDecList appends the non-GREASE values of l in decimal, dash-separated.
func appendDecList(dst []byte, l []uint16) []byte {
	first := true
	for _, v := range l {
		if IsGREASE(v) {
			continue
		}
		if !first {
			dst = append(dst, '-')
		}
		first = false
		dst = decimal.AppendUint(dst, uint64(v))
	}
	return dst
}

// AppendJA4 appends the JA4 fingerprint of a ClientHello, as FoxIO's
// specification defines it: "t13d1516h2_8daaf6152771_e5627efa2ab1".
//
//   - 'q' for a hello carried by QUIC (quic true), else 't';
//   - the version: the highest non-GREASE supported_versions entry when the
//     extension is present (and lists more than GREASE), else the legacy
//     version, as "13", "12", "11",
//     "10", "s3", "s2", "d1", "d2", "d3", or "00" for any other value;
//   - 'd' when a server_name extension is present, else 'i';
//   - the numbers of cipher suites and of extensions (GREASE not counted,
//     server_name and ALPN counted), two digits each, at most 99;
//   - the first and last characters of the first ALPN name, "00" without
//     one; when either of those bytes is not an ASCII letter or digit, the
//     first and last characters of the name's hex form instead;
//   - the first 12 hex digits of the SHA-256 of the sorted, comma-separated
//     4-digit hex cipher suites (GREASE removed), "000000000000" for none;
//   - the same hash of the sorted extension types, without GREASE, 0x0000
//     (server_name) and 0x0010 (ALPN), followed, when the hello has any, by
//     '_' and the signature algorithms in wire order (GREASE removed);
//     "000000000000" when that string is empty.
func AppendJA4(dst []byte, ch *ClientHello, quic bool) []byte {
	return appendJA4(dst, ch, quic, false, false)
}

// AppendJA4R appends the raw JA4 fingerprint (FoxIO's JA4_r): the same
// first part, then the sorted hex cipher list and the sorted extension list
// with the signature algorithms, unhashed. It can be long (under 3 KiB).
func AppendJA4R(dst []byte, ch *ClientHello, quic bool) []byte {
	return appendJA4(dst, ch, quic, true, false)
}

// appendJA4 writes JA4 (raw=false, original=false), JA4_r (raw), JA4_o
// (original: lists in wire order, server_name and ALPN kept) or JA4_ro.
func appendJA4(dst []byte, ch *ClientHello, quic, raw, original bool) []byte {
	if quic {
		dst = append(dst, 'q')
	} else {
		dst = append(dst, 't')
	}
	ver := ch.LegacyVersion
	if ch.HasExt(ExtSupportedVersions) {
		ver = ch.MaxVersion()
	}
	dst = append(dst, ja4Version(ver)...)
	if ch.HasExt(ExtServerName) {
		dst = append(dst, 'd')
	} else {
		dst = append(dst, 'i')
	}

	var ciphers [MaxList]uint16
	nc := 0
	for _, v := range ch.Ciphers[:ch.NCiphers] {
		if !IsGREASE(v) {
			ciphers[nc] = v
			nc++
		}
	}
	var exts [MaxList]uint16
	ne, nAll := 0, 0
	for _, v := range ch.Exts[:ch.NExts] {
		if IsGREASE(v) {
			continue
		}
		nAll++
		if !original && (v == ExtServerName || v == ExtALPN) {
			continue
		}
		exts[ne] = v
		ne++
	}
	dst = appendCount(dst, nc)
	dst = appendCount(dst, nAll)
	dst = ch.appendALPNChars(dst)
	dst = append(dst, '_')

	cs, es := ciphers[:nc], exts[:ne]
	if !original {
		slices.Sort(cs)
		slices.Sort(es)
	}
	n := len(dst)
	dst = appendHexList(dst, cs)
	if !raw {
		dst = hash12(dst, n)
	}
	dst = append(dst, '_')
	n = len(dst)
	dst = appendHexList(dst, es)
	first := true
	for _, v := range ch.SigAlgs[:ch.NSigAlgs] {
		if IsGREASE(v) {
			continue
		}
		if first {
			dst = append(dst, '_')
			first = false
		} else {
			dst = append(dst, ',')
		}
		dst = appendHex16(dst, v)
	}
	if !raw {
		dst = hash12(dst, n)
	}
	return dst
}

// hash12 replaces dst[n:] by the first 12 hex digits of its SHA-256, or by
// "000000000000" when it is empty.
func hash12(dst []byte, n int) []byte {
	if len(dst) == n {
		return append(dst, "000000000000"...)
	}
	sum := sha256.Sum256(dst[n:])
	return hex.AppendEncode(dst[:n], sum[:6])
}

// appendHexList appends l as comma-separated 4-digit hex values.
func appendHexList(dst []byte, l []uint16) []byte {
	for i, v := range l {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendHex16(dst, v)
	}
	return dst
}

// appendCount appends n as two digits, 99 at most.
func appendCount(dst []byte, n int) []byte {
	n = min(n, 99)
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}

// ja4Version is the two-character JA4 name of a protocol version.
func ja4Version(v uint16) string {
	switch v {
	case 0x0304:
		return "13"
	case 0x0303:
		return "12"
	case 0x0302:
		return "11"
	case 0x0301:
		return "10"
	case 0x0300:
		return "s3"
	case 0x0002:
		return "s2"
	case 0xfeff:
		return "d1"
	case 0xfefd:
		return "d2"
	case 0xfefc:
		return "d3"
	}
	return "00"
}

// appendALPNChars appends JA4's two ALPN characters.
func (ch *ClientHello) appendALPNChars(dst []byte) []byte {
	if ch.NALPN == 0 || ch.ALPNLen[0] == 0 {
		return append(dst, "00"...)
	}
	first, last := ch.ALPN[0][0], ch.alpnLast
	if isAlnum(first) && isAlnum(last) {
		return append(dst, first, last)
	}
	const digits = "0123456789abcdef"
	return append(dst, digits[first>>4], digits[last&0xf])
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}
