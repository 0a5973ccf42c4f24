package api

import (
	"strings"

	"tamon/daemon/internal/record"
	"tamon/daemon/internal/store"
)

// pattern is one filter alternative: exact text, or text with '*'
// wildcards (any run of characters). Matching is byte for byte,
// case-sensitive, as the store's.
type pattern struct {
	parts []string // the text split at '*'; one part means exact
}

func newPattern(v string) pattern { return pattern{parts: strings.Split(v, "*")} }

// match reports whether s matches the whole pattern.
func (p pattern) match(s string) bool {
	if len(p.parts) == 1 {
		return s == p.parts[0]
	}
	first, last := p.parts[0], p.parts[len(p.parts)-1]
	if !strings.HasPrefix(s, first) {
		return false
	}
	s = s[len(first):]
	for _, m := range p.parts[1 : len(p.parts)-1] {
		i := strings.Index(s, m)
		if i < 0 {
			return false
		}
		s = s[i+len(m):]
	}
	return strings.HasSuffix(s, last)
}

func patterns(vs []string, contains bool) []pattern {
	var out []pattern
	for _, v := range vs {
		if v == "" {
			continue
		}
		if contains {
			v = "*" + v + "*"
		}
		out = append(out, newPattern(v))
	}
	return out
}

func anyMatch(ps []pattern, s string) bool {
	for _, p := range ps {
		if p.match(s) {
			return true
		}
	}
	return false
}

// matcher is a store.Filter's text and port conditions applied to records
// in memory, for the stream and the active sessions: the same fields and
// the same rules as the store's queries (see sqldb.Filter). A condition on
// a field that a kind does not have matches none of its records. Time
// conditions are not part of it. A matcher is immutable: safe to share
// between goroutines.
type matcher struct {
	mac, ip, host, app, q, sensor []pattern
	port                          []int
}

func newMatcher(f *store.Filter) *matcher {
	return &matcher{
		mac: patterns(f.MAC, false), ip: patterns(f.IP, false), host: patterns(f.Host, false),
		app: patterns(f.App, false), q: patterns(f.Q, true), sensor: patterns(f.Sensor, false),
		port: f.Port,
	}
}

// fields are the filterable values of one record, read once and shared
// by every matcher that looks at it. The Q texts are gathered on first
// use. A fields value must stay with one goroutine.
type fields struct {
	rec         record.Record
	sensor, mac string
	ipBuf       [2]string
	ips         []string // ipBuf, or a device's addresses
	ports       [2]uint16
	nports      int
	host, app   *string
	buf         *[]byte  // scratch for the JSON text of lists
	q           []string // the Q texts, once gathered
	qDone       bool
}

// fieldsOf reads the fields of rec; buf is scratch space for list
// columns. It reports false for a record of no known kind.
func fieldsOf(rec record.Record, buf *[]byte) (fields, bool) {
	fs := fields{rec: rec, buf: buf}
	switch r := rec.(type) {
	case *record.Session:
		fs.sensor, fs.mac, fs.host, fs.app = r.Sensor, r.ClientMAC, &r.Host, &r.App
		fs.ipBuf = [2]string{r.ClientIP, r.ServerIP}
		fs.ports, fs.nports = [2]uint16{r.ClientPort, r.ServerPort}, 2
	case *record.DNS:
		fs.sensor, fs.mac, fs.host = r.Sensor, r.ClientMAC, &r.Query
		fs.ipBuf = [2]string{r.ClientIP, r.ServerIP}
	case *record.HTTP:
		fs.sensor, fs.mac, fs.host = r.Sensor, r.ClientMAC, &r.Host
		fs.ipBuf = [2]string{r.ClientIP, r.ServerIP}
		fs.ports, fs.nports = [2]uint16{r.ClientPort, r.ServerPort}, 2
	case *record.TLS:
		fs.sensor, fs.mac, fs.host = r.Sensor, r.ClientMAC, &r.SNI
		fs.ipBuf = [2]string{r.ClientIP, r.ServerIP}
		fs.ports, fs.nports = [2]uint16{r.ClientPort, r.ServerPort}, 2
	case *record.ICMP:
		fs.sensor, fs.mac = r.Sensor, r.ClientMAC
		fs.ipBuf = [2]string{r.SrcIP, r.DstIP}
	case *record.App:
		fs.sensor, fs.mac, fs.host, fs.app = r.Sensor, r.ClientMAC, &r.Host, &r.App
		return fs, true // no addresses
	case *record.Device:
		fs.sensor, fs.mac, fs.host = r.Sensor, r.MAC, &r.Hostname
		fs.ips = append(append(make([]string, 0, len(r.IPv4)+len(r.IPv6)), r.IPv4...), r.IPv6...)
		return fs, true
	default:
		return fs, false
	}
	fs.ips = fs.ipBuf[:]
	return fs, true
}

