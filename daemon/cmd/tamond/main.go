// Command tamond is tamon's daemon: it captures LAN traffic (or reads a
// capture file), turns it into session, DNS and other records, and hands
// them to the store and the API. See DESIGN.md for the command line.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"tamon/daemon/internal/api"
	"tamon/daemon/internal/appid"
	"tamon/daemon/internal/capture"
	"tamon/daemon/internal/config"
	"tamon/daemon/internal/devices"
	"tamon/daemon/internal/flow"
	"tamon/daemon/internal/offload"
	"tamon/daemon/internal/pipeline"
	"tamon/daemon/internal/record"
	"tamon/daemon/internal/store"
	"tamon/daemon/internal/tz"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	config  string
	read    string
	json    bool
	check   bool
	iface   string
	sensor  string
	workers int
	version bool
	cpuprof string
	replay  float64
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fl := flag.NewFlagSet("tamond", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.StringVar(&o.config, "c", config.DefaultPath, "UCI configuration `file` (or a folder holding 'tamon')")
	fl.StringVar(&o.read, "r", "", "read a pcap or pcapng `file` (\"-\" for stdin) instead of capturing, then exit")
	fl.BoolVar(&o.json, "json", false, "print records as JSON Lines on stdout instead of storing them")
	fl.BoolVar(&o.check, "check", false, "validate the configuration, print every problem, exit non-zero if any")
	fl.StringVar(&o.iface, "i", "", "capture on these `interfaces` (comma-separated) instead of main.interface")
	fl.StringVar(&o.sensor, "sensor", "", "sensor `name` written in every record (default: main.sensor, else the host name)")
	fl.IntVar(&o.workers, "workers", 0, "analysis `goroutines` (default: main.workers, else one per CPU up to 4)")
	fl.BoolVar(&o.version, "version", false, "print the version and exit")
	fl.StringVar(&o.cpuprof, "cpuprofile", "", "write a CPU profile to `file`, and the allocations to file.allocs (for performance work; builds with -tags pprof only)")
	fl.Float64Var(&o.replay, "replay", 0, "with -r: replay the file at `speed` times its captured pace (idle gaps cut to 1 s),\n"+
		"packets stamped with the time they are replayed, serving the API and reloading on SIGHUP as the daemon does;\n"+
		"after the file, keep serving until SIGINT or SIGTERM")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "tamond: unexpected argument %q\n", fl.Arg(0))
		return 2
	}
	if o.version {
		fmt.Fprintln(stdout, "tamond", version)
		return 0
	}
	if o.replay < 0 || o.replay > 0 && (o.read == "" || o.json) {
		fmt.Fprintln(stderr, "tamond: -replay needs -r FILE, the store (not -json) and a speed > 0")
		return 2
	}
	cfg, err := loadConfig(&o, fl)
	if o.check {
		bad := false
		if err != nil {
			fmt.Fprintln(stderr, err)
			bad = true
		}
		if _, lineErrs, ferr := appid.Load(cfg.Features); ferr != nil {
			fmt.Fprintf(stderr, "features %s: %v\n", cfg.Features, ferr)
			bad = true
		} else {
			for _, le := range lineErrs {
				fmt.Fprintln(stderr, le.Error())
				bad = true
			}
		}
		if bad {
			return 1
		}
		fmt.Fprintf(stdout, "%s: configuration is valid; %s: signatures are valid\n", cfg.Source, cfg.Features)
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "tamond:", err)
		return 1
	}
	if cfg.MemLimitMB > 0 && os.Getenv("GOMEMLIMIT") == "" {
		// A soft limit: the garbage collector works harder near it, so
		// the daemon stays small on a 128 MB router.
		debug.SetMemoryLimit(int64(cfg.MemLimitMB) << 20)
	}
	gogc := os.Getenv("GOGC") == ""
	if gogc {
		// The heap may grow to 1.5 times the live data between
		// collections, not twice: a few percent more CPU for the
		// collector, a few MB less on a router (GOGC wins).
		debug.SetGCPercent(50)
	}
	var src capture.Source
	live := o.read == ""
	// A replayed file runs like the daemon: API, live stream, reload.
	replay := o.replay > 0
	serve := live || replay
	if live {
		src, err = capture.OpenLive(cfg.Interfaces, capture.LiveOptions{Promiscuous: cfg.Promisc})
	} else {
		src, err = capture.OpenFile(o.read)
	}
	if err != nil {
		fmt.Fprintln(stderr, "tamond:", err)
		return 1
	}
	defer src.Close()
	if replay {
		src = newReplaySource(src, o.replay)
	}
	var offloadRep atomic.Pointer[offload.Report]
	offloadRep.Store(&offload.Report{})
	detectOffload := func() {
		rep := offload.Detect("/", offload.Exec)
		offloadRep.Store(&rep)
		if rep.Active() {
			fmt.Fprintf(stderr, "tamond: flow offloading is on (%s): %s\n", strings.Join(rep.Sources, ", "), rep.Advice)
		}
	}
	if live {
		fmt.Fprintf(stderr, "tamond: capturing on %s\n", src.Name())
		detectOffload()
	}

	out := bufio.NewWriterSize(stdout, 256<<10)
	var sinks []pipeline.Sink
	var js *jsonSink
	var db *store.Store
	if o.json {
		js = newJSONSink(out, live)
		sinks = append(sinks, js)
	} else {
		sc := cfg.Storage
		db, err = store.Open(context.Background(), store.Config{Driver: sc.Driver, Path: sc.Path, Host: sc.Host,
			Port: sc.Port, User: sc.User, Password: sc.Password, Database: sc.Database,
			RetentionDays: sc.RetentionDays, MaxSizeMB: sc.MaxSizeMB, SpoolPath: sc.SpoolPath, SpoolMaxMB: sc.SpoolMaxMB,
			// Reading a file may wait for the database; capture never does.
			WaitForRoom: !live})
		if err != nil {
			fmt.Fprintln(stderr, "tamond:", err)
			return 1
		}
		sinks = append(sinks, db)
	}
	_, tzSet := os.LookupEnv("TZ")
	// Without the API nothing reads the per-device breakdowns (visited
	// sites, hosts, apps): -r keeps only what device records carry.
	inv := devices.New(devices.Config{Sensor: cfg.Sensor, Interfaces: cfg.Interfaces,
		Location: localZone(time.Local, tzSet, tz.DefaultPath, stderr), NoBreakdowns: !serve})
	ecfg := engineConfig(&cfg, serve)
	ecfg.Devices = inv
	if gogc {
		// No collection while the signatures are compiled and the engine
		// is set up: what they allocate is mostly kept, and the collector
		// would run several times over a heap of a few MB (about a third
		// of tamond's start-up time).
		debug.SetGCPercent(-1)
	}
	ecfg.Apps = loadApps(cfg.Features, nil, stderr)
	// The API's live hub is a sink too; it needs the engine, so it is
	// plugged in through a forwarder once both exist.
	hub := &lateSink{}
	if serve {
		sinks = append(sinks, hub)
	}
	eng := pipeline.New(ecfg, sinks...)
	if gogc {
		debug.SetGCPercent(50)
	}
	eng.ControlEmit(func(emit func(record.Record)) {
		inv.SetAliases(aliasMap(cfg.Aliases), func(d *record.Device) { emit(d) })
	})

	if o.cpuprof != "" {
		stopProfile, err := startCPUProfile(o.cpuprof)
		if err != nil {
			fmt.Fprintln(stderr, "tamond:", err)
			return 1
		}
		defer stopProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if serve {
		rl := &reloader{path: cfg.Source, cur: cfg, eng: eng, log: stderr, override: o.override}
		if live {
			rl.apply = append(rl.apply, func(old, next *config.Config) { detectOffload() })
		}
		rl.apply = append(rl.apply, func(old, next *config.Config) {
			// The features file is read again on every reload: it may
			// have changed even when its path did not.
			if r := loadApps(next.Features, ecfg.Apps, stderr); r != nil && r != ecfg.Apps {
				ecfg.Apps = r
				eng.SetApps(r)
			}
			if next.AppTimeout != old.AppTimeout {
				eng.SetAppTimeout(time.Duration(next.AppTimeout) * time.Second)
			}
		})
		rl.apply = append(rl.apply, func(old, next *config.Config) {
			if !slices.Equal(old.Aliases, next.Aliases) {
				eng.ControlEmit(func(emit func(record.Record)) {
					inv.SetAliases(aliasMap(next.Aliases), func(d *record.Device) { emit(d) })
				})
				fmt.Fprintf(stderr, "tamond: reload: %d aliases\n", len(next.Aliases))
			}
		})
		if live {
			go refreshNeighbours(ctx, eng, inv)
		}
		opts := api.Options{Engine: eng, Devices: inv, Version: version, Logger: stderr,
			Config:  func() api.ConfigInfo { c, n := rl.current(); return api.ConfigInfo{Config: c, Reloads: n} },
			Offload: func() offload.Report { return *offloadRep.Load() },
			Token:   func() string { c, _ := rl.current(); return c.API.Token },
			Reload:  rl.reload}
		if db != nil {
			opts.Store = db
		}
		srv := api.New(opts)
		hub.set(srv)
		go func() {
			if err := srv.ListenAndServe(ctx, cfg.API); err != nil && ctx.Err() == nil {
				fmt.Fprintln(stderr, "tamond: api:", err)
			}
		}()
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go func() {
			for range hup {
				rl.reload()
			}
		}()
	}
	runErr := eng.Run(ctx, src)
	if js != nil {
		if err := js.Close(); err != nil && runErr == nil {
			runErr = fmt.Errorf("write records: %w", err)
		}
	}
	if err := out.Flush(); err != nil && runErr == nil {
		runErr = fmt.Errorf("write records: %w", err)
	}
	if db != nil {
		// Everything still in memory goes to the database, or to the
		// spool when it is away, within a bounded time.
		if !live {
			// -r exits when everything is in the database.
			fctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := db.Flush(fctx); err != nil && runErr == nil {
				runErr = fmt.Errorf("flush store: %w", err)
			}
			cancel()
		}
		if replay && runErr == nil && ctx.Err() == nil {
			fmt.Fprintf(stderr, "tamond: replay of %s done; serving until SIGINT or SIGTERM\n", o.read)
			// Packets were stamped with the wall clock: keep the
			// inventory's clock going, so that the live rates fall to
			// zero instead of repeating the file's last seconds.
			tick := time.NewTicker(time.Second)
			for waiting := true; waiting; {
				select {
				case <-ctx.Done():
					waiting = false
				case now := <-tick.C:
					inv.Advance(now.UnixMilli())
				}
			}
			tick.Stop()
		}
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := db.Close(cctx); err != nil && runErr == nil {
			runErr = fmt.Errorf("close store: %w", err)
		}
		cancel()
		ss := db.Stats()
		tables := make([]string, 0, len(ss.Rows))
		for t := range ss.Rows {
			tables = append(tables, t)
		}
		slices.Sort(tables)
		for _, t := range tables {
			fmt.Fprintf(stderr, "store_rows_%s %d\n", t, ss.Rows[t])
		}
		fmt.Fprintf(stderr, "store_spooled %d\nstore_replayed %d\nstore_dropped %d\nstore_truncated %d\nstore_last_error %q\n",
			ss.Spooled, ss.Replayed, ss.Dropped, ss.Truncated, ss.LastError)
	}
	st := eng.Stats()
	if !live {
		st.WriteSummary(stderr)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(stderr, "heap_allocs %d\n", ms.Mallocs)
	}
	if runErr != nil {
		fmt.Fprintln(stderr, "tamond:", runErr)
		return 1
	}
	return 0
}

