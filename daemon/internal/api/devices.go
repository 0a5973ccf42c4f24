package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"tamon/daemon/internal/devices"
	"tamon/daemon/internal/record"
	"tamon/daemon/internal/store"
)

// Limits of the device routes.
const (
	maxAliasBody  = 4096 // bytes of a PUT body
	maxAliasRunes = 64   // characters of an alias
	uciTimeout    = 5 * time.Second
)

// historyRow is one line of GET /devices/{mac}/history.
type historyRow struct {
	Day       string `json:"day"`
	Name      string `json:"name"`
	FirstSeen int64  `json:"first_seen"`
	LastSeen  int64  `json:"last_seen"`
	Sessions  uint64 `json:"sessions"`
	Bytes     uint64 `json:"bytes"`
}

// history answers GET /devices/{mac}/history: the sites the device
// visited, per day (newest day first; within a day most bytes first), one
// row per name and day from the DNS lookups and sessions of the device.
// With a store, the rows come from the database (sessions and dns tables,
// of every MAC of the device: the primary and its linked randomised MACs),
// so they survive restarts and go back as far as retention_days; without
// one, from the live inventory, which keeps the last days
// (devices.Config.HistoryDays, 7 by default). Both follow the same rules
// (devices.MergeVisits). Days are in the inventory's time zone
// (devices.Config.Location). from and to default to the last 7 days, and
// the days holding them are included whole; limit 1..1000, default 100.
// sensor (alternatives, * wildcards, as in the other queries) picks the
// sensors whose records count; by default only the inventory's own, so
// that routers sharing a database each show what they saw, as the live
// inventory does; sensor=* takes every sensor's.
func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	mac, err := parseMAC(r.PathValue("mac"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q, err := parseQuery(r.URL.RawQuery, "from", "to", "limit", "sensor")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	sensors, err := alternatives("sensor", q["sensor"])
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if _, given := q["sensor"]; !given && s.opts.Devices != nil {
		sensors = []string{s.opts.Devices.Config().Sensor}
	}
	now := s.nowMS()
	from, to, err := q.timeRange(now, 7*day, true)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if to == 0 {
		to = max(now, from+1)
	}
	limit, err := q.intParam("limit", defaultLimit, 1, maxJSONLimit)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	loc := time.Local // devices.Config's default
	if s.opts.Devices != nil {
		loc = s.opts.Devices.Config().Location
		if loc == nil {
			loc = time.UTC
		}
	}
	var visits []devices.Visit
	switch {
	case s.opts.Store != nil:
		visits, err = s.storeHistory(r, mac, sensors, from, to, loc)
		if err != nil {
			s.storeError(w, r, "history of "+mac, err)
			return
		}
	case s.opts.Devices != nil:
		// The live inventory holds its own sensor's visits only.
		if len(sensors) == 0 || anyMatch(patterns(sensors, false), s.opts.Devices.Config().Sensor) {
			visits = s.opts.Devices.History(mac, from, to)
		}
	}
	slices.SortStableFunc(visits, func(a, b devices.Visit) int { return compareInt64(b.Day, a.Day) })
	rows := make([]historyRow, 0, min(len(visits), limit))
	for _, v := range visits[:min(len(visits), limit)] {
		rows = append(rows, historyRow{Day: time.UnixMilli(v.Day).In(loc).Format(time.DateOnly), Name: v.Name,
			FirstSeen: v.FirstSeen, LastSeen: v.LastSeen, Sessions: v.Sessions, Bytes: v.Bytes})
	}
	writeJSON(w, http.StatusOK, map[string]any{"rows": rows})
}

// storeHistory reads the visited sites of the device mac belongs to, for
// the days in loc from the one holding from to the one holding to, from
// the records of the sensors (all when empty) in the store: with the
// inventory's own sensor, the same visits Inventory.History would give,
// had it kept them.
func (s *Server) storeHistory(r *http.Request, mac string, sensors []string, from, to int64, loc *time.Location) ([]devices.Visit, error) {
	macs := []string{mac}
	if s.opts.Devices != nil {
		if m := s.opts.Devices.MACs(mac); len(m) > 0 {
			macs = m
		}
	}
	start, end := devices.HistorySpan(from, to, loc)
	ctx, cancel := s.queryCtx(r)
	defer cancel()
	f := store.Filter{MAC: macs, Sensor: sensors, From: start, To: end}
	buckets, err := s.opts.Store.Visits(ctx, devices.VisitStep, f)
	if errors.Is(err, store.ErrTooMany) {
		// A busy device: one query per day, each under the bound. Days
		// end on bucket boundaries (the steps divide every zone's offset
		// from UTC), so the buckets are the same as the one query's.
		buckets, err = nil, nil
		for day := start; day < end && err == nil; {
			f.From, f.To = day, min(devices.NextDay(day, loc), end)
			var b []store.VisitBucket
			b, err = s.opts.Store.Visits(ctx, devices.VisitStep, f)
			buckets = append(buckets, b...)
			day = f.To
		}
	}
	if err != nil {
		return nil, err
	}
	counts := make([]devices.VisitCount, len(buckets))
	for i, b := range buckets {
		counts[i] = devices.VisitCount{Name: b.Name, Lookup: b.Kind == record.KindDNS, First: b.First, Last: b.Last,
			Sessions: uint64(max(b.Sessions, 0)), Bytes: uint64(max(b.Bytes, 0)), Lookups: uint64(max(b.Lookups, 0))}
	}
	return devices.MergeVisits(counts, loc), nil
}

func compareInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// alias answers PUT /devices/{mac}/alias with body {"name":"..."}: it
// writes the alias to UCI (an anonymous "config alias" section of
// /etc/config/tamon, through the uci command; an empty name removes it),
// commits, and asks the daemon to reload, which renames the device
// everywhere. Names are trimmed, at most 64 characters, without control
// characters.
func (s *Server) alias(w http.ResponseWriter, r *http.Request) {
	mac, err := parseMAC(r.PathValue("mac"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if _, err := parseQuery(r.URL.RawQuery); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	name, code, err := readAliasBody(w, r)
	if err != nil {
		writeError(w, code, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 4*uciTimeout)
	defer cancel()
	s.aliasMu.Lock()
	changed, err := s.writeAlias(ctx, mac, name)
	s.aliasMu.Unlock()
	if err != nil {
		s.logf("write alias of %s: %v", mac, err)
		writeError(w, http.StatusInternalServerError, "write alias: "+err.Error())
		return
	}
	if changed && s.opts.Reload != nil {
		if err := s.opts.Reload(); err != nil {
			writeError(w, http.StatusInternalServerError, "alias written, but the reload failed: "+err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// readAliasBody reads and checks {"name":"..."}; on error it returns the
// status to answer.
func readAliasBody(w http.ResponseWriter, r *http.Request) (string, int, error) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAliasBody))
	dec.DisallowUnknownFields()
	var body struct {
		Name *string `json:"name"`
	}
	err := dec.Decode(&body)
	if err == nil && dec.Decode(new(json.RawMessage)) != io.EOF {
		err = errors.New("more than one JSON value")
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "", http.StatusRequestEntityTooLarge, fmt.Errorf("body: more than %d bytes", maxAliasBody)
		}
		return "", http.StatusBadRequest, fmt.Errorf(`body: want {"name":"..."}: %v`, err)
	}
	if body.Name == nil {
		return "", http.StatusBadRequest, errors.New(`body: want {"name":"..."}: name is missing`)
	}
	name := strings.TrimSpace(*body.Name)
	if n := utf8.RuneCountInString(name); n > maxAliasRunes {
		return "", http.StatusBadRequest, fmt.Errorf("name: %d characters, more than %d", n, maxAliasRunes)
	}
	if strings.ContainsFunc(name, unicode.IsControl) || !utf8.ValidString(name) {
		return "", http.StatusBadRequest, errors.New("name: control characters are not allowed")
	}
	return name, 0, nil
}

// writeAlias sets (or, for an empty name, removes) the alias of mac in
// UCI and commits; it reports whether anything changed. Several sections
// for one MAC are folded into the first.
func (s *Server) writeAlias(ctx context.Context, mac, name string) (bool, error) {
	out, err := s.uci(ctx, "-q", "show", "tamon")
	if err != nil {
		return false, err
	}
	secs := aliasSections(out, mac)
	var cmds [][]string
	switch {
	case name == "":
		for i := len(secs) - 1; i >= 0; i-- {
			cmds = append(cmds, []string{"delete", "tamon." + secs[i].ref})
		}
	case len(secs) > 0:
		if secs[0].name != name {
			cmds = append(cmds, []string{"set", "tamon." + secs[0].ref + ".name=" + name})
		}
		for i := len(secs) - 1; i >= 1; i-- {
			cmds = append(cmds, []string{"delete", "tamon." + secs[i].ref})
		}
	default:
		cmds = append(cmds, []string{"add", "tamon", "alias"},
			[]string{"set", "tamon.@alias[-1].mac=" + mac},
			[]string{"set", "tamon.@alias[-1].name=" + name})
	}
	if len(cmds) == 0 {
		return false, nil
	}
	for _, c := range cmds {
		if _, err := s.uci(ctx, c...); err != nil {
			s.uci(ctx, "revert", "tamon")
			return false, err
		}
	}
	if _, err := s.uci(ctx, "commit", "tamon"); err != nil {
		return false, err
	}
	return true, nil
}

func (s *Server) uci(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, uciTimeout)
	defer cancel()
	out, err := s.opts.Run(ctx, "uci", args...)
	if err != nil {
		return out, fmt.Errorf("uci %s: %w", args[0], err)
	}
	return out, nil
}

// aliasSection is a "config alias" section of `uci show tamon`.
type aliasSection struct {
	ref  string // @alias[N] or the section's name
	mac  string
	name string
}

// aliasSections returns the alias sections of the output of `uci show
// tamon` whose mac is mac (case-insensitive), in file order.
func aliasSections(show []byte, mac string) []aliasSection {
	var order []string
	types := map[string]string{}
	secs := map[string]*aliasSection{}
	for _, line := range strings.Split(string(show), "\n") {
		path, val, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		path, ok = strings.CutPrefix(path, "tamon.")
		if !ok {
			continue
		}
		sec, opt, hasOpt := strings.Cut(path, ".")
		if !hasOpt {
			if _, seen := types[sec]; !seen {
				order = append(order, sec)
			}
			types[sec] = val
			continue
		}
		a := secs[sec]
		if a == nil {
			a = &aliasSection{ref: sec}
			secs[sec] = a
		}
		switch opt {
		case "mac":
			a.mac = unquoteUCI(val)
		case "name":
			a.name = unquoteUCI(val)
		}
	}
	var out []aliasSection
	for _, sec := range order {
		if types[sec] != "alias" {
			continue
		}
		if a := secs[sec]; a != nil && strings.EqualFold(a.mac, mac) {
			out = append(out, *a)
		}
	}
	return out
}

// unquoteUCI decodes a value as `uci show` prints it: single-quoted
// pieces, '\” for a quote (the text '\” ends a piece, adds a quote and
// starts the next), bare text as it is.
func unquoteUCI(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\'':
			end := strings.IndexByte(v[i+1:], '\'')
			if end < 0 {
				b.WriteString(v[i+1:])
				return b.String()
			}
			b.WriteString(v[i+1 : i+1+end])
			i += end + 1
		case '\\':
			if i+1 < len(v) {
				i++
				b.WriteByte(v[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
