package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"tamon/daemon/internal/corpus"
	"testing"
	"time"

	"tamon/daemon/internal/capture"
	"tamon/daemon/internal/config"
	"tamon/daemon/internal/devices"
	"tamon/daemon/internal/offload"
	"tamon/daemon/internal/pipeline"
	"tamon/daemon/internal/record"
)

func TestAllowedOrigin(t *testing.T) {
	cases := []struct {
		origin, host string
		want         bool
	}{
		{"https://192.0.2.1", "192.0.2.1:8321", true},
		{"http://192.0.2.1:80", "192.0.2.1:8321", true},
		{"https://router.lan:8443", "ROUTER.lan:8321", true},
		{"http://[2001:db8::1]", "[2001:db8::1]:8321", true},
		{"https://192.0.2.1", "192.0.2.2:8321", false},
		{"https://192.0.2.1.example", "192.0.2.1:8321", false},
		{"ftp://192.0.2.1", "192.0.2.1:8321", false},
		{"null", "192.0.2.1:8321", false},
		{"https://user@192.0.2.1", "192.0.2.1:8321", false},
		{"https://192.0.2.1/path", "192.0.2.1:8321", false},
		{"https://", "192.0.2.1:8321", false},
		{"https://192.0.2.1", "", false},
		{"https://192.0.2.1", "192.0.2.1", true},
	}
	for _, c := range cases {
		if got := allowedOrigin(c.origin, c.host); got != c.want {
			t.Errorf("allowedOrigin(%q, %q) = %v", c.origin, c.host, got)
		}
	}
}

func TestAliasSections(t *testing.T) {
	show := "tamon.main=tamon\ntamon.main.interface='br-lan' 'eth1'\n" +
		"tamon.@alias[0]=alias\ntamon.@alias[0].mac='AA:BB:CC:DD:EE:FF'\ntamon.@alias[0].name='It'\\''s'\n" +
		"tamon.kid=alias\ntamon.kid.mac='aa:bb:cc:dd:ee:ff'\n" +
		"tamon.@alias[2]=alias\ntamon.@alias[2].mac='02:00:00:00:00:01'\ntamon.@alias[2].name='x'\n" +
		"tamon.fake=storage\ntamon.fake.mac='aa:bb:cc:dd:ee:ff'\nnot a line\n"
	got := aliasSections([]byte(show), "aa:bb:cc:dd:ee:ff")
	want := []aliasSection{{ref: "@alias[0]", mac: "AA:BB:CC:DD:EE:FF", name: "It's"}, {ref: "kid", mac: "aa:bb:cc:dd:ee:ff"}}
	if !slices.Equal(got, want) {
		t.Errorf("aliasSections = %+v, want %+v", got, want)
	}
	for in, want := range map[string]string{`'a b'`: "a b", `'It'\''s'`: "It's", `bare`: "bare", `'x`: "x", `'a' 'b'`: "a b", `''`: ""} {
		if got := unquoteUCI(in); got != want {
			t.Errorf("unquoteUCI(%s) = %q, want %q", in, got, want)
		}
	}
}

// fakeEngine serves fixed stats and open sessions.
type fakeEngine struct {
	stats  pipeline.Stats
	active []record.Session
}

func (f *fakeEngine) Stats() pipeline.Stats { return f.stats }
func (f *fakeEngine) Active() []record.Session {
	return slices.Clone(f.active)
}

// TestNoStore: without a store, lists, top and series say so (503);
// status, active, health and metrics work.
func TestNoStore(t *testing.T) {
	eng := &fakeEngine{}
	eng.stats.Frames, eng.stats.Decode[2], eng.stats.Decode[3] = 10, 4, 2
	s := New(Options{Engine: eng, Token: func() string { return testToken },
		Offload: func() offload.Report { return offload.Report{Software: true, Advice: "turn it off"} }})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	for _, p := range []string{"/api/v1/sessions", "/api/v1/dns.csv", "/api/v1/top", "/api/v1/series"} {
		if code, body, _ := get(t, ts.URL, p); code != 503 || !strings.Contains(string(body), "no database") {
			t.Errorf("%s: %d %s", p, code, body)
		}
	}
	code, body, _ := get(t, ts.URL, "/api/v1/status")
	var st statusAnswer
	json.Unmarshal(body, &st)
	if code != 200 || st.Capture.Frames != 10 || st.Capture.DecodeErrors["truncated"] != 2 || st.Capture.DecodeErrors["fragment"] != 0 ||
		!st.Capture.Offload.Software || st.Capture.Offload.Advice != "turn it off" || st.Store.Driver != "" {
		t.Errorf("status: %d %s", code, body)
	}
	if _, ok := st.Capture.DecodeErrors["fragment"]; ok {
		t.Error("fragments waiting for reassembly are not decode errors")
	}
	if code, body, _ := do(t, "GET", ts.URL+"/api/v1/health", "", nil); code != 200 || string(body) != "{\"ok\":true}\n" {
		t.Errorf("health: %d %s", code, body)
	}
	if code, _, _ := get(t, ts.URL, "/api/v1/metrics"); code != 200 {
		t.Errorf("metrics: %d", code)
	}
}

