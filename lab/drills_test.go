package lab

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"
)

// load sends HTTP requests /<prefix>/N, one connection each, from a
// client at a steady rate until stopped, and remembers when each ended.
type load struct {
	prefix string
	stop   chan struct{}
	done   chan struct{}

	mu     sync.Mutex
	ok     map[int]time.Time // N → when its answer arrived
	failed int
}

func startLoad(t *testing.T, c Client, prefix string, perSecond int) *load {
	t.Helper()
	l := &load{prefix: prefix, stop: make(chan struct{}), done: make(chan struct{}), ok: map[int]time.Time{}}
	client := HTTPClient(c)
	go func() {
		defer close(l.done)
		rate := NewRate(perSecond)
		var wg sync.WaitGroup
		for n := 1; ; n++ {
			select {
			case <-l.stop:
				wg.Wait()
				return
			default:
			}
			rate.Wait()
			wg.Add(1)
			go func(n int) {
				defer wg.Done()
				_, err := Fetch(context.Background(), client, fmt.Sprintf("http://%s/%s/%d", Server4, prefix, n))
				l.mu.Lock()
				defer l.mu.Unlock()
				if err != nil {
					l.failed++
					return
				}
				l.ok[n] = time.Now()
			}(n)
		}
	}()
	t.Cleanup(func() { l.Stop() })
	return l
}

// Stop ends the load and returns the requests answered, with their times.
func (l *load) Stop() map[int]time.Time {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[int]time.Time, len(l.ok))
	for k, v := range l.ok {
		out[k] = v
	}
	return out
}

// uriCounts counts the http rows of /<prefix>/N by N.
func uriCounts(t *testing.T, db *sql.DB, prefix string) map[int]int {
	t.Helper()
	rows, err := Rows(t.Context(), db, "SELECT uri, COUNT(*) AS n FROM http WHERE uri LIKE ? GROUP BY uri", "/"+prefix+"/%")
	if err != nil {
		t.Fatal(err)
	}
	m := map[int]int{}
	for _, r := range rows {
		n, err := strconv.Atoi(strings.TrimPrefix(Str(r["uri"]), "/"+prefix+"/"))
		if err != nil {
			t.Fatalf("uri %v", r["uri"])
		}
		m[n] = int(Int(r["n"]))
	}
	return m
}

// tally compares the store with the requests: missing (sent, not stored),
// duplicated (stored more than once), unknown (stored, never answered).
type tally struct{ expected, arrived, missing, duplicated, unknown int }

func countRequests(got map[int]int, sent map[int]time.Time, optional func(time.Time) bool) tally {
	var r tally
	for n, when := range sent {
		switch c := got[n]; {
		case c == 0 && optional != nil && optional(when):
		case c == 0:
			r.missing++
			r.expected++
		default:
			r.expected++
			r.arrived++
			if c > 1 {
				r.duplicated += c - 1
			}
		}
	}
	for n, c := range got {
		if _, ok := sent[n]; !ok {
			r.unknown += c
		}
	}
	return r
}

// waitAllRequests polls the store until every answered request is there
// and the daemon's queue and spool are empty; it returns the tally.
func waitAllRequests(t *testing.T, d *Daemon, db *sql.DB, prefix string, sent map[int]time.Time, optional func(time.Time) bool, timeout time.Duration) tally {
	t.Helper()
	var tl tally
	err := Poll(t.Context(), timeout, func() error {
		tl = countRequests(uriCounts(t, db, prefix), sent, optional)
		if tl.missing > 0 {
			return fmt.Errorf("%d of %d requests not in the store yet", tl.missing, tl.expected)
		}
		st, err := d.Status(t.Context())
		if err != nil {
			return err
		}
		if st.Store.Queue != 0 || st.Store.SpoolBytes != 0 {
			return fmt.Errorf("store queue %d, spool %d bytes", st.Store.Queue, st.Store.SpoolBytes)
		}
		return nil
	})
	tl = countRequests(uriCounts(t, db, prefix), sent, optional)
	if err != nil {
		t.Errorf("%v; tally %+v", err, tl)
	}
	return tl
}

