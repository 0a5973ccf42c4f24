package api

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"tamon/daemon/internal/record"
)

// testAuthMatrix: every route without credentials, with a bad token, with
// the API token, with LuCI sessions that the fake ubus accepts (read and
// write, or read only) or does not know.
func testAuthMatrix(t *testing.T, fx *fixture, tools *fakeTools) {
	tools.write(t, "ubus.log", "")
	mac := busiestMAC(fx)
	creds := []struct {
		name          string
		header        string
		read, write   bool
		unauthorized  bool
		usesUbus, sid string
	}{
		{name: "none", header: ""},
		{name: "not bearer", header: "Basic " + testToken},
		{name: "bad token", header: "Bearer not-the-token"},
		{name: "empty bearer", header: "Bearer "},
		{name: "token", header: "Bearer " + testToken, read: true, write: true},
		{name: "token lower-case scheme", header: "bearer " + testToken, read: true, write: true},
		{name: "luci read-write", header: "Bearer " + sidRW, read: true, write: true, sid: sidRW},
		{name: "luci read-only", header: "Bearer " + sidRO, read: true, sid: sidRO},
		{name: "luci unknown session", header: "Bearer " + sidGone, sid: sidGone},
		{name: "luci id upper-case", header: "Bearer " + strings.ToUpper(sidRW)},
	}
	for _, rt := range fx.srv.routes {
		if rt.level == levelStream {
			continue // authenticates in its first message: TestStreamAuth
		}
		path := apiPrefix + strings.ReplaceAll(rt.path, "{mac}", mac)
		if rt.method == "GET" && rt.level != levelNone {
			path += "?" + map[bool]string{true: "from=0&limit=2", false: ""}[strings.HasPrefix(rt.path, "/sessions") ||
				strings.HasPrefix(rt.path, "/dns") || strings.HasPrefix(rt.path, "/apps")]
		}
		for _, c := range creds {
			var body []byte
			if rt.method == "PUT" {
				body = []byte(`{"name":"Kitchen tablet"}`)
			}
			code, resp, hdr := do(t, rt.method, fx.ts.URL+path, c.header, body)
			allowed := rt.level == levelNone || (rt.level == levelRead && c.read) || (rt.level == levelWrite && c.write)
			switch {
			case allowed && code != 200:
				t.Errorf("%s %s with %s: %d %.200s, want 200", rt.method, path, c.name, code, resp)
			case !allowed:
				var e struct{ Error string }
				json.Unmarshal(resp, &e)
				if code != 401 || e.Error != "unauthorized" || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s %s with %s: %d %.200s, want 401 unauthorized", rt.method, path, c.name, code, resp)
				}
			}
		}
	}
	// ubus was asked, once per session and level (the answers are
	// cached), and never about ids that cannot be sessions.
	ubus := tools.log(t, "ubus.log")
	for _, c := range []struct {
		sid, level string
		max        int
	}{{sidRW, "read", 1}, {sidRW, "write", 1}, {sidRO, "read", 1}} {
		n := 0
		for _, line := range strings.Split(ubus, "\n") {
			if strings.Contains(line, c.sid) && strings.Contains(line, `"function":"`+c.level+`"`) {
				n++
			}
		}
		if n < 1 || n > c.max {
			t.Errorf("ubus asked %d times about %s... %s, want 1 (cached)", n, c.sid[:4], c.level)
		}
	}
	if strings.Contains(ubus, strings.ToUpper(sidRW)) || strings.Contains(ubus, "not-the-token") {
		t.Errorf("ubus was asked about a token that is not a session id:\n%s", ubus)
	}
	if strings.Count(ubus, sidGone) < 2 {
		t.Errorf("refusals must not be cached: ubus asked %d times about the unknown session", strings.Count(ubus, sidGone))
	}
	// No session id or token in the server's log.
	logs := fx.logs.String()
	for _, secret := range []string{sidRW, sidRO, sidGone, testToken} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log shows a credential:\n%s", logs)
		}
	}
	// Preflight and Origin.
	req, _ := http.NewRequest("OPTIONS", fx.ts.URL+"/api/v1/sessions", nil)
	host := strings.TrimPrefix(fx.ts.URL, "http://")
	hostname := host[:strings.LastIndexByte(host, ':')]
	req.Header.Set("Origin", "https://"+hostname)
	req.Header.Set("Access-Control-Request-Method", "GET")
	req.Header.Set("Access-Control-Request-Headers", "authorization")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://"+hostname ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight from LuCI: %d %v", resp.StatusCode, resp.Header)
	}
	for _, o := range []struct {
		origin string
		code   int
	}{{"http://" + hostname, 200}, {"https://" + hostname + ":8443", 200}, {"https://evil.example", 403}, {"null", 403}, {"http://" + hostname + ".evil.example", 403}} {
		req, _ := http.NewRequest("GET", fx.ts.URL+"/api/v1/status", nil)
		req.Header.Set("Origin", o.origin)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		acao := resp.Header.Get("Access-Control-Allow-Origin")
		if resp.StatusCode != o.code || (o.code == 200) != (acao == o.origin) {
			t.Errorf("Origin %s: %d, Access-Control-Allow-Origin %q", o.origin, resp.StatusCode, acao)
		}
	}
}

