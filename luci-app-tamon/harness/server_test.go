package harness

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func newTestServer(t *testing.T) (*Server, *httptest.Server, *[]string) {
	t.Helper()
	var applied []string
	srv, err := New(Options{AppDir: appDir(t), ConfigDir: configDir(t), OnApply: func(c []string) { applied = append(applied, c...) },
		Info: func() Info { return Info{Port: 8321, TLS: true, Running: true, Mode: "auto", Enabled: true} }})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return srv, ts, &applied
}

// call posts one JSON-RPC request and returns the decoded answer.
func call(t *testing.T, ts *httptest.Server, sid, object, method string, args any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "call", "params": []any{sid, object, method, args}})
	res, err := http.Post(ts.URL+"/ubus/", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// result returns [status, data] of a JSON-RPC answer.
func result(t *testing.T, ans map[string]any) (float64, map[string]any) {
	t.Helper()
	r, ok := ans["result"].([]any)
	if !ok || len(r) == 0 {
		t.Fatalf("no result in %v", ans)
	}
	var data map[string]any
	if len(r) > 1 {
		data, _ = r[1].(map[string]any)
	}
	return r[0].(float64), data
}

func TestUbus(t *testing.T) {
	srv, ts, applied := newTestServer(t)
	sid := srv.SessionID()
	ro := srv.NewSession(false)

	tests := []struct {
		name   string
		sid    string
		object string
		method string
		args   map[string]any
		denied bool
		status float64
		check  func(t *testing.T, data map[string]any)
	}{
		{"access group read", sid, "session", "access", map[string]any{"scope": "access-group", "object": "luci-app-tamon", "function": "read"}, false, 0,
			func(t *testing.T, d map[string]any) {
				if d["access"] != true {
					t.Errorf("access = %v", d)
				}
			}},
		{"read-only lacks write", ro, "session", "access", map[string]any{"scope": "access-group", "object": "luci-app-tamon", "function": "write"}, false, 0,
			func(t *testing.T, d map[string]any) {
				if d["access"] != false {
					t.Errorf("access = %v", d)
				}
			}},
		{"plugin info", sid, "luci.tamon", "info", nil, false, 0,
			func(t *testing.T, d map[string]any) {
				if d["port"] != 8321.0 || d["tls"] != true || d["running"] != true {
					t.Errorf("info = %v", d)
				}
			}},
		{"network devices", sid, "network.device", "status", nil, false, 0,
			func(t *testing.T, d map[string]any) {
				if d["br-lan"] == nil {
					t.Errorf("devices = %v", d)
				}
			}},
		{"ungranted object", sid, "file", "exec", map[string]any{"command": "/bin/sh"}, true, 0, nil},
		{"ungranted method", sid, "luci.tamon", "restart", nil, true, 0, nil},
		{"unknown session", "0123456789abcdef0123456789abcdef", "luci.tamon", "info", nil, true, 0, nil},
		{"uci get", sid, "uci", "get", map[string]any{"config": "tamon", "section": "main"}, false, 0,
			func(t *testing.T, d map[string]any) {
				v := d["values"].(map[string]any)
				if v[".type"] != "tamon" || v["tcp_timeout"] != "300" {
					t.Errorf("values = %v", v)
				}
				if l, ok := v["interface"].([]any); !ok || len(l) != 1 || l[0] != "br-lan" {
					t.Errorf("interface = %#v, want a list", v["interface"])
				}
			}},
		{"uci get option", sid, "uci", "get", map[string]any{"config": "tamon", "section": "api", "option": "listen"}, false, 0,
			func(t *testing.T, d map[string]any) {
				if d["value"] != "lan:8321" {
					t.Errorf("value = %v", d)
				}
			}},
		{"uci get missing config", sid, "uci", "get", map[string]any{"config": "network"}, true, 0, nil},
		{"uci write read-only", ro, "uci", "set", map[string]any{"config": "tamon", "section": "main", "values": map[string]any{"tcp_timeout": "1"}}, true, 0, nil},
		{"uci set missing section", sid, "uci", "set", map[string]any{"config": "tamon", "section": "nope", "values": map[string]any{"x": "1"}}, false, 4, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ans := call(t, ts, tc.sid, tc.object, tc.method, tc.args)
			if tc.denied {
				e, _ := ans["error"].(map[string]any)
				if e == nil || e["code"] != -32002.0 {
					t.Errorf("answer %v, want access denied", ans)
				}
				return
			}
			st, data := result(t, ans)
			if st != tc.status {
				t.Fatalf("status %v, want %v (%v)", st, tc.status, ans)
			}
			if tc.check != nil {
				tc.check(t, data)
			}
		})
	}

	// set, add, changes, apply: the file changes and OnApply runs.
	if st, _ := result(t, call(t, ts, sid, "uci", "set", map[string]any{"config": "tamon", "section": "main", "values": map[string]any{"tcp_timeout": "90", "interface": []string{"br-lan", "eth1"}}})); st != 0 {
		t.Fatalf("set: %v", st)
	}
	_, d := result(t, call(t, ts, sid, "uci", "add", map[string]any{"config": "tamon", "type": "alias", "values": map[string]any{"mac": "02:00:5e:00:53:01", "name": "TV"}}))
	if name, _ := d["section"].(string); !strings.HasPrefix(name, "cfg") {
		t.Errorf("add = %v", d)
	}
	_, d = result(t, call(t, ts, sid, "uci", "changes", nil))
	if d["changes"].(map[string]any)["tamon"] == nil {
		t.Errorf("changes = %v", d)
	}
	if st, _ := result(t, call(t, ts, sid, "uci", "apply", map[string]any{"rollback": false})); st != 0 {
		t.Fatalf("apply: %v", st)
	}
	if !slices.Equal(*applied, []string{"tamon"}) {
		t.Errorf("OnApply got %v", *applied)
	}
	p, err := ParseUCIFile(filepath.Join(srv.opt.ConfigDir, "tamon"))
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := p.Section("main").Get("tcp_timeout"); o.Values[0] != "90" {
		t.Errorf("tcp_timeout = %v", o.Values)
	}
	if o, _ := p.Section("main").Get("interface"); !o.List || !slices.Equal(o.Values, []string{"br-lan", "eth1"}) {
		t.Errorf("interface = %+v", o)
	}
	if al, _ := srv.UCI.Aliases(); al["02:00:5e:00:53:01"] != "TV" {
		t.Errorf("aliases = %v", al)
	}

	// Batches and protocol errors.
	res, err := http.Post(ts.URL+"/ubus/", "application/json", strings.NewReader(`[{"jsonrpc":"2.0","id":1,"method":"call","params":["`+sid+`","luci","getFeatures",{}]},{"jsonrpc":"2.0","id":2,"method":"nope"}]`))
	if err != nil {
		t.Fatal(err)
	}
	var batch []map[string]any
	json.NewDecoder(res.Body).Decode(&batch)
	res.Body.Close()
	if len(batch) != 2 || batch[0]["result"] == nil || batch[1]["error"] == nil {
		t.Errorf("batch = %v", batch)
	}
	res, _ = http.Post(ts.URL+"/ubus/", "application/json", strings.NewReader(`{not json`))
	var perr map[string]any
	json.NewDecoder(res.Body).Decode(&perr)
	res.Body.Close()
	if e, _ := perr["error"].(map[string]any); e == nil || e["code"] != -32700.0 {
		t.Errorf("parse error answer = %v", perr)
	}
}

