// Command tamon-luci-demo serves luci-app-tamon's pages through the test
// harness, so the UI can be tried without a router: "make demo" runs it.
//
//	tamon-luci-demo -capture FILE [-addr 127.0.0.1:8080] [-api-addr 127.0.0.1:8321]
//	tamon-luci-demo -daemon http://127.0.0.1:8321 [-addr ...]
//
// With -capture, tamond (built from this module, or -tamond) reads the
// capture and a fake API serves its records, replaying them live. With
// -daemon the pages use a running tamond's API instead. The LuCI session id
// is printed, for use as a Bearer token.
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
	"time"

	"tamon/luci-app-tamon/harness"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, log io.Writer) int {
	fl := flag.NewFlagSet("tamon-luci-demo", flag.ContinueOnError)
	fl.SetOutput(log)
	addr := fl.String("addr", "127.0.0.1:8080", "serve the pages on `host:port`")
	apiAddr := fl.String("api-addr", "127.0.0.1:8321", "serve the fake API on `host:port`")
	capture := fl.String("capture", "", "capture `file` whose records the fake API serves")
	tamond := fl.String("tamond", "", "tamond `binary` to read the capture (default: build it)")
	daemon := fl.String("daemon", "", "`URL` of a running tamond API to use instead of the fake one")
	app := fl.String("app", "luci-app-tamon", "the luci-app-tamon `folder`")
	confDir := fl.String("config", "", "`folder` playing /etc/config (default: a temporary copy of openwrt/files/tamon.config)")
	lang := fl.String("lang", "en", "default `language` (en or zh_Hans)")
	replay := fl.Duration("replay", 500*time.Millisecond, "publish a replayed record this often (0: no replay)")
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
	if *confDir == "" {
		*confDir = filepath.Join(tmp, "config")
		b, err := os.ReadFile(filepath.Join(*app, "..", "openwrt", "files", "tamon.config"))
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
	o := harness.BenchOptions{AppDir: *app, ConfigDir: *confDir, Lang: *lang, LuCIAddr: *addr, APIAddr: *apiAddr, DaemonURL: *daemon}
	if *capture != "" {
		bin := *tamond
		if bin == "" {
			fmt.Fprintln(log, "tamon-luci-demo: building tamond")
			if bin, err = harness.BuildTamond(ctx, filepath.Join(*app, ".."), tmp); err != nil {
				fmt.Fprintln(log, "tamon-luci-demo:", err)
				return 1
			}
		}
		ds, err := harness.CaptureRecords(ctx, bin, *capture, "demo")
		if err != nil {
			fmt.Fprintln(log, "tamon-luci-demo:", err)
			return 1
		}
		ds.Rebase(time.Now().UnixMilli(), 60_000, 60_000)
		ds.Derive("demo", 300_000)
		o.Data = ds
	}
	b, err := harness.StartBench(o)
	if err != nil {
		fmt.Fprintln(log, "tamon-luci-demo:", err)
		return 1
	}
	defer b.Close()
	if b.API != nil && *replay > 0 {
		go b.API.Replay(ctx, *replay, 0)
	}
	fmt.Fprintf(log, "tamon-luci-demo: pages on %s/cgi-bin/luci/ (add ?lang=zh_Hans for Chinese), API on %s, session %s\n",
		b.URL, b.APIURL, b.Server.SessionID())
	<-ctx.Done()
	return 0
}
