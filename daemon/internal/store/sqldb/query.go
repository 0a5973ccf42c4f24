package sqldb

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"tamon/daemon/internal/record"
)

// Row is one row of a List: its id and the record it holds. The record is
// new for each row; the callee may keep it.
type Row struct {
	ID     int64
	Record record.Record
}

// List calls fn for each row of kind k's table that f selects, in f.Sort
// order, at most f.Limit rows (DefaultLimit when 0), streaming: rows are
// not gathered in memory (except for a Before page, which is read
// backwards and turned around). It returns the cursor of the following page
// ("" when there is none): pass it as Filter.After (or, for a Before page,
// as Filter.Before) to continue. An error from fn stops the list and is
// returned as is.
func (db *DB) List(ctx context.Context, k record.Kind, f Filter, fn func(Row) error) (next string, err error) {
	t, err := db.table(k)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrFilter, err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	if limit > MaxLimit {
		return "", fmt.Errorf("%w: limit %d above %d", ErrFilter, limit, MaxLimit)
	}
	sp, err := parseSort(t, f.Sort)
	if err != nil {
		return "", err
	}
	if f.After != "" && f.Before != "" {
		return "", fmt.Errorf("%w: after and before given together", ErrFilter)
	}
	backward := f.Before != ""
	var q query
	q.b.WriteString("SELECT id")
	for _, c := range t.cols {
		q.b.WriteString(", ")
		q.b.WriteString(c.name)
	}
	q.b.WriteString(" FROM ")
	q.b.WriteString(t.name)
	if err := q.filter(t, &f); err != nil {
		return "", err
	}
	desc := sp.desc != backward
	op, dir := ">", " ASC"
	if desc {
		op, dir = "<", " DESC"
	}
	if cs := f.After + f.Before; cs != "" {
		c, err := decodeCursor(cs)
		if err != nil {
			return "", err
		}
		wantStr := sp.idx >= 0 && t.cols[sp.idx].typ != tInt && t.cols[sp.idx].typ != tSmall && t.cols[sp.idx].typ != tBool
		if c.kind != k || c.sort != sp.name || c.str != wantStr {
			return "", fmt.Errorf("%w: cursor belongs to another list (%s sorted by %q)", ErrFilter, c.kind, c.sort)
		}
		var v any = c.num
		if c.str {
			v = c.text
		}
		if sp.idx < 0 {
			q.where("id "+op+" ?", c.id)
		} else {
			q.where("("+sp.col+" "+op+" ? OR ("+sp.col+" = ? AND id "+op+" ?))", v, v, c.id)
		}
	}
	q.b.WriteString(" ORDER BY ")
	if sp.idx >= 0 {
		q.b.WriteString(sp.col + dir + ", ")
	}
	q.b.WriteString("id" + dir + " LIMIT ?")
	q.args = append(q.args, limit+1)

	rows, err := db.sql.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return "", fmt.Errorf("list %s: %w", t.name, err)
	}
	defer rows.Close()
	g := newRowGetter(t.cols)
	var id int64
	dest := g.dest(&id)
	var held []Row // a Before page, turned around at the end
	var last cursor
	n := 0
	more := false
	for rows.Next() {
		if n == limit {
			more = true
			break
		}
		if err := rows.Scan(dest...); err != nil {
			return "", fmt.Errorf("list %s: %w", t.name, err)
		}
		g.i, g.err = 0, nil
		rec := t.get(g)
		if g.err != nil {
			return "", fmt.Errorf("list %s: row %d: %w", t.name, id, g.err)
		}
		n++
		last = cursor{kind: k, sort: sp.name, id: id}
		if sp.idx >= 0 {
			switch v := g.value(sp.idx).(type) {
			case string:
				last.str, last.text = true, v
			case int64:
				last.num = v
			}
		} else {
			last.num = id
		}
		if backward {
			held = append(held, Row{ID: id, Record: rec})
			continue
		}
		if err := fn(Row{ID: id, Record: rec}); err != nil {
			return "", err
		}
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("list %s: %w", t.name, err)
	}
	slices.Reverse(held)
	for _, r := range held {
		if err := fn(r); err != nil {
			return "", err
		}
	}
	if more {
		return last.encode(), nil
	}
	return "", nil
}

