package api

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"tamon/daemon/internal/store"
)

// Limits on query parameters: anything beyond is a 400.
const (
	maxQueryBytes  = 8192 // the whole query string
	maxValueBytes  = 1024 // one parameter value
	maxAlternative = 32   // alternatives in one filter value
	maxJSONLimit   = 1000 // rows of a JSON page
	maxCSVLimit    = 100000
	defaultLimit   = 100
	day            = 24 * time.Hour
)

// paramError is a 400 that names the parameter.
type paramError struct {
	name, msg string
}

func (e *paramError) Error() string { return e.name + ": " + e.msg }

func badParam(name, format string, args ...any) error {
	return &paramError{name: name, msg: fmt.Sprintf(format, args...)}
}

// query is a request's parameters, each given at most once, checked for
// size and UTF-8 against the names a route allows.
type query map[string]string

// parseQuery reads raw (the URL's query string) and refuses unknown names,
// repeated names, oversized or non-UTF-8 values.
func parseQuery(raw string, allowed ...string) (query, error) {
	if len(raw) > maxQueryBytes {
		return nil, badParam("query", "%d bytes, more than %d", len(raw), maxQueryBytes)
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return nil, badParam("query", "%v", err)
	}
	q := make(query, len(vals))
	for name, vs := range vals {
		known := false
		for _, a := range allowed {
			if a == name {
				known = true
				break
			}
		}
		if !known {
			return nil, &paramError{name: quoteName(name), msg: "unknown parameter"}
		}
		if len(vs) > 1 {
			return nil, badParam(name, "given %d times; give it once (separate alternatives with commas)", len(vs))
		}
		if err := checkValue(name, vs[0]); err != nil {
			return nil, err
		}
		q[name] = vs[0]
	}
	return q, nil
}

// checkValue refuses oversized values, invalid UTF-8 and NUL bytes (which
// SQLite's LIKE would take for the end of the pattern).
func checkValue(name, v string) error {
	if len(v) > maxValueBytes {
		return badParam(name, "%d bytes, more than %d", len(v), maxValueBytes)
	}
	if !utf8.ValidString(v) {
		return badParam(name, "not valid UTF-8")
	}
	if strings.IndexByte(v, 0) >= 0 {
		return badParam(name, "contains a NUL byte")
	}
	return nil
}

// quoteName shows an unknown parameter name safely (it is the client's).
func quoteName(name string) string {
	if len(name) > 64 {
		name = name[:64]
	}
	return strconv.Quote(name)
}

// withFilters returns the filter parameters every query route takes, and
// extra.
func withFilters(extra ...string) []string {
	return append([]string{"mac", "ip", "port", "host", "app", "q", "sensor"}, extra...)
}

// alternatives splits a filter value at ',' and ';', trims spaces and
// drops empty pieces.
func alternatives(name, v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	parts := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' })
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	if len(out) > maxAlternative {
		return nil, badParam(name, "%d alternatives, more than %d", len(out), maxAlternative)
	}
	return out, nil
}

// filters fills the text and port filters of f from q.
func (q query) filters(f *store.Filter) error {
	var err error
	texts := []struct {
		name string
		dst  *[]string
	}{{"mac", &f.MAC}, {"ip", &f.IP}, {"host", &f.Host}, {"app", &f.App}, {"q", &f.Q}, {"sensor", &f.Sensor}}
	for _, t := range texts {
		v, ok := q[t.name]
		if !ok {
			continue
		}
		if *t.dst, err = alternatives(t.name, v); err != nil {
			return err
		}
	}
	for i, m := range f.MAC {
		f.MAC[i] = strings.ToLower(m) // MACs are lower-case in every record
	}
	if v, ok := q["port"]; ok {
		alts, err := alternatives("port", v)
		if err != nil {
			return err
		}
		for _, a := range alts {
			p, err := strconv.Atoi(a)
			if err != nil || p < 0 || p > 65535 {
				return badParam("port", "%.40q is not a port number 0-65535", a)
			}
			f.Port = append(f.Port, p)
		}
	}
	return nil
}

// parseTime reads a time parameter: Unix ms or RFC 3339.
func parseTime(name, v string) (int64, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, badParam(name, "%d is negative", n)
		}
		return n, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return 0, badParam(name, "%.40q is neither Unix milliseconds nor an RFC 3339 time", v)
	}
	if ms := t.UnixMilli(); ms >= 0 {
		return ms, nil
	}
	return 0, badParam(name, "%.40q is before 1970", v)
}