// busiestMAC is the client MAC with the most sessions.
func busiestMAC(fx *fixture) string {
	n := map[string]int{}
	best := ""
	for _, r := range fx.recs {
		if s, ok := r.(*record.Session); ok && s.ClientMAC != "" {
			n[s.ClientMAC]++
			if n[s.ClientMAC] > n[best] || n[s.ClientMAC] == n[best] && s.ClientMAC < best {
				best = s.ClientMAC
			}
		}
	}
	return best
}

// testStatus: /status shows the engine's, store's and inventory's state.
func testStatus(t *testing.T, fx *fixture) {
	code, body, _ := get(t, fx.ts.URL, "/api/v1/status")
	if code != 200 {
		t.Fatalf("status: %d %s", code, body)
	}
	var st statusAnswer
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	if st.Version != "test" || st.Sensor != "corpus" || st.Store.Driver != fx.name || !st.Store.Connected ||
		st.Config.TCPTimeout != 300 || st.Config.Reloads != 2 || len(st.Capture.Interfaces) != 1 {
		t.Errorf("status: %s", body)
	}
	var m map[string]map[string]any
	json.Unmarshal(body, &m)
	for section, keys := range map[string][]string{
		"capture": {"interfaces", "frames", "bytes", "kernel_drops", "queue_drops", "decode_errors", "offload"},
		"engine":  {"sessions_open", "sessions_ended", "sessions_evicted", "records", "dissect"},
		"store":   {"driver", "connected", "queue", "spool_bytes", "dropped", "last_error"},
		"config":  {"tcp_timeout", "udp_timeout", "app_timeout", "reloads"},
		"rates":   {"up_bps", "down_bps"},
	} {
		for _, k := range keys {
			if _, ok := m[section][k]; !ok {
				t.Errorf("status.%s has no %s: %s", section, k, body)
			}
		}
	}
	// The corpus capture's TLS hellos, as the engine counted them.
	if d := st.Engine.Dissect; d.TLSHellos != fx.dissect.TLSHellos || d.TLSHellos == 0 || d.HTTPRequests != fx.dissect.HTTPReqs {
		t.Errorf("status.engine.dissect %+v, engine %+v", d, fx.dissect)
	}
	var up, down int64
	for _, r := range fx.inv.Rates() {
		up += bitsPerSecond(r.Up)
		down += bitsPerSecond(r.Down)
	}
	if st.Rates.Up != up || st.Rates.Down != down || up+down == 0 {
		t.Errorf("rates %+v, inventory %d/%d", st.Rates, up, down)
	}
}