// TopItem is one key of a top-N list with its totals.
type TopItem struct {
	Key      string // MAC, app or host ("" for sessions without one)
	Bytes    int64  // bytes_up + bytes_down of its sessions
	Sessions int64  // number of sessions
}

// groupColumn maps Top's and Series' "by" to a sessions column.
func groupColumn(by string) (string, error) {
	switch by {
	case "device":
		return "client_mac", nil
	case "app":
		return "app", nil
	case "host":
		return "host", nil
	}
	return "", fmt.Errorf("%w: by %q is not device, app or host", ErrFilter, by)
}

// MaxTop is the largest n of Top.
const MaxTop = 1000

// Top returns the n sessions keys (device MAC, app or host) with the most
// bytes or sessions among the sessions f selects, largest first; ties in
// key order. n is 10 when 0.
func (db *DB) Top(ctx context.Context, by, metric string, f Filter, n int) ([]TopItem, error) {
	col, err := groupColumn(by)
	if err != nil {
		return nil, err
	}
	order := "b"
	switch metric {
	case "bytes":
	case "sessions":
		order = "n"
	default:
		return nil, fmt.Errorf("%w: metric %q is not bytes or sessions", ErrFilter, metric)
	}
	if n <= 0 {
		n = 10
	}
	if n > MaxTop {
		return nil, fmt.Errorf("%w: top %d above %d", ErrFilter, n, MaxTop)
	}
	if f.After != "" || f.Before != "" {
		return nil, fmt.Errorf("%w: cursors apply to lists only", ErrFilter)
	}
	t := db.tables[record.KindSession]
	var q query
	q.b.WriteString("SELECT " + col + ", SUM(bytes_up + bytes_down) AS b, COUNT(*) AS n FROM sessions")
	if err := q.filter(t, &f); err != nil {
		return nil, err
	}
	q.b.WriteString(" GROUP BY " + col + " ORDER BY " + order + " DESC, " + col + " ASC LIMIT ?")
	q.args = append(q.args, n)
	rows, err := db.sql.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("top %s by %s: %w", by, metric, err)
	}
	defer rows.Close()
	var out []TopItem
	for rows.Next() {
		var it TopItem
		if err := rows.Scan(&it.Key, &it.Bytes, &it.Sessions); err != nil {
			return nil, fmt.Errorf("top %s by %s: %w", by, metric, err)
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("top %s by %s: %w", by, metric, err)
	}
	return out, nil
}

// Point is one step of a time series: the sessions that started in
// [TS, TS+step), for one key (or all, when the series is not split).
type Point struct {
	TS       int64 // Unix ms, a multiple of the step
	Key      string
	Bytes    int64 // Up + Down
	Up, Down int64 // bytes_up and bytes_down
	Sessions int64
}

// MaxPoints bounds the points of one Series.
const MaxPoints = 100000