// loadConfig reads the UCI file. When reading a capture file and -c was not
// given, a missing default file means "use the defaults".
func loadConfig(o *options, fl *flag.FlagSet) (config.Config, error) {
	explicit := false
	fl.Visit(func(f *flag.Flag) {
		if f.Name == "c" {
			explicit = true
		}
	})
	var cfg config.Config
	var err error
	if _, statErr := os.Stat(o.config); errors.Is(statErr, fs.ErrNotExist) && !explicit && (o.read != "" || o.json) {
		cfg = config.Default()
		cfg.Source = "(defaults)"
		err = cfg.Validate()
	} else {
		cfg, err = config.Load(o.config)
	}
	o.override(&cfg)
	return cfg, err
}

// override applies the command line's -i, -sensor and -workers over a
// loaded configuration (at start and again on every reload).
func (o *options) override(cfg *config.Config) {
	if o.iface != "" {
		cfg.Interfaces = strings.Split(o.iface, ",")
	}
	if o.sensor != "" {
		cfg.Sensor = o.sensor
	}
	if o.workers != 0 {
		cfg.Workers = o.workers
	}
}

func engineConfig(c *config.Config, live bool) pipeline.Config {
	fc := flow.DefaultConfig()
	fc.TCPTimeout = int64(c.TCPTimeout) * 1e9
	fc.UDPTimeout = int64(c.UDPTimeout) * 1e9
	fc.MaxFlows = c.MaxFlows
	fc.Timeline = c.Timeline
	return pipeline.Config{
		AppTimeout: time.Duration(c.AppTimeout) * time.Second,
		Sensor:     c.Sensor,
		Workers:    c.Workers,
		Flow:       fc,
		DNSTimeout: int64(c.DNSTimeout) * 1e9,
		Live:       live,
		NoDissect:  !c.Dissect,
	}
}

