// Package api is tamond's HTTP API: the JSON routes under /api/v1/ that
// LuCI, scripts and integrations read (lists from the store, active
// sessions, top and series aggregates, status, Prometheus metrics), the
// WebSocket stream that pushes records as the engine makes them, and the
// rules around them: Bearer-token and LuCI-session auth, CORS for the
// router's own LuCI origin, TLS that follows uhttpd, and listening on the
// LAN addresses only. docs/api.md is the contract; docs/openapi.yaml
// describes the same routes (a test keeps them equal).
//
// # Concurrency
//
// A Server is safe for concurrent use: every handler may run in many
// goroutines at once. Write (the engine's sink) is called from the engine's
// merger goroutine and never blocks: it copies record pointers into each
// stream client's bounded buffer, and a client whose buffer is full is
// told and disconnected. Records handed to Write are kept, never changed
// (package record promises that the engine does not change them either).
package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tamon/daemon/internal/config"
	"tamon/daemon/internal/devices"
	"tamon/daemon/internal/offload"
	"tamon/daemon/internal/pipeline"
	"tamon/daemon/internal/record"
	"tamon/daemon/internal/store"
)

// Store is what the API reads from the database. *store.Store implements
// it; its methods must be safe for concurrent use.
type Store interface {
	List(ctx context.Context, kind record.Kind, f store.Filter, fn func(store.Row) error) (next string, err error)
	Top(ctx context.Context, by, metric string, f store.Filter, n int) ([]store.TopItem, error)
	Series(ctx context.Context, step time.Duration, by string, f store.Filter) ([]store.Point, error)
	Visits(ctx context.Context, step time.Duration, f store.Filter) ([]store.VisitBucket, error)
	Stats() store.Stats
}

// Engine is what the API reads from the running engine. *pipeline.Engine
// implements it; both methods must be safe from any goroutine.
type Engine interface {
	Stats() pipeline.Stats
	Active() []record.Session
}

// Inventory is what the API reads from the device inventory.
// *devices.Inventory implements it (its reading methods are safe for
// concurrent use). Leave Options.Devices nil, not a nil pointer, when
// there is none.
type Inventory interface {
	Name(mac string) string
	History(mac string, from, to int64) []devices.Visit
	MACs(mac string) []string
	Rates() []devices.Rate
	Config() devices.Config
}

// Runner runs a program directly (no shell) and returns its standard
// output. A non-zero exit is an error that wraps *exec.ExitError. The API
// runs ubus and uci through it; tests pass fakes. It must be safe for
// concurrent use and must not put its arguments in errors or logs (they
// may hold a LuCI session id).
type Runner func(ctx context.Context, name string, args ...string) ([]byte, error)

// ExecRunner is the Runner tamond uses: exec.CommandContext, standard
// error quoted (at most 200 bytes) in the error, the arguments never.
func ExecRunner(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := stderr.String(); msg != "" {
			return out, &runError{name: name, err: err, msg: msg}
		}
		return out, &runError{name: name, err: err}
	}
	return out, nil
}

// runError is a failed command: the program's name, never its arguments.
type runError struct {
	name string
	err  error
	msg  string
}

func (e *runError) Error() string {
	if e.msg != "" {
		return "run " + e.name + ": " + e.err.Error() + ": " + e.msg
	}
	return "run " + e.name + ": " + e.err.Error()
}

func (e *runError) Unwrap() error { return e.err }

// limitedBuffer keeps the first 200 bytes written to it.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 200 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string {
	s := string(l.b)
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == ' ') {
		s = s[:len(s)-1]
	}
	return s
}

// ConfigInfo is the running configuration, for /status.
type ConfigInfo struct {
	Config  config.Config
	Reloads int // successful reloads since start
}

