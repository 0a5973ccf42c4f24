package devices

// Randomized reports whether mac is locally administered (bit 0x02 of the
// first octet), as the private or randomised addresses of phones and
// laptops are. Such an address has no vendor.
func Randomized(mac [6]byte) bool { return mac[0]&0x02 != 0 }

// usable reports whether mac can name a device: a unicast address other
// than all zeros.
func usable(mac [6]byte) bool {
	return mac[0]&0x01 == 0 && mac != [6]byte{}
}

// ParseMAC reads a MAC written as six two-digit hex octets separated by ':'
// or '-', in either case ("aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF"). It
// allocates nothing.
func ParseMAC(s string) ([6]byte, bool) {
	var mac [6]byte
	if len(s) != 17 {
		return mac, false
	}
	sep := s[2]
	if sep != ':' && sep != '-' {
		return mac, false
	}
	for i := range mac {
		hi, ok1 := hexDigit(s[3*i])
		lo, ok2 := hexDigit(s[3*i+1])
		if !ok1 || !ok2 || (i < 5 && s[3*i+2] != sep) {
			return mac, false
		}
		mac[i] = hi<<4 | lo
	}
	return mac, true
}

// FormatMAC writes mac in the records' form: lower-case, colon-separated.
func FormatMAC(mac [6]byte) string {
	var b [17]byte
	return string(appendMAC(b[:0], mac))
}

func appendMAC(b []byte, mac [6]byte) []byte {
	const hex = "0123456789abcdef"
	for i, o := range mac {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hex[o>>4], hex[o&0x0f])
	}
	return b
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
