package harness

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

//go:embed shim
var shimFS embed.FS

// Info is what the rpcd plugin luci.tamon answers to "info": where the
// daemon's API listens and whether it runs.
type Info struct {
	Port    int    `json:"port"`
	TLS     bool   `json:"tls"`
	Running bool   `json:"running"`
	Mode    string `json:"tls_mode,omitempty"`
	Enabled bool   `json:"enabled"`
}

// Options set up a Server.
type Options struct {
	// AppDir is the luci-app-tamon folder (htdocs/, root/, po/).
	AppDir string
	// ConfigDir plays /etc/config; the tamon file must exist there for the
	// menu to show (menu.d depends on uci tamon).
	ConfigDir string
	// Lang is the default language: "en" or a po/ folder name ("zh_Hans").
	// A request may pick another with ?lang=, remembered in a cookie.
	Lang string
	// Info answers luci.tamon info; nil answers "not running".
	Info func() Info
	// OnApply runs after a commit of configs (Save & Apply, uci apply,
	// uci commit), as rpcd's config.change event reaches procd.
	OnApply func(configs []string)
	// NetDevices are the router's network devices (ubus network.device
	// status); default br-lan, eth0, eth1, wlan0, lo.
	NetDevices []string
	// Hostname shown in the header; default "OpenWrt".
	Hostname string
	// ExecKey, when set, opens /harness/exec to the ubus and uci commands
	// of a real daemon that bring it (see RouterCLI).
	ExecKey string
}

// session is a LuCI login: its id and the ACL levels it holds.
type session struct {
	id     string
	user   string
	levels map[string]map[string]bool // acl group -> "read"/"write"
}

// Server is a LuCI-shaped web server for luci-app-tamon: it serves the
// app's files unmodified with the clean-room JS shim in place of LuCI's own,
// a page shaped like LuCI's view template, the /ubus JSON-RPC endpoint
// (session, uci, luci.tamon, network.device, luci) and Save & Apply. It is an
// http.Handler and safe for concurrent use.
type Server struct {
	opt  Options
	UCI  *UCI
	menu Menu
	acl  map[string]aclGroup

	mu       sync.Mutex
	sessions map[string]*session
	sid      string // the default logged-in session
	tr       map[string]map[string]string
	applied  []string // configs applied, in order (for tests)
}

type aclLevel struct {
	UBUS map[string][]string `json:"ubus"`
	UCI  []string            `json:"uci"`
}

type aclGroup struct {
	Description string   `json:"description"`
	Read        aclLevel `json:"read"`
	Write       aclLevel `json:"write"`
}

// New loads the app's menu, ACL and catalogues and returns a Server with one
// session logged in holding the app's ACL group at read and write level.
func New(opt Options) (*Server, error) {
	if opt.Lang == "" {
		opt.Lang = "en"
	}
	if opt.Hostname == "" {
		opt.Hostname = "OpenWrt"
	}
	if len(opt.NetDevices) == 0 {
		opt.NetDevices = []string{"br-lan", "eth0", "eth1", "wlan0", "lo"}
	}
	s := &Server{opt: opt, UCI: NewUCI(opt.ConfigDir), sessions: map[string]*session{}, tr: map[string]map[string]string{}}
	var err error
	if s.menu, err = LoadMenu(filepath.Join(opt.AppDir, "root/usr/share/luci/menu.d/luci-app-tamon.json")); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(opt.AppDir, "root/usr/share/rpcd/acl.d/luci-app-tamon.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &s.acl); err != nil {
		return nil, fmt.Errorf("acl.d/luci-app-tamon.json: %w", err)
	}
	dirs, err := os.ReadDir(filepath.Join(opt.AppDir, "po"))
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		if !d.IsDir() || d.Name() == "templates" {
			continue
		}
		entries, err := ParsePOFile(filepath.Join(opt.AppDir, "po", d.Name(), "tamon.po"))
		if err != nil {
			return nil, err
		}
		tr := Catalogue(entries)
		// The shim's own strings (luci-base's catalogue on a router).
		if base, err := shimFS.ReadFile("shim/base." + d.Name() + ".po"); err == nil {
			be, err := ParsePO("shim/base."+d.Name()+".po", bytes.NewReader(base))
			if err != nil {
				return nil, err
			}
			for k, v := range Catalogue(be) {
				if _, ok := tr[k]; !ok {
					tr[k] = v
				}
			}
		}
		s.tr[d.Name()] = tr
	}
	s.sid = s.NewSession(true)
	return s, nil
}

// SessionID returns the id of the default session (L.env.sessionid).
func (s *Server) SessionID() string { return s.sid }

// NewSession logs a new user in, holding every group of the app's ACL file
// at read level, and at write level too when write is set.
func (s *Server) NewSession(write bool) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	ss := &session{id: id, user: "root", levels: map[string]map[string]bool{}}
	for g := range s.acl {
		ss.levels[g] = map[string]bool{"read": true, "write": write}
	}
	s.mu.Lock()
	s.sessions[id] = ss
	s.mu.Unlock()
	return id
}

