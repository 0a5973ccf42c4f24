package api

import (
	"net/http"
	"strconv"
	"time"

	"tamon/daemon/internal/record"
	"tamon/daemon/internal/store"
)

// Limits of GET /series.
const (
	maxSeriesPoints = 10000 // steps in [from, to)
	maxSeriesKeys   = 50
)

// seriesParams are the parameters of GET /series.
type seriesParams struct {
	by    string // device, app or total
	step  time.Duration
	key   string
	n     int
	f     store.Filter
	first int64 // time of the first step
	steps int
}

func parseSeries(raw string, now int64) (seriesParams, error) {
	var p seriesParams
	q, err := parseQuery(raw, withFilters("by", "step", "key", "n", "from", "to")...)
	if err != nil {
		return p, err
	}
	if p.by, err = q.oneOf("by", "total", "device", "app", "total"); err != nil {
		return p, err
	}
	p.step = time.Minute
	if v, ok := q["step"]; ok {
		if p.step, err = parseStep(v); err != nil {
			return p, err
		}
	}
	if p.n, err = q.intParam("n", 5, 1, maxSeriesKeys); err != nil {
		return p, err
	}
	if p.f.From, p.f.To, err = q.timeRange(now, day, true); err != nil {
		return p, err
	}
	if p.f.To == 0 { // to=0: up to now
		p.f.To = max(now, p.f.From+1)
	}
	if err = q.filters(&p.f); err != nil {
		return p, err
	}
	if v, ok := q["key"]; ok {
		switch p.by {
		case "total":
			return p, badParam("key", "only with by=device or by=app")
		case "device":
			if len(p.f.MAC) > 0 {
				return p, badParam("key", "give key or mac, not both")
			}
			if p.key, err = parseMAC(v); err != nil {
				return p, badParam("key", "%.40q is not a MAC address", v)
			}
			p.f.MAC = []string{p.key}
		case "app":
			if len(p.f.App) > 0 {
				return p, badParam("key", "give key or app, not both")
			}
			if v == "" {
				return p, badParam("key", "empty")
			}
			p.key = v
			p.f.App = []string{v}
		}
	}
	ms := p.step.Milliseconds()
	p.first = p.f.From / ms * ms
	last := (p.f.To - 1) / ms * ms
	n := (last-p.first)/ms + 1
	if n > maxSeriesPoints {
		return p, badParam("step", "%v gives %d points from %d to %d, more than %d: widen the step or narrow the range", p.step, n, p.f.From, p.f.To, maxSeriesPoints)
	}
	p.steps = int(n)
	return p, nil
}

// series answers GET /series: bytes up and down per step of time, by
// session start, for the whole LAN (by=total), for one device or app
// (key), or for the n devices or apps with the most bytes in the range.
// Every step of [from, to) has a point, zero when no session started in
// it; the points of a series add up to the bytes of its sessions.
func (s *Server) series(w http.ResponseWriter, r *http.Request) {
	if s.opts.Store == nil {
		writeError(w, http.StatusServiceUnavailable, "no database: this tamond runs without a store")
		return
	}
	p, err := parseSeries(r.URL.RawQuery, s.nowMS())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := s.queryCtx(r)
	defer cancel()
	var keys []string
	switch {
	case p.by == "total":
		keys = []string{"total"}
	case p.key != "":
		keys = []string{p.key}
	default:
		top, err := s.opts.Store.Top(ctx, p.by, "bytes", p.f, p.n+1)
		if err != nil {
			s.storeError(w, r, "series by "+p.by, err)
			return
		}
		for _, it := range top {
			if it.Key != "" && len(keys) < p.n {
				keys = append(keys, it.Key)
			}
		}
		// Read only those keys' sessions, unless the client filters the
		// same field (then the keys are picked from what it selects).
		if p.by == "device" && len(p.f.MAC) == 0 {
			p.f.MAC = keys
		} else if p.by == "app" && len(p.f.App) == 0 {
			p.f.App = keys
		}
	}
	points := make(map[string][]int64, len(keys)) // key -> up, down per step
	for _, k := range keys {
		points[k] = make([]int64, 2*p.steps)
	}
	if len(keys) > 0 {
		// Summed by the database per step and key: a day of sessions is
		// not read row by row.
		by := p.by
		if by == "total" {
			by = ""
		}
		f := p.f
		f.Limit = 0
		pts, err := s.opts.Store.Series(ctx, p.step, by, f)
		if err != nil {
			s.storeError(w, r, "series by "+p.by, err)
			return
		}
		ms := p.step.Milliseconds()
		for _, pt := range pts {
			k := "total"
			if by != "" {
				k = pt.Key
			}
			arr := points[k]
			i := (pt.TS - p.first) / ms
			if arr == nil || i < 0 || i >= int64(p.steps) {
				continue
			}
			arr[2*i] += pt.Up
			arr[2*i+1] += pt.Down
		}
	}
	var labels map[string]string
	if p.by == "device" {
		labels = s.deviceLabels(ctx, keys)
	}
	b := make([]byte, 0, 64+len(keys)*p.steps*24)
	b = append(b, `{"step_ms":`...)
	b = strconv.AppendInt(b, p.step.Milliseconds(), 10)
	b = append(b, `,"series":[`...)
	for j, k := range keys {
		if j > 0 {
			b = append(b, ',')
		}
		label := k
		switch p.by {
		case "total":
			label = ""
		case "device":
			label = labels[k]
		}
		b = append(b, `{"key":`...)
		b = record.AppendString(b, k)
		b = append(b, `,"label":`...)
		b = record.AppendString(b, label)
		b = append(b, `,"points":[`...)
		pts := points[k]
		for i := 0; i < p.steps; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = strconv.AppendInt(b, p.first+int64(i)*p.step.Milliseconds(), 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, pts[2*i], 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, pts[2*i+1], 10)
			b = append(b, ']')
		}
		b = append(b, "]}"...)
	}
	b = append(b, "]}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}
