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
	Bytes    int64
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
	q.b.WriteString(", SUM(bytes_up + bytes_down) AS b, COUNT(*) AS n FROM sessions")
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
			err = rows.Scan(&p.TS, &p.Key, &p.Bytes, &p.Sessions)
		} else {
			err = rows.Scan(&p.TS, &p.Bytes, &p.Sessions)
		}
		if err != nil {
			return nil, fmt.Errorf("series by %q step %v: %w", by, step, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("series by %q step %v: %w", by, step, err)
	}
	return out, nil
}
