// Command tamon-bench is `make bench`: it generates deterministic captures
// with package benchgen and measures, each in a fresh child process so that
// peak RSS belongs to one measurement:
//
//   - bare: a gopacket DecodingLayerParser loop over the file (the practical
//     decode limit);
//   - bare, handed over: the same loop split over two goroutines, one reading
//     and one decoding (a diagnostic: what handing frames to another core
//     costs on the machine);
//   - engine: the in-process engine (pipeline) with a sink that drops records;
//   - tamond: `tamond -r FILE -json >/dev/null`, as shipped and with
//     `option dissect '0'` (sessions, DNS, devices and apps, without the
//     application-layer dissectors: the engine issue's scope and more);
//   - open-N: `tamond -r` over a capture that leaves N sessions open until
//     the end of input, for peak RSS against the session count.
//
// It prints a Markdown report (packets/s, MB/s, allocations per packet,
// peak RSS, and the ratios to the bare loop) for BENCHMARKS.md.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"tamon/daemon/internal/appid"
	"tamon/daemon/internal/benchgen"
	"tamon/daemon/internal/capture"
	"tamon/daemon/internal/devices"
	"tamon/daemon/internal/pipeline"
	"tamon/daemon/internal/record"
)

// scope is one configuration of the in-process engine: what it does on top
// of sessions, DNS and the name map (the engine issue's scope).
type scope struct {
	mode, name             string
	dissect, devices, apps bool
	history                bool // with devices: the per-record breakdowns too
}

// scopes are measured in this order; the last is the daemon's
// configuration.
var scopes = []scope{
	{mode: "engine-minimal", name: "engine: sessions, DNS, name map"},
	{mode: "engine-dissect", name: "engine: + TLS, HTTP, QUIC, SSDP, ICMP", dissect: true},
	{mode: "engine-traffic", name: "engine: + device traffic accounting (per packet)", dissect: true, devices: true},
	{mode: "engine-devices", name: "engine: + device history (per record)", dissect: true, devices: true, history: true},
	{mode: "engine", name: "engine: + apps (all, as tamond)", dissect: true, devices: true, history: true, apps: true},
}

func scopeByMode(mode string) (scope, bool) {
	for _, sc := range scopes {
		if sc.mode == mode {
			return sc, true
		}
	}
	return scope{}, false
}

type result struct {
	Name    string  `json:"name"`
	Packets uint64  `json:"packets"`
	Bytes   uint64  `json:"bytes"`
	Seconds float64 `json:"seconds"`
	CPU     float64 `json:"cpu_seconds"` // user+system time of the whole process (fewest over the runs)
	Allocs  uint64  `json:"allocs"`
	MaxRSS  int64   `json:"max_rss_kb"`
	Faults  int64   `json:"minor_faults"` // page faults of the whole process (its fastest run)
	Records uint64  `json:"records"`
}

func main() {
	dir := flag.String("dir", ".bench", "folder for the generated captures")
	packets := flag.Int("packets", 1_000_000, "packets in the home-LAN mix")
	tamond := flag.String("tamond", "bin/tamond", "tamond binary to measure")
	child := flag.String("child", "", "run one measurement on -file: bare, bare-handoff, engine-minimal, engine-dissect, engine-traffic, engine-devices or engine")
	file := flag.String("file", "", "internal: capture for -child")
	runs := flag.Int("runs", 5, "runs per measurement; the fastest is reported")
	cpuprofile := flag.String("cpuprofile", "", "with -child: write a CPU profile of the measurement to this file")
	flag.Parse()
	if *child != "" {
		if *cpuprofile != "" {
			f, err := os.Create(*cpuprofile)
			if err == nil {
				err = pprof.StartCPUProfile(f)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "tamon-bench: cpu profile:", err)
				os.Exit(1)
			}
		}
		r, err := measureChild(*child, *file)
		pprof.StopCPUProfile()
		if err != nil {
			fmt.Fprintln(os.Stderr, "tamon-bench:", err)
			os.Exit(1)
		}
		json.NewEncoder(os.Stdout).Encode(r)
		return
	}
	if err := report(*dir, *packets, *tamond, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "tamon-bench:", err)
		os.Exit(1)
	}
}