func checkTally(t *testing.T, what string, tl tally) {
	t.Helper()
	t.Logf("%s: records expected %d, arrived %d, missing %d, duplicated %d, unknown %d", what, tl.expected, tl.arrived, tl.missing, tl.duplicated, tl.unknown)
	if tl.expected == 0 || tl.missing != 0 || tl.duplicated != 0 || tl.unknown != 0 || tl.arrived != tl.expected {
		t.Errorf("%s: records lost or duplicated: %+v", what, tl)
	}
}

// statusSampler polls the daemon's status and memory every interval
// and keeps the extremes.
type statusSampler struct {
	stop chan struct{}
	done chan struct{}

	mu                 sync.Mutex
	maxOpen            uint64
	maxQueue, maxSpool int64
	sawDisconnected    bool
	peakRSS            int64
	samples            int
}

func sample(t *testing.T, d *Daemon, every time.Duration) *statusSampler {
	s := &statusSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			st, err := d.Status(context.Background())
			m, merr := d.Mem()
			s.mu.Lock()
			if err == nil {
				s.samples++
				s.maxOpen = max(s.maxOpen, st.Engine.SessionsOpen)
				s.maxQueue = max(s.maxQueue, st.Store.Queue)
				s.maxSpool = max(s.maxSpool, st.Store.SpoolBytes)
				if !st.Store.Connected {
					s.sawDisconnected = true
				}
			}
			if merr == nil {
				s.peakRSS = max(s.peakRSS, m.RSS)
			}
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(s.Stop)
	return s
}

func (s *statusSampler) Stop() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

