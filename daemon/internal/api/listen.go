package api

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"time"

	"tamon/daemon/internal/config"
)

// DefaultListen is the listen address when api.listen is empty: port 8321
// on the addresses of OpenWrt's lan interface.
const DefaultListen = "lan:8321"

// ListenAndServe serves the API as cfg says until ctx ends, then shuts
// down gracefully (requests in flight get 5 s; streams are closed with
// 1001) and returns nil. It returns an error when it cannot listen or
// load the TLS certificate. It may be called again on the same Server
// once it returned (after a reload that changed api.listen or api.tls).
//
// cfg.Listen is host:port. The host is an IP address (listen there), empty
// (every address: the user asked for it), or the name of an OpenWrt
// logical interface such as "lan": its addresses come from `ubus call
// network.interface.<name> status` (ipv4-address, ipv6-address and the
// local addresses of ipv6-prefix-assignment; link-local ones are skipped).
// While the interface has no address, ListenAndServe waits and asks again
// (it never falls back to every address); afterwards it asks every
// Options.ResolveEvery and follows changes. An empty cfg.Listen means
// DefaultListen.
//
// cfg.TLS: "off" serves plain HTTP; "on" serves HTTPS with cfg.Cert and
// cfg.Key, or uhttpd's certificate and key when those are empty; "auto"
// (also "") does what uhttpd does: HTTPS when /etc/config/uhttpd has
// main.listen_https, with the same choice of files. Files may be DER
// (uhttpd's own, made by px5g) or PEM; a changed file is loaded again.
func (s *Server) ListenAndServe(ctx context.Context, cfg config.API) error {
	listen := cfg.Listen
	if listen == "" {
		listen = DefaultListen
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("api.listen %q: not host:port: %v", listen, err)
	}
	tlsConf, err := s.tlsConfig(cfg)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		TLSConfig:         tlsConf,
	}
	if s.log != nil {
		srv.ErrorLog = log.New(s.opts.Logger, "api: http: ", 0)
	} else {
		srv.ErrorLog = log.New(discard{}, "", 0)
	}
	ls := &listenerSet{srv: srv, tls: tlsConf, port: port, open: map[string]net.Listener{}, errs: make(chan error, 1)}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		s.closeStreams()
		ls.wg.Wait()
		s.setAddrs(nil)
	}()

	fixed := host == "" || isIP(host)
	addrs := []string{host}
	if !fixed {
		if addrs, err = s.waitAddrs(ctx, host); err != nil {
			return nil // ctx ended while waiting
		}
	}
	if err := ls.update(addrs); err != nil {
		return err
	}
	s.setAddrs(ls.addrs())
	s.logf("listening on %v (%s)", ls.addrs(), scheme(tlsConf))
	var tick <-chan time.Time
	if !fixed {
		t := time.NewTicker(s.opts.ResolveEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-ls.errs:
			return err
		case <-tick:
			next, err := s.resolve(ctx, host)
			if err != nil || len(next) == 0 || slices.Equal(next, ls.hosts()) {
				continue // keep listening where we are while ubus has no answer
			}
			if err := ls.update(next); err != nil {
				s.logf("follow the addresses of %s: %v", host, err)
				continue
			}
			s.setAddrs(ls.addrs())
			s.logf("addresses of %s changed: listening on %v", host, ls.addrs())
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func scheme(c *tls.Config) string {
	if c != nil {
		return "https"
	}
	return "http"
}

func isIP(h string) bool {
	_, err := netip.ParseAddr(h)
	return err == nil
}

// Addrs returns the addresses ListenAndServe listens on now (nil when it
// does not run).
func (s *Server) Addrs() []net.Addr {
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	return slices.Clone(s.addrs)
}

func (s *Server) setAddrs(a []net.Addr) {
	s.listenMu.Lock()
	s.addrs = a
	s.listenMu.Unlock()
}

// listenerSet is the listeners of one ListenAndServe, one per address.
type listenerSet struct {
	srv  *http.Server
	tls  *tls.Config
	port string
	mu   sync.Mutex
	open map[string]net.Listener // by host
	wg   sync.WaitGroup
	errs chan error
}

// update listens on hosts and stops listening elsewhere. When a new
// address fails, nothing is changed.
func (ls *listenerSet) update(hosts []string) error {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	added := map[string]net.Listener{}
	for _, h := range hosts {
		if _, ok := ls.open[h]; ok {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort(h, ls.port))
		if err != nil {
			for _, a := range added {
				a.Close()
			}
			return fmt.Errorf("api.listen: listen on %s: %w", net.JoinHostPort(h, ls.port), err)
		}
		added[h] = l
	}
	for h, l := range ls.open {
		if !slices.Contains(hosts, h) {
			l.Close()
			delete(ls.open, h)
		}
	}
	for h, l := range added {
		ls.open[h] = l
		if ls.tls != nil {
			l = tls.NewListener(l, ls.tls)
		}
		ls.wg.Add(1)
		go func() {
			defer ls.wg.Done()
			err := ls.srv.Serve(l)
			if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
				select {
				case ls.errs <- fmt.Errorf("api: serve on %s: %w", h, err):
				default:
				}
			}
		}()
	}
	return nil
}

func (ls *listenerSet) hosts() []string {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	out := make([]string, 0, len(ls.open))
	for h := range ls.open {
		out = append(out, h)
	}
	slices.Sort(out)
	return out
}

func (ls *listenerSet) addrs() []net.Addr {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	out := make([]net.Addr, 0, len(ls.open))
	for _, l := range ls.open {
		out = append(out, l.Addr())
	}
	slices.SortFunc(out, func(a, b net.Addr) int {
		switch {
		case a.String() < b.String():
			return -1
		case a.String() > b.String():
			return 1
		}
		return 0
	})
	return out
}

// waitAddrs resolves an interface name until it has addresses or ctx
// ends; it logs while it waits.
func (s *Server) waitAddrs(ctx context.Context, iface string) ([]string, error) {
	wait := time.Second
	for n := 0; ; n++ {
		addrs, err := s.resolve(ctx, iface)
		if err == nil && len(addrs) > 0 {
			return addrs, nil
		}
		if n == 0 || n%30 == 0 {
			if err != nil {
				s.logf("api.listen: addresses of interface %s: %v; asking again", iface, err)
			} else {
				s.logf("api.listen: interface %s has no address yet; waiting", iface)
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}

// resolve returns the addresses of the OpenWrt interface iface, sorted.
func (s *Server) resolve(ctx context.Context, iface string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, ubusTimeout)
	defer cancel()
	out, err := s.opts.Run(ctx, "ubus", "call", "network.interface."+iface, "status")
	if err != nil {
		return nil, err
	}
	return interfaceAddrs(out)
}

// interfaceAddrs reads the addresses from the answer of `ubus call
// network.interface.<name> status`: ipv4-address[].address,
// ipv6-address[].address and ipv6-prefix-assignment[].local-address
// .address, without link-local ones, sorted, without duplicates.
func interfaceAddrs(status []byte) ([]string, error) {
	type addr struct {
		Address string `json:"address"`
	}
	var st struct {
		IPv4   []addr `json:"ipv4-address"`
		IPv6   []addr `json:"ipv6-address"`
		Prefix []struct {
			Local *addr `json:"local-address"`
		} `json:"ipv6-prefix-assignment"`
	}
	if err := json.Unmarshal(status, &st); err != nil {
		return nil, fmt.Errorf("interface status: %w", err)
	}
	all := append(append([]addr(nil), st.IPv4...), st.IPv6...)
	for _, p := range st.Prefix {
		if p.Local != nil {
			all = append(all, *p.Local)
		}
	}
	var out []string
	for _, a := range all {
		ip, err := netip.ParseAddr(a.Address)
		if err != nil || ip.Zone() != "" || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast() {
			continue
		}
		out = append(out, ip.String())
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