// Options set up a Server. Only the zero values named take defaults; every
// function field may be nil.
type Options struct {
	Store   Store     // nil: lists, top and series answer 503; history comes from Devices
	Engine  Engine    // nil: status shows zero counters, active is empty
	Devices Inventory // nil: no labels or rates; device history only from Store

	// Config returns the running configuration (it changes on reload).
	Config func() ConfigInfo
	// Offload returns the flow-offloading report for /status.
	Offload func() offload.Report
	// Version is shown by /status.
	Version string
	// Token returns the static API token (api.token; "" = none). It is
	// called for each request, so a reload takes effect at once.
	Token func() string
	// Run runs ubus and uci (default ExecRunner).
	Run Runner
	// Reload makes the daemon re-read its UCI configuration; PUT
	// /devices/{mac}/alias calls it after committing the alias.
	Reload func() error
	// Logger receives the API's log lines (nil: none). Session ids and
	// tokens are never written to it.
	Logger io.Writer
	// Now is the clock (default time.Now).
	Now func() time.Time

	// SessionCache is how long a LuCI session that ubus accepted is
	// trusted without asking again (default 10 s). Refusals are never
	// cached.
	SessionCache time.Duration
	// SessionRecheck is how often a WebSocket authenticated by a LuCI
	// session (or the static token) is checked again; a session that
	// ended closes it (default 60 s).
	SessionRecheck time.Duration
	// StreamBuffer bounds the records waiting for one stream client
	// (default 1024). A client whose buffer is full is disconnected.
	StreamBuffer int
	// MaxStreams bounds the WebSocket clients (default 256).
	MaxStreams int
	// StreamSocketBuffer, when > 0, sets the kernel send buffer of each
	// stream connection (SO_SNDBUF), bounding the memory a stuck client
	// holds in the kernel.
	StreamSocketBuffer int
	// PingEvery is the WebSocket ping interval; a client that answers no
	// ping for two intervals is dropped (default 30 s).
	PingEvery time.Duration
	// AuthTimeout is how long a new WebSocket may take to send its auth
	// message (default 10 s).
	AuthTimeout time.Duration
	// WriteTimeout bounds one WebSocket write (default 10 s).
	WriteTimeout time.Duration
	// QueryTimeout bounds one database query (default 30 s).
	QueryTimeout time.Duration
	// UhttpdConfig is uhttpd's UCI file, read for api.tls auto
	// (default /etc/config/uhttpd).
	UhttpdConfig string
	// ResolveEvery is how often a listen address given as an OpenWrt
	// interface name is resolved again (default 30 s).
	ResolveEvery time.Duration
}

func (o *Options) setDefaults() {
	if o.Run == nil {
		o.Run = ExecRunner
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SessionCache <= 0 {
		o.SessionCache = 10 * time.Second
	}
	if o.SessionRecheck <= 0 {
		o.SessionRecheck = 60 * time.Second
	}
	if o.StreamBuffer <= 0 {
		o.StreamBuffer = 1024
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = 256
	}
	if o.PingEvery <= 0 {
		o.PingEvery = 30 * time.Second
	}
	if o.AuthTimeout <= 0 {
		o.AuthTimeout = 10 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = 30 * time.Second
	}
	if o.UhttpdConfig == "" {
		o.UhttpdConfig = "/etc/config/uhttpd"
	}
	if o.ResolveEvery <= 0 {
		o.ResolveEvery = 30 * time.Second
	}
}

// Server serves the API. Create it with New; see the package doc for
// concurrency.
type Server struct {
	opts    Options
	log     *log.Logger // nil: no logging
	start   time.Time
	mux     *http.ServeMux
	handler http.Handler
	routes  []route
	headers map[record.Kind][]string // CSV header per kind

	sessions sessionCache
	hub      hub
	metrics  apiMetrics
	aliasMu  sync.Mutex // one alias write at a time

	listenMu sync.Mutex
	addrs    []net.Addr
	closed   atomic.Bool
	quit     chan struct{} // closed by Close: ends the rates ticker
	quitOnce sync.Once
}

// New returns a Server with opts.
func New(opts Options) *Server {
	opts.setDefaults()
	s := &Server{opts: opts, start: opts.Now(), quit: make(chan struct{}), headers: map[record.Kind][]string{}}
	if opts.Logger != nil {
		s.log = log.New(opts.Logger, "api: ", 0)
	}
	s.sessions.init()
	s.hub.init()
	for k := record.KindSession; k <= record.KindDevice; k++ {
		s.headers[k] = recordFields(k)
	}
	s.routes = s.routeTable()
	s.metrics.init(s.routes)
	s.mux = http.NewServeMux()
	for i := range s.routes {
		rt := &s.routes[i]
		s.mux.Handle(rt.method+" "+apiPrefix+rt.path, s.wrap(rt))
	}
	s.mux.HandleFunc("/", s.notFound)
	s.handler = s.cors(s.mux)
	return s
}

// apiPrefix is where every route lives.
const apiPrefix = "/api/v1"

// Access levels of a route.
const (
	levelNone   = iota // no credentials needed
	levelRead          // Bearer token, LuCI function "read"
	levelWrite         // Bearer token, LuCI function "write"
	levelStream        // the WebSocket authenticates in its first message
)

// route is one registered route: method and path below apiPrefix, in
// OpenAPI form ({mac} is a path parameter).
type route struct {
	method string
	path   string
	level  int
	h      http.HandlerFunc
}

func (s *Server) routeTable() []route {
	rs := []route{
		{"GET", "/health", levelNone, s.health},
		{"GET", "/status", levelRead, s.status},
		{"GET", "/active", levelRead, s.active},
		{"GET", "/top", levelRead, s.top},
		{"GET", "/series", levelRead, s.series},
		{"GET", "/devices/{mac}/history", levelRead, s.history},
		{"PUT", "/devices/{mac}/alias", levelWrite, s.alias},
		{"GET", "/stream", levelStream, s.stream},
		{"GET", "/metrics", levelRead, s.serveMetrics},
	}
	for _, l := range listRoutes() {
		rs = append(rs,
			route{"GET", "/" + l.name, levelRead, s.list(l.kind, false)},
			route{"GET", "/" + l.name + ".csv", levelRead, s.list(l.kind, true)})
	}
	return rs
}

// Handler returns the HTTP handler of every route (/api/v1/...).
func (s *Server) Handler() http.Handler { return s.handler }

// Close ends every WebSocket stream (close code 1001) and makes new ones
// fail (503) from then on. It does not stop listeners: ListenAndServe
// does that when its context ends.
func (s *Server) Close() {
	s.closed.Store(true)
	s.quitOnce.Do(func() { close(s.quit) })
	s.closeStreams()
}

// wrap adds auth, counters and common headers to a route's handler.
func (s *Server) wrap(rt *route) http.Handler {
	rm := s.metrics.route(rt.method + " " + rt.path)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() { rm.observe(sw.code, time.Since(t0)) }()
		h := sw.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		switch rt.level {
		case levelRead, levelWrite:
			lvl := "read"
			if rt.level == levelWrite {
				lvl = "write"
			}
			if !s.authorizeHeader(r, lvl) {
				sw.Header().Set("WWW-Authenticate", `Bearer realm="tamon"`)
				writeError(sw, http.StatusUnauthorized, "unauthorized")
				return
			}
		}
		rt.h(sw, r)
	})
}

