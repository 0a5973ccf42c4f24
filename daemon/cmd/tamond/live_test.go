package main

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The live test runs parts of itself in network namespaces: the test binary
// is started again with TAMON_TEST_ROLE set, under `ip netns exec`.
func TestMain(m *testing.M) {
	switch os.Getenv("TAMON_TEST_ROLE") {
	case "":
		os.Exit(m.Run())
	case "tamond":
		os.Exit(run(strings.Fields(os.Getenv("TAMON_TEST_ARGS")), os.Stdout, os.Stderr))
	case "servers":
		os.Exit(servers())
	case "client":
		os.Exit(client())
	case "apiget":
		os.Exit(apiGet(os.Getenv("TAMON_TEST_ARGS")))
	}
	fmt.Fprintln(os.Stderr, "unknown TAMON_TEST_ROLE")
	os.Exit(2)
}

const (
	addrA    = "192.0.2.1" // servers and the capture, namespace A
	addrB    = "192.0.2.2" // client, namespace B
	liveName = "www.example.org"
	upBytes  = 1000
	downSize = 3000
)

// servers answers DNS queries for liveName with addrA and serves one TCP
// exchange on port 8080: read upBytes, write downSize, close.
func servers() int {
	pc, err := net.ListenPacket("udp4", addrA+":53")
	if err != nil {
		fmt.Fprintln(os.Stderr, "servers:", err)
		return 1
	}
	ln, err := net.Listen("tcp4", addrA+":8080")
	if err != nil {
		fmt.Fprintln(os.Stderr, "servers:", err)
		return 1
	}
	fmt.Println("ready")
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := dnsAnswer(buf[:n], net.ParseIP(addrA).To4()); resp != nil {
				pc.WriteTo(resp, from)
			}
		}
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return 1
		}
		go func() {
			defer c.Close()
			io.ReadFull(c, make([]byte, upBytes))
			c.Write(make([]byte, downSize))
		}()
	}
}

// dnsAnswer turns a query into a response with one A record.
func dnsAnswer(q []byte, ip net.IP) []byte {
	if len(q) < 12 {
		return nil
	}
	end := 12
	for end < len(q) && q[end] != 0 {
		end += int(q[end]) + 1
	}
	end += 5 // root label, qtype, qclass
	if end > len(q) {
		return nil
	}
	r := append([]byte(nil), q[:end]...)
	r[2] |= 0x80 // QR
	r[3] = 0x80  // RA, NOERROR
	binary.BigEndian.PutUint16(r[6:], 1)
	binary.BigEndian.PutUint16(r[8:], 0)
	binary.BigEndian.PutUint16(r[10:], 0)
	r = append(r, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4)
	return append(r, ip...)
}

// client resolves liveName at addrA and does the TCP exchange with the
// address it got.
func client() int {
	q := []byte{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, l := range strings.Split(liveName, ".") {
		q = append(q, byte(len(l)))
		q = append(q, l...)
	}
	q = append(q, 0, 0, 1, 0, 1)
	c, err := net.Dial("udp4", addrA+":53")
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		return 1
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write(q)
	resp := make([]byte, 512)
	n, err := c.Read(resp)
	if err != nil || n < 4 {
		fmt.Fprintln(os.Stderr, "client: no DNS answer:", err)
		return 1
	}
	ip := net.IP(resp[n-4 : n]).String()
	t, err := net.Dial("tcp4", ip+":8080")
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		return 1
	}
	t.Write(make([]byte, upBytes))
	got, _ := io.ReadAll(t)
	t.Close()
	if len(got) != downSize {
		fmt.Fprintf(os.Stderr, "client: got %d bytes, want %d\n", len(got), downSize)
		return 1
	}
	return 0
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, b *syncBuffer, want string) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(b.String(), want) {
			return
		}
	}
	t.Fatalf("tamond did not log %q; log:\n%s", want, b.String())
}

// apiGet fetches a URL of tamond's API with the test token and prints it.
func apiGet(url string) int {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer test-token")
	c := &http.Client{Timeout: 5 * time.Second}
	for i := 0; i < 50; i++ {
		resp, err := c.Do(req)
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%d %s", resp.StatusCode, body)
		return 0
	}
	return 1
}

