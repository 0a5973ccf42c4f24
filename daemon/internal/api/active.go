package api

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"

	"tamon/daemon/internal/record"
	"tamon/daemon/internal/store"
)

// Limits of GET /active.
const (
	defaultActive = 1000
	maxActive     = 10000
)

// active answers GET /active: the sessions open now, from the engine's
// memory, with their counters so far (end_reason "", end_ts the last
// packet), latest activity first. Filters as for lists (no time range);
// limit 1..10000, default 1000. Host names are those the protocols gave
// (SNI, HTTP Host); names from DNS come when the session is written.
func (s *Server) active(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r.URL.RawQuery, withFilters("limit")...)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var f store.Filter
	if err := q.filters(&f); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	limit, err := q.intParam("limit", defaultActive, 1, maxActive)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var open []record.Session
	if s.opts.Engine != nil {
		open = s.opts.Engine.Active()
	}
	m := newMatcher(&f)
	var buf []byte
	rows := open[:0]
	for i := range open {
		if m.empty() || m.match(&open[i], &buf) {
			rows = append(rows, open[i])
		}
	}
	slices.SortFunc(rows, func(a, b record.Session) int {
		if c := cmp.Compare(b.EndTS, a.EndTS); c != 0 {
			return c
		}
		if c := cmp.Compare(b.StartTS, a.StartTS); c != 0 {
			return c
		}
		if c := cmp.Compare(a.ClientIP, b.ClientIP); c != 0 {
			return c
		}
		return cmp.Compare(a.ClientPort, b.ClientPort)
	})
	rows = rows[:min(len(rows), limit)]
	b := make([]byte, 0, 256*len(rows)+16)
	b = append(b, `{"rows":[`...)
	for i := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		rows[i].EndReason = ""
		b = appendData(b, &rows[i])
	}
	b = append(b, "]}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}