func TestPagesAndStatic(t *testing.T) {
	srv, ts, applied := newTestServer(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(p string) (*http.Response, string) {
		res, err := client.Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(b)
	}
	res, _ := get("/cgi-bin/luci/")
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/cgi-bin/luci/admin/status/tamon" {
		t.Errorf("root: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	res, _ = get("/cgi-bin/luci/admin/status/tamon")
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/cgi-bin/luci/admin/status/tamon/overview" {
		t.Errorf("firstchild: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	res, body := get("/cgi-bin/luci/admin/status/tamon/devices?lang=zh_Hans")
	if res.StatusCode != 200 || !strings.Contains(body, `ui.instantiateView("tamon/devices")`) || !strings.Contains(body, srv.SessionID()) ||
		!strings.Contains(body, "设置") || !strings.Contains(body, `lang="zh-CN"`) {
		t.Errorf("page: %d\n%s", res.StatusCode, body)
	}
	res, _ = get("/cgi-bin/luci/admin/status/tamon/nosuch")
	if res.StatusCode != 404 {
		t.Errorf("unknown page: %d", res.StatusCode)
	}
	// The app's files are served as they are.
	res, body = get("/luci-static/resources/view/tamon/live.js")
	want, _ := os.ReadFile(filepath.Join(appDir(t), "htdocs/luci-static/resources/view/tamon/live.js"))
	if res.StatusCode != 200 || body != string(want) {
		t.Errorf("live.js: %d, served %d bytes, file has %d", res.StatusCode, len(body), len(want))
	}
	if res, _ = get("/luci-static/resources/form.js"); res.StatusCode != 200 {
		t.Errorf("shim form.js: %d", res.StatusCode)
	}
	if res, _ = get("/luci-static/resources/../../go.mod"); res.StatusCode != 404 {
		t.Errorf("path escape: %d", res.StatusCode)
	}
	// Menu needs /etc/config/tamon.
	os.Remove(filepath.Join(srv.opt.ConfigDir, "tamon"))
	if res, _ = get("/cgi-bin/luci/admin/status/tamon/overview"); res.StatusCode != 404 {
		t.Errorf("page without the config: %d", res.StatusCode)
	}
	// Apply with an unknown session asks for a login.
	r, err := http.PostForm(ts.URL+"/cgi-bin/luci/admin/uci/apply_rollback", url.Values{"sid": {"nope"}})
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusForbidden || r.Header.Get("X-LuCI-Login-Required") != "yes" || len(*applied) != 0 {
		t.Errorf("apply with a bad session: %d %v", r.StatusCode, r.Header)
	}
}

func TestMenu(t *testing.T) {
	m, err := LoadMenu(filepath.Join(appDir(t), "root/usr/share/luci/menu.d/luci-app-tamon.json"))
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, n := range m.Children("admin/status/tamon") {
		titles = append(titles, n.Title)
	}
	want := []string{"Overview", "Live", "Devices", "Apps", "Sessions", "DNS", "HTTP", "TLS", "ICMP", "Settings"}
	if !slices.Equal(titles, want) {
		t.Errorf("tabs = %q, want %q", titles, want)
	}
	for _, n := range m {
		if n.Action.Type != "view" {
			continue
		}
		f := filepath.Join(appDir(t), "htdocs/luci-static/resources/view", n.Action.Path+".js")
		if _, err := os.Stat(f); err != nil {
			t.Errorf("menu node %s names view %s, which does not exist", n.Path, n.Action.Path)
		}
	}
	root := m["admin/status/tamon"]
	if !slices.Equal(root.Depends.ACL, []string{"luci-app-tamon"}) || !root.Depends.UCI["tamon"] {
		t.Errorf("root node depends = %+v", root.Depends)
	}
	if n, ok := m.Resolve("admin/status/tamon"); !ok || n.Path != "admin/status/tamon/overview" {
		t.Errorf("Resolve(root) = %v", n)
	}
	if _, err := LoadMenu(writeTemp(t, `{"a": {"action": {"type": "cbi"}}}`)); err == nil {
		t.Error("a cbi (Lua) node was accepted")
	}
}

func writeTemp(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f.json")
	os.WriteFile(p, []byte(s), 0o644)
	return p
}