// loadApps reads the features file. Bad lines are skipped with a warning
// and the rest loads; a file that cannot be read keeps prev (nil at start:
// no application names).
func loadApps(path string, prev *appid.Rules, log io.Writer) *appid.Rules {
	r, lineErrs, err := appid.Load(path)
	if err != nil {
		if prev != nil {
			fmt.Fprintf(log, "tamond: features %s: %v; keeping the previous signatures\n", path, err)
		} else {
			fmt.Fprintf(log, "tamond: features %s: %v; applications will not be named\n", path, err)
		}
		return prev
	}
	for _, le := range lineErrs {
		fmt.Fprintf(log, "tamond: warning: %s (line skipped)\n", le.Error())
	}
	return r
}

// aliasMap turns the UCI aliases into the inventory's mac → name map.
func aliasMap(as []config.Alias) map[string]string {
	m := make(map[string]string, len(as))
	for _, a := range as {
		m[a.MAC] = a.Name
	}
	return m
}

// refreshNeighbours reads dnsmasq's lease file and the neighbour tables
// into the inventory at start and every few minutes, so that devices get
// names even when they renewed their lease before tamond started.
func refreshNeighbours(ctx context.Context, eng *pipeline.Engine, inv *devices.Inventory) {
	tick := time.NewTicker(5 * time.Minute)
	defer tick.Stop()
	for {
		eng.ControlEmit(func(emit func(record.Record)) {
			now := time.Now().UnixMilli()
			put := func(d *record.Device) { emit(d) }
			inv.LoadLeaseFile(now, put)
			arp, err := os.Open("/proc/net/arp")
			if err != nil {
				return
			}
			defer arp.Close()
			var ip6 bytes.Reader
			if out, err := exec.CommandContext(ctx, "ip", "-6", "neigh", "show").Output(); err == nil {
				ip6.Reset(out)
			}
			inv.LoadNeighbours(arp, &ip6, now, put)
		})
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// lateSink forwards records to a sink set after the engine was built.
type lateSink struct {
	mu sync.Mutex
	to pipeline.Sink
}

func (l *lateSink) set(s pipeline.Sink) { l.mu.Lock(); l.to = s; l.mu.Unlock() }

func (l *lateSink) Write(recs []record.Record) error {
	l.mu.Lock()
	to := l.to
	l.mu.Unlock()
	if to == nil {
		return nil
	}
	return to.Write(recs)
}

// localZone is the zone of the days of the visited-sites history: Go's
// local zone when TZ or /etc/localtime name one, else OpenWrt's /etc/TZ at
// path. OpenWrt installs no zoneinfo by default, so there Go's local zone
// is UTC, and a router in China would split its days at 08:00.
func localZone(local *time.Location, tzSet bool, path string, log io.Writer) *time.Location {
	if tzSet || local.String() != "UTC" {
		return local
	}
	loc, err := tz.Load(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(log, "tamond: %v; the visited-sites history counts UTC days\n", err)
		}
		return local
	}
	return loc
}
