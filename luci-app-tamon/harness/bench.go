package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// BenchOptions set up a Bench.
type BenchOptions struct {
	AppDir    string // the luci-app-tamon folder
	ConfigDir string // plays /etc/config; must hold "tamon"
	Lang      string // default page language
	LuCIAddr  string // where the pages are served, e.g. "127.0.0.1:8080" ("127.0.0.1:0": any port)
	// Either Data (served by a FakeAPI on APIAddr) or DaemonURL (a running
	// tamond API, e.g. "http://127.0.0.1:8321"; the pages talk to it).
	Data      *Dataset
	APIAddr   string
	DaemonURL string
	// OnApply runs after Save & Apply committed configs, besides the fake
	// API reloading its aliases (for a real daemon: send it SIGHUP).
	OnApply func(configs []string)
	// NoWebSocket makes the fake API refuse the stream (polling fallback).
	NoWebSocket bool
	// Running answers luci.tamon info's "running" (nil: true).
	Running func() bool
	// ExecKey opens /harness/exec to a real daemon's ubus and uci
	// commands (Options.ExecKey); StartBenchDaemon sets it.
	ExecKey string
}

// Bench is a running harness: the LuCI-shaped server and the daemon API
// (fake or real) the pages use.
type Bench struct {
	Server  *Server
	API     *FakeAPI // nil with a real daemon
	Daemon  *Daemon  // the real daemon StartBenchDaemon started, else nil
	URL     string   // base of the pages, "http://127.0.0.1:PORT"
	APIURL  string   // base of the daemon, "http://127.0.0.1:PORT"
	servers []*http.Server
}

// StartBench starts the servers. Close stops them.
func StartBench(o BenchOptions) (*Bench, error) {
	b := &Bench{}
	luciLn, err := net.Listen("tcp", o.LuCIAddr)
	if err != nil {
		return nil, fmt.Errorf("listen for the pages on %s: %w", o.LuCIAddr, err)
	}
	b.URL = "http://" + luciLn.Addr().String()
	var port int
	var apiLn net.Listener
	fail := func(err error) (*Bench, error) {
		luciLn.Close()
		if apiLn != nil {
			apiLn.Close()
		}
		return nil, err
	}
	switch {
	case o.DaemonURL != "":
		u, err := url.Parse(o.DaemonURL)
		if err != nil || u.Port() == "" {
			luciLn.Close()
			return nil, fmt.Errorf("daemon URL %q needs a scheme, host and port", o.DaemonURL)
		}
		port, _ = strconv.Atoi(u.Port())
		b.APIURL = o.DaemonURL
	case o.Data != nil:
		apiLn, err = net.Listen("tcp", o.APIAddr)
		if err != nil {
			return fail(fmt.Errorf("listen for the API on %s: %w", o.APIAddr, err))
		}
		port = apiLn.Addr().(*net.TCPAddr).Port
		b.APIURL = "http://" + apiLn.Addr().String()
		b.API = NewFakeAPI(o.Data)
		b.API.NoWebSocket = o.NoWebSocket
	default:
		luciLn.Close()
		return nil, errors.New("bench: neither Data nor DaemonURL given")
	}
	tls := false
	b.Server, err = New(Options{
		AppDir: o.AppDir, ConfigDir: o.ConfigDir, Lang: o.Lang,
		ExecKey: o.ExecKey,
		Info: func() Info {
			running := o.Running == nil || o.Running()
			return Info{Port: port, TLS: tls, Running: running, Mode: "auto", Enabled: true}
		},
		OnApply: func(configs []string) {
			if b.API != nil {
				b.API.ApplyAliases()
			}
			if o.OnApply != nil {
				o.OnApply(configs)
			}
		},
	})
	if err != nil {
		return fail(err)
	}
	if b.API != nil {
		luciHost := luciLn.Addr().(*net.TCPAddr)
		b.API.AllowOrigin = func(origin string) bool {
			return origin == b.URL || origin == fmt.Sprintf("http://localhost:%d", luciHost.Port)
		}
		b.API.Auth = func(token, level string) bool { return b.Server.Access(token, "luci-app-tamon", level) }
		b.API.Aliases = b.Server.UCI
		if err := b.API.ApplyAliases(); err != nil {
			return fail(err)
		}
		srv := &http.Server{Handler: b.API, ReadHeaderTimeout: 10 * time.Second}
		b.servers = append(b.servers, srv)
		go srv.Serve(apiLn)
	}
	srv := &http.Server{Handler: b.Server, ReadHeaderTimeout: 10 * time.Second}
	b.servers = append(b.servers, srv)
	go srv.Serve(luciLn)
	return b, nil
}

// Close stops the real daemon, the servers and the fake API's streams.
func (b *Bench) Close() error {
	var errs []error
	if b.Daemon != nil {
		errs = append(errs, b.Daemon.Stop())
	}
	if b.API != nil {
		b.API.Close()
	}
	// Shutdown waits for a connection on which no request has come yet
	// until it is 5 s old (net/http treats it as idle only then), and
	// Chrome opens such connections ahead of need: give it more than that.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range b.servers {
		errs = append(errs, s.Shutdown(ctx))
	}
	return errors.Join(errs...)
}
