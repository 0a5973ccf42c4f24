package api

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"testing"

	"tamon/daemon/internal/record"
)

type agg struct {
	bytes, sessions int64
	up, down        int64
}

// sumSessions adds up the sessions that keep picks, by key.
func sumSessions(recs []record.Record, key func(*record.Session) string, keep func(*record.Session) bool) map[string]*agg {
	out := map[string]*agg{}
	for _, r := range recs {
		s, ok := r.(*record.Session)
		if !ok || (keep != nil && !keep(s)) {
			continue
		}
		k := key(s)
		a := out[k]
		if a == nil {
			a = &agg{}
			out[k] = a
		}
		a.bytes += int64(s.BytesUp + s.BytesDown)
		a.up += int64(s.BytesUp)
		a.down += int64(s.BytesDown)
		a.sessions++
	}
	return out
}

func keyFunc(by string) func(*record.Session) string {
	switch by {
	case "device":
		return func(s *record.Session) string { return s.ClientMAC }
	case "app":
		return func(s *record.Session) string { return s.App }
	case "host":
		return func(s *record.Session) string { return s.Host }
	}
	return func(*record.Session) string { return "total" }
}

// testTop: every top list equals the sums of the session rows.
func testTop(t *testing.T, fx *fixture) {
	labels := map[string]string{}
	for _, r := range ofKind(fx.recs, record.KindDevice) {
		d := r.(*record.Device)
		labels[d.MAC] = fx.inv.Name(d.MAC)
		if labels[d.MAC] == "" {
			labels[d.MAC] = d.Alias
		}
		if labels[d.MAC] == "" {
			labels[d.MAC] = d.Hostname
		}
	}
	macs := sumSessions(fx.recs, keyFunc("device"), nil)
	var someMAC string
	for m, a := range macs {
		if m != "" && a.sessions > 3 && (someMAC == "" || m < someMAC) {
			someMAC = m
		}
	}
	for _, by := range []string{"device", "app", "host"} {
		for _, metric := range []string{"bytes", "sessions"} {
			for _, filter := range []string{"", "&mac=" + url.QueryEscape(someMAC)} {
				var keep func(*record.Session) bool
				if filter != "" {
					keep = func(s *record.Session) bool { return s.ClientMAC == someMAC }
				}
				want := sumSessions(fx.recs, keyFunc(by), keep)
				path := fmt.Sprintf("/api/v1/top?by=%s&metric=%s&n=1000&from=0%s", by, metric, filter)
				code, body, _ := get(t, fx.ts.URL, path)
				if code != 200 {
					t.Fatalf("%s: %d %s", path, code, body)
				}
				var got struct{ Rows []topRow }
				json.Unmarshal(body, &got)
				if len(got.Rows) != len(want) {
					t.Errorf("%s: %d keys, want %d", path, len(got.Rows), len(want))
				}
				for i, row := range got.Rows {
					a := want[row.Key]
					if a == nil || a.bytes != row.Bytes || a.sessions != row.Sessions {
						t.Errorf("%s: %+v, sums of the rows %+v", path, row, a)
						continue
					}
					if i > 0 {
						prev := got.Rows[i-1]
						pv, v := prev.Bytes, row.Bytes
						if metric == "sessions" {
							pv, v = prev.Sessions, row.Sessions
						}
						if v > pv || v == pv && row.Key < prev.Key {
							t.Errorf("%s: rows %d and %d out of order", path, i-1, i)
						}
					}
					wantLabel := row.Key
					if by == "device" {
						wantLabel = labels[row.Key]
					}
					if row.Label != wantLabel {
						t.Errorf("%s: %s labelled %q, want %q", path, row.Key, row.Label, wantLabel)
					}
				}
			}
		}
	}
	p10 := fmt.Sprintf("/api/v1/top?by=host&from=0")
	_, body, _ := get(t, fx.ts.URL, p10)
	var ten struct{ Rows []topRow }
	json.Unmarshal(body, &ten)
	if len(ten.Rows) != 10 {
		t.Errorf("%s: %d rows, want the default 10", p10, len(ten.Rows))
	}
}

// seriesAnswer is a decoded GET /series.
type seriesAnswer struct {
	StepMS int64 `json:"step_ms"`
	Series []struct {
		Key    string     `json:"key"`
		Label  string     `json:"label"`
		Points [][3]int64 `json:"points"`
	} `json:"series"`
}