// texts returns the Q columns of the record (the store's, in its order).
func (fs *fields) texts() []string {
	if fs.qDone {
		return fs.q
	}
	fs.qDone = true
	list := func(b []byte) string { return string(b) }
	switch r := fs.rec.(type) {
	case *record.Session:
		fs.q = []string{r.Host, r.App, r.ClientIP, r.ServerIP, r.ClientMAC, r.ServerMAC}
	case *record.DNS:
		*fs.buf = record.AppendAnswers((*fs.buf)[:0], r.Answers)
		fs.q = []string{r.Query, list(*fs.buf), r.ClientIP, r.ServerIP, r.ClientMAC}
	case *record.HTTP:
		fs.q = []string{r.Host, r.URI, r.UserAgent, r.Referer, r.ContentType, r.ClientIP, r.ServerIP, r.ClientMAC}
	case *record.TLS:
		fs.q = []string{r.SNI, r.ALPN, r.Version, r.JA3, r.JA3S, r.JA4, r.ClientIP, r.ServerIP, r.ClientMAC}
	case *record.ICMP:
		fs.q = []string{r.SrcIP, r.DstIP, r.ClientMAC, r.Quoted}
	case *record.App:
		fs.q = []string{r.App, r.Host, r.ClientMAC}
	case *record.Device:
		v4 := list(appendList((*fs.buf)[:0], r.IPv4))
		v6 := list(appendList((*fs.buf)[:0], r.IPv6))
		fs.q = []string{r.MAC, r.Alias, r.Hostname, r.Vendor, v4, v6, r.OS}
	}
	return fs.q
}

// appendList appends a JSON array of strings, as the store keeps lists.
func appendList(b []byte, list []string) []byte {
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = record.AppendString(b, s)
	}
	return append(b, ']')
}

// match reports whether rec meets every condition of m. buf is scratch
// space for list columns (may be nil).
func (m *matcher) match(rec record.Record, buf *[]byte) bool {
	if buf == nil {
		buf = new([]byte)
	}
	fs, ok := fieldsOf(rec, buf)
	return ok && m.matchFields(&fs)
}

// matchFields is match on the fields of a record (see fieldsOf).
func (m *matcher) matchFields(fs *fields) bool {
	if len(m.sensor) > 0 && !anyMatch(m.sensor, fs.sensor) {
		return false
	}
	if len(m.mac) > 0 && !anyMatch(m.mac, fs.mac) {
		return false
	}
	if len(m.ip) > 0 {
		hit := false
		for _, ip := range fs.ips {
			if anyMatch(m.ip, ip) {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	if len(m.port) > 0 {
		hit := false
		for _, p := range m.port {
			for _, fp := range fs.ports[:fs.nports] {
				if int(fp) == p {
					hit = true
				}
			}
		}
		if !hit {
			return false
		}
	}
	if len(m.host) > 0 && (fs.host == nil || !anyMatch(m.host, *fs.host)) {
		return false
	}
	if len(m.app) > 0 && (fs.app == nil || !anyMatch(m.app, *fs.app)) {
		return false
	}
	if len(m.q) > 0 {
		hit := false
		for _, s := range fs.texts() {
			if anyMatch(m.q, s) {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

// empty reports whether m has no condition.
func (m *matcher) empty() bool {
	return len(m.mac)+len(m.ip)+len(m.host)+len(m.app)+len(m.q)+len(m.sensor)+len(m.port) == 0
}
