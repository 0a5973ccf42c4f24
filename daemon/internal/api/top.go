package api

import (
	"context"
	"net/http"

	"tamon/daemon/internal/record"
	"tamon/daemon/internal/store"
)

// maxTop is the largest n of GET /top.
const maxTop = 1000

// topRow is one key of GET /top.
type topRow struct {
	Key      string `json:"key"`
	Label    string `json:"label"`
	Bytes    int64  `json:"bytes"`
	Sessions int64  `json:"sessions"`
}

// top answers GET /top: the n devices, apps or hosts with the most bytes
// or sessions among the sessions that started in [from, to) and meet the
// filters. A device's label is its alias, else its host name; an app's or
// host's is the key itself.
func (s *Server) top(w http.ResponseWriter, r *http.Request) {
	if s.opts.Store == nil {
		writeError(w, http.StatusServiceUnavailable, "no database: this tamond runs without a store")
		return
	}
	q, err := parseQuery(r.URL.RawQuery, withFilters("by", "metric", "n", "from", "to")...)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	by, metric, n, f, err := parseTop(q, s.nowMS())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.topAnswer(w, r, by, metric, n, f)
}

// parseTop reads the parameters of GET /top.
func parseTop(q query, now int64) (by, metric string, n int, f store.Filter, err error) {
	if by, err = q.oneOf("by", "device", "device", "app", "host"); err != nil {
		return
	}
	if metric, err = q.oneOf("metric", "bytes", "bytes", "sessions"); err != nil {
		return
	}
	if n, err = q.intParam("n", 10, 1, maxTop); err != nil {
		return
	}
	if f.From, f.To, err = q.timeRange(now, day, false); err != nil {
		return
	}
	err = q.filters(&f)
	return
}

func (s *Server) topAnswer(w http.ResponseWriter, r *http.Request, by, metric string, n int, f store.Filter) {
	ctx, cancel := s.queryCtx(r)
	defer cancel()
	items, err := s.opts.Store.Top(ctx, by, metric, f, n)
	if err != nil {
		s.storeError(w, r, "top "+by, err)
		return
	}
	rows := make([]topRow, len(items))
	var labels map[string]string
	if by == "device" {
		keys := make([]string, len(items))
		for i, it := range items {
			keys[i] = it.Key
		}
		labels = s.deviceLabels(ctx, keys)
	}
	for i, it := range items {
		rows[i] = topRow{Key: it.Key, Label: it.Key, Bytes: it.Bytes, Sessions: it.Sessions}
		if by == "device" {
			rows[i].Label = labels[it.Key]
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"rows": rows})
}

// deviceLabels returns how each MAC is shown: the live inventory's name
// (alias, else host name), else the alias or host name the store keeps.
func (s *Server) deviceLabels(ctx context.Context, macs []string) map[string]string {
	out := make(map[string]string, len(macs))
	var missing []string
	for _, m := range macs {
		if m == "" {
			continue
		}
		if s.opts.Devices != nil {
			if name := s.opts.Devices.Name(m); name != "" {
				out[m] = name
				continue
			}
		}
		missing = append(missing, m)
	}
	if len(missing) == 0 || s.opts.Store == nil {
		return out
	}
	f := store.Filter{MAC: missing, Limit: min(8*len(missing), maxJSONLimit)}
	s.opts.Store.List(ctx, record.KindDevice, f, func(row store.Row) error {
		d, ok := row.Record.(*record.Device)
		if !ok || out[d.MAC] != "" {
			return nil
		}
		if d.Alias != "" {
			out[d.MAC] = d.Alias
		} else if d.Hostname != "" {
			out[d.MAC] = d.Hostname
		}
		return nil
	})
	return out
}