// Series returns bytes and sessions per step of time (by session start)
// among the sessions f selects, split by "device", "app" or "host", or not
// split when by is "". When split and f.Limit > 0, only the f.Limit keys
// with the most bytes over the whole range are kept. Points come in time
// order, then key order; steps without sessions are absent.
func (db *DB) Series(ctx context.Context, step time.Duration, by string, f Filter) ([]Point, error) {
	ms := step.Milliseconds()
	if ms <= 0 {
		return nil, fmt.Errorf("%w: step %v below 1 ms", ErrFilter, step)
	}
	if f.From > 0 && f.To > f.From && (f.To-f.From)/ms > MaxPoints {
		return nil, fmt.Errorf("%w: step %v gives more than %d points from %d to %d", ErrFilter, step, MaxPoints, f.From, f.To)
	}
	if f.After != "" || f.Before != "" {
		return nil, fmt.Errorf("%w: cursors apply to lists only", ErrFilter)
	}
	col := ""
	if by != "" {
		var err error
		if col, err = groupColumn(by); err != nil {
			return nil, err
		}
	}
	var keys []string
	if col != "" && f.Limit > 0 {
		f2 := f
		f2.Limit = 0
		top, err := db.Top(ctx, by, "bytes", f2, min(f.Limit, MaxTop))
		if err != nil {
			return nil, err
		}
		if len(top) == 0 {
			return nil, nil
		}
		for _, it := range top {
			keys = append(keys, it.Key)
		}
	}
	div := "/"
	if db.dialect == MySQL {
		div = "DIV"
	}
	t := db.tables[record.KindSession]
	var q query
	q.b.WriteString("SELECT (start_ts " + div + " ?) * ? AS t")
	q.args = append(q.args, ms, ms)
	if col != "" {
		q.b.WriteString(", " + col)
	}
	q.b.WriteString(", SUM(bytes_up) AS u, SUM(bytes_down) AS d, COUNT(*) AS n FROM sessions")
	if err := q.filter(t, &f); err != nil {
		return nil, err
	}
	if len(keys) > 0 {
		args := make([]any, len(keys))
		for i, k := range keys {
			args[i] = k
		}
		q.where(col+" IN (?"+strings.Repeat(", ?", len(keys)-1)+")", args...)
	}
	q.b.WriteString(" GROUP BY t")
	if col != "" {
		q.b.WriteString(", " + col)
	}
	q.b.WriteString(" ORDER BY t")
	if col != "" {
		q.b.WriteString(", " + col)
	}
	rows, err := db.sql.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("series by %q step %v: %w", by, step, err)
	}
	defer rows.Close()
	var out []Point
	for rows.Next() {
		if len(out) == MaxPoints {
			return nil, fmt.Errorf("%w: series by %q step %v: more than %d points; narrow the range or widen the step", ErrFilter, by, step, MaxPoints)
		}
		var p Point
		var err error
		if col != "" {
			err = rows.Scan(&p.TS, &p.Key, &p.Up, &p.Down, &p.Sessions)
		} else {
			err = rows.Scan(&p.TS, &p.Up, &p.Down, &p.Sessions)
		}
		if err != nil {
			return nil, fmt.Errorf("series by %q step %v: %w", by, step, err)
		}
		p.Bytes = p.Up + p.Down
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("series by %q step %v: %w", by, step, err)
	}
	return out, nil
}

// VisitBucket is one row of Visits: the sessions to one host, or the DNS
// lookups of one name, of one step of time.
type VisitBucket struct {
	TS   int64  // start of the step, Unix ms, a multiple of the step
	Name string // sessions: host; dns: query; as stored, byte for byte
	// Kind says where the row comes from: record.KindSession or
	// record.KindDNS.
	Kind     record.Kind
	First    int64 // earliest start_ts (sessions) or ts (dns) in the step
	Last     int64 // latest end_ts or start_ts, whichever is larger (sessions); latest ts (dns)
	Sessions int64 // sessions (0 for dns)
	Bytes    int64 // bytes_up + bytes_down of those sessions (0 for dns)
	Lookups  int64 // lookups (0 for sessions)
}

// MaxVisitBuckets bounds the rows of one Visits.
const MaxVisitBuckets = 100000

// Visits returns the raw material of a device's visited-sites history
// (see devices.MergeVisits): for the sessions and the DNS records that f
// selects, one row per table, name and step of time (sessions by start_ts,
// dns by ts); the MACs of f add up. Sessions without a host are left out;
// of DNS records only successful lookups (rcode NOERROR) of types A, AAAA
// and HTTPS count, as devices.Inventory.DNS counts them; names are as
// stored (the name rules are package devices'). f may only set MAC, From,
// To and Sensor; any other field is an error (ErrFilter). Rows come in
// time order, then name order (bytes), sessions before dns; names group
// byte for byte on both dialects (MySQL's PAD SPACE collation alone would
// merge "a.com" and "a.com "). More than MaxVisitBuckets rows is an error
// (ErrFilter and ErrTooMany): narrow the range or the MAC list.
func (db *DB) Visits(ctx context.Context, step time.Duration, f Filter) ([]VisitBucket, error) {
	return db.visits(ctx, step, f, MaxVisitBuckets)
}

