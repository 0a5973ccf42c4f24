package record

import (
	"strconv"

	"tamon/daemon/internal/decimal"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. Invalid UTF-8 bytes become
// U+FFFD, control characters are escaped, and <, >, & are left as they are
// (the output is JSON Lines, not HTML).
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	if plain(s) {
		// The usual case (host names, addresses, user agents): one copy.
		b = append(b, s...)
		return append(b, '"')
	}
	start := 0
	for i := 0; i < len(s); {
		// Eight plain bytes at a time, as in plain.
		for ; i+8 <= len(s) && plain8(word(s[i:i+8])); i += 8 {
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < 0x80 {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := decodeRune(s[i:])
		if r == 0xFFFD && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript parsers.
		if r == 0x2028 || r == 0x2029 {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// plain reports whether no byte of s needs escaping, eight bytes at a time
// (the last word overlapping the one before it).
func plain(s string) bool {
	if len(s) < 8 {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
				return false
			}
		}
		return true
	}
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if !plain8(word(s[i : i+8])) {
			return false
		}
	}
	return i == len(s) || plain8(word(s[len(s)-8:]))
}

// word is the first eight bytes of w as a little-endian word. It is
// assembled from bytes, so no unaligned load is made on architectures that
// trap on one (mips); amd64 and arm64 load it at once, with one bounds
// check.
func word(w string) uint64 {
	_ = w[7]
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plain8 reports whether none of the eight bytes in x needs escaping: all
// are ASCII, none is a control character, a quote or a backslash. Each
// test is the classic "has a byte less than n" bit trick, exact for the
// yes/no answer when no byte has its high bit set (checked first).
func plain8(x uint64) bool {
	if x&highs != 0 {
		return false
	}
	lt20 := (x - 0x20*ones) &^ x
	q := x ^ '"'*ones
	bs := x ^ '\\'*ones
	return (lt20|(q-ones)&^q|(bs-ones)&^bs)&highs == 0
}

func decodeRune(s string) (rune, int) {
	for _, r := range s {
		if r == 0xFFFD {
			// distinguish a real U+FFFD (3 bytes) from an error (1 byte)
			if len(s) >= 3 && s[0] == 0xEF && s[1] == 0xBF && s[2] == 0xBD {
				return r, 3
			}
			return r, 1
		}
		switch {
		case r < 0x800:
			return r, 2
		case r < 0x10000:
			return r, 3
		default:
			return r, 4
		}
	}
	return 0xFFFD, 1
}

// The field appenders take key as the field's whole JSON prefix, comma
// included (`,"name":`): one append instead of three per field.

func appendStr(b []byte, key, v string) []byte {
	b = append(b, key...)
	return AppendString(b, v)
}

func appendUint(b []byte, key string, v uint64) []byte {
	b = append(b, key...)
	return decimal.AppendUint(b, v) // not appendU: this one is inlined too
}

func appendInt(b []byte, key string, v int64) []byte {
	b = append(b, key...)
	if v >= 0 {
		return appendU(b, uint64(v))
	}
	return strconv.AppendInt(b, v, 10)
}

func appendBool(b []byte, key string, v bool) []byte {
	b = append(b, key...)
	return strconv.AppendBool(b, v)
}

func appendStrings(b []byte, key string, v []string) []byte {
	b = append(b, key...)
	b = append(b, '[')
	for i, s := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, s)
	}
	return append(b, ']')
}

// appendU appends v in decimal (see package decimal). It is small enough to
// be inlined, so that the one-digit numbers timelines are full of (flags,
// directions, zeros) cost no call.
func appendU(b []byte, v uint64) []byte {
	if v < 10 {
		return append(b, byte('0'+v))
	}
	return decimal.AppendUint(b, v)
}