// Expire ends a session, as the idle timeout does.
func (s *Server) Expire(sid string) {
	s.mu.Lock()
	delete(s.sessions, sid)
	s.mu.Unlock()
}

// Access answers "ubus call session access" for the API's auth: whether sid
// holds the given ACL group at level ("read" or "write").
func (s *Server) Access(sid, group, level string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[sid]
	return ok && ss.levels[group][level]
}

// Applied returns the configs committed so far by Save & Apply or uci
// apply/commit, in order.
func (s *Server) Applied() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.applied)
}

// Translations returns the window.TR map of lang (nil for "en").
func (s *Server) Translations(lang string) map[string]string { return s.tr[lang] }

func (s *Server) session(sid string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[sid]
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/" || p == "/cgi-bin/luci" || p == "/cgi-bin/luci/":
		root := s.menu.Roots()
		if len(root) == 0 {
			http.Error(w, "menu has no nodes", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/cgi-bin/luci/"+root[0].Path, http.StatusFound)
	case p == "/ubus" || strings.HasPrefix(p, "/ubus/") || strings.HasPrefix(p, "/cgi-bin/luci/admin/ubus"):
		s.serveUbus(w, r)
	case strings.HasPrefix(p, "/cgi-bin/luci/admin/uci/"):
		s.serveApply(w, r, strings.TrimPrefix(p, "/cgi-bin/luci/admin/uci/"))
	case strings.HasPrefix(p, "/cgi-bin/luci/"):
		s.servePage(w, r, strings.TrimPrefix(p, "/cgi-bin/luci/"))
	case p == "/harness/exec":
		s.serveExec(w, r)
	case p == "/favicon.ico":
		w.WriteHeader(http.StatusNoContent)
	case p == "/luci-static/harness/cascade.css":
		b, _ := s.shimFile("cascade.css")
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Write(b)
	case strings.HasPrefix(p, "/luci-static/resources/"):
		s.serveResource(w, r, strings.TrimPrefix(p, "/luci-static/resources/"))
	default:
		http.NotFound(w, r)
	}
}

// shimFile reads a shim file from AppDir/harness/shim when it is there (so
// edits show without a rebuild), else from the copy built in.
func (s *Server) shimFile(name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(s.opt.AppDir, "harness", "shim", filepath.FromSlash(name)))
	if err == nil {
		return b, nil
	}
	return shimFS.ReadFile("shim/" + name)
}

// serveResource serves the app's htdocs first, then the shim's modules.
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request, rel string) {
	clean := path.Clean("/" + rel)[1:]
	if clean == "" || strings.Contains(clean, "..") {
		http.NotFound(w, r)
		return
	}
	file := filepath.Join(s.opt.AppDir, "htdocs/luci-static/resources", filepath.FromSlash(clean))
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		b, err = s.shimFile(clean)
	}
	if err != nil {
		http.NotFound(w, r)
		return
	}
	switch path.Ext(clean) {
	case ".js":
		w.Header().Set("Content-Type", "application/javascript; charset=utf-8")
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".svg":
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}

func (s *Server) lang(w http.ResponseWriter, r *http.Request) string {
	lang := s.opt.Lang
	if c, err := r.Cookie("harness_lang"); err == nil {
		lang = c.Value
	}
	if q := r.URL.Query().Get("lang"); q != "" {
		lang = q
		http.SetCookie(w, &http.Cookie{Name: "harness_lang", Value: q, Path: "/"})
	}
	if _, ok := s.tr[lang]; !ok {
		lang = "en"
	}
	return lang
}

func (s *Server) translate(lang, msgid string) string {
	if t, ok := s.tr[lang][fmt.Sprintf("%08x", SFH([]byte(NormalizeKey(msgid))))]; ok {
		return t
	}
	return msgid
}