// notFound answers paths no route has: 405 when another method has it.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "PUT"} {
		if m == r.Method {
			continue
		}
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, pat := s.mux.Handler(r2); pat != "" && pat != "/" {
			allow = append(allow, m)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path)
		return
	}
	writeError(w, http.StatusNotFound, "no route "+r.URL.Path)
}

// statusWriter remembers the status code of a response.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Hijack hands the connection over (the WebSocket upgrade needs it).
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.code == 0 {
		w.code = http.StatusSwitchingProtocols
	}
	return c, rw, err
}

// Flush sends what is buffered.
func (w *statusWriter) Flush() { http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap lets http.ResponseController (and the WebSocket upgrade) reach
// the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writeJSON writes v as a JSON answer.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encode answer: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// writeError writes {"error": msg}.
func writeError(w http.ResponseWriter, code int, msg string) {
	b := append([]byte(`{"error":`), record.AppendString(nil, msg)...)
	b = append(b, "}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	w.Write(b)
}

// logf writes a log line when a Logger is set.
func (s *Server) logf(format string, args ...any) {
	if s.log != nil {
		s.log.Printf(format, args...)
	}
}

// queryCtx bounds a database call made for r.
func (s *Server) queryCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.opts.QueryTimeout)
}

// storeError answers a failed store call: 400 for a query the client got
// wrong, 503 when the database is away, else 500.
func (s *Server) storeError(w http.ResponseWriter, r *http.Request, what string, err error) {
	if errors.Is(err, store.ErrFilter) {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if errors.Is(err, context.DeadlineExceeded) {
		writeError(w, http.StatusServiceUnavailable, what+": the database did not answer in time")
		return
	}
	if r.Context().Err() != nil {
		return // the client went away
	}
	s.logf("%s %s: %v", r.Method, r.URL.Path, err)
	writeError(w, http.StatusInternalServerError, what+": "+err.Error())
}

// nowMS is the clock in Unix ms.
func (s *Server) nowMS() int64 { return s.opts.Now().UnixMilli() }
