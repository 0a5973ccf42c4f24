package devices

import (
	_ "embed"
	"strings"
)

// ouiTable is the MAC vendor table made by scripts/oui from the IEEE
// registry (Debian's ieee-data package); its header says which files and
// dates. The format is in scripts/oui/main.go. It is read in place: a lookup
// is a binary search in the embedded bytes and allocates nothing.
//
//go:embed oui.dat
var ouiTable string

// Vendor returns the organisation that the IEEE registry lists for the
// MAC's OUI (MA-S, MA-M, then MA-L, the most specific first), or "" when
// there is none: an unassigned or private prefix, a locally administered
// (randomised) or a multicast address. The string is part of the embedded
// table: Vendor allocates nothing.
func Vendor(mac [6]byte) string {
	if mac[0]&0x03 != 0 {
		return ""
	}
	t, ok := openOUI(ouiTable)
	if !ok {
		return ""
	}
	m := uint64(mac[0])<<40 | uint64(mac[1])<<32 | uint64(mac[2])<<24 | uint64(mac[3])<<16 | uint64(mac[4])<<8 | uint64(mac[5])
	if name, ok := t.find(t.s, 5, m>>12); ok {
		return name
	}
	if name, ok := t.find(t.m, 4, m>>20); ok {
		return name
	}
	name, _ := t.find(t.l, 3, m>>24)
	return name
}

// VendorSource returns the header lines of the embedded vendor table: the
// registry files it was made from and their dates.
func VendorSource() string {
	i := strings.Index(ouiTable, "\n\n")
	if i < 0 {
		return ""
	}
	return ouiTable[:i]
}

// oui is a view of a table in the scripts/oui format.
type oui struct {
	names   string // name block: length byte, name, ...
	l, m, s string // MA-L, MA-M and MA-S entries
}

// openOUI splits data into its sections; false if it is not a well-formed
// version 1 table.
func openOUI(data string) (oui, bool) {
	var t oui
	if !strings.HasPrefix(data, "tamon-oui 1\n") {
		return t, false
	}
	i := strings.Index(data, "\n\n")
	if i < 0 {
		return t, false
	}
	rest := data[i+2:]
	section := func(width int) (string, bool) {
		if len(rest) < 4 {
			return "", false
		}
		n := int(be32(rest)) * width
		if n < 0 || len(rest)-4 < n {
			return "", false
		}
		s := rest[4 : 4+n]
		rest = rest[4+n:]
		return s, true
	}
	var ok [4]bool
	t.names, ok[0] = section(1)
	t.l, ok[1] = section(6)
	t.m, ok[2] = section(7)
	t.s, ok[3] = section(8)
	return t, ok == [4]bool{true, true, true, true} && rest == ""
}

// find binary-searches entries (each a width-byte big-endian prefix and a
// 3-byte name offset) for prefix.
func (t oui) find(entries string, width int, prefix uint64) (string, bool) {
	size := width + 3
	lo, hi := 0, len(entries)/size
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		e := entries[mid*size:]
		var p uint64
		for i := range width {
			p = p<<8 | uint64(e[i])
		}
		switch {
		case p < prefix:
			lo = mid + 1
		case p > prefix:
			hi = mid
		default:
			off := int(e[width])<<16 | int(e[width+1])<<8 | int(e[width+2])
			if off >= len(t.names) {
				return "", false
			}
			n := int(t.names[off])
			if off+1+n > len(t.names) {
				return "", false
			}
			return t.names[off+1 : off+1+n], true
		}
	}
	return "", false
}

func be32(s string) uint32 {
	return uint32(s[0])<<24 | uint32(s[1])<<16 | uint32(s[2])<<8 | uint32(s[3])
}