// timeRange reads from and to. Absent, to is open (0), or now when toNow
// is set, and from is def before to (before now when to is open).
func (q query) timeRange(now int64, def time.Duration, toNow bool) (from, to int64, err error) {
	if toNow {
		to = now
	}
	if v, ok := q["to"]; ok {
		if to, err = parseTime("to", v); err != nil {
			return 0, 0, err
		}
	}
	end := now
	if to > 0 {
		end = to
	}
	from = max(end-def.Milliseconds(), 0)
	if v, ok := q["from"]; ok {
		if from, err = parseTime("from", v); err != nil {
			return 0, 0, err
		}
	}
	if to > 0 && to <= from {
		return 0, 0, badParam("to", "%d is not after from (%d)", to, from)
	}
	return from, to, nil
}

// intParam reads an integer parameter in [lo, hi], def when absent.
func (q query) intParam(name string, def, lo, hi int) (int, error) {
	v, ok := q[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, badParam(name, "%.40q is not a whole number %d..%d", v, lo, hi)
	}
	return n, nil
}

// oneOf reads a parameter that takes one of a few words.
func (q query) oneOf(name, def string, words ...string) (string, error) {
	v, ok := q[name]
	if !ok {
		return def, nil
	}
	for _, w := range words {
		if v == w {
			return v, nil
		}
	}
	return "", badParam(name, "%.40q is not %s", v, strings.Join(words, ", "))
}

// listParams are a list request's parameters.
type listParams struct {
	f    store.Filter // without cursor and sort
	desc bool         // newest first (sort=ts, the default)
	// cursor and its direction: before (older rows) or after (newer).
	cursor cursor
	older  bool
}

// listParamNames are the parameters every list takes.
func listParamNames() []string {
	return withFilters("from", "to", "limit", "sort", "before", "after")
}

// parseList reads a list request's parameters; maxLimit is the largest
// page it may ask.
func parseList(raw string, now int64, maxLimit int) (listParams, error) {
	var p listParams
	q, err := parseQuery(raw, listParamNames()...)
	if err != nil {
		return p, err
	}
	if p.f.From, p.f.To, err = q.timeRange(now, day, false); err != nil {
		return p, err
	}
	if err := q.filters(&p.f); err != nil {
		return p, err
	}
	if p.f.Limit, err = q.intParam("limit", defaultLimit, 1, maxLimit); err != nil {
		return p, err
	}
	sort, err := q.oneOf("sort", "ts", "ts", "-ts")
	if err != nil {
		return p, err
	}
	p.desc = sort == "ts"
	b, hasB := q["before"]
	a, hasA := q["after"]
	switch {
	case hasB && hasA:
		return p, badParam("before", "give before or after, not both")
	case hasB:
		if p.cursor, err = parseCursor("before", b); err != nil {
			return p, err
		}
		p.older = true
	case hasA:
		if p.cursor, err = parseCursor("after", a); err != nil {
			return p, err
		}
	}
	return p, nil
}

// cursor is an API cursor: the store's cursor of a row, and the order the
// store listed it in. The API turns pages around so that a cursor works
// with either sort and either direction (see lists.go).
type cursor struct {
	storeCursor string
	desc        bool // the store listed newest first
	set         bool
}

// Cursor text: 'd' or 'a' (newest or oldest first), then the store's
// cursor (base64url).
func (c cursor) String() string {
	if !c.set {
		return ""
	}
	if c.desc {
		return "d" + c.storeCursor
	}
	return "a" + c.storeCursor
}

// maxCursorBytes bounds a cursor (the store's own bound is below it).
const maxCursorBytes = 4096

// parseCursor checks the form of a cursor; the store checks its content.
func parseCursor(name, v string) (cursor, error) {
	if len(v) < 2 || len(v) > maxCursorBytes {
		return cursor{}, badParam(name, "malformed cursor")
	}
	var c cursor
	switch v[0] {
	case 'd':
		c.desc = true
	case 'a':
	default:
		return cursor{}, badParam(name, "malformed cursor")
	}
	for i := 1; i < len(v); i++ {
		ch := v[i]
		if !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
			return cursor{}, badParam(name, "malformed cursor")
		}
	}
	c.storeCursor, c.set = v[1:], true
	return c, nil
}

// parseMAC checks a MAC address and returns it lower-case, colon-separated.
func parseMAC(v string) (string, error) {
	hw, err := net.ParseMAC(v)
	if err != nil || len(hw) != 6 {
		return "", badParam("mac", "%.40q is not a MAC address aa:bb:cc:dd:ee:ff", v)
	}
	return hw.String(), nil
}

// parseStep reads a series step: a duration with a unit, 1 s or more.
func parseStep(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second {
		return 0, badParam("step", "%.40q is not a duration of 1s or more (60s, 5m, 1h)", v)
	}
	if d%time.Millisecond != 0 {
		return 0, badParam("step", "%.40q is not a whole number of milliseconds", v)
	}
	return d, nil
}
