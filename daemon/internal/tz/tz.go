// Package tz is the router's time zone as OpenWrt keeps it: a POSIX TZ
// string ("CST-8", "CET-1CEST,M3.5.0,M10.5.0/3", "<+0545>-5:45") in
// /etc/TZ, written by /etc/init.d/system from the system section's
// timezone option. OpenWrt ships no zoneinfo database by default, so Go's
// time.Local is UTC there; tamond uses this package for the day boundaries
// of the visited-sites history instead.
//
// The string is turned into a time.Location by wrapping it in a minimal
// TZif file (no transitions, the string as its footer), which
// time.LoadLocationFromTZData evaluates with Go's own rule code, DST rules
// included.
package tz

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"time"
)

// DefaultPath is where OpenWrt keeps the POSIX TZ string.
const DefaultPath = "/etc/TZ"

// Load reads the TZ string in the file at path.
func Load(path string) (*time.Location, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read time zone: %w", err)
	}
	loc, err := Parse(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return loc, nil
}

// Parse returns the location that the POSIX TZ string s describes:
// std offset [dst [offset] [,start[/time],end[/time]]]. It refuses what is
// not one: a zone name such as "Asia/Shanghai" (load those with
// time.LoadLocation), an empty string, an offset out of range, a rule
// that is not Jn, n or Mm.w.d.
func Parse(s string) (*time.Location, error) {
	std, rest, err := zoneName(s)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", s, err)
	}
	if rest == "" && (std == "UTC" || std == "GMT") {
		return time.UTC, nil // OpenWrt's default writes "UTC", without an offset
	}
	west, rest, err := offset(rest, true)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", s, err)
	}
	if rest != "" {
		if err := daylight(rest); err != nil {
			return nil, fmt.Errorf("time zone %q: %w", s, err)
		}
	}
	loc, err := time.LoadLocationFromTZData(s, tzif(std, -west, s))
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", s, err)
	}
	return loc, nil
}

// zoneName reads a zone name: three or more letters, or <...> quoted.
func zoneName(s string) (name, rest string, err error) {
	if strings.HasPrefix(s, "<") {
		end := strings.IndexByte(s, '>')
		if end < 2 {
			return "", "", fmt.Errorf("unterminated <name>")
		}
		return s[1:end], s[end+1:], nil
	}
	i := 0
	for i < len(s) && (s[i] >= 'A' && s[i] <= 'Z' || s[i] >= 'a' && s[i] <= 'z') {
		i++
	}
	if i < 3 {
		return "", "", fmt.Errorf("zone name of at least three letters expected at %q", s)
	}
	return s[:i], s[i:], nil
}

// offset reads [+-]hh[:mm[:ss]] and returns it in seconds (POSIX offsets
// count west of UTC: "CST-8" is UTC+8). It may be absent unless need.
func offset(s string, need bool) (secs int, rest string, err error) {
	sign := 1
	if s != "" && (s[0] == '+' || s[0] == '-') {
		if s[0] == '-' {
			sign = -1
		}
		s = s[1:]
	}
	parts := 0
	for parts < 3 {
		v, digits := 0, 0
		for digits < len(s) && digits < 3 && s[digits] >= '0' && s[digits] <= '9' {
			v = v*10 + int(s[digits]-'0')
			digits++
		}
		if digits == 0 {
			if parts == 0 && !need {
				return 0, s, nil
			}
			return 0, "", fmt.Errorf("offset digits expected at %q", s)
		}
		secs = secs*60 + v
		parts++
		s = s[digits:]
		if s == "" || s[0] != ':' {
			break
		}
		s = s[1:]
	}
	for ; parts < 3; parts++ {
		secs *= 60
	}
	if secs > 24*3600+59*60+59 {
		return 0, "", fmt.Errorf("offset of %d s is out of range", secs)
	}
	return sign * secs, s, nil
}

// daylight checks the part after the standard offset: a name, an optional
// offset, and the two rules.
func daylight(s string) error {
	_, s, err := zoneName(s)
	if err != nil {
		return fmt.Errorf("daylight saving zone: %w", err)
	}
	if _, s, err = offset(s, false); err != nil {
		return fmt.Errorf("daylight saving offset: %w", err)
	}
	if s == "" {
		return nil // US rules by default
	}
	rules := strings.Split(strings.TrimPrefix(s, ","), ",")
	if !strings.HasPrefix(s, ",") || len(rules) != 2 {
		return fmt.Errorf("two daylight saving rules expected at %q", s)
	}
	for _, r := range rules {
		date, at, timed := strings.Cut(r, "/")
		if timed {
			if _, rest, err := offset(at, true); err != nil || rest != "" {
				return fmt.Errorf("rule %q: bad time", r)
			}
		}
		if !ruleDate(date) {
			return fmt.Errorf("rule %q: date is not Jn, n or Mm.w.d", r)
		}
	}
	return nil
}

// ruleDate reports whether s is Jn (1-365), n (0-365) or Mm.w.d.
func ruleDate(s string) bool {
	num := func(s string, lo, hi int) bool {
		if s == "" || len(s) > 3 {
			return false
		}
		v := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
			v = v*10 + int(s[i]-'0')
		}
		return v >= lo && v <= hi
	}
	switch {
	case strings.HasPrefix(s, "J"):
		return num(s[1:], 1, 365)
	case strings.HasPrefix(s, "M"):
		f := strings.Split(s[1:], ".")
		return len(f) == 3 && num(f[0], 1, 12) && num(f[1], 1, 5) && num(f[2], 0, 6)
	}
	return num(s, 0, 365)
}

// tzif returns a version 2 TZif file with no transitions, one local time
// type (name, east) and footer as its TZ string footer (RFC 8536).
func tzif(name string, east int, footer string) []byte {
	var b bytes.Buffer
	header := func() {
		b.WriteString("TZif2")
		b.Write(make([]byte, 15))
		for _, n := range []uint32{0, 0, 0, 0, 1, uint32(len(name) + 1)} {
			binary.Write(&b, binary.BigEndian, n) // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
		}
	}
	body := func() {
		binary.Write(&b, binary.BigEndian, int32(east))
		b.WriteByte(0) // isdst
		b.WriteByte(0) // abbreviation index
		b.WriteString(name)
		b.WriteByte(0)
	}
	header() // version 1 part
	body()
	header() // version 2 part, 64-bit times (there are none)
	body()
	b.WriteString("\n" + footer + "\n")
	return b.Bytes()
}
