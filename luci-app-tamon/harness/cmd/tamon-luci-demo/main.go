// Command tamon-luci-demo serves luci-app-tamon's pages through the test
// harness with the real daemon behind them, so the whole UI can be tried
// without a router: "make demo" runs it.
//
//	tamon-luci-demo -capture FILE [-speed 1] [-addr 127.0.0.1:8080]
//	tamon-luci-demo -daemon http://127.0.0.1:8321 [-addr ...]
//
// With -capture, tamond (built from this module, or -tamond) replays the
// capture at its captured pace into its embedded SQLite store and serves
// its API on a free loopback port; the pages find it through the rpcd
// plugin's answer, as on a router. The live page shows records while the
// replay runs; afterwards tamond keeps serving what it stored. Renaming a
// device and Save & Apply reach tamond (this program plays the router's
// ubus and uci commands for it). With -daemon the pages use a tamond that
// already runs instead. The LuCI session id is printed, for use as a Bearer
// token with curl.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"tamon/luci-app-tamon/harness"
)

func main() {
	// tamond runs this program as its ubus and uci commands.
	if code, ok := harness.RouterCLI(os.Args, os.Stdout, os.Stderr); ok {
		os.Exit(code)
	}
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, log io.Writer) int {
	fl := flag.NewFlagSet("tamon-luci-demo", flag.ContinueOnError)
	fl.SetOutput(log)
	addr := fl.String("addr", "127.0.0.1:8080", "serve the pages on `host:port`")
	capture := fl.String("capture", "", "capture `file` that tamond replays")
	speed := fl.Float64("speed", 1, "replay `speed`, times the captured pace (idle gaps are cut to 1 s)")
	tamond := fl.String("tamond", "", "tamond `binary` (default: build it from this module)")
	daemon := fl.String("daemon", "", "`URL` of a running tamond API to use instead")
	app := fl.String("app", "luci-app-tamon", "the luci-app-tamon `folder`")
	confDir := fl.String("config", "", "`folder` playing /etc/config (default: a temporary copy of openwrt/files/tamon.config)")
	lang := fl.String("lang", "en", "default `language` (en or zh_Hans)")
	verbose := fl.Bool("v", false, "copy tamond's log to standard error")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if (*capture == "") == (*daemon == "") {
		fmt.Fprintln(log, "tamon-luci-demo: give either -capture FILE or -daemon URL")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	tmp, err := os.MkdirTemp("", "tamon-luci-demo")
	if err != nil {
		fmt.Fprintln(log, "tamon-luci-demo:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	repo := filepath.Join(*app, "..")
	if *confDir == "" {
		*confDir = filepath.Join(tmp, "config")
		b, err := os.ReadFile(filepath.Join(repo, "openwrt", "files", "tamon.config"))
		if err == nil {
			err = os.MkdirAll(*confDir, 0o755)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(*confDir, "tamon"), b, 0o644)
		}
		if err != nil {
			fmt.Fprintln(log, "tamon-luci-demo: set up the configuration:", err)
			return 1
		}
	}
	o := harness.BenchOptions{AppDir: *app, ConfigDir: *confDir, Lang: *lang, LuCIAddr: *addr, DaemonURL: *daemon}
	var b *harness.Bench
	if *capture == "" {
		b, err = harness.StartBench(o)
	} else {
		bin := *tamond
		if bin == "" {
			fmt.Fprintln(log, "tamon-luci-demo: building tamond")
			if bin, err = harness.BuildTamond(ctx, repo, tmp); err != nil {
				fmt.Fprintln(log, "tamon-luci-demo:", err)
				return 1
			}
		}
		features, _ := filepath.Abs(filepath.Join(repo, "features.txt"))
		d := harness.DaemonOptions{Tamond: bin, Capture: *capture, Speed: *speed, DataDir: filepath.Join(tmp, "data"),
			Features: features, Sensor: "demo"}
		if *verbose {
			d.Log = log
		}
		b, err = harness.StartBenchDaemon(o, d)
	}
	if err != nil {
		fmt.Fprintln(log, "tamon-luci-demo:", err)
		return 1
	}
	fmt.Fprintf(log, "tamon-luci-demo: pages on %s/cgi-bin/luci/ (add ?lang=zh_Hans for Chinese), daemon API on %s, session %s\n",
		b.URL, b.APIURL, b.Server.SessionID())
	if b.Daemon != nil {
		fmt.Fprintf(log, "tamon-luci-demo: tamond replays %s at %gx; the live page shows records until the replay ends. Ctrl-C stops.\n", *capture, *speed)
		go func() {
			if b.Daemon.WaitReplayed(ctx) == nil {
				fmt.Fprintln(log, "tamon-luci-demo: replay done; tamond keeps serving what it stored")
			}
		}()
	}
	<-ctx.Done()
	if err := b.Close(); err != nil {
		fmt.Fprintln(log, "tamon-luci-demo: stop:", err)
		if b.Daemon != nil {
			fmt.Fprint(log, b.Daemon.Log())
		}
		return 1
	}
	return 0
}
