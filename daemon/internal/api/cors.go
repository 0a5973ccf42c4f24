package api

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// cors applies the browser rules to every request.
//
// The only web origin allowed is the router's own LuCI: an origin whose
// scheme is http or https and whose host is the host the request was sent
// to (the Host header: the address the browser used for the API). Any port
// is accepted, since uhttpd may serve LuCI on 80, 443 or a port of the
// user's choosing, and the API has a port of its own anyway. Requests that
// carry another Origin are refused with 403 before they reach a route;
// requests without Origin (scripts, curl) are not browser requests and
// pass. Credentials are never ambient (a Bearer header the page sets
// itself, no cookies), so CORS is a second fence, not the first.
//
// A preflight (OPTIONS with Access-Control-Request-Method) from the
// allowed origin is answered 204 with the methods and headers the routes
// use, without auth (browsers send no credentials in a preflight).
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		if origin == "" {
			if r.Method == http.MethodOptions {
				w.Header().Set("Allow", "GET, PUT, OPTIONS")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if !allowedOrigin(origin, r.Host) {
			s.metrics.originRefused.Add(1)
			writeError(w, http.StatusForbidden, "origin not allowed: only the router's own LuCI pages may call this API")
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "Content-Disposition, X-Tamon-Next")
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "GET, PUT, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			if r.Header.Get("Access-Control-Request-Private-Network") == "true" {
				h.Set("Access-Control-Allow-Private-Network", "true")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// allowedOrigin reports whether origin (an Origin header) is the LuCI of
// the router reached as host (a Host header): same host name or address,
// http or https, any port.
func allowedOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	oh := u.Hostname()
	hh := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		hh = h
	}
	hh = strings.TrimSuffix(strings.TrimPrefix(hh, "["), "]")
	return oh != "" && hh != "" && strings.EqualFold(oh, hh)
}
