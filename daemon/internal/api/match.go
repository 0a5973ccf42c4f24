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

// fields are the filterable values of one record.
type fields struct {
	sensor, mac string
	ips         []string
	ports       []uint16
	host, app   *string
	text        func(add func(string)) // the Q columns
}

func fieldsOf(rec record.Record, buf *[]byte) (fields, bool) {
	switch r := rec.(type) {
	case *record.Session:
		return fields{sensor: r.Sensor, mac: r.ClientMAC, ips: []string{r.ClientIP, r.ServerIP},
			ports: []uint16{r.ClientPort, r.ServerPort}, host: &r.Host, app: &r.App,
			text: func(add func(string)) {
				add(r.Host)
				add(r.App)
				add(r.ClientIP)
				add(r.ServerIP)
				add(r.ClientMAC)
				add(r.ServerMAC)
			}}, true
	case *record.DNS:
		return fields{sensor: r.Sensor, mac: r.ClientMAC, ips: []string{r.ClientIP, r.ServerIP}, host: &r.Query,
			text: func(add func(string)) {
				add(r.Query)
				*buf = record.AppendAnswers((*buf)[:0], r.Answers)
				add(string(*buf))
				add(r.ClientIP)
				add(r.ServerIP)
				add(r.ClientMAC)
			}}, true
	case *record.HTTP:
		return fields{sensor: r.Sensor, mac: r.ClientMAC, ips: []string{r.ClientIP, r.ServerIP},
			ports: []uint16{r.ClientPort, r.ServerPort}, host: &r.Host,
			text: func(add func(string)) {
				add(r.Host)
				add(r.URI)
				add(r.UserAgent)
				add(r.Referer)
				add(r.ContentType)
				add(r.ClientIP)
				add(r.ServerIP)
				add(r.ClientMAC)
			}}, true
	case *record.TLS:
		return fields{sensor: r.Sensor, mac: r.ClientMAC, ips: []string{r.ClientIP, r.ServerIP},
			ports: []uint16{r.ClientPort, r.ServerPort}, host: &r.SNI,
			text: func(add func(string)) {
				add(r.SNI)
				add(r.ALPN)
				add(r.Version)
				add(r.JA3)
				add(r.JA3S)
				add(r.JA4)
				add(r.ClientIP)
				add(r.ServerIP)
				add(r.ClientMAC)
			}}, true
	case *record.ICMP:
		return fields{sensor: r.Sensor, mac: r.ClientMAC, ips: []string{r.SrcIP, r.DstIP},
			text: func(add func(string)) {
				add(r.SrcIP)
				add(r.DstIP)
				add(r.ClientMAC)
				add(r.Quoted)
			}}, true
	case *record.App:
		return fields{sensor: r.Sensor, mac: r.ClientMAC, host: &r.Host, app: &r.App,
			text: func(add func(string)) {
				add(r.App)
				add(r.Host)
				add(r.ClientMAC)
			}}, true
	case *record.Device:
		ips := make([]string, 0, len(r.IPv4)+len(r.IPv6))
		ips = append(append(ips, r.IPv4...), r.IPv6...)
		return fields{sensor: r.Sensor, mac: r.MAC, ips: ips, host: &r.Hostname,
			text: func(add func(string)) {
				add(r.MAC)
				add(r.Alias)
				add(r.Hostname)
				add(r.Vendor)
				*buf = appendList((*buf)[:0], r.IPv4)
				add(string(*buf))
				*buf = appendList((*buf)[:0], r.IPv6)
				add(string(*buf))
				add(r.OS)
			}}, true
	}
	return fields{}, false
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
			for _, fp := range fs.ports {
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
		fs.text(func(s string) {
			if !hit && anyMatch(m.q, s) {
				hit = true
			}
		})
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
