// Command tamon-soak runs the lab (package lab) with mixed traffic for a
// long time and prints, every -every, what would show a leak in tamond:
// its resident memory, goroutines, threads, open files, and the queue
// depths and counters of its status API. `make soak DURATION=2h` runs it;
// it needs root and the lab's Debian packages (`make setup`).
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"tamon/lab"
)

func main() {
	duration := flag.Duration("duration", 10*time.Minute, "how long to run the traffic")
	every := flag.Duration("every", time.Minute, "how often to print the daemon's figures")
	driver := flag.String("driver", "mysql", "storage `driver`: mysql (the lab's own MariaDB) or sqlite")
	flag.Parse()
	if err := run(*duration, *every, *driver); err != nil {
		fmt.Fprintln(os.Stderr, "tamon-soak:", err)
		os.Exit(1)
	}
}

func run(duration, every time.Duration, driver string) error {
	if err := lab.Check(); err != nil {
		return err
	}
	if err := lab.RemoveStale(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "tamon-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	root, err := lab.ModuleRoot()
	if err != nil {
		return err
	}
	bin, err := lab.Build(ctx, root, dir)
	if err != nil {
		return err
	}
	l, err := lab.New(ctx, dir, bin)
	if err != nil {
		return err
	}
	defer l.Close()
	cfg := lab.DaemonConfig{Dir: filepath.Join(dir, "daemon"), Driver: driver, AppTimeout: 30}
	if driver == "mysql" {
		db, err := l.StartMariaDB(ctx)
		if err != nil {
			return err
		}
		cfg.Database = "soak"
		if err := db.CreateDatabase(ctx, cfg.Database); err != nil {
			return err
		}
	}
	d, err := l.StartDaemon(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.Stop(40 * time.Second)
	st, err := d.Subscribe(ctx, lab.StreamOptions{})
	if err != nil {
		return err
	}
	defer st.Close()

	tctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var requests, failures atomic.Int64
	var wg sync.WaitGroup
	loop := func(perSecond int, fn func(i int) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rate := lab.NewRate(perSecond)
			for i := 0; tctx.Err() == nil; i++ {
				rate.Wait()
				requests.Add(1)
				if err := fn(i); err != nil && tctx.Err() == nil {
					failures.Add(1)
				}
			}
		}()
	}
	c1, c2, c3 := l.Clients[0], l.Clients[1], l.Clients[2]
	h1, h3 := lab.HTTPClient(c1), lab.HTTPClient(c3)
	get := func(c *http.Client, url string) error { _, err := lab.Fetch(tctx, c, url); return err }
	loop(20, func(i int) error { return get(h1, fmt.Sprintf("http://%s/soak/%d", lab.Server4, i)) })
	loop(2, func(i int) error {
		return get(h3, fmt.Sprintf("http://%s/size/%d", lab.Server4, 50_000+i%100_000))
	})
	loop(20, func(i int) error { return lab.SendDNSQuery(c2, fmt.Sprintf("n%d.soak.%s", i%5000, lab.Domain)) })
	loop(1, func(i int) error {
		_, err := l.Curl(tctx, c2, "-k", "--tlsv1.3", "https://tls13."+lab.Domain+"/soak")
		return err
	})
	loop(1, func(i int) error {
		_, err := l.Exec(tctx, c2.NS, "dig", "+short", "+time=2", "cdn."+lab.Domain)
		return err
	})
	loop(1, func(i int) error {
		_, err := l.Exec(tctx, c3.NS, "ping", "-c", "2", "-i", "0.2", "-W", "2", lab.Server4)
		return err
	})

	fmt.Printf("tamon-soak: %s for %v, figures every %v (tamond pid %d, driver %s)\n", "mixed traffic", duration, every, d.Pid(), driver)
	fmt.Printf("%-8s %9s %9s %6s %7s %5s %7s %9s %8s %9s %9s %7s %7s %9s %7s\n",
		"elapsed", "rss_kib", "hwm_kib", "gorout", "threads", "fds", "queue", "spool_b", "open", "records", "frames", "kdrops", "qdrops", "requests", "fails")
	start := time.Now()
	var first, last lab.Mem
	var firstG, lastG float64
	report := func() error {
		m, err := d.Mem()
		if err != nil {
			return err
		}
		s, err := d.Status(ctx)
		if err != nil {
			return err
		}
		met, err := d.Metrics(ctx)
		if err != nil {
			return err
		}
		g := met["tamon_goroutines"]
		if first.RSS == 0 {
			first, firstG = m, g
		}
		last, lastG = m, g
		fmt.Printf("%-8s %9d %9d %6.0f %7d %5d %7d %9d %8d %9d %9d %7d %7d %9d %7d\n",
			time.Since(start).Round(time.Second), m.RSS, m.HWM, g, m.Threads, m.FDs, s.Store.Queue, s.Store.SpoolBytes,
			s.Engine.SessionsOpen, s.Engine.Records, s.Capture.Frames, s.Capture.KernelDrops, s.Capture.QueueDrops,
			requests.Load(), failures.Load())
		return nil
	}
	if err := report(); err != nil {
		return err
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for tctx.Err() == nil {
		select {
		case <-tctx.Done():
		case <-tick.C:
			if err := report(); err != nil {
				return fmt.Errorf("the daemon stopped answering: %w\n%s", err, d.Log())
			}
		case <-d.Done():
			return fmt.Errorf("tamond exited:\n%s", d.Log())
		}
	}
	wg.Wait()
	if err := report(); err != nil {
		return err
	}
	fmt.Printf("tamon-soak: RSS %d -> %d KiB (peak %d), goroutines %s -> %s, open files %d -> %d, stream records %d, stream %v\n",
		first.RSS, last.RSS, last.HWM, strconv.FormatFloat(firstG, 'f', 0, 64), strconv.FormatFloat(lastG, 'f', 0, 64),
		first.FDs, last.FDs, len(st.Records("session")), streamState(st))
	if err := d.Stop(40 * time.Second); err != nil {
		return fmt.Errorf("tamond exit: %w", err)
	}
	return nil
}

func streamState(s *lab.Stream) string {
	if err := s.Err(); err != nil {
		return "ended: " + err.Error()
	}
	return "connected"
}