func sh(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// TestLiveCapture joins two network namespaces with a veth pair, captures
// with tamond on one end, sends DNS and TCP traffic across, and checks the
// records tamond prints when it is stopped with SIGTERM.
func TestLiveCapture(t *testing.T) {
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("the live capture test needs iproute2 (`ip`): run `make setup`")
	}
	if os.Geteuid() != 0 {
		t.Fatal("the live capture test needs root (network namespaces, AF_PACKET)")
	}
	rnd := make([]byte, 3)
	rand.Read(rnd)
	id := hex.EncodeToString(rnd)
	nsA, nsB, va, vb := "tamon-a-"+id, "tamon-b-"+id, "tva"+id, "tvb"+id
	sh(t, "ip", "netns", "add", nsA)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", nsA).Run() })
	sh(t, "ip", "netns", "add", nsB)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", nsB).Run() })
	sh(t, "ip", "link", "add", va, "type", "veth", "peer", "name", vb)
	sh(t, "ip", "link", "set", va, "netns", nsA)
	sh(t, "ip", "link", "set", vb, "netns", nsB)
	sh(t, "ip", "-n", nsA, "addr", "add", addrA+"/24", "dev", va)
	sh(t, "ip", "-n", nsB, "addr", "add", addrB+"/24", "dev", vb)
	sh(t, "ip", "-n", nsA, "link", "set", va, "up")
	sh(t, "ip", "-n", nsB, "link", "set", vb, "up")
	sh(t, "ip", "-n", nsA, "link", "set", "lo", "up")
	sh(t, "ip", "-n", nsB, "link", "set", "lo", "up")

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	role := func(ns, name, args string) *exec.Cmd {
		c := exec.Command("ip", "netns", "exec", ns, self, "-test.run=^$")
		c.Env = append(os.Environ(), "TAMON_TEST_ROLE="+name, "TAMON_TEST_ARGS="+args)
		return c
	}
	// tamond on the servers' end of the veth.
	cfg := t.TempDir() + "/tamon"
	apiConf := "config api 'api'\n\toption listen '" + addrA + ":8321'\n\toption tls 'off'\n\toption token 'test-token'\n"
	os.WriteFile(cfg, []byte("config tamon 'main'\n\toption interface '"+va+"'\n\toption sensor 'live'\n\toption tcp_timeout '300'\n"+apiConf), 0o644)
	td := role(nsA, "tamond", "-json -c "+cfg)
	tdOut, _ := td.StdoutPipe()
	tdErr, _ := td.StderrPipe()
	if err := td.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { td.Process.Kill(); td.Wait() })
	errLines := bufio.NewScanner(tdErr)
	if !errLines.Scan() || !strings.Contains(errLines.Text(), "capturing on "+va) {
		t.Fatalf("tamond did not start capturing: %q", errLines.Text())
	}
	var errLog syncBuffer
	go io.Copy(&errLog, tdErr)
	records := make(chan []map[string]any, 1)
	go func() {
		var rs []map[string]any
		sc := bufio.NewScanner(tdOut)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Errorf("bad JSON line %q: %v", sc.Text(), err)
				continue
			}
			rs = append(rs, m)
		}
		records <- rs
	}()

	srv := role(nsA, "servers", "")
	srvOut, _ := srv.StdoutPipe()
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	if !bufio.NewScanner(srvOut).Scan() {
		t.Fatal("servers did not start")
	}
	cl := role(nsB, "client", "")
	if out, err := cl.CombinedOutput(); err != nil {
		t.Fatalf("client: %v: %s", err, out)
	}
	time.Sleep(500 * time.Millisecond) // let the last ACK reach the ring
	// The API answers on the configured address with the token.
	out, err := role(nsA, "apiget", "http://"+addrA+":8321/api/v1/status").Output()
	if err != nil || !strings.HasPrefix(string(out), "200 ") || !strings.Contains(string(out), `"sensor":"live"`) {
		t.Errorf("GET /api/v1/status: %v: %.300s", err, out)
	}
	// SIGHUP with a changed timeout and the dissectors turned off is
	// applied; a broken file is refused and the running configuration
	// kept. Neither loses records.
	os.WriteFile(cfg, []byte("config tamon 'main'\n\toption interface '"+va+"'\n\toption sensor 'live'\n\toption tcp_timeout '120'\n\toption dissect '0'\n"+apiConf), 0o644)
	td.Process.Signal(syscall.SIGHUP)
	waitFor(t, &errLog, "reload: tcp_timeout 120 s")
	waitFor(t, &errLog, "reload: dissect off")
	os.WriteFile(cfg, []byte("config tamon 'main'\n\toption tcp_timeout 'never\n"), 0o644)
	td.Process.Signal(syscall.SIGHUP)
	waitFor(t, &errLog, "keeping the running configuration")
	td.Process.Signal(syscall.SIGTERM)
	var rs []map[string]any
	select {
	case rs = <-records:
	case <-time.After(20 * time.Second):
		t.Fatal("tamond did not stop after SIGTERM")
	}
	if err := td.Wait(); err != nil {
		t.Fatalf("tamond exited with %v", err)
	}

	var dnsOK, tcpOK bool
	for _, r := range rs {
		switch r["type"] {
		case "dns":
			if r["query"] == liveName && r["client_ip"] == addrB && r["server_ip"] == addrA && r["rcode"] == "NOERROR" && r["rtt_ms"].(float64) >= 0 {
				ans, _ := r["answers"].([]any)
				if len(ans) == 1 && ans[0].(map[string]any)["data"] == addrA {
					dnsOK = true
				}
			}
		case "session":
			if r["proto"] == "tcp" && r["client_ip"] == addrB && r["server_ip"] == addrA && r["server_port"].(float64) == 8080 {
				tcpOK = true
				if r["end_reason"] != "fin" || r["host"] != liveName || r["sensor"] != "live" {
					t.Errorf("TCP session: end_reason %v host %v sensor %v, want fin, %s, live", r["end_reason"], r["host"], r["sensor"], liveName)
				}
				// IP bytes: payload plus 20 (IP) + at least 20 (TCP) per packet.
				up, down := r["bytes_up"].(float64), r["bytes_down"].(float64)
				pu, pd := r["pkts_up"].(float64), r["pkts_down"].(float64)
				if up < upBytes+40*pu || down < downSize+40*pd || pu < 4 || pd < 3 {
					t.Errorf("TCP session counts: up %v bytes in %v packets, down %v bytes in %v packets", up, pu, down, pd)
				}
				if r["client_mac"] == "" || r["server_mac"] == "" {
					t.Errorf("TCP session without MACs: %v", r)
				}
			}
		}
	}
	if !dnsOK || !tcpOK {
		t.Fatalf("records missing (dns %v, tcp %v); got %d records: %v", dnsOK, tcpOK, len(rs), rs)
	}
}