// testSeries: series points add up to the session rows of their steps.
func testSeries(t *testing.T, fx *fixture) {
	var lo, hi int64 = 1 << 62, 0
	for _, r := range fx.recs {
		if s, ok := r.(*record.Session); ok {
			lo, hi = min(lo, s.StartTS), max(hi, s.StartTS)
		}
	}
	check := func(by, key string, n int, from, to int64, keep func(*record.Session) bool) {
		t.Helper()
		stepS := max(1, ((to-from)/5000+999)/1000)
		step := stepS * 1000
		path := fmt.Sprintf("/api/v1/series?by=%s&step=%ds&from=%d&to=%d", by, stepS, from, to)
		if key != "" {
			path += "&key=" + url.QueryEscape(key)
		}
		if n > 0 {
			path += fmt.Sprintf("&n=%d", n)
		}
		code, body, _ := get(t, fx.ts.URL, path)
		if code != 200 {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		var got seriesAnswer
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if got.StepMS != step {
			t.Errorf("%s: step_ms %d, want %d", path, got.StepMS, step)
		}
		inRange := func(s *record.Session) bool {
			return s.StartTS >= from && s.StartTS < to && (keep == nil || keep(s))
		}
		sums := sumSessions(fx.recs, keyFunc(by), inRange)
		var wantKeys []string
		switch {
		case by == "total":
			wantKeys = []string{"total"}
		case key != "":
			wantKeys = []string{key}
		default:
			for k := range sums {
				if k != "" {
					wantKeys = append(wantKeys, k)
				}
			}
			sort.Slice(wantKeys, func(i, j int) bool {
				a, b := sums[wantKeys[i]], sums[wantKeys[j]]
				if a.bytes != b.bytes {
					return a.bytes > b.bytes
				}
				return wantKeys[i] < wantKeys[j]
			})
			wantKeys = wantKeys[:min(n, len(wantKeys))]
		}
		if len(got.Series) != len(wantKeys) {
			t.Fatalf("%s: %d series, want %d (%v)", path, len(got.Series), len(wantKeys), wantKeys)
		}
		first := from / step * step
		steps := int((to-1)/step*step-first)/int(step) + 1
		for i, sr := range got.Series {
			if sr.Key != wantKeys[i] {
				t.Errorf("%s: series %d is %q, want %q", path, i, sr.Key, wantKeys[i])
				continue
			}
			if len(sr.Points) != steps {
				t.Errorf("%s %s: %d points, want %d", path, sr.Key, len(sr.Points), steps)
				continue
			}
			// Per step, the sums of the sessions that started in it.
			want := make([][2]int64, steps)
			kf := keyFunc(by)
			for _, r := range fx.recs {
				s, ok := r.(*record.Session)
				if !ok || !inRange(s) || kf(s) != sr.Key {
					continue
				}
				j := (s.StartTS/step*step - first) / step
				want[j][0] += int64(s.BytesUp)
				want[j][1] += int64(s.BytesDown)
			}
			var up, down int64
			for j, pt := range sr.Points {
				if pt[0] != first+int64(j)*step || pt[1] != want[j][0] || pt[2] != want[j][1] {
					t.Fatalf("%s %s point %d: %v, want [%d %d %d]", path, sr.Key, j, pt, first+int64(j)*step, want[j][0], want[j][1])
				}
				up += pt[1]
				down += pt[2]
			}
			if a := sums[sr.Key]; a == nil || a.up != up || a.down != down {
				t.Errorf("%s %s: points add up to %d/%d, rows %+v", path, sr.Key, up, down, a)
			}
		}
	}
	check("total", "", 0, lo, hi+1, nil)
	check("total", "", 0, lo+(hi-lo)/2, hi+1, nil)
	check("device", "", 3, lo, hi+1, nil)
	check("app", "", 2, lo, hi+1, nil)
	macs := sumSessions(fx.recs, keyFunc("device"), nil)
	for m, a := range macs {
		if m != "" && a.sessions > 20 {
			var dlo, dhi int64 = 1 << 62, 0
			for _, r := range fx.recs {
				if s, ok := r.(*record.Session); ok && s.ClientMAC == m {
					dlo, dhi = min(dlo, s.StartTS), max(dhi, s.StartTS)
				}
			}
			check("device", m, 0, dlo, dhi+1, nil)
		}
	}
	check("app", "Apple", 0, lo, hi+1, nil)
}
