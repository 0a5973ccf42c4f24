// Package lab is tamon's test lab: a simulated router built from Linux
// network namespaces on the test machine, with the real tamond capturing on
// its LAN bridge, real clients (curl, dig, openssl, ping, udhcpc) and real
// servers (dnsmasq, an HTTP and HTTPS server), and a private MariaDB. The
// lab's tests (lab/*_test.go) drive scenarios and failure drills through
// it; cmd/tamon-soak runs it for hours.
//
// Topology (every name carries the lab's prefix, "tlab<pid>-"):
//
//	client1..3 ── veth ──┐
//	  192.0.2.11..13     │  router: br-lan 192.0.2.1/24, 2001:db8:1::1/64
//	  2001:db8:1::11..13 └─ br-lan ── tamond (capture), dnsmasq (DHCP),
//	                             │     mariadbd on 127.0.0.1:3306, API on 192.0.2.1:8321
//	                        wan0 198.51.100.1/24, 2001:db8:2::1/64 (forwarding)
//	                             │
//	servers: eth0 198.51.100.10/24, 2001:db8:2::10/64: dnsmasq (DNS),
//	         tamon-labserver (HTTP :80, HTTPS :443 with TLS 1.2/1.3 and SNI,
//	         ICMP echo answered after EchoDelay); ICMPv6 echo by the kernel
//
// Nothing is addressed in the machine's own namespace: the test process
// reaches the API and sends raw frames through sockets opened inside a lab
// namespace (InNS, Dialer), and reaches MariaDB through its unix socket.
//
// A Lab is built by New and removed by Close, which stops every process it
// started and deletes its namespaces; RemoveStale removes what a killed
// run left behind. A Lab's methods are safe for concurrent use.
package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Prefix starts the name of every namespace a lab creates; the process id
// of the lab's owner follows it.
const Prefix = "tlab"

// Addresses of the lab.
const (
	RouterLAN4  = "192.0.2.1"
	RouterLAN6  = "2001:db8:1::1"
	RouterWAN4  = "198.51.100.1"
	RouterWAN6  = "2001:db8:2::1"
	Server4     = "198.51.100.10"
	Server6     = "2001:db8:2::10"
	APIPort     = 8321
	Bridge      = "br-lan"
	Domain      = "lab.example"
	APIToken    = "lab-token-0123456789"
	dbPassword  = "lab-password"
	dbUser      = "tamon"
	dhcpRangeLo = "192.0.2.100"
	dhcpRangeHi = "192.0.2.199"
)

// EchoDelay is how long the servers take to answer an IPv4 ping.
const EchoDelay = 25 * time.Millisecond

// Client is one LAN device of the lab.
type Client struct {
	Name     string // client1...
	NS       string // its namespace
	MAC      string // lower-case aa:bb:cc:dd:ee:ff
	IP4, IP6 string
	Hostname string // the host name it sends in DHCP
	Iface    string // its interface inside NS ("eth0")
}

// Lab is one built topology. Fields are read-only after New.
type Lab struct {
	ID        string // the prefix of its namespaces, "tlab<pid>"
	Dir       string // working folder (configs, logs, datadir); removed by Close
	Router    string // namespace names
	Servers   string
	Clients   []Client
	Bin       Binaries
	RouterMAC string // br-lan's MAC
	DHCP      *Proc  // the router's dnsmasq (DHCP only), logging each exchange

	mu    sync.Mutex
	procs []*Proc
	// starts runs the lab's process starts on one locked OS thread that
	// lives as long as the lab: children get SIGKILL when the thread that
	// forked them ends (Pdeathsig), and threads of InNS end early.
	starts chan func()
	closed bool
}

// Binaries are the programs the lab runs that are built from this tree.
type Binaries struct {
	Tamond    string
	LabServer string
}

// Build compiles tamond and tamon-labserver (CGO_ENABLED=0, as for a
// router) into dir. root is the module root.
func Build(ctx context.Context, root, dir string) (Binaries, error) {
	b := Binaries{Tamond: filepath.Join(dir, "tamond"), LabServer: filepath.Join(dir, "tamon-labserver")}
	for _, p := range []struct{ out, pkg string }{{b.Tamond, "./daemon/cmd/tamond"}, {b.LabServer, "./lab/cmd/tamon-labserver"}} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", p.out, p.pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return b, fmt.Errorf("go build %s: %v\n%s", p.pkg, err, out)
		}
	}
	return b, nil
}

// ModuleRoot finds the folder holding go.mod, from the working directory up.
func ModuleRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		up := filepath.Dir(d)
		if up == d {
			return "", errors.New("find the module root: no go.mod above the working directory")
		}
		d = up
	}
}

