package lab

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fixture is the one topology the package's tests share (built by
// TestMain, removed when they end): namespaces, servers, DHCP, MariaDB.
// Each test starts its own tamond on a fresh database.
type fixture struct {
	lab *Lab
	db  *MariaDB
	seq atomic.Int64 // database names
}

// shared is the fixture of this test binary; TestMain sets it before any
// test runs and nothing changes it afterwards.
var shared *fixture

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	if err := Check(); err != nil {
		fmt.Fprintln(os.Stderr, "lab:", err)
		return 1
	}
	if err := RemoveStale(); err != nil {
		fmt.Fprintln(os.Stderr, "lab: removing stale namespaces:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "tamon-lab-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "lab:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	root, err := ModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "lab:", err)
		return 1
	}
	start := time.Now()
	bin, err := Build(ctx, root, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lab:", err)
		return 1
	}
	built := time.Since(start)
	l, err := New(ctx, dir, bin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lab:", err)
		return 1
	}
	defer l.Close()
	db, err := l.StartMariaDB(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lab:", err)
		return 1
	}
	if testing.Verbose() {
		fmt.Printf("lab: built in %v, topology and MariaDB up in %v\n", built.Round(time.Millisecond), (time.Since(start) - built).Round(time.Millisecond))
	}
	shared = &fixture{lab: l, db: db}
	return m.Run()
}

// startDaemon starts tamond on driver ("mysql" with a fresh database, or
// "sqlite" with a fresh file); edit may change the configuration. The
// daemon is stopped when the test ends, and its log shown if it failed.
func startDaemon(t *testing.T, driver string, edit func(*DaemonConfig)) *Daemon {
	t.Helper()
	cfg := DaemonConfig{Dir: filepath.Join(t.TempDir(), "tamond"), Driver: driver}
	if driver == "mysql" {
		cfg.Database = fmt.Sprintf("lab_%d", shared.seq.Add(1))
		if err := shared.db.CreateDatabase(t.Context(), cfg.Database); err != nil {
			t.Fatal(err)
		}
	}
	if edit != nil {
		edit(&cfg)
	}
	return startDaemonCfg(t, cfg)
}

// startDaemonCfg starts tamond on cfg as it is (for restarts).
func startDaemonCfg(t *testing.T, cfg DaemonConfig) *Daemon {
	t.Helper()
	d, err := shared.lab.StartDaemon(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if d.Running() {
			if err := d.Stop(40 * time.Second); err != nil {
				t.Errorf("stop tamond: %v", err)
			}
		}
		if t.Failed() {
			t.Logf("tamond log (%s):\n%s", cfg.Driver, d.Log())
		}
	})
	return d
}

// openStore opens the daemon's database for the test's queries.
func openStore(t *testing.T, cfg DaemonConfig) *sql.DB {
	t.Helper()
	db, err := OpenStore(cfg, shared.db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// subscribe connects a stream subscriber that reads everything.
func subscribe(t *testing.T, d *Daemon) *Stream {
	t.Helper()
	s, err := d.Subscribe(t.Context(), StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// waitRows polls query until check accepts its rows, and returns them.
func waitRows(t *testing.T, db *sql.DB, timeout time.Duration, check func([]map[string]any) error, query string, args ...any) []map[string]any {
	t.Helper()
	var rows []map[string]any
	err := Poll(t.Context(), timeout, func() error {
		var err error
		rows, err = Rows(t.Context(), db, query, args...)
		if err != nil {
			return err
		}
		return check(rows)
	})
	if err != nil {
		t.Fatalf("store: %s %v: %v", query, args, err)
	}
	return rows
}

// atLeast accepts n or more rows.
func atLeast(n int) func([]map[string]any) error {
	return func(rows []map[string]any) error {
		if len(rows) < n {
			return fmt.Errorf("%d rows, want at least %d", len(rows), n)
		}
		return nil
	}
}

// runIn runs a command in a namespace or fails the test.
func runIn(t *testing.T, ns, name string, args ...string) string {
	t.Helper()
	out, err := shared.lab.Exec(t.Context(), ns, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// lines splits output into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}
