package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Credentials, as authorize found them.
const (
	credNone    = iota
	credToken   // the static api.token
	credSession // a LuCI session that ubus accepted
)

// authorizeHeader checks the Bearer token of r for level ("read" or
// "write").
func (s *Server) authorizeHeader(r *http.Request, level string) bool {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		s.metrics.authFailures.Add(1)
		return false
	}
	return s.authorize(r.Context(), strings.TrimSpace(tok), level) != credNone
}

// authorize checks a token: the static API token (every level), else a
// LuCI session id that ubus grants level on luci-app-tamon. The token is
// never logged.
func (s *Server) authorize(ctx context.Context, tok, level string) int {
	if tok != "" {
		if s.opts.Token != nil {
			if st := s.opts.Token(); st != "" && tokenEqual(tok, st) {
				return credToken
			}
		}
		if isSessionID(tok) && s.luciAllows(ctx, tok, level) {
			return credSession
		}
	}
	s.metrics.authFailures.Add(1)
	return credNone
}

// tokenEqual compares in constant time (hashes first, so that the length
// does not show either).
func tokenEqual(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// isSessionID reports whether s has the form of a LuCI (rpcd) session id:
// 32 lower-case hex digits. Nothing else reaches ubus.
func isSessionID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ubusTimeout bounds one ubus call.
const ubusTimeout = 2 * time.Second

// sessionCache remembers the LuCI sessions ubus accepted, per level, for
// Options.SessionCache. Refusals are not kept. Safe for concurrent use.
type sessionCache struct {
	mu sync.Mutex
	m  map[string]time.Time // level + ":" + sid -> expiry
}

// maxCachedSessions bounds the cache; past it, it is emptied.
const maxCachedSessions = 1024

func (c *sessionCache) init() { c.m = map[string]time.Time{} }

func (c *sessionCache) get(key string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.m[key]
	if ok && now.Before(exp) {
		return true
	}
	if ok {
		delete(c.m, key)
	}
	return false
}

func (c *sessionCache) put(key string, exp, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedSessions {
		for k, e := range c.m {
			if !now.Before(e) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxCachedSessions {
			clear(c.m)
		}
	}
	c.m[key] = exp
}

// luciAllows asks ubus whether the LuCI session sid holds level on the
// access group luci-app-tamon:
//
//	ubus call session access '{"ubus_rpc_session":sid,"scope":"access-group","object":"luci-app-tamon","function":level}'
//
// The answer is {"access":true|false}; an unknown session makes ubus exit
// with status 4 (NOT_FOUND).
func (s *Server) luciAllows(ctx context.Context, sid, level string) bool {
	key := level + ":" + sid
	if s.sessions.get(key, s.opts.Now()) {
		return true
	}
	arg, err := json.Marshal(struct {
		Session  string `json:"ubus_rpc_session"`
		Scope    string `json:"scope"`
		Object   string `json:"object"`
		Function string `json:"function"`
	}{sid, "access-group", "luci-app-tamon", level})
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, ubusTimeout)
	defer cancel()
	s.metrics.ubusCalls.Add(1)
	out, err := s.opts.Run(ctx, "ubus", "call", "session", "access", string(arg))
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 4 {
			return false // no such session: logged out or expired
		}
		s.metrics.ubusErrors.Add(1)
		s.logf("check LuCI session with ubus: %v", err)
		return false
	}
	var reply struct {
		Access *bool `json:"access"`
	}
	if err := json.Unmarshal(out, &reply); err != nil || reply.Access == nil {
		s.metrics.ubusErrors.Add(1)
		s.logf("check LuCI session with ubus: unexpected answer of %d bytes", len(out))
		return false
	}
	if *reply.Access {
		now := s.opts.Now()
		s.sessions.put(key, now.Add(s.opts.SessionCache), now)
	}
	return *reply.Access
}