// Check reports the programs the lab needs that are missing, and whether it
// runs as root; the message says how to get them.
func Check() error {
	if os.Geteuid() != 0 {
		return errors.New("the lab needs root (network namespaces, AF_PACKET, mariadbd)")
	}
	var missing []string
	for _, p := range []string{"ip", "dnsmasq", "dig", "curl", "openssl", "ping", "udhcpc", "mariadbd", "mariadb-install-db", "go"} {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the lab needs %s: run `make setup` (iproute2 dnsmasq-base bind9-dnsutils curl openssl iputils-ping udhcpc mariadb-server)", strings.Join(missing, ", "))
	}
	return nil
}

// RemoveStale deletes the namespaces (and kills their processes) that labs
// of processes no longer alive left behind, for example after a test
// binary was killed by its timeout.
func RemoveStale() error {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return fmt.Errorf("ip netns list: %w", err)
	}
	var errs []error
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], Prefix) {
			continue
		}
		name := f[0]
		pidStr, _, _ := strings.Cut(strings.TrimPrefix(name, Prefix), "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil {
			continue
		}
		if pid != os.Getpid() && syscall.Kill(pid, 0) == nil {
			continue // its lab still runs
		}
		errs = append(errs, deleteNS(name))
	}
	return errors.Join(errs...)
}

// deleteNS kills the processes of a namespace, then deletes it.
func deleteNS(name string) error {
	if out, err := exec.Command("ip", "netns", "pids", name).Output(); err == nil {
		for _, p := range strings.Fields(string(out)) {
			// This process is listed when its main thread ran InNS:
			// the Go runtime keeps a locked main thread where it was.
			if pid, err := strconv.Atoi(p); err == nil && pid != os.Getpid() {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	os.RemoveAll(filepath.Join("/etc/netns", name))
	if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns del %s: %v: %s", name, err, bytes.TrimSpace(out))
	}
	return nil
}

// New builds the topology in fresh namespaces with its working folder dir
// and starts the servers (DNS, HTTP/HTTPS) and the router's DHCP server.
// On error everything it made is removed.
func New(ctx context.Context, dir string, bin Binaries) (l *Lab, err error) {
	id := fmt.Sprintf("%s%d", Prefix, os.Getpid())
	l = &Lab{ID: id, Dir: dir, Router: id + "-router", Servers: id + "-servers", Bin: bin, starts: make(chan func())}
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for f := range l.starts {
			f()
		}
	}()
	for i := 1; i <= 3; i++ {
		l.Clients = append(l.Clients, Client{
			Name: fmt.Sprintf("client%d", i), NS: fmt.Sprintf("%s-client%d", id, i),
			MAC: fmt.Sprintf("00:16:3e:0a:00:%02x", 0x10+i), IP4: fmt.Sprintf("192.0.2.%d", 10+i),
			IP6: fmt.Sprintf("2001:db8:1::%d", 10+i), Hostname: fmt.Sprintf("lab-device-%d", i), Iface: "eth0",
		})
	}
	defer func() {
		if err != nil {
			l.Close()
			l = nil
		}
	}()
	if err := l.topology(); err != nil {
		return l, err
	}
	out, err := l.Exec(ctx, l.Router, "cat", "/sys/class/net/"+Bridge+"/address")
	if err != nil {
		return l, err
	}
	l.RouterMAC = strings.TrimSpace(string(out))
	if err := l.startServers(ctx); err != nil {
		return l, err
	}
	return l, nil
}

// topology creates the namespaces, links and addresses.
func (l *Lab) topology() error {
	nss := []string{l.Router, l.Servers}
	for _, c := range l.Clients {
		nss = append(nss, c.NS)
	}
	var cmds [][]string
	for _, ns := range nss {
		cmds = append(cmds, []string{"netns", "add", ns}, []string{"-n", ns, "link", "set", "lo", "up"})
	}
	r, s := l.Router, l.Servers
	cmds = append(cmds,
		[]string{"-n", r, "link", "add", Bridge, "type", "bridge", "stp_state", "0", "forward_delay", "0"},
		[]string{"-n", r, "addr", "add", RouterLAN4 + "/24", "dev", Bridge},
		[]string{"-n", r, "addr", "add", RouterLAN6 + "/64", "dev", Bridge, "nodad"},
		[]string{"-n", r, "link", "set", Bridge, "up"},
		[]string{"link", "add", "wan0", "netns", r, "type", "veth", "peer", "name", "eth0", "netns", s},
		[]string{"-n", r, "addr", "add", RouterWAN4 + "/24", "dev", "wan0"},
		[]string{"-n", r, "addr", "add", RouterWAN6 + "/64", "dev", "wan0", "nodad"},
		[]string{"-n", r, "link", "set", "wan0", "up"},
		[]string{"-n", s, "addr", "add", Server4 + "/24", "dev", "eth0"},
		[]string{"-n", s, "addr", "add", Server6 + "/64", "dev", "eth0", "nodad"},
		[]string{"-n", s, "link", "set", "eth0", "up"},
		[]string{"-n", s, "route", "add", "default", "via", RouterWAN4},
		[]string{"-n", s, "-6", "route", "add", "default", "via", RouterWAN6},
	)
	for i, c := range l.Clients {
		port := fmt.Sprintf("lan%d", i+1)
		cmds = append(cmds,
			[]string{"link", "add", port, "netns", r, "type", "veth", "peer", "name", c.Iface, "netns", c.NS},
			[]string{"-n", r, "link", "set", port, "master", Bridge},
			[]string{"-n", r, "link", "set", port, "up"},
			[]string{"-n", c.NS, "link", "set", c.Iface, "address", c.MAC},
			[]string{"-n", c.NS, "addr", "add", c.IP4 + "/24", "dev", c.Iface},
			[]string{"-n", c.NS, "addr", "add", c.IP6 + "/64", "dev", c.Iface, "nodad"},
			[]string{"-n", c.NS, "link", "set", c.Iface, "up"},
			[]string{"-n", c.NS, "route", "add", "default", "via", RouterLAN4},
			[]string{"-n", c.NS, "-6", "route", "add", "default", "via", RouterLAN6},
		)
	}
	for _, args := range cmds {
		if len(args) > 2 && args[0] == "netns" && args[1] == "add" {
			l.mu.Lock()
			l.procs = append(l.procs, &Proc{nsOnly: args[2]})
			l.mu.Unlock()
		}
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
	}
	// The clients resolve through the lab's DNS server: `ip netns exec`
	// mounts /etc/netns/NS/resolv.conf over /etc/resolv.conf.
	for _, c := range l.Clients {
		d := filepath.Join("/etc/netns", c.NS)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(d, "resolv.conf"), []byte("nameserver "+Server4+"\noptions timeout:1 attempts:2\n"), 0o644); err != nil {
			return err
		}
	}
	// Forwarding on the router; no TCP timestamps or SACK at the ends, so
	// that every TCP header but the handshake's is 20 bytes and session
	// byte counts can be checked against what the client received.
	sysctls := map[string][]string{
		r: {"net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"},
		s: {"net.ipv4.tcp_timestamps=0", "net.ipv4.tcp_sack=0", "net.ipv4.icmp_ratelimit=0", "net.ipv4.icmp_echo_ignore_all=1"},
	}
	for _, c := range l.Clients {
		sysctls[c.NS] = []string{"net.ipv4.tcp_timestamps=0", "net.ipv4.tcp_sack=0"}
	}
	// Bridged frames skip iptables, as on OpenWrt (no br_netfilter):
	// where the module is loaded it would check IP headers on br-lan and
	// drop broken frames before the capture sees them.
	if _, err := os.Stat("/proc/sys/net/bridge/bridge-nf-call-iptables"); err == nil {
		sysctls[r] = append(sysctls[r], "net.bridge.bridge-nf-call-iptables=0", "net.bridge.bridge-nf-call-ip6tables=0",
			"net.bridge.bridge-nf-call-arptables=0")
	}
	for ns, kv := range sysctls {
		for _, v := range kv {
			if out, err := exec.Command("ip", "netns", "exec", ns, "sysctl", "-qw", v).CombinedOutput(); err != nil {
				return fmt.Errorf("sysctl %s in %s: %v: %s", v, ns, err, bytes.TrimSpace(out))
			}
		}
	}
	return nil
}

