package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// DaemonOptions start the real tamond behind a Bench: it replays a capture
// (tamond -r FILE -replay SPEED) into its embedded SQLite store and serves
// its API on a loopback port, as on a router.
type DaemonOptions struct {
	Tamond   string  // the tamond binary (BuildTamond)
	Capture  string  // the capture it replays
	Speed    float64 // replay speed, times the captured pace (default 1)
	DataDir  string  // gets the SQLite file, the spool and the ubus and uci commands
	Features string  // main.features ("": as configured)
	Sensor   string  // main.sensor ("": as configured, else the host name)
	// CLI is a program that plays ubus and uci when called by those names
	// (it calls RouterCLI first thing); default: the running program.
	CLI string
	// Log receives tamond's standard error too (nil: only Daemon.Log).
	Log io.Writer
}

// Daemon is a running tamond. Its methods are safe for concurrent use.
type Daemon struct {
	URL string // its API, "http://127.0.0.1:PORT"

	cmd  *exec.Cmd
	log  lockedBuffer
	done chan struct{} // closed when the process ended
	err  error         // its exit, once done is closed
}

// lockedBuffer is a bytes buffer for concurrent writers and readers.
type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
	to io.Writer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	if l.to != nil {
		l.to.Write(p)
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// Log returns what tamond wrote to its standard error so far.
func (d *Daemon) Log() string { return d.log.String() }

// Running reports whether the process is still alive.
func (d *Daemon) Running() bool {
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// Reload sends SIGHUP, as procd does on "/etc/init.d/tamon reload".
func (d *Daemon) Reload() error {
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		return fmt.Errorf("reload tamond (pid %d): %w", d.cmd.Process.Pid, err)
	}
	return nil
}

// WaitLog waits until tamond's log contains s.
func (d *Daemon) WaitLog(ctx context.Context, s string) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !strings.Contains(d.Log(), s) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("tamond did not log %q: %w; log:\n%s", s, ctx.Err(), d.Log())
		case <-d.done:
			if !strings.Contains(d.Log(), s) {
				return fmt.Errorf("tamond ended (%v) without logging %q; log:\n%s", d.err, s, d.Log())
			}
		case <-t.C:
		}
	}
	return nil
}

// WaitReplayed waits until tamond has replayed the whole capture and every
// record is in its store.
func (d *Daemon) WaitReplayed(ctx context.Context) error {
	return d.WaitLog(ctx, "done; serving until SIGINT or SIGTERM")
}

// Stop ends tamond with SIGTERM (SIGKILL after 15 s) and returns how it
// exited; nil for a clean exit, also when it had already ended.
func (d *Daemon) Stop() error {
	if d.Running() {
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(15 * time.Second):
			d.cmd.Process.Kill()
			<-d.done
			return fmt.Errorf("tamond (pid %d) ignored SIGTERM for 15 s; killed", d.cmd.Process.Pid)
		}
	}
	return d.err
}

// StartBenchDaemon starts a Bench whose pages talk to a real tamond. It
// points the UCI file in o.ConfigDir at the bench (storage: SQLite in
// d.DataDir; api: 127.0.0.1 on a free port, no TLS; main.features and
// main.sensor), starts
// the LuCI-shaped server with the ubus and uci commands open to tamond, then
// tamond on the capture; Save & Apply of the tamon config sends it SIGHUP,
// and luci.tamon info reports whether it runs. It returns once the API
// answers; the replay goes on (Bench.Daemon.WaitReplayed).
func StartBenchDaemon(o BenchOptions, d DaemonOptions) (*Bench, error) {
	if d.Speed == 0 {
		d.Speed = 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("find a free port for the API: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if err := os.MkdirAll(filepath.Join(d.DataDir, "bin"), 0o755); err != nil {
		return nil, fmt.Errorf("daemon data folder: %w", err)
	}
	err = NewUCI(o.ConfigDir).Edit("tamon", func(p *Package) error {
		sec := func(name, typ string) *Section {
			if s := p.Section(name); s != nil {
				return s
			}
			s := &Section{Name: name, Type: typ}
			p.Sections = append(p.Sections, s)
			return s
		}
		set := func(s *Section, name, value string) { s.Set(Option{Name: name, Values: []string{value}}) }
		st := sec("storage", "storage")
		set(st, "driver", "sqlite")
		set(st, "path", filepath.Join(d.DataDir, "tamon.db"))
		set(st, "spool_path", filepath.Join(d.DataDir, "spool"))
		api := sec("api", "api")
		set(api, "listen", "127.0.0.1:"+strconv.Itoa(port))
		set(api, "tls", "off")
		if d.Features != "" {
			set(sec("main", "tamon"), "features", d.Features)
		}
		if d.Sensor != "" {
			set(sec("main", "tamon"), "sensor", d.Sensor)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("point the tamon config at the bench: %w", err)
	}
	var key [16]byte
	rand.Read(key[:])
	o.ExecKey = hex.EncodeToString(key[:])
	o.DaemonURL = "http://127.0.0.1:" + strconv.Itoa(port)
	var dm atomic.Pointer[Daemon]
	userApply := o.OnApply
	o.OnApply = func(configs []string) {
		if m := dm.Load(); m != nil && slices.Contains(configs, "tamon") {
			m.Reload()
		}
		if userApply != nil {
			userApply(configs)
		}
	}
	o.Running = func() bool { m := dm.Load(); return m != nil && m.Running() }
	b, err := StartBench(o)
	if err != nil {
		return nil, err
	}
	m, err := startDaemon(d, o.ConfigDir, o.DaemonURL, b.URL, o.ExecKey)
	if err != nil {
		b.Close()
		return nil, err
	}
	dm.Store(m)
	b.Daemon = m
	return b, nil
}

// startDaemon runs tamond and waits until its API answers.
func startDaemon(d DaemonOptions, configDir, apiURL, benchURL, key string) (*Daemon, error) {
	cli := d.CLI
	if cli == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find this program to play ubus and uci: %w", err)
		}
		cli = exe
	}
	bin := filepath.Join(d.DataDir, "bin")
	for _, name := range []string{"ubus", "uci"} {
		os.Remove(filepath.Join(bin, name))
		if err := os.Symlink(cli, filepath.Join(bin, name)); err != nil {
			return nil, fmt.Errorf("install the %s command: %w", name, err)
		}
	}
	args := []string{"-c", configDir, "-r", d.Capture, "-replay", strconv.FormatFloat(d.Speed, 'f', -1, 64)}
	m := &Daemon{URL: apiURL, done: make(chan struct{})}
	m.log.to = d.Log
	m.cmd = exec.Command(d.Tamond, args...)
	m.cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		EnvHarnessURL+"="+benchURL, EnvHarnessKey+"="+key)
	m.cmd.Stdout = &m.log
	m.cmd.Stderr = &m.log
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", d.Tamond, err)
	}
	go func() {
		m.err = m.cmd.Wait()
		close(m.done)
	}()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(apiURL + "/api/v1/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return m, nil
			}
		}
		if !m.Running() {
			return nil, fmt.Errorf("tamond %s ended before its API answered: %v; log:\n%s", strings.Join(args, " "), m.err, m.Log())
		}
		if time.Now().After(deadline) {
			m.Stop()
			return nil, errors.New("tamond's API did not answer on " + apiURL + " within 30 s; log:\n" + m.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