// storeCounter reads a "store_<name> N" line of tamond's exit summary.
func storeCounter(t *testing.T, log, name string) int64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^store_` + name + ` (\d+)$`).FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("tamond's exit summary has no store_%s:\n%s", name, log)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// TestDrillDatabaseOutage stops MariaDB (SIGKILL) for 30 s while a client
// browses, then starts it again: every request reaches the store exactly
// once.
func TestDrillDatabaseOutage(t *testing.T) {
	d := startDaemon(t, "mysql", nil)
	db := openStore(t, d.Cfg)
	smp := sample(t, d, 250*time.Millisecond)
	ld := startLoad(t, shared.lab.Clients[0], "drill", 10)
	time.Sleep(3 * time.Second) // traffic before the outage
	down := time.Now()
	shared.db.Kill()
	if err := Poll(t.Context(), 20*time.Second, func() error {
		st, err := d.Status(t.Context())
		if err != nil {
			return err
		}
		if st.Store.Connected {
			return fmt.Errorf("the daemon still reports the database connected")
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	time.Sleep(30*time.Second - time.Since(down)) // the outage lasts 30 s
	if err := shared.db.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	outage := time.Since(down)
	time.Sleep(3 * time.Second) // traffic after it
	sent := ld.Stop()
	back := time.Now()
	tl := waitAllRequests(t, d, db, "drill", sent, nil, 90*time.Second)
	smp.Stop()
	st, err := d.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("outage %.1f s; store queue peak %d records, spool peak %d bytes, dropped %d; caught up %.1f s after the load ended; client errors %d",
		outage.Seconds(), smp.maxQueue, smp.maxSpool, st.Store.Dropped, time.Since(back).Seconds(), ld.failed)
	checkTally(t, "database outage", tl)
	if !smp.sawDisconnected || st.Store.Dropped != 0 || !st.Store.Connected || smp.maxQueue+smp.maxSpool == 0 {
		t.Errorf("store status: saw disconnected %v, dropped %d, connected %v, queue peak %d, spool peak %d",
			smp.sawDisconnected, st.Store.Dropped, st.Store.Connected, smp.maxQueue, smp.maxSpool)
	}
	// Sessions are not written twice either.
	rows, err := Rows(t.Context(), db, "SELECT client_port, start_ts, COUNT(*) AS n FROM sessions WHERE client_ip = ? AND server_port = 80 GROUP BY client_port, start_ts HAVING COUNT(*) > 1", shared.lab.Clients[0].IP4)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) > 0 {
		t.Errorf("%d sessions written more than once: %v", len(rows), rows[0])
	}
}

// holdConns opens n HTTP connections from c whose answers take a minute
// (/hold/60): sessions that are open while the drill runs.
func holdConns(t *testing.T, c Client, n int) []net.Conn {
	t.Helper()
	var conns []net.Conn
	for i := 0; i < n; i++ {
		conn, err := Dialer(c.NS)(t.Context(), "tcp4", net.JoinHostPort(Server4, "80"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET /hold/60 HTTP/1.1\r\nHost: www.%s\r\n\r\n", Domain)
		conns = append(conns, conn)
		t.Cleanup(func() { conn.Close() })
	}
	return conns
}

// TestDrillTerminate stops tamond with SIGTERM during traffic while the
// database is away: open sessions are written with end_reason shutdown
// to the spool, which the next start replays once.
func TestDrillTerminate(t *testing.T) {
	c1, c2 := shared.lab.Clients[0], shared.lab.Clients[1]
	d := startDaemon(t, "mysql", nil)
	db := openStore(t, d.Cfg)
	held := holdConns(t, c2, 3)
	ld := startLoad(t, c1, "term", 10)
	time.Sleep(3 * time.Second)
	shared.db.Kill()   // what is in memory at SIGTERM must go to the spool
	t.Cleanup(func() { // for the next tests, if this one failed before the restart
		if !shared.db.Running() {
			if err := shared.db.Start(context.Background()); err != nil {
				t.Error(err)
			}
		}
	})
	time.Sleep(2 * time.Second)
	term := time.Now()
	if err := d.Stop(45 * time.Second); err != nil {
		t.Fatalf("tamond after SIGTERM: %v", err)
	}
	stopped := time.Now()
	spooled := storeCounter(t, d.Log(), "spooled")
	if err := shared.db.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	d2 := startDaemonCfg(t, d.Cfg)
	restarted := time.Now()
	time.Sleep(2 * time.Second)
	sent := ld.Stop()
	// Requests answered while no daemon ran may be missing; any other
	// must be there exactly once.
	tl := waitAllRequests(t, d2, db, "term", sent, func(at time.Time) bool { return at.After(term) && at.Before(restarted) }, 60*time.Second)
	checkTally(t, "SIGTERM and restart", tl)

	var ports []any
	for _, c := range held {
		ports = append(ports, c.LocalAddr().(*net.TCPAddr).Port)
	}
	rows, err := Rows(t.Context(), db, "SELECT client_port, end_reason, bytes_down FROM sessions WHERE client_ip = ? AND server_port = 80 AND end_reason = 'shutdown' AND client_port IN (?, ?, ?)",
		append([]any{c2.IP4}, ports...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := d2.Stop(45 * time.Second); err != nil {
		t.Fatal(err)
	}
	// While the spool holds records, newer ones queue behind them in it:
	// the restarted daemon replays its own spooled records too.
	replayed, spooled2 := storeCounter(t, d2.Log(), "replayed"), storeCounter(t, d2.Log(), "spooled")
	t.Logf("SIGTERM to exit %.1f s; spooled %d records, replayed %d at the next start (%d of them its own, queued behind); %d of %d held sessions written with end_reason shutdown",
		stopped.Sub(term).Seconds(), spooled, replayed, spooled2, len(rows), len(held))
	if len(rows) != len(held) {
		t.Errorf("held sessions with end_reason shutdown: %v, want %d (ports %v)", rows, len(held), ports)
	}
	if spooled == 0 || replayed != spooled+spooled2 {
		t.Errorf("spooled %d records at exit and %d after the restart, replayed %d", spooled, spooled2, replayed)
	}
}

// TestDrillReload changes tcp_timeout and adds an alias, then sends
// SIGHUP during traffic: both apply, and nothing is lost.
func TestDrillReload(t *testing.T) {
	c1 := shared.lab.Clients[0]
	d := startDaemon(t, "sqlite", nil)
	db := openStore(t, d.Cfg)
	st := subscribe(t, d)
	ld := startLoad(t, c1, "hup", 10)
	time.Sleep(2 * time.Second)
	cfg := d.Cfg
	cfg.TCPTimeout = 120
	cfg.Aliases = map[string]string{c1.MAC: "Lab phone 一号"}
	if err := cfg.Write(); err != nil {
		t.Fatal(err)
	}
	hup := time.Now()
	if err := d.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	var s Status
	err := Poll(t.Context(), 10*time.Second, func() error {
		var err error
		if s, err = d.Status(t.Context()); err != nil {
			return err
		}
		if s.Config.TCPTimeout != 120 || s.Config.Reloads != 1 {
			return fmt.Errorf("status config %+v", s.Config)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	applied := time.Since(hup)
	var devs struct {
		Rows []map[string]any `json:"rows"`
	}
	err = Poll(t.Context(), 20*time.Second, func() error {
		if err := d.Get(t.Context(), "/api/v1/devices?mac="+c1.MAC, &devs); err != nil {
			return err
		}
		if len(devs.Rows) == 0 || devs.Rows[0]["alias"] != cfg.Aliases[c1.MAC] {
			return fmt.Errorf("devices %v", devs.Rows)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if _, err := st.Wait(t.Context(), 10*time.Second, "device", func(m map[string]any) bool { return m["mac"] == c1.MAC && m["alias"] == cfg.Aliases[c1.MAC] }); err != nil {
		t.Error(err)
	}
	time.Sleep(2 * time.Second)
	sent := ld.Stop()
	tl := waitAllRequests(t, d, db, "hup", sent, nil, 60*time.Second)
	t.Logf("SIGHUP applied in %v: tcp_timeout %d, reloads %d, alias %q", applied.Round(time.Millisecond), s.Config.TCPTimeout, s.Config.Reloads, cfg.Aliases[c1.MAC])
	checkTally(t, "SIGHUP", tl)
	if !strings.Contains(d.Log(), "reload: tcp_timeout 120 s") || !strings.Contains(d.Log(), "reload: 1 aliases") {
		t.Errorf("tamond did not log the reload:\n%s", d.Log())
	}
}

// TestDrillFlood sends a SYN flood and a UDP port scan from client3 with
// a small max_flows: the session table stays within it, memory stays
// bounded, evictions are counted, and client1's records keep arriving.
func TestDrillFlood(t *testing.T) {
	const maxFlows = 256
	c1, c3 := shared.lab.Clients[0], shared.lab.Clients[2]
	d := startDaemon(t, "mysql", func(c *DaemonConfig) { c.MaxFlows = maxFlows })
	db := openStore(t, d.Cfg)
	base, err := d.Mem()
	if err != nil {
		t.Fatal(err)
	}
	smp := sample(t, d, 100*time.Millisecond)
	ld := startLoad(t, c1, "flood", 10)
	start := time.Now()
	syns, err := SYNFlood(c3, Server4, 80, 20000, 5000)
	if err != nil {
		t.Fatal(err)
	}
	udp, err := UDPScan(c3, Server4, 1, 5000, 2500)
	if err != nil {
		t.Fatal(err)
	}
	flood := time.Since(start)
	time.Sleep(2 * time.Second)
	sent := ld.Stop()
	tl := waitAllRequests(t, d, db, "flood", sent, nil, 90*time.Second)
	smp.Stop()
	st, err := d.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	mem, err := d.Mem()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("flood: %d SYNs and %d UDP probes in %.1f s; sessions open peak %d (max_flows %d), evicted %d; kernel drops %d, queue drops %d; RSS %d KiB before, peak %d KiB (VmHWM %d KiB)",
		syns, udp, flood.Seconds(), smp.maxOpen, maxFlows, st.Engine.SessionsEvicted, st.Capture.KernelDrops, st.Capture.QueueDrops, base.RSS, smp.peakRSS, mem.HWM)
	checkTally(t, "client1 during the flood", tl)
	if smp.maxOpen > maxFlows || st.Engine.SessionsEvicted == 0 {
		t.Errorf("sessions open peak %d over max_flows %d, or no eviction (%d)", smp.maxOpen, maxFlows, st.Engine.SessionsEvicted)
	}
	// Bounded: 25,000 sessions went through a table of 256; the daemon
	// grows by its batches and buffers, not by the flood.
	if grow := mem.HWM - base.RSS; grow > 48<<10 {
		t.Errorf("peak RSS grew by %d KiB during the flood (from %d KiB)", grow, base.RSS)
	}
	var sessions int64
	if rows, err := Rows(t.Context(), db, "SELECT COUNT(*) AS n FROM sessions WHERE client_ip = ?", c3.IP4); err == nil {
		sessions = Int(rows[0]["n"])
	}
	t.Logf("flood sessions stored: %d", sessions)
}

// TestDrillMalformedFrames injects hand-made broken frames on the bridge
// from client3: each is counted as a decode error, the daemon goes on.
func TestDrillMalformedFrames(t *testing.T) {
	c1, c3 := shared.lab.Clients[0], shared.lab.Clients[2]
	d := startDaemon(t, "sqlite", nil)
	db := openStore(t, d.Cfg)
	fd, err := PacketSocket(c3)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	router, _ := net.ParseMAC(shared.lab.RouterMAC)
	src, _ := net.ParseMAC(c3.MAC)
	eth := func(etype uint16, payload []byte) []byte {
		f := append(append(append([]byte{}, router...), src...), byte(etype>>8), byte(etype))
		return append(f, payload...)
	}
	ip4 := func(ihl byte, totalLen int, proto byte, rest []byte) []byte {
		h := make([]byte, 20)
		h[0] = 0x40 | ihl
		binary.BigEndian.PutUint16(h[2:], uint16(totalLen))
		h[8], h[9] = 64, proto
		copy(h[12:], net.ParseIP(c3.IP4).To4())
		copy(h[16:], net.ParseIP(Server4).To4())
		return append(h, rest...)
	}
	ip6 := func(payloadLen int, next byte, rest []byte) []byte {
		h := make([]byte, 40)
		h[0] = 0x60
		binary.BigEndian.PutUint16(h[4:], uint16(payloadLen))
		h[6], h[7] = next, 64
		copy(h[8:], net.ParseIP(c3.IP6))
		copy(h[24:], net.ParseIP(Server6))
		return append(h, rest...)
	}
	// error: the decoder must count the frame as a decode error (an IP
	// header whose version is not the one the link layer named counts as
	// malformed, as tshark reads it). The others it reads on purpose, as
	// tshark does (an IP length past the frame, a TCP header cut after its
	// flags: captures cut before they were written): they must only not
	// crash it.
	junk := []struct {
		name  string
		error bool
		frame []byte
	}{
		{"IPv4 header cut at 10 bytes", true, eth(0x0800, ip4(5, 40, 6, nil)[:10])},
		{"IPv4 IHL 4", true, eth(0x0800, ip4(4, 40, 6, make([]byte, 20)))},
		{"IPv4 total length below its header", true, eth(0x0800, ip4(5, 12, 6, make([]byte, 20)))},
		{"TCP header cut at 8 bytes", true, eth(0x0800, ip4(5, 28, 6, make([]byte, 8)))},
		{"UDP header cut at 4 bytes", true, eth(0x0800, ip4(5, 24, 17, []byte{0, 53, 0, 53}))},
		{"IPv6 header cut at 20 bytes", true, eth(0x86dd, ip6(0, 6, nil)[:20])},
		{"TCP over IPv6 cut at 5 bytes", true, eth(0x86dd, ip6(5, 6, make([]byte, 5)))},
		{"IPv4 total length past the frame", false, eth(0x0800, ip4(5, 1000, 17, make([]byte, 20)))},
		{"TCP data offset past the segment", false, eth(0x0800, ip4(5, 40, 6, []byte{0, 80, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0xf0, 0x02, 0xff, 0xff, 0, 0, 0, 0}))},
		{"IPv6 payload length past the frame", false, eth(0x86dd, ip6(500, 17, make([]byte, 10)))},
		{"IPv4 version 6 in an IPv4 frame", true, eth(0x0800, append([]byte{0x65}, ip4(5, 40, 6, make([]byte, 20))[1:]...))},
	}
	before, err := d.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	const rounds = 50
	sent, errs := 0, 0
	for i := 0; i < rounds; i++ {
		for _, j := range junk {
			if _, err := unix.Write(fd, j.frame); err != nil {
				t.Fatalf("send %s: %v", j.name, err)
			}
			sent++
			if j.error {
				errs++
			}
		}
	}
	var after Status
	err = Poll(t.Context(), 10*time.Second, func() error {
		if after, err = d.Status(t.Context()); err != nil {
			return err
		}
		if n := after.DecodeErrors() - before.DecodeErrors(); n < uint64(errs) {
			return fmt.Errorf("%d decode errors counted, %d broken frames sent", n, errs)
		}
		return nil
	})
	delta := map[string]uint64{}
	for k, v := range after.Capture.DecodeErrors {
		delta[k] = v - before.Capture.DecodeErrors[k]
	}
	t.Logf("malformed frames: %d sent (%d kinds x %d), %d of them broken below what the decoder reads; decode errors counted %v",
		sent, len(junk), rounds, errs, delta)
	if err != nil {
		t.Error(err)
	}
	if n := after.DecodeErrors() - before.DecodeErrors(); n != uint64(errs) {
		t.Errorf("decode errors went up by %d, %d broken frames were sent", n, errs)
	}
	// It goes on: a request after the junk is recorded.
	r, err := shared.lab.Curl(t.Context(), c1, "-4", "http://www."+Domain+"/after-junk")
	if err != nil || r.Code != 200 {
		t.Fatalf("curl after the junk: %v %v", r, err)
	}
	waitRows(t, db, 30*time.Second, atLeast(1), "SELECT uri FROM http WHERE uri = '/after-junk'")
	if !d.Running() {
		t.Fatalf("tamond exited:\n%s", d.Log())
	}
}

// TestDrillSlowStreamClient connects a stream client that stops reading
// while DNS traffic makes many records: the daemon disconnects it, a
// reading client and the store get every record, capture drops nothing.
func TestDrillSlowStreamClient(t *testing.T) {
	c2 := shared.lab.Clients[1]
	d := startDaemon(t, "mysql", nil)
	db := openStore(t, d.Cfg)
	good := subscribe(t, d)
	// Small socket buffers in the router, so that a client that stops
	// reading is noticed after a few records rather than megabytes.
	wmem, err := os.ReadFile("/proc/sys/net/ipv4/tcp_wmem") // the machine's; the router's starts equal
	if err != nil {
		t.Fatal(err)
	}
	// Autotuning reads the maximum while the connection runs: it stays
	// small for the whole test.
	runIn(t, shared.lab.Router, "sysctl", "-qw", "net.ipv4.tcp_wmem=4096 8192 16384")
	t.Cleanup(func() {
		shared.lab.Exec(context.Background(), shared.lab.Router, "sysctl", "-qw", "net.ipv4.tcp_wmem="+strings.Join(strings.Fields(string(wmem)), " "))
	})
	slow, err := d.Subscribe(t.Context(), StreamOptions{Paused: true, RcvBuf: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	// Let the slow client's subscription take effect: it is read by the
	// server before any record, and the good client proves the server
	// runs records by now.
	if err := SendDNSQuery(c2, "warmup."+Domain); err != nil {
		t.Fatal(err)
	}
	if _, err := good.Wait(t.Context(), 10*time.Second, "dns", func(m map[string]any) bool { return m["query"] == "warmup."+Domain }); err != nil {
		t.Fatal(err)
	}
	before, err := d.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	const queries = 3000
	var conn net.Conn
	if err := InNS(c2.NS, func() error {
		var err error
		conn, err = net.Dial("udp4", net.JoinHostPort(Server4, "53"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go func() { // drain the answers
		b := make([]byte, 512)
		for {
			if _, err := conn.Read(b); err != nil {
				return
			}
		}
	}()
	rate := NewRate(1500)
	for i := 0; i < queries; i++ {
		rate.Wait()
		if _, err := conn.Write(DNSQuery(uint16(i), fmt.Sprintf("q%d.slow.%s", i, Domain), 1)); err != nil {
			t.Fatal(err)
		}
	}
	countSlow := func(recs []map[string]any) int {
		n := 0
		for _, r := range recs {
			if q := Str(r["query"]); strings.HasSuffix(q, ".slow."+Domain) {
				n++
			}
		}
		return n
	}
	err = Poll(t.Context(), 30*time.Second, func() error {
		if n := countSlow(good.Records("dns")); n < queries {
			return fmt.Errorf("the reading client got %d of %d DNS records", n, queries)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	var metrics map[string]float64
	err = Poll(t.Context(), 20*time.Second, func() error {
		var err error
		if metrics, err = d.Metrics(t.Context()); err != nil {
			return err
		}
		if metrics["tamon_api_stream_slow_disconnects_total"] < 1 {
			return fmt.Errorf("no slow client disconnected yet")
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	slow.Resume()
	select {
	case <-slow.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the slow client's connection was not closed")
	}
	rows := waitRows(t, db, 60*time.Second, atLeast(queries), "SELECT query FROM dns WHERE query LIKE ?", "%.slow."+Domain)
	after, err := d.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("slow client: disconnected with code %d (%v) after reading %d messages; %v slow disconnects; reading client got %d of %d DNS records, store %d; kernel drops %d, queue drops %d",
		slow.CloseCode(), slow.Err(), len(slow.Records("dns")), metrics["tamon_api_stream_slow_disconnects_total"], countSlow(good.Records("dns")), queries, len(rows),
		after.Capture.KernelDrops-before.Capture.KernelDrops, after.Capture.QueueDrops-before.Capture.QueueDrops)
	// 4429 when the close frame still fit the socket, else the cut
	// connection (1006).
	if c := slow.CloseCode(); c != 4429 && c != websocket.CloseAbnormalClosure {
		t.Errorf("slow client closed with %d, want 4429 (too slow) or 1006 (connection cut)", c)
	}
	if metrics["tamon_api_stream_slow_disconnects_total"] != 1 || after.Capture.KernelDrops != before.Capture.KernelDrops || after.Capture.QueueDrops != before.Capture.QueueDrops {
		t.Errorf("slow disconnects %v (want 1), kernel drops %d→%d, queue drops %d→%d", metrics["tamon_api_stream_slow_disconnects_total"],
			before.Capture.KernelDrops, after.Capture.KernelDrops, before.Capture.QueueDrops, after.Capture.QueueDrops)
	}
	if good.Err() != nil {
		t.Errorf("the reading client was disconnected too: %v", good.Err())
	}
}
