package sqldb

import (
	"errors"
	"fmt"
	"strings"
)

// ErrFilter marks a query the API got wrong: a filter that does not apply
// to the table, a bad sort, limit or cursor. The API answers 400.
var ErrFilter = errors.New("bad query")

// ErrTooMany marks, besides ErrFilter, a query that would give more rows
// than its bound (Visits): a narrower one may do.
var ErrTooMany = errors.New("too many rows")

// Filter selects rows. Fields are combined with AND; the values of one
// field are alternatives (OR). Text values match exactly, byte for byte
// (case-sensitive), unless they contain '*', which matches any run of
// characters; '%' and '_' are literal. Empty values are ignored.
//
// What each field matches, per table: From/To the time column (start_ts of
// sessions and apps, ts of dns/http/tls/icmp, last_seen of devices), From
// inclusive, To exclusive, 0 = open; MAC client_mac (devices: mac); IP
// either address of the record (devices: an element of ipv4 or ipv6); Port
// client_port or server_port (sessions, http, tls); Host host (dns: query,
// tls: sni, devices: hostname); App app (sessions, apps); Q any of the
// table's text columns, as a substring; Sensor sensor. A field that a
// table does not have is an error (ErrFilter), never silently ignored.
type Filter struct {
	From, To int64 // Unix ms
	MAC      []string
	IP       []string
	Host     []string
	App      []string
	Q        []string
	Sensor   []string
	Port     []int
	// Limit is the page size of List (default 100, at most MaxLimit) and
	// the number of keys of a Series split by key (0: every key).
	Limit int
	// After and Before are cursors from an earlier List: the page after
	// (or before) that row. At most one may be set.
	After, Before string
	// Sort is a column of the table (not a TEXT or JSON one), optionally
	// prefixed with '-' for descending order; "time" names the time column. Default "-time",
	// newest first. Ties are broken by id in the same direction.
	Sort string
}

// MaxLimit is the largest page of List.
const MaxLimit = 100000

// DefaultLimit is the page size of List when Filter.Limit is 0.
const DefaultLimit = 100

// query builds a parameterised statement: SQL text from fixed pieces and
// validated column names, every value a parameter.
type query struct {
	b     strings.Builder
	args  []any
	conds int
}

func (q *query) where(cond string, args ...any) {
	if q.conds == 0 {
		q.b.WriteString(" WHERE ")
	} else {
		q.b.WriteString(" AND ")
	}
	q.conds++
	q.b.WriteString(cond)
	q.args = append(q.args, args...)
}

// likeEscape is the escape character of every LIKE pattern: not the
// backslash, whose meaning in SQL strings depends on MySQL's sql_mode.
const likeEscape = "!"

// pattern turns a filter value into a LIKE pattern: '*' matches anything;
// '%', '_' and '!' are escaped.
func pattern(v string) string {
	var b strings.Builder
	b.Grow(len(v) + 4)
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '*':
			b.WriteByte('%')
		case '%', '_', '!':
			b.WriteByte('!')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// match adds "(col = ? OR col LIKE ? ...)" over cols for each value; a
// value with '*' is a pattern, one without is compared exactly.
func (q *query) match(cols []string, values []string, wrap func(string) string) {
	var parts []string
	var args []any
	for _, v := range values {
		if v == "" {
			continue
		}
		for _, c := range cols {
			if wrap == nil && !strings.Contains(v, "*") {
				parts = append(parts, c+" = ?")
				args = append(args, v)
				continue
			}
			p := pattern(v)
			if wrap != nil {
				p = wrap(p)
			}
			parts = append(parts, c+" LIKE ? ESCAPE '"+likeEscape+"'")
			args = append(args, p)
		}
	}
	if len(parts) == 0 {
		return
	}
	q.where("("+strings.Join(parts, " OR ")+")", args...)
}

func nonEmpty(vs []string) bool {
	for _, v := range vs {
		if v != "" {
			return true
		}
	}
	return false
}

// filter adds the WHERE conditions of f for table t (not the cursor).
func (q *query) filter(t *table, f *Filter) error {
	notFor := func(field string) error {
		return fmt.Errorf("%w: filter %s does not apply to %s", ErrFilter, field, t.name)
	}
	if f.From < 0 || f.To < 0 {
		return fmt.Errorf("%w: from %d / to %d: negative time", ErrFilter, f.From, f.To)
	}
	if f.From > 0 {
		q.where(t.timeCol+" >= ?", f.From)
	}
	if f.To > 0 {
		q.where(t.timeCol+" < ?", f.To)
	}
	q.match([]string{"sensor"}, f.Sensor, nil)
	q.match([]string{t.macCol}, f.MAC, nil)
	if nonEmpty(f.IP) {
		var plain, lists []string
		for _, c := range t.ipCols {
			if col, _ := t.col(c); t.cols[col].typ == tJSON {
				lists = append(lists, c)
			} else {
				plain = append(plain, c)
			}
		}
		switch {
		case len(plain) > 0:
			q.match(plain, f.IP, nil)
		case len(lists) > 0:
			// An element of a JSON list of strings: "...","<ip>",...
			q.match(lists, f.IP, func(p string) string { return `%"` + p + `"%` })
		default:
			return notFor("ip")
		}
	}
	if nonEmpty(f.Host) {
		if t.hostCol == "" {
			return notFor("host")
		}
		q.match([]string{t.hostCol}, f.Host, nil)
	}
	if nonEmpty(f.App) {
		if t.appCol == "" {
			return notFor("app")
		}
		q.match([]string{t.appCol}, f.App, nil)
	}
	if nonEmpty(f.Q) {
		q.match(t.qCols, f.Q, func(p string) string { return "%" + p + "%" })
	}
	if len(f.Port) > 0 {
		if len(t.portCols) == 0 {
			return notFor("port")
		}
		var parts []string
		var args []any
		for _, p := range f.Port {
			if p < 0 || p > 65535 {
				return fmt.Errorf("%w: port %d out of range 0-65535", ErrFilter, p)
			}
			for _, c := range t.portCols {
				parts = append(parts, c+" = ?")
				args = append(args, p)
			}
		}
		q.where("("+strings.Join(parts, " OR ")+")", args...)
	}
	return nil
}

// sortSpec is a validated Filter.Sort.
type sortSpec struct {
	col  string // column name, or "id"
	idx  int    // index in t.cols, -1 for id
	desc bool
	name string // as given, normalised ("-time" when empty)
}

func parseSort(t *table, s string) (sortSpec, error) {
	if s == "" {
		s = "-time"
	}
	sp := sortSpec{name: s}
	name := s
	if strings.HasPrefix(name, "-") {
		sp.desc = true
		name = name[1:]
	}
	if name == "time" {
		name = t.timeCol
	}
	if name == "id" {
		sp.col, sp.idx = "id", -1
		return sp, nil
	}
	i, ok := t.col(name)
	if !ok || t.cols[i].typ == tJSON || t.cols[i].typ == tText {
		return sp, fmt.Errorf("%w: sort %q: %s has no sortable column %q", ErrFilter, s, t.name, name)
	}
	sp.col, sp.idx = name, i
	return sp, nil
}