// testHistory: /devices/{mac}/history is the inventory's visits.
func testHistory(t *testing.T, fx *fixture) {
	// The device with the most visits.
	mac := ""
	for _, d := range fx.inv.Devices() {
		if len(fx.inv.History(d.MAC, 0, fx.now)) > len(fx.inv.History(mac, 0, fx.now)) {
			mac = d.MAC
		}
	}
	code, body, _ := get(t, fx.ts.URL, "/api/v1/devices/"+strings.ToUpper(mac)+"/history?from=0&limit=1000")
	if code != 200 {
		t.Fatalf("history: %d %s", code, body)
	}
	var got struct{ Rows []historyRow }
	json.Unmarshal(body, &got)
	visits := fx.inv.History(mac, 0, fx.now)
	if len(got.Rows) != len(visits) || len(visits) == 0 {
		t.Fatalf("history of %s: %d rows, inventory %d visits", mac, len(got.Rows), len(visits))
	}
	seen := map[string]bool{}
	for i, row := range got.Rows {
		if i > 0 && row.Day > got.Rows[i-1].Day {
			t.Errorf("history: day %s after %s", row.Day, got.Rows[i-1].Day)
		}
		seen[row.Day+" "+row.Name] = true
	}
	var sessions, bytes uint64
	for _, v := range visits {
		sessions += v.Sessions
		bytes += v.Bytes
	}
	var gs, gb uint64
	for _, r := range got.Rows {
		gs += r.Sessions
		gb += r.Bytes
	}
	if gs != sessions || gb != bytes || len(seen) != len(visits) {
		t.Errorf("history sums %d sessions %d bytes, inventory %d %d", gs, gb, sessions, bytes)
	}
	// LuCI encodes the MAC (encodeURIComponent: %3A for ':').
	_, body, _ = get(t, fx.ts.URL, "/api/v1/devices/"+strings.ReplaceAll(mac, ":", "%3A")+"/history?from=0&limit=3")
	json.Unmarshal(body, &got)
	if len(got.Rows) != min(3, len(visits)) {
		t.Errorf("history limit=3: %d rows", len(got.Rows))
	}
	_, body, _ = get(t, fx.ts.URL, "/api/v1/devices/02:00:00:00:00:99/history?from=0")
	if string(body) != "{\"rows\":[]}\n" {
		t.Errorf("history of an unknown device: %s", body)
	}
}