func generate(path string, fn func(w *bufio.Writer) (benchgen.Stats, error)) (benchgen.Stats, error) {
	f, err := os.Create(path)
	if err != nil {
		return benchgen.Stats{}, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	st, err := fn(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return st, err
}

func report(dir string, packets int, tamond string, runs int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mix := filepath.Join(dir, fmt.Sprintf("mix-%d.pcap", packets))
	st, err := generate(mix, func(w *bufio.Writer) (benchgen.Stats, error) {
		return benchgen.Mix(w, benchgen.Options{Packets: packets, Seed: 1})
	})
	if err != nil {
		return fmt.Errorf("generate %s: %w", mix, err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	// Interleave the measurements run by run, so that a noisy moment on
	// the machine hits all of them alike; keep the fastest run of each, and
	// the fewest CPU seconds.
	var bare, handoff, td, tdNoDissect result
	noDissect := filepath.Join(dir, "tamon-nodissect.uci")
	abs, _ := filepath.Abs("features.txt")
	if err := os.WriteFile(noDissect, []byte("config tamon 'main'\n\toption dissect '0'\n\toption features '"+abs+"'\n"), 0o644); err != nil {
		return err
	}
	eng := make([]result, len(scopes))
	keep := func(b *result, r result) {
		cpu := r.CPU
		if b.Seconds > 0 {
			cpu = min(b.CPU, r.CPU)
		}
		if b.Seconds == 0 || r.Seconds < b.Seconds {
			*b = r
		}
		b.CPU = cpu
	}
	for i := 0; i < runs; i++ {
		r, err := runChild(self, "bare", mix)
		if err != nil {
			return fmt.Errorf("bare: %w", err)
		}
		keep(&bare, r)
		if r, err = runChild(self, "bare-handoff", mix); err != nil {
			return fmt.Errorf("bare-handoff: %w", err)
		}
		keep(&handoff, r)
		for j, sc := range scopes {
			if r, err = runChild(self, sc.mode, mix); err != nil {
				return fmt.Errorf("%s: %w", sc.mode, err)
			}
			keep(&eng[j], r)
		}
		if r, err = runTamond(tamond, mix, "", ""); err != nil {
			return fmt.Errorf("tamond: %w", err)
		}
		keep(&td, r)
		if r, err = runTamond(tamond, mix, noDissect, "tamond -r -json >/dev/null, option dissect '0'"); err != nil {
			return fmt.Errorf("tamond, dissect 0: %w", err)
		}
		keep(&tdNoDissect, r)
	}
	var opens []result
	for _, n := range []int{16384, 100000} {
		path := filepath.Join(dir, fmt.Sprintf("open-%d.pcap", n))
		if _, err := generate(path, func(w *bufio.Writer) (benchgen.Stats, error) { return benchgen.OpenSessions(w, n, 1) }); err != nil {
			return err
		}
		cfg := filepath.Join(dir, "tamon-open.uci")
		os.WriteFile(cfg, []byte("config tamon 'main'\n\toption max_flows '200000'\n\toption features '"+abs+"'\n"), 0o644)
		r, err := runTamond(tamond, path, cfg, fmt.Sprintf("open-%d", n))
		if err != nil {
			return err
		}
		opens = append(opens, r)
	}

	fmt.Printf("Generated mix: %d packets, %d bytes, %d sessions (%d TCP, %d UDP), %d DNS queries, %d TLS ClientHellos (%d split over two segments), %d QUIC ClientHellos, %d HTTP requests, %d ICMP echos, %d IPv6 packets (%.0f%%), %d VLAN-tagged (%.0f%%).\n\n",
		st.Packets, st.Bytes, st.Sessions, st.TCPSessions, st.UDPSessions, st.DNSQueries, st.TLSHellos, st.SplitHellos,
		st.QUICHellos, st.HTTPRequests, st.ICMPEchos, st.IPv6Packets, 100*float64(st.IPv6Packets)/float64(st.Packets),
		st.VLANPackets, 100*float64(st.VLANPackets)/float64(st.Packets))
	fmt.Printf("Machine: %d CPUs (GOMAXPROCS %d), %s/%s, %s. Fastest of %d runs each.\n\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version(), runs)
	fmt.Println("| measurement | packets/s | MB/s | allocs/packet | peak RSS | CPU s | vs bare loop |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	row := func(r result) {
		pps := float64(r.Packets) / r.Seconds
		mbs := float64(r.Bytes) / r.Seconds / 1e6
		fmt.Printf("| %s | %.0f | %.1f | %.4f | %.1f MB | %.2f | %.2f |\n", r.Name, pps, mbs,
			float64(r.Allocs)/float64(max(r.Packets, 1)), float64(r.MaxRSS)/1024, r.CPU, pps/(float64(bare.Packets)/bare.Seconds))
	}
	row(bare)
	row(handoff)
	for _, r := range eng {
		row(r)
	}
	row(td)
	row(tdNoDissect)
	fmt.Println()
	// First touches of memory cost very differently from one machine to
	// the next (a virtual machine may take microseconds each): they explain
	// part of how the ratios move between machines.
	fmt.Printf("Page faults of the whole process, fastest run: bare loop %d, engine in scope %d, engine with everything %d, tamond -r -json %d.\n\n",
		bare.Faults, eng[0].Faults, eng[len(eng)-1].Faults, td.Faults)
	// What each part costs, as the issues state their bounds: the
	// dissectors against the engine without them (within 25%), device
	// accounting and apps against the engine before each is added.
	speed := func(r result) float64 { return float64(r.Packets) / r.Seconds }
	// Wall time is what the bounds speak of; CPU time (fewest over the
	// runs) moves less with what else the machine does.
	fmt.Println("| added part | engine speed before → after | cost (speed) | cost (CPU time) |")
	fmt.Println("|---|---:|---:|---:|")
	for j := 1; j < len(eng); j++ {
		a, b := speed(eng[j-1]), speed(eng[j])
		fmt.Printf("| %s | %.0f → %.0f packets/s | %.1f%% | %.1f%% |\n", strings.TrimPrefix(eng[j].Name, "engine: + "), a, b, 100*(1-b/a),
			100*(eng[j].CPU/eng[j-1].CPU-1))
	}
	fmt.Println()
	fmt.Println("| open sessions at end of input | packets | peak RSS | records |")
	fmt.Println("|---:|---:|---:|---:|")
	for _, r := range opens {
		fmt.Printf("| %s | %d | %.1f MB | %d |\n", strings.TrimPrefix(r.Name, "open-"), r.Packets, float64(r.MaxRSS)/1024, r.Records)
	}
	return nil
}

func runChild(self, mode, file string) (result, error) {
	cmd := exec.Command(self, "-child", mode, "-file", file)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return result{}, err
	}
	var r result
	if err := json.Unmarshal(out, &r); err != nil {
		return r, err
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	r.MaxRSS, r.CPU, r.Faults = int64(ru.Maxrss), cpuSeconds(ru), int64(ru.Minflt)
	return r, nil
}

// cpuSeconds is the user and system time in ru.
func cpuSeconds(ru *syscall.Rusage) float64 {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// runTamond runs tamond -r file -json >/dev/null and reads its counter
// summary (frames, bytes, records, heap_allocs) from stderr.
func runTamond(bin, file, cfg, name string) (result, error) {
	if cfg == "" {
		// The shipped signatures, as on a router.
		cfg = filepath.Join(filepath.Dir(file), "tamon-bench.uci")
		abs, _ := filepath.Abs("features.txt")
		os.WriteFile(cfg, []byte("config tamon 'main'\n\toption features '"+abs+"'\n"), 0o644)
	}
	args := []string{"-r", file, "-json", "-sensor", "bench", "-c", cfg}
	cmd := exec.Command(bin, args...)
	var errb strings.Builder
	cmd.Stderr = &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("%s %v: %v: %s", bin, args, err, errb.String())
	}
	r := result{Name: "tamond -r -json >/dev/null", Seconds: time.Since(start).Seconds()}
	if name != "" {
		r.Name = name
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	r.MaxRSS, r.CPU, r.Faults = int64(ru.Maxrss), cpuSeconds(ru), int64(ru.Minflt)
	for _, line := range strings.Split(errb.String(), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		v, _ := strconv.ParseUint(f[1], 10, 64)
		switch f[0] {
		case "frames":
			r.Packets = v
		case "bytes":
			r.Bytes = v
		case "records":
			r.Records = v
		case "heap_allocs":
			r.Allocs = v
		}
	}
	return r, nil
}

func measureChild(mode, file string) (result, error) {
	var ms0, ms1 runtime.MemStats
	switch mode {
	case "bare", "bare-handoff":
		loop, name := benchgen.BareDecode, "bare gopacket DecodingLayerParser loop"
		if mode == "bare-handoff" {
			loop, name = benchgen.BareDecodeHandoff, "bare loop, frames handed from a reading to a decoding goroutine (diagnostic)"
		}
		runtime.ReadMemStats(&ms0)
		br, err := loop(file)
		if err != nil {
			return result{}, err
		}
		runtime.ReadMemStats(&ms1)
		return result{Name: name, Packets: br.Packets, Bytes: br.Bytes,
			Seconds: br.Elapsed.Seconds(), Allocs: ms1.Mallocs - ms0.Mallocs}, nil
	default:
		sc, ok := scopeByMode(mode)
		if !ok {
			break
		}
		src, err := capture.OpenFile(file)
		if err != nil {
			return result{}, err
		}
		defer src.Close()
		var records uint64
		sink := pipeline.SinkFunc(func(rs []record.Record) error { records += uint64(len(rs)); return nil })
		cfg := pipeline.Config{Sensor: "bench", NoDissect: !sc.dissect}
		if sc.devices {
			cfg.Devices = devices.New(devices.Config{Sensor: "bench", NoBreakdowns: !sc.history})
		}
		if sc.apps {
			rules, _, err := appid.Load("features.txt")
			if err != nil {
				return result{}, fmt.Errorf("load features.txt (run from the repository root): %w", err)
			}
			cfg.Apps = rules
		}
		e := pipeline.New(cfg, sink)
		runtime.ReadMemStats(&ms0)
		start := time.Now()
		if err := e.Run(context.Background(), src); err != nil {
			return result{}, err
		}
		el := time.Since(start)
		runtime.ReadMemStats(&ms1)
		s := e.Stats()
		return result{Name: sc.name, Packets: s.Frames, Bytes: s.Bytes, Seconds: el.Seconds(),
			Allocs: ms1.Mallocs - ms0.Mallocs, Records: records}, nil
	}
	return result{}, fmt.Errorf("unknown child mode %q", mode)
}
