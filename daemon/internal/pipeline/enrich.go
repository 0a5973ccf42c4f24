package pipeline

import (
	"tamon/daemon/internal/record"
)

// enrich runs in the merger, in record order: DNS answers teach the name
// map, and sessions without a protocol name get the name their client
// resolved for the server's address.
func (e *Engine) enrich(env *envelope) {
	switch v := env.rec.(type) {
	case *record.DNS:
		if len(v.Answers) > 0 {
			e.names.Learn(v.Query, v.Answers, v.TS)
		}
		if inv := e.cfg.Devices; inv != nil {
			inv.DNS(v)
		}
	case *record.Session:
		if v.Host == "" && env.srv.IsValid() {
			if name, ok := e.names.Lookup(env.srv, v.StartTS); ok {
				v.Host = name
			}
		}
		rules := env.rules
		if rules == nil {
			rules = e.apps.Load()
		}
		if rules != nil {
			proto := uint8(17)
			if v.Proto == "tcp" {
				proto = 6
			}
			if app, ok := rules.Match(proto, v.ClientPort, v.ServerPort, v.Host, env.hits[:env.nhits]); ok {
				v.App = app.Name
			}
		}
		if v.App != "" {
			e.usage.Observe(v)
		}
		if inv := e.cfg.Devices; inv != nil {
			inv.Session(v)
		}
	case *record.HTTP:
		if inv := e.cfg.Devices; inv != nil && v.UserAgent != "" {
			inv.UserAgent(v.ClientMAC, v.UserAgent, v.TS)
		}
	}
}