// testAlias: PUT /devices/{mac}/alias runs uci (add, set, commit; set on
// an existing section; delete for an empty name) and reloads.
func testAlias(t *testing.T, fx *fixture, tools *fakeTools) {
	put := func(mac, body string) (int, string) {
		code, resp, _ := do(t, "PUT", fx.ts.URL+"/api/v1/devices/"+mac+"/alias", "Bearer "+testToken, []byte(body))
		return code, string(resp)
	}
	cases := []struct {
		show, mac, body string
		code            int
		uci             []string
		reload          bool
	}{
		{"tamon.main=tamon\n", "AA%3ABB%3ACC%3ADD%3AEE%3A01", `{"name":"儿子的平板"}`, 200,
			[]string{"-q show tamon", "add tamon alias", "set tamon.@alias[-1].mac=aa:bb:cc:dd:ee:01", "set tamon.@alias[-1].name=儿子的平板", "commit tamon"}, true},
		{"tamon.main=tamon\ntamon.@alias[0]=alias\ntamon.@alias[0].mac='AA:BB:CC:DD:EE:01'\ntamon.@alias[0].name='Old'\ntamon.@alias[1]=alias\ntamon.@alias[1].mac='aa:bb:cc:dd:ee:01'\ntamon.@alias[1].name='Dup'\n",
			"aa:bb:cc:dd:ee:01", `{"name":"  It's new  "}`, 200,
			[]string{"-q show tamon", "set tamon.@alias[0].name=It's new", "delete tamon.@alias[1]", "commit tamon"}, true},
		{"tamon.@alias[0]=alias\ntamon.@alias[0].mac='aa:bb:cc:dd:ee:01'\ntamon.@alias[0].name='It'\\''s new'\n",
			"aa:bb:cc:dd:ee:01", `{"name":"It's new"}`, 200, []string{"-q show tamon"}, false},
		{"tamon.kitchen=alias\ntamon.kitchen.mac='aa:bb:cc:dd:ee:01'\ntamon.@alias[1]=alias\ntamon.@alias[1].mac='aa:bb:cc:dd:ee:01'\n",
			"aa:bb:cc:dd:ee:01", `{"name":""}`, 200,
			[]string{"-q show tamon", "delete tamon.@alias[1]", "delete tamon.kitchen", "commit tamon"}, true},
		{"", "aa:bb:cc:dd:ee:01", `{"name":"a\nb"}`, 400, nil, false},
		{"", "aa:bb:cc:dd:ee:01", `{"name":"` + strings.Repeat("x", 65) + `"}`, 400, nil, false},
		{"", "aa:bb:cc:dd:ee:01", `{"nom":"x"}`, 400, nil, false},
		{"", "aa:bb:cc:dd:ee:01", `{}`, 400, nil, false},
		{"", "aa:bb:cc:dd:ee:01", `{"name":"x"} {"name":"y"}`, 400, nil, false},
		{"", "aa:bb:cc:dd:ee:01", `{"name":"` + strings.Repeat("x", 5000) + `"}`, 413, nil, false},
		{"", "not-a-mac", `{"name":"x"}`, 400, nil, false},
	}
	for i, c := range cases {
		tools.write(t, "uci.show", c.show)
		tools.write(t, "uci.log", "")
		fx.mu.Lock()
		before := fx.reloads
		fx.mu.Unlock()
		code, resp := put(c.mac, c.body)
		if code != c.code {
			t.Errorf("case %d: %d %s, want %d", i, code, resp, c.code)
			continue
		}
		var got []string
		sc := bufio.NewScanner(strings.NewReader(tools.log(t, "uci.log")))
		for sc.Scan() {
			got = append(got, sc.Text())
		}
		if strings.Join(got, "\n") != strings.Join(c.uci, "\n") {
			t.Errorf("case %d: uci ran\n%s\nwant\n%s", i, strings.Join(got, "\n"), strings.Join(c.uci, "\n"))
		}
		fx.mu.Lock()
		reloaded := fx.reloads > before
		fx.mu.Unlock()
		if reloaded != c.reload {
			t.Errorf("case %d: reloaded %v, want %v", i, reloaded, c.reload)
		}
	}
}

// testMetrics: /metrics is Prometheus text with the counters of every
// part.
func testMetrics(t *testing.T, fx *fixture) {
	code, body, hdr := get(t, fx.ts.URL, "/api/v1/metrics")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("metrics: %d %s", code, hdr.Get("Content-Type"))
	}
	text := string(body)
	for _, want := range []string{
		"tamon_capture_frames_total ", "tamon_decode_frames_total{reason=\"truncated\"} ",
		"tamon_sessions_open ", "tamon_store_connected{driver=\"" + fx.name + "\"} 1",
		"tamon_store_rows_total{table=\"sessions\"} ", "tamon_api_stream_clients 0",
		"tamon_api_requests_total{route=\"GET /sessions\",code=\"200\"} ",
		"tamon_api_requests_total{route=\"GET /sessions\",code=\"401\"} ",
		"tamon_api_auth_failures_total ", "tamon_api_ubus_calls_total ",
		"tamon_dissect_tls_hellos_total ", "tamon_dissect_skipped_total{reason=\"buffers\"} ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Every sample line: name{labels} value; every name has TYPE.
	typed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			typed[strings.Fields(name)[0]] = true
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		if !typed[name] || len(strings.Fields(line[strings.LastIndexByte(line, ' '):])) != 1 {
			t.Errorf("metrics line %q: no TYPE or no value", line)
		}
	}
}
