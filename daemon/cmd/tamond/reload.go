package main

import (
	"fmt"
	"io"
	"slices"
	"sync"

	"tamon/daemon/internal/config"
	"tamon/daemon/internal/pipeline"
)

// reloader re-reads the UCI configuration on SIGHUP (procd's reload_signal:
// /etc/init.d/tamon reload, LuCI's Save & Apply, reload_config) and applies
// what can change while the daemon runs. A configuration that does not load
// or validate is refused: the running one stays, and the log says why.
type reloader struct {
	mu   sync.Mutex
	path string
	cur  config.Config
	eng  *pipeline.Engine
	log  io.Writer
	// override applies the command line's options over each loaded file,
	// so that they do not read as changes that need a restart.
	override func(*config.Config)
	apply    []func(old, new *config.Config) // further parts (devices, apps, API) register here
	loaded   int                             // successful reloads, for tests and status
}

// current returns the configuration in effect and the number of
// successful reloads.
func (r *reloader) current() (config.Config, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur, r.loaded
}

// reload loads the file again and applies it. It returns the error that
// made it keep the running configuration, if any.
func (r *reloader) reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	next, err := config.Load(r.path)
	if err != nil {
		fmt.Fprintf(r.log, "tamond: reload %s: keeping the running configuration: %v\n", r.path, err)
		return err
	}
	if r.override != nil {
		r.override(&next)
	}
	old := r.cur
	if next.TCPTimeout != old.TCPTimeout || next.UDPTimeout != old.UDPTimeout || next.DNSTimeout != old.DNSTimeout {
		r.eng.SetTimeouts(pipeline.Timeouts{TCP: int64(next.TCPTimeout) * 1e9, UDP: int64(next.UDPTimeout) * 1e9,
			Request: int64(next.DNSTimeout) * 1e9})
		fmt.Fprintf(r.log, "tamond: reload: tcp_timeout %d s, udp_timeout %d s, dns_timeout %d s\n",
			next.TCPTimeout, next.UDPTimeout, next.DNSTimeout)
	}
	if next.Dissect != old.Dissect {
		r.eng.SetDissect(next.Dissect)
		fmt.Fprintf(r.log, "tamond: reload: dissect %s\n", onOff(next.Dissect))
	}
	for _, f := range r.apply {
		f(&old, &next)
	}
	var restart []string
	if !slices.Equal(next.Interfaces, old.Interfaces) || next.Promisc != old.Promisc {
		restart = append(restart, "main.interface/promisc")
	}
	if next.Storage != old.Storage {
		restart = append(restart, "storage")
	}
	if next.MaxFlows != old.MaxFlows || next.Timeline != old.Timeline || next.Workers != old.Workers || next.Sensor != old.Sensor {
		restart = append(restart, "main.max_flows/timeline/workers/sensor")
	}
	if len(restart) > 0 {
		fmt.Fprintf(r.log, "tamond: reload: %v changed and take effect at the next restart (/etc/init.d/tamon restart)\n", restart)
	}
	// Keep the settings that need a restart as they run, so that the next
	// reload compares against what is really in effect.
	next.Interfaces, next.Promisc, next.Storage = old.Interfaces, old.Promisc, old.Storage
	next.MaxFlows, next.Timeline, next.Workers, next.Sensor = old.MaxFlows, old.Timeline, old.Workers, old.Sensor
	r.cur = next
	r.loaded++
	return nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
