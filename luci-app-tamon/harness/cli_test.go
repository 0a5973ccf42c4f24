package harness

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// TestRouterCommands runs the ubus and uci command lines tamond uses (and a
// few more) against a Server, in order: uci changes are staged apart from
// LuCI sessions until commit.
func TestRouterCommands(t *testing.T) {
	srv, _, _ := newTestServer(t)
	other := srv.NewSession(false)
	steps := []struct {
		argv   []string
		code   int
		stdout string // substring ("" = none expected, checked empty)
	}{
		{[]string{"ubus", "call", "session", "access", `{"ubus_rpc_session":"` + srv.SessionID() + `","scope":"access-group","object":"luci-app-tamon","function":"write"}`}, 0, `"access": true`},
		{[]string{"ubus", "call", "session", "access", `{"ubus_rpc_session":"` + other + `","scope":"access-group","object":"luci-app-tamon","function":"write"}`}, 0, `"access": false`},
		{[]string{"ubus", "call", "session", "access", `{"ubus_rpc_session":"00000000000000000000000000000000","scope":"access-group","object":"luci-app-tamon","function":"read"}`}, 4, ""},
		{[]string{"ubus", "call", "network.interface.lan", "status"}, 4, ""},
		{[]string{"ubus", "call", "session", "access", "{not json"}, 1, ""},
		{[]string{"uci", "-q", "show", "tamon"}, 0, "tamon.main=tamon\ntamon.main.enabled='1'\ntamon.main.interface='br-lan'\n"},
		{[]string{"uci", "-q", "show", "nope"}, 1, ""},
		{[]string{"uci", "get", "tamon.main.tcp_timeout"}, 0, "300\n"},
		{[]string{"uci", "get", "tamon.storage"}, 0, "storage\n"},
		{[]string{"uci", "add", "tamon", "alias"}, 0, "cfg"},
		{[]string{"uci", "set", "tamon.@alias[-1].mac=02:00:5e:00:53:01"}, 0, ""},
		{[]string{"uci", "set", "tamon.@alias[-1].name=It's mine"}, 0, ""},
		{[]string{"uci", "show", "tamon.@alias[0]"}, 0, "tamon.@alias[0]=alias\ntamon.@alias[0].mac='02:00:5e:00:53:01'\ntamon.@alias[0].name='It'\\''s mine'\n"},
		{[]string{"uci", "set", "tamon.@alias[3].name=x"}, 1, ""},
		{[]string{"uci", "set", "tamon.extra=thing"}, 0, ""},
		{[]string{"uci", "add_list", "tamon.main.interface=eth1"}, 0, ""},
		{[]string{"uci", "get", "tamon.main.interface"}, 0, "br-lan eth1\n"},
		{[]string{"uci", "delete", "tamon.main.app_timeout"}, 0, ""},
		{[]string{"uci", "commit", "tamon"}, 0, ""},
		{[]string{"uci", "delete", "tamon.extra"}, 0, ""},
		{[]string{"uci", "revert", "tamon"}, 0, ""},
		{[]string{"uci", "frobnicate"}, 1, ""},
		{[]string{"sh", "-c", "true"}, 127, ""},
	}
	for _, st := range steps {
		var out, errb strings.Builder
		code := srv.Exec(st.argv, &out, &errb)
		if code != st.code {
			t.Errorf("%q: exit %d, want %d (stderr %q)", st.argv, code, st.code, errb.String())
		}
		if st.stdout == "" && out.Len() > 0 && st.code == 0 {
			t.Errorf("%q: stdout %q, want none", st.argv, out.String())
		}
		if !strings.Contains(out.String(), st.stdout) {
			t.Errorf("%q: stdout %q, want it to contain %q", st.argv, out.String(), st.stdout)
		}
	}
	// The committed file: the alias, the list, the named section; the
	// deletion after the commit was reverted.
	p, err := ParseUCIFile(filepath.Join(srv.opt.ConfigDir, "tamon"))
	if err != nil {
		t.Fatal(err)
	}
	if got := aliasesOf(p); got["02:00:5e:00:53:01"] != "It's mine" || len(got) != 1 {
		t.Errorf("aliases after commit: %q", got)
	}
	if o, _ := p.Section("main").Get("interface"); strings.Join(o.Values, " ") != "br-lan eth1" {
		t.Errorf("main.interface = %q", o.Values)
	}
	if _, ok := p.Section("main").Get("app_timeout"); ok {
		t.Error("main.app_timeout survived its deletion")
	}
	if s := p.Section("extra"); s == nil || s.Type != "thing" {
		t.Errorf("section extra = %+v, want type thing", s)
	}
	// LuCI sessions see none of the command line's staging.
	if n := srv.UCI.Changes(srv.SessionID()); len(n) != 0 {
		t.Errorf("the LuCI session has changes %v", n)
	}
}

func aliasesOf(p *Package) map[string]string {
	out := map[string]string{}
	for _, s := range p.Sections {
		m, _ := s.Get("mac")
		n, _ := s.Get("name")
		if s.Type == "alias" && len(m.Values) == 1 && len(n.Values) == 1 {
			out[m.Values[0]] = n.Values[0]
		}
	}
	return out
}

// TestRouterCLI runs the commands the way tamond does, as a program called
// ubus or uci that reaches the Server over HTTP with the key.
func TestRouterCLI(t *testing.T) {
	srv, err := New(Options{AppDir: appDir(t), ConfigDir: configDir(t), ExecKey: "k3y"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	t.Setenv(EnvHarnessURL, ts.URL)
	t.Setenv(EnvHarnessKey, "k3y")
	var out, errb strings.Builder
	code, ok := RouterCLI([]string{"/some/bin/uci", "get", "tamon.main.udp_timeout"}, &out, &errb)
	if !ok || code != 0 || out.String() != "60\n" {
		t.Errorf("uci get: ok %v, exit %d, stdout %q, stderr %q", ok, code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	code, _ = RouterCLI([]string{"ubus", "call", "session", "access", `{"ubus_rpc_session":"nobody"}`}, &out, &errb)
	if code != 4 || !strings.Contains(errb.String(), "Not found") {
		t.Errorf("ubus for an unknown session: exit %d, stderr %q", code, errb.String())
	}
	if _, ok := RouterCLI([]string{"tamond", "-version"}, &out, &errb); ok {
		t.Error("RouterCLI took a program that is neither ubus nor uci")
	}
	// A wrong key: the route is not there.
	t.Setenv(EnvHarnessKey, "wrong")
	errb.Reset()
	if code, _ := RouterCLI([]string{"uci", "show"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "404") {
		t.Errorf("wrong key: exit %d, stderr %q", code, errb.String())
	}
	// No key configured: closed to everyone.
	resp, err := http.Post(ts.URL+"/harness/exec", "application/json", strings.NewReader(`{"argv":["uci","show"]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("exec without a key: %s", resp.Status)
	}
	closed, _, _ := newTestServer(t)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/harness/exec", strings.NewReader(`{"argv":["uci","show"]}`))
	req.Header.Set("X-Harness-Key", "")
	closed.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		t.Errorf("exec on a server without ExecKey: %d", rec.Code)
	}
}