// startServers writes the certificate and the dnsmasq configurations and
// starts the servers' DNS, the HTTP/HTTPS server, and the router's DHCP.
func (l *Lab) startServers(ctx context.Context) error {
	certFile, keyFile := filepath.Join(l.Dir, "server.crt"), filepath.Join(l.Dir, "server.key")
	var err error
	if err = WriteCert(certFile, keyFile, []string{"*." + Domain, Domain}); err != nil {
		return err
	}
	dnsConf := filepath.Join(l.Dir, "dns.conf")
	conf := fmt.Sprintf(`no-resolv
no-hosts
no-daemon
port=53
listen-address=%[1]s
bind-interfaces
log-queries
log-facility=-
cache-size=0
host-record=www.%[2]s,%[1]s,%[3]s
host-record=tls12.%[2]s,%[1]s
host-record=tls13.%[2]s,%[1]s
host-record=files.%[2]s,%[1]s
host-record=app.%[2]s,%[1]s
cname=edge.%[2]s,www.%[2]s
cname=cdn.%[2]s,edge.%[2]s
`, Server4, Domain, Server6)
	if err = os.WriteFile(dnsConf, []byte(conf), 0o644); err != nil {
		return err
	}
	if _, err := l.Start(ctx, l.Servers, "dns", "dnsmasq", "--conf-file="+dnsConf, "--pid-file="); err != nil {
		return err
	}
	dhcpConf := filepath.Join(l.Dir, "dhcp.conf")
	conf = fmt.Sprintf(`port=0
no-daemon
interface=%s
bind-interfaces
dhcp-authoritative
log-dhcp
log-facility=-
dhcp-leasefile=%s
dhcp-range=%s,%s,255.255.255.0,1h
`, Bridge, filepath.Join(l.Dir, "dhcp.leases"), dhcpRangeLo, dhcpRangeHi)
	for _, c := range l.Clients {
		conf += fmt.Sprintf("dhcp-host=%s,%s\n", c.MAC, c.IP4)
	}
	if err := os.WriteFile(dhcpConf, []byte(conf), 0o644); err != nil {
		return err
	}
	if l.DHCP, err = l.Start(ctx, l.Router, "dhcp", "dnsmasq", "--conf-file="+dhcpConf, "--pid-file="); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(l.Dir, "udhcpc.script"), []byte("#!/bin/sh\n# the lab's clients keep their static addresses\nexit 0\n"), 0o755); err != nil {
		return err
	}
	srv, err := l.Start(ctx, l.Servers, "labserver", l.Bin.LabServer, "-listen", Server4, "-listen6", Server6,
		"-cert", certFile, "-key", keyFile, "-echo-delay", EchoDelay.String(), "-hellos", filepath.Join(l.Dir, "hellos.jsonl"))
	if err != nil {
		return err
	}
	if err := srv.WaitLog(ctx, "ready", 10*time.Second); err != nil {
		return err
	}
	// dnsmasq answers once it listens.
	return Poll(ctx, 10*time.Second, func() error {
		out, err := l.Exec(ctx, l.Clients[0].NS, "dig", "+short", "+time=1", "+tries=1", "@"+Server4, "www."+Domain)
		if err != nil || strings.TrimSpace(string(out)) != Server4 {
			return fmt.Errorf("dnsmasq in %s does not answer yet: %v %s", l.Servers, err, out)
		}
		return nil
	})
}

