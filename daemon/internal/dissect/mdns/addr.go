package mdns

import "net/netip"

// parseAddr parses the text form that package dns gives A and AAAA data
// ("192.0.2.1", RFC 5952 IPv6, "::ffff:192.0.2.1") without allocating, as
// netip.ParseAddr would for a []byte. It accepts any valid IPv6 text without
// a zone.
func parseAddr(b []byte, v6 bool) (netip.Addr, bool) {
	if !v6 {
		a, ok := parseIPv4(b)
		return netip.AddrFrom4(a), ok
	}
	return parseIPv6(b)
}

// parseIPv4 parses a dotted quad of decimal numbers 0-255 without leading
// zeros.
func parseIPv4(b []byte) ([4]byte, bool) {
	var out [4]byte
	part, digits, val := 0, 0, 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == '.' {
			if digits == 0 || part > 3 {
				return out, false
			}
			out[part] = byte(val)
			part++
			digits, val = 0, 0
			continue
		}
		c := b[i]
		if !isDigit(c) || (digits == 1 && val == 0) {
			return out, false
		}
		val = val*10 + int(c-'0')
		digits++
		if val > 255 {
			return out, false
		}
	}
	return out, part == 4
}

// parseIPv6 parses IPv6 text: up to eight groups of 1-4 hex digits, one "::"
// for a run of zero groups, and optionally a dotted quad in the last 32 bits.
func parseIPv6(b []byte) (netip.Addr, bool) {
	var ip [16]byte
	ellipsis := -1 // byte offset in ip where "::" stands
	i, n := 0, 0   // position in b, bytes of ip filled
	if len(b) >= 2 && b[0] == ':' && b[1] == ':' {
		ellipsis = 0
		i = 2
		if len(b) == 2 {
			return netip.AddrFrom16(ip), true
		}
	}
	for i < len(b) {
		// A dotted quad ends the address.
		if n <= 12 && hasDotBefore(b[i:]) {
			v4, ok := parseIPv4(b[i:])
			if !ok {
				return netip.Addr{}, false
			}
			copy(ip[n:], v4[:])
			n += 4
			i = len(b)
			break
		}
		val, digits := 0, 0
		for i < len(b) && digits < 5 {
			h, ok := hexVal(b[i])
			if !ok {
				break
			}
			val = val<<4 | h
			digits++
			i++
		}
		if digits == 0 || digits > 4 || n == 16 {
			return netip.Addr{}, false
		}
		ip[n], ip[n+1] = byte(val>>8), byte(val)
		n += 2
		if i == len(b) {
			break
		}
		if b[i] != ':' || i+1 == len(b) {
			return netip.Addr{}, false
		}
		i++
		if b[i] == ':' {
			if ellipsis >= 0 {
				return netip.Addr{}, false
			}
			ellipsis = n
			i++
			if i == len(b) {
				break
			}
		}
	}
	if ellipsis < 0 {
		if n != 16 {
			return netip.Addr{}, false
		}
		return netip.AddrFrom16(ip), true
	}
	if n == 16 {
		return netip.Addr{}, false // "::" must stand for at least one group
	}
	gap := 16 - n
	copy(ip[ellipsis+gap:], ip[ellipsis:n])
	clear(ip[ellipsis : ellipsis+gap])
	return netip.AddrFrom16(ip), true
}

// hasDotBefore reports whether b has a '.' before its next ':'.
func hasDotBefore(b []byte) bool {
	for _, c := range b {
		switch c {
		case '.':
			return true
		case ':':
			return false
		}
	}
	return false
}

func hexVal(c byte) (int, bool) {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0'), true
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10, true
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10, true
	}
	return 0, false
}