// servePage answers a menu path with a page shaped like LuCI's view template.
func (s *Server) servePage(w http.ResponseWriter, r *http.Request, p string) {
	p = strings.Trim(p, "/")
	node, ok := s.menu.Resolve(p)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if node.Path != p {
		q := ""
		if r.URL.RawQuery != "" {
			q = "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, "/cgi-bin/luci/"+node.Path+q, http.StatusFound)
		return
	}
	lang := s.lang(w, r)
	ss := s.session(s.sid)
	// menu.d "depends": the ACL group and the UCI file.
	for cur := node.Path; cur != "." && cur != ""; cur = path.Dir(cur) {
		n, ok := s.menu[cur]
		if !ok {
			break
		}
		for _, g := range n.Depends.ACL {
			if ss == nil || !ss.levels[g]["read"] {
				http.Error(w, "Access denied: ACL group "+g, http.StatusForbidden)
				return
			}
		}
		for c := range n.Depends.UCI {
			if _, err := os.Stat(filepath.Join(s.opt.ConfigDir, c)); err != nil {
				http.Error(w, "Not found: menu node needs /etc/config/"+c, http.StatusNotFound)
				return
			}
		}
	}
	env := map[string]any{
		"sessionid":      s.sid,
		"token":          s.sid[:16],
		"resource":       "/luci-static/resources",
		"scriptname":     "/cgi-bin/luci",
		"pollinterval":   5,
		"ubuspath":       "/ubus/",
		"requestpath":    strings.Split(node.Path, "/"),
		"nodespec":       map[string]any{"action": map[string]string{"type": "view", "path": node.Action.Path}, "readonly": ss == nil || !ss.levels["luci-app-tamon"]["write"]},
		"apply_rollback": 90,
		"apply_holdoff":  4,
		"lang":           lang,
		"hostname":       s.opt.Hostname,
	}
	envJSON, _ := json.Marshal(env)
	trJSON, _ := json.Marshal(s.tr[lang])
	if s.tr[lang] == nil {
		trJSON = []byte("{}")
	}
	viewJSON, _ := json.Marshal(node.Action.Path)
	langJSON, _ := json.Marshal(lang)

	parent := path.Dir(node.Path)
	var tabs strings.Builder
	for _, c := range s.menu.Children(parent) {
		cls := "cbi-tab-disabled"
		if c.Path == node.Path {
			cls = "cbi-tab"
		}
		fmt.Fprintf(&tabs, `<li class="%s" data-path="%s"><a href="/cgi-bin/luci/%s">%s</a></li>`,
			cls, html.EscapeString(c.Path), html.EscapeString(c.Path), html.EscapeString(s.translate(lang, c.Title)))
	}
	var nav strings.Builder
	for _, n := range s.menu.Roots() {
		fmt.Fprintf(&nav, `<a class="active" href="/cgi-bin/luci/%s">%s</a>`, html.EscapeString(n.Path), html.EscapeString(s.translate(lang, n.Title)))
	}
	title := s.translate(lang, node.Title)
	if title == "" {
		title = s.translate(lang, s.menu[parent].Title)
	}
	htmlLang := map[string]string{"zh_Hans": "zh-CN"}[lang]
	if htmlLang == "" {
		htmlLang = lang
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintf(w, `<!DOCTYPE html>
<html lang="%s">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%s - %s - LuCI</title>
<link rel="stylesheet" href="/luci-static/harness/cascade.css">
<script src="/luci-static/resources/luci.js"></script>
<script>window.TR = %s; window.__trLang = %s; L = new LuCI(%s);</script>
</head>
<body>
<header><a class="brand" href="/cgi-bin/luci/">%s</a><nav>%s</nav></header>
<div id="maincontent">
<ul class="cbi-tabmenu" id="tabmenu">%s</ul>
<div id="view"><div class="spinning">Loading view…</div></div>
</div>
<script>L.require('ui').then(function(ui) { ui.instantiateView(%s); });</script>
</body>
</html>
`, htmlLang, html.EscapeString(title), html.EscapeString(s.opt.Hostname), trJSON, langJSON, envJSON,
		html.EscapeString(s.opt.Hostname), nav.String(), tabs.String(), viewJSON)
}

// serveApply implements LuCI's apply_rollback / apply_unchecked / confirm.
func (s *Server) serveApply(w http.ResponseWriter, r *http.Request, what string) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "parse form: "+err.Error(), http.StatusBadRequest)
		return
	}
	sid := r.PostForm.Get("sid")
	ss := s.session(sid)
	if ss == nil {
		w.Header().Set("X-LuCI-Login-Required", "yes")
		http.Error(w, "session expired", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch what {
	case "apply_rollback", "apply_unchecked":
		done, err := s.commit(ss)
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"token": ss.id[:16], "configs": done})
	case "confirm":
		json.NewEncoder(w).Encode(map[string]any{})
	default:
		http.NotFound(w, r)
	}
}

// commit writes every config the session changed and runs OnApply.
func (s *Server) commit(ss *session) ([]string, error) {
	for c := range s.UCI.Changes(ss.id) {
		if !s.canUCI(ss, c, "write") {
			return nil, fmt.Errorf("access denied: uci write on %s", c)
		}
	}
	done, err := s.UCI.CommitAll(ss.id)
	if err != nil {
		return done, err
	}
	s.afterCommit(done)
	return done, nil
}

func (s *Server) afterCommit(done []string) {
	if len(done) == 0 {
		return
	}
	s.mu.Lock()
	s.applied = append(s.applied, done...)
	s.mu.Unlock()
	if s.opt.OnApply != nil {
		s.opt.OnApply(done)
	}
}

func (s *Server) canUCI(ss *session, config, level string) bool {
	for g, lv := range ss.levels {
		acl := s.acl[g]
		if lv["read"] && level == "read" && (slices.Contains(acl.Read.UCI, config) || slices.Contains(acl.Write.UCI, config)) {
			return true
		}
		if lv["write"] && level == "write" && slices.Contains(acl.Write.UCI, config) {
			return true
		}
	}
	return false
}

func (s *Server) canUbus(ss *session, object, method string) bool {
	for g, lv := range ss.levels {
		acl := s.acl[g]
		for _, l := range []struct {
			on bool
			a  aclLevel
		}{{lv["read"], acl.Read}, {lv["write"], acl.Write}} {
			if !l.on {
				continue
			}
			for _, m := range l.a.UBUS[object] {
				if m == method || m == "*" {
					return true
				}
			}
		}
	}
	return false
}