// TestActiveFiltered: /active filters, orders and limits the engine's
// open sessions, with end_reason "".
func TestActiveFiltered(t *testing.T) {
	eng := &fakeEngine{active: []record.Session{
		{Proto: "tcp", ClientMAC: "02:00:00:00:00:01", ClientIP: "192.0.2.1", ClientPort: 1, ServerPort: 443, StartTS: 10, EndTS: 50, Host: "a.example"},
		{Proto: "udp", ClientMAC: "02:00:00:00:00:02", ClientIP: "192.0.2.2", ClientPort: 2, ServerPort: 53, StartTS: 20, EndTS: 70},
		{Proto: "tcp", ClientMAC: "02:00:00:00:00:01", ClientIP: "192.0.2.1", ClientPort: 3, ServerPort: 80, StartTS: 30, EndTS: 60, EndReason: "x"},
	}}
	s := New(Options{Engine: eng, Token: func() string { return testToken }})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	ports := func(path string) []int {
		code, body, _ := get(t, ts.URL, path)
		if code != 200 {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		var a struct{ Rows []map[string]any }
		json.Unmarshal(body, &a)
		var out []int
		for _, r := range a.Rows {
			if r["end_reason"] != "" {
				t.Errorf("%s: end_reason %v", path, r["end_reason"])
			}
			out = append(out, int(r["client_port"].(float64)))
		}
		return out
	}
	for path, want := range map[string][]int{
		"/api/v1/active":                            {2, 3, 1},
		"/api/v1/active?mac=02:00:00:00:00:01":      {3, 1},
		"/api/v1/active?port=443,53":                {2, 1},
		"/api/v1/active?host=*.example":             {1},
		"/api/v1/active?limit=1":                    {2},
		"/api/v1/active?q=192.0.2.2":                {2},
		"/api/v1/active?app=x":                      nil,
		"/api/v1/active?mac=02:00:00:00:00:01&q=a.": {1},
	} {
		if got := ports(path); !slices.Equal(got, want) {
			t.Errorf("%s: ports %v, want %v", path, got, want)
		}
	}
}

// replaySource yields the frames of a capture with the current time, then
// reports a quiet link until its context ends, like a live interface.
type replaySource struct {
	frames [][]byte
	links  []capture.LinkType
	i      int
	ctx    context.Context
}

func (s *replaySource) Next(f *capture.Frame) error {
	if s.i < len(s.frames) {
		if s.i%64 == 63 {
			time.Sleep(time.Millisecond) // live traffic comes paced
		}
		*f = capture.Frame{Data: s.frames[s.i], WireLen: len(s.frames[s.i]), TS: time.Now().UnixNano(), Link: s.links[s.i]}
		s.i++
		return nil
	}
	select {
	case <-s.ctx.Done():
		return io.EOF
	case <-time.After(20 * time.Millisecond):
		return capture.ErrTimeout
	}
}
func (s *replaySource) Stats() capture.Stats { return capture.Stats{} }
func (s *replaySource) Close() error         { return nil }
func (s *replaySource) Name() string         { return "replay" }

// TestActiveLive: /active shows the sessions a running engine holds open,
// with their live counters.
func TestActiveLive(t *testing.T) {
	file, err := capture.OpenFile(filepath.Join(corpus.Dir(t), "pcaps", mainCapture))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	src := &replaySource{ctx: ctx}
	var f capture.Frame
	for file.Next(&f) == nil {
		src.frames = append(src.frames, append([]byte(nil), f.Data...))
		src.links = append(src.links, f.Link)
	}
	file.Close()
	inv := devices.New(devices.Config{Sensor: "live"})
	eng := pipeline.New(pipeline.Config{Sensor: "live", Workers: 2, Live: true, IdleTick: 50 * time.Millisecond, Devices: inv})
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx, src) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	s := New(Options{Engine: eng, Devices: inv, Token: func() string { return testToken },
		Config: func() ConfigInfo { return ConfigInfo{Config: config.Default()} }})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	for end := time.Now().Add(10 * time.Second); eng.Stats().Frames+eng.Stats().QueueDrops < uint64(len(src.frames)); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the engine did not read the frames")
		}
	}
	time.Sleep(200 * time.Millisecond)
	want := eng.Active()
	code, body, _ := get(t, ts.URL, "/api/v1/active?limit=10000")
	var got struct{ Rows []map[string]any }
	json.Unmarshal(body, &got)
	if code != 200 || len(got.Rows) != len(want) || len(want) < 50 {
		t.Fatalf("active: %d, %d rows; the engine holds %d open", code, len(got.Rows), len(want))
	}
	var bytes, wantBytes float64
	for _, r := range got.Rows {
		bytes += r["bytes_up"].(float64) + r["bytes_down"].(float64)
		if r["end_reason"] != "" || r["timeline"] == nil {
			t.Fatalf("active row %v", r)
		}
	}
	for _, w := range want {
		wantBytes += float64(w.BytesUp + w.BytesDown)
	}
	if bytes != wantBytes || bytes == 0 {
		t.Errorf("active rows carry %v bytes, the engine %v", bytes, wantBytes)
	}
	code, body, _ = get(t, ts.URL, "/api/v1/status")
	var st statusAnswer
	json.Unmarshal(body, &st)
	if code != 200 || st.Engine.SessionsOpen != uint64(len(want)) || st.Capture.Frames != eng.Stats().Frames || st.Rates.Up+st.Rates.Down == 0 {
		t.Errorf("status while live: %s", body)
	}
}

// TestConcurrentRequests: many goroutines on every read route at once
// (run with -race).
func TestConcurrentRequests(t *testing.T) {
	eng := &fakeEngine{active: []record.Session{{Proto: "tcp", ClientMAC: "02:00:00:00:00:01"}}}
	s := New(Options{Engine: eng, Token: func() string { return testToken }})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				p := []string{"/api/v1/status", "/api/v1/active", "/api/v1/metrics", "/api/v1/health"}[(i+j)%4]
				req, _ := http.NewRequest("GET", ts.URL+p, nil)
				req.Header.Set("Authorization", "Bearer "+testToken)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("%s: %d", p, resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
}