// Exec runs a command in namespace ns and returns its standard output; the
// error holds its standard error.
func (l *Lab) Exec(ctx context.Context, ns string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s in %s: %v: %s", name, strings.Join(args, " "), ns, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

// Start starts a long-running program in namespace ns; Close stops it if
// the caller did not. name labels it in errors and logs.
func (l *Lab) Start(ctx context.Context, ns, name, prog string, args ...string) (*Proc, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, fmt.Errorf("start %s: the lab is closed", name)
	}
	var p *Proc
	var err error
	done := make(chan struct{})
	l.starts <- func() {
		p, err = startProc(ns, name, prog, args, nil)
		close(done)
	}
	<-done
	if err != nil {
		return nil, err
	}
	l.procs = append(l.procs, p)
	return p, nil
}

// Close stops every process the lab started, deletes its namespaces and
// its working folder's contents stay for the caller to remove. It is safe
// to call more than once.
func (l *Lab) Close() error {
	l.mu.Lock()
	procs := l.procs
	l.procs = nil
	if !l.closed {
		l.closed = true
		defer close(l.starts) // after the kills: the children die with it
	}
	l.mu.Unlock()
	var errs []error
	for i := len(procs) - 1; i >= 0; i-- {
		if p := procs[i]; p.nsOnly == "" {
			p.Kill()
		}
	}
	for _, p := range procs {
		if p.nsOnly != "" {
			errs = append(errs, deleteNS(p.nsOnly))
		}
	}
	return errors.Join(errs...)
}

// InNS runs fn on an OS thread that has joined namespace ns. The thread is
// never given back to the Go scheduler (it ends with the goroutine), so no
// other code runs in ns. Sockets fn opens stay in ns and can be used from
// any goroutine afterwards.
func InNS(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // no Unlock: the thread dies with the goroutine
		fd, err := unix.Open("/var/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("open namespace %s: %w", ns, err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// Dialer returns a DialContext that opens its connections inside ns.
func Dialer(ns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := InNS(ns, func() error {
			var err error
			c, err = (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}

// Permanent wraps an error that Poll returns at once instead of trying
// again.
func Permanent(err error) error { return permanentError{err} }

type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// Poll calls fn until it returns nil or timeout passes (or ctx ends); it
// returns fn's last error then, or at once an error wrapped by Permanent.
func Poll(ctx context.Context, timeout time.Duration, fn func() error) error {
	deadline := time.Now().Add(timeout)
	wait := 20 * time.Millisecond
	for {
		err := fn()
		if err == nil {
			return nil
		}
		var pe permanentError
		if errors.As(err, &pe) {
			return pe.error
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: %w", timeout, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%v: %w", ctx.Err(), err)
		case <-time.After(wait):
		}
		if wait < 250*time.Millisecond {
			wait *= 2
		}
	}
}
