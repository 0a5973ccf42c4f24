package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tamon/daemon/internal/capture"
)

// listSource yields frames with the given capture times, then io.EOF.
type listSource struct {
	ts []int64
	i  int
}

func (l *listSource) Next(f *capture.Frame) error {
	if l.i == len(l.ts) {
		return io.EOF
	}
	*f = capture.Frame{Data: []byte{byte(l.i)}, WireLen: 1, TS: l.ts[l.i]}
	l.i++
	return nil
}
func (l *listSource) Stats() capture.Stats { return capture.Stats{} }
func (l *listSource) Close() error         { return nil }
func (l *listSource) Name() string         { return "list" }

// fakeClock is the replay's clock: sleep advances it.
type fakeClock struct {
	t     time.Time
	slept []time.Duration
}

func (c *fakeClock) now() time.Time { return c.t }
func (c *fakeClock) sleep(d time.Duration) {
	c.slept = append(c.slept, d)
	c.t = c.t.Add(d)
}

func TestReplaySourcePace(t *testing.T) {
	const s = int64(time.Second)
	start := time.Unix(1_800_000_000, 0)
	cases := []struct {
		name  string
		speed float64
		ts    []int64         // capture times
		want  []time.Duration // delivery times after start
		waits int             // ErrTimeouts answered
	}{
		{"real time", 1, []int64{100 * s, 100*s + s/2, 100*s + s/2}, []time.Duration{0, 500 * time.Millisecond, 500 * time.Millisecond}, 3},
		{"twice as fast", 2, []int64{5 * s, 5*s + s/2}, []time.Duration{0, 250 * time.Millisecond}, 2},
		{"gaps cut to 1 s", 1, []int64{0 + 1, 3600 * s, 3600*s + s/100}, []time.Duration{0, time.Second, 1010 * time.Millisecond}, 5},
		{"time going back", 1, []int64{10 * s, 9 * s, 9*s + s/100}, []time.Duration{0, 0, 10 * time.Millisecond}, 0},
		{"frames without time", 1, []int64{10 * s, 0, 10*s + s/100}, []time.Duration{0, 0, 10 * time.Millisecond}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{t: start}
			r := newReplaySource(&listSource{ts: tc.ts}, tc.speed)
			r.now, r.sleep = clk.now, clk.sleep
			var got []time.Duration
			waits := 0
			var f capture.Frame
			for {
				err := r.Next(&f)
				if errors.Is(err, capture.ErrTimeout) {
					waits++
					continue
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if int(f.Data[0]) != len(got) {
					t.Fatalf("frame %d delivered as frame %d", f.Data[0], len(got))
				}
				if f.TS > clk.t.UnixNano() {
					t.Errorf("frame %d stamped %d, after the clock %d", len(got), f.TS, clk.t.UnixNano())
				}
				got = append(got, time.Duration(f.TS-start.UnixNano()))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("delivered at %v, want %v", got, tc.want)
			}
			if waits != tc.waits {
				t.Errorf("%d ErrTimeouts, want %d (sleeps %v)", waits, tc.waits, clk.slept)
			}
			for _, d := range clk.slept {
				if d > replayPoll {
					t.Errorf("slept %v at once, more than the poll time %v", d, replayPoll)
				}
			}
		})
	}
}

// TestReplayServes runs "tamond -r FILE -replay SPEED" as a process: it
// serves the API while and after it replays, with records stamped now,
// answers SIGHUP by reloading the UCI file (a new alias reaches the device
// list), and exits 0 on SIGTERM.
func TestReplayServes(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	features, _ := filepath.Abs("../../../features.txt")
	cfg := "config tamon 'main'\n\toption features '" + features + "'\n" +
		"config storage 'storage'\n\toption driver 'sqlite'\n\toption path '" + dir + "/t.db'\n\toption spool_path '" + dir + "/spool'\n" +
		"config api 'api'\n\toption listen '" + addr + "'\n\toption tls 'off'\n\toption token 'replaytoken'\n"
	if err := os.WriteFile(filepath.Join(dir, "tamon"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	before := time.Now().UnixMilli()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TAMON_TEST_ROLE=tamond",
		"TAMON_TEST_ARGS=-r testdata/arkime_http-simple-get.pcap -replay 20 -c "+dir+" -sensor s")
	var errb syncBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, &errb, "replay of testdata/arkime_http-simple-get.pcap done")
	get := func(path string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/"+path, nil)
		req.Header.Set("Authorization", "Bearer replaytoken")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s %s", path, resp.Status, b)
		}
		return string(b)
	}
	sessions := get("sessions")
	i := strings.Index(sessions, `"start_ts":`)
	if i < 0 {
		t.Fatalf("no session in the store after the replay: %s", sessions)
	}
	var first int64
	if _, err := fmt.Sscanf(sessions[i:], `"start_ts":%d`, &first); err != nil {
		t.Fatal(err)
	}
	if first < before || first > time.Now().UnixMilli() {
		t.Errorf("session start %d is not between the start of the test %d and now", first, before)
	}
	devs := get("devices")
	i = strings.Index(devs, `"mac":"`)
	if i < 0 {
		t.Fatalf("no device: %s", devs)
	}
	mac := devs[i+7 : i+24]
	f, err := os.OpenFile(filepath.Join(dir, "tamon"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "config alias\n\toption mac '%s'\n\toption name 'replayed-pc'\n", mac)
	f.Close()
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, &errb, "reload: 1 aliases")
	if strings.Contains(errb.String(), "next restart") {
		t.Errorf("the reload reads the command line's -sensor as a change:\n%s", errb.String())
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(get("devices?mac="+mac), `"alias":"replayed-pc"`) {
		if time.Now().After(deadline) {
			t.Fatalf("device %s has no alias after the reload: %s", mac, get("devices?mac="+mac))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The file is over: the live rates fall to zero once their window
	// (10 s) has passed, instead of repeating the file's last seconds.
	deadline = time.Now().Add(20 * time.Second)
	for st := get("status"); !strings.Contains(st, `"rates":{"up_bps":0,"down_bps":0}`); st = get("status") {
		if time.Now().After(deadline) {
			t.Fatalf("rates still moving 20 s after the replay ended: %s", st)
		}
		time.Sleep(200 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("tamond after SIGTERM: %v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "store_rows_sessions ") {
		t.Errorf("no store summary at exit:\n%s", errb.String())
	}
}

func TestReplayFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-replay", "2"},
		{"-replay", "2", "-r", "testdata/ndpi_dns.pcap", "-json"},
		{"-replay", "-1", "-r", "testdata/ndpi_dns.pcap"},
	} {
		var errb strings.Builder
		if code := run(args, io.Discard, &errb); code != 2 || !strings.Contains(errb.String(), "-replay needs") {
			t.Errorf("%q: exit %d, stderr %q; want 2 and the -replay rule", args, code, errb.String())
		}
	}
}
