package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tamon/daemon/internal/config"
	"tamon/daemon/internal/pipeline"
)

// TestReload covers what a reload applies, what it defers to a restart and
// what it refuses, and that the command line's options stay in force.
func TestReload(t *testing.T) {
	const base = "config tamon 'main'\n\toption sensor 'file'\n"
	cases := []struct {
		name     string
		flags    options // command-line overrides
		next     string  // the file at reload
		wantErr  bool
		wantLog  []string
		avoidLog []string
		check    func(c config.Config) string
	}{
		{name: "nothing changed", next: base, avoidLog: []string{"restart", "reload:"}},
		{name: "command-line sensor is not a change", flags: options{sensor: "cli", workers: 3},
			next: "config tamon 'main'\n\toption sensor 'other'\n\toption workers '1'\n", avoidLog: []string{"restart"},
			check: func(c config.Config) string {
				if c.Sensor != "cli" || c.Workers != 3 {
					return "sensor " + c.Sensor + ", want cli (and 3 workers)"
				}
				return ""
			}},
		{name: "timeouts and dissectors apply", next: base + "\toption tcp_timeout '120'\n\toption dissect '0'\n",
			wantLog: []string{"reload: tcp_timeout 120 s", "reload: dissect off"}, avoidLog: []string{"restart"},
			check: func(c config.Config) string {
				if c.TCPTimeout != 120 || c.Dissect {
					return "timeout or dissect not in effect"
				}
				return ""
			}},
		{name: "sensor from the file needs a restart", next: "config tamon 'main'\n\toption sensor 'renamed'\n",
			wantLog: []string{"take effect at the next restart"},
			check: func(c config.Config) string {
				if c.Sensor != "file" {
					return "sensor " + c.Sensor + " in effect before the restart"
				}
				return ""
			}},
		{name: "broken file is refused", next: "config tamon 'main'\n\toption tcp_timeout 'soon\n", wantErr: true,
			wantLog: []string{"keeping the running configuration"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tamon")
			if err := os.WriteFile(path, []byte(base), 0o644); err != nil {
				t.Fatal(err)
			}
			cur, err := config.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			o := c.flags
			o.override(&cur)
			var log strings.Builder
			r := &reloader{path: path, cur: cur, eng: pipeline.New(pipeline.Config{}), log: &log, override: o.override}
			if err := os.WriteFile(path, []byte(c.next), 0o644); err != nil {
				t.Fatal(err)
			}
			err = r.reload()
			if (err != nil) != c.wantErr {
				t.Fatalf("reload error %v, want error %v; log:\n%s", err, c.wantErr, log.String())
			}
			for _, w := range c.wantLog {
				if !strings.Contains(log.String(), w) {
					t.Errorf("log lacks %q:\n%s", w, log.String())
				}
			}
			for _, a := range c.avoidLog {
				if strings.Contains(log.String(), a) {
					t.Errorf("log has %q:\n%s", a, log.String())
				}
			}
			got, n := r.current()
			if want := map[bool]int{true: 0, false: 1}[c.wantErr]; n != want {
				t.Errorf("%d successful reloads, want %d", n, want)
			}
			if c.check != nil {
				if msg := c.check(got); msg != "" {
					t.Error(msg)
				}
			}
		})
	}
}