// visits is Visits with at most maxRows rows.
func (db *DB) visits(ctx context.Context, step time.Duration, f Filter, maxRows int) ([]VisitBucket, error) {
	ms := step.Milliseconds()
	if ms <= 0 || step%time.Millisecond != 0 {
		return nil, fmt.Errorf("%w: visits: step %v is not a whole number of milliseconds of at least 1 ms", ErrFilter, step)
	}
	for _, c := range []struct {
		name string
		set  bool
	}{
		{"ip", nonEmpty(f.IP)}, {"host", nonEmpty(f.Host)}, {"app", nonEmpty(f.App)}, {"q", nonEmpty(f.Q)},
		{"port", len(f.Port) > 0}, {"limit", f.Limit != 0}, {"sort", f.Sort != ""},
		{"cursor", f.After != "" || f.Before != ""},
	} {
		if c.set {
			return nil, fmt.Errorf("%w: visits: filter %s does not apply (only mac, from, to and sensor do)", ErrFilter, c.name)
		}
	}
	div, name := "/", func(col string) string { return col }
	if db.dialect == MySQL {
		div = "DIV"
		name = func(col string) string { return "CAST(" + col + " AS BINARY)" }
	}
	var sq, dq query
	sq.b.WriteString("SELECT (start_ts " + div + " ?) * ? AS t, " + name("host") + " AS k, 1 AS src," +
		" MIN(start_ts) AS f, MAX(CASE WHEN end_ts > start_ts THEN end_ts ELSE start_ts END) AS l," +
		" COUNT(*) AS n, SUM(bytes_up + bytes_down) AS b, 0 AS lk FROM sessions")
	sq.args = append(sq.args, ms, ms)
	if err := sq.filter(db.tables[record.KindSession], &f); err != nil {
		return nil, err
	}
	sq.where("LENGTH(host) > 0")
	sq.b.WriteString(" GROUP BY t, k")

	dq.b.WriteString("SELECT (ts " + div + " ?) * ? AS t, " + name("query") + " AS k, 2 AS src," +
		" MIN(ts) AS f, MAX(ts) AS l, 0 AS n, 0 AS b, COUNT(*) AS lk FROM dns")
	dq.args = append(dq.args, ms, ms)
	if err := dq.filter(db.tables[record.KindDNS], &f); err != nil {
		return nil, err
	}
	// The lookups devices.Inventory.DNS counts as visits.
	dq.where("rcode = ? AND qtype IN (?, ?, ?)", "NOERROR", "A", "AAAA", "HTTPS")
	dq.b.WriteString(" GROUP BY t, k")

	text := sq.b.String() + " UNION ALL " + dq.b.String() + " ORDER BY t, k, src LIMIT ?"
	args := slices.Concat(sq.args, dq.args, []any{maxRows + 1})
	rows, err := db.sql.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, fmt.Errorf("visits of %v step %v: %w", f.MAC, step, err)
	}
	defer rows.Close()
	var out []VisitBucket
	for rows.Next() {
		if len(out) == maxRows {
			return nil, fmt.Errorf("%w: %w: visits of %v step %v from %d to %d: more than %d rows; narrow the range", ErrFilter, ErrTooMany, f.MAC, step, f.From, f.To, maxRows)
		}
		var v VisitBucket
		var src int
		if err := rows.Scan(&v.TS, &v.Name, &src, &v.First, &v.Last, &v.Sessions, &v.Bytes, &v.Lookups); err != nil {
			return nil, fmt.Errorf("visits of %v step %v: %w", f.MAC, step, err)
		}
		v.Kind = record.KindSession
		if src == 2 {
			v.Kind = record.KindDNS
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("visits of %v step %v: %w", f.MAC, step, err)
	}
	return out, nil
}
