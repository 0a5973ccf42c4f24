//go:build linux

package capture

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ipCmd runs ip(8) and fails the test on error.
func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// inNetns runs fn on an OS thread that has joined the network namespace ns
// (created by "ip netns add"). The thread is never given back to the Go
// scheduler: it ends with the goroutine, so no other code runs in ns.
// Sockets that fn opens stay in ns and can be used from any goroutine.
func inNetns(t *testing.T, ns string, fn func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // no Unlock: the thread dies with us
		fd, err := unix.Open("/var/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		errc <- fn()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// testNet builds two fresh network namespaces joined by two veth pairs:
//
//	ns1: a1 192.0.2.1/24    <-> ns2: b1 192.0.2.2/24
//	ns1: a2 198.51.100.1/24 <-> ns2: b2 198.51.100.2/24
//
// with lo up in ns1. Everything is removed when the test ends.
type testNet struct {
	ns1, ns2, a1, a2, b1, b2 string
}

func newTestNet(t *testing.T) *testNet {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatalf("the live capture test needs ip(8): install iproute2 (apt-get install iproute2): %v", err)
	}
	var r [3]byte
	rand.Read(r[:])
	sfx := hex.EncodeToString(r[:])
	n := &testNet{
		ns1: "tamon-cap-" + sfx + "-1", ns2: "tamon-cap-" + sfx + "-2",
		a1: "tca" + sfx + "a1", a2: "tca" + sfx + "a2", b1: "tca" + sfx + "b1", b2: "tca" + sfx + "b2",
	}
	ipCmd(t, "netns", "add", n.ns1)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", n.ns1).Run() })
	ipCmd(t, "netns", "add", n.ns2)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", n.ns2).Run() })
	ipCmd(t, "-n", n.ns1, "link", "add", n.a1, "type", "veth", "peer", "name", n.b1, "netns", n.ns2)
	ipCmd(t, "-n", n.ns1, "link", "add", n.a2, "type", "veth", "peer", "name", n.b2, "netns", n.ns2)
	ipCmd(t, "-n", n.ns1, "addr", "add", "192.0.2.1/24", "dev", n.a1)
	ipCmd(t, "-n", n.ns1, "addr", "add", "198.51.100.1/24", "dev", n.a2)
	ipCmd(t, "-n", n.ns2, "addr", "add", "192.0.2.2/24", "dev", n.b1)
	ipCmd(t, "-n", n.ns2, "addr", "add", "198.51.100.2/24", "dev", n.b2)
	for _, l := range []string{"lo", n.a1, n.a2} {
		ipCmd(t, "-n", n.ns1, "link", "set", l, "up")
	}
	for _, l := range []string{n.b1, n.b2} {
		ipCmd(t, "-n", n.ns2, "link", "set", l, "up")
	}
	return n
}

// listen opens UDP sockets on ports in ns, so that datagrams sent there
// meet no ICMP port unreachable (which would fail the next write of a
// connected sender).
func (n *testNet) listen(t *testing.T, ns string, ports ...int) {
	t.Helper()
	inNetns(t, ns, func() error {
		for _, p := range ports {
			c, err := net.ListenUDP("udp4", &net.UDPAddr{Port: p})
			if err != nil {
				return err
			}
			t.Cleanup(func() { c.Close() })
		}
		return nil
	})
}

// udpPayload returns the UDP payload of an Ethernet/IPv4/UDP frame.
func udpPayload(frame []byte) ([]byte, bool) {
	if len(frame) < 14+20+8 || binary.BigEndian.Uint16(frame[12:]) != 0x0800 {
		return nil, false
	}
	ip := frame[14:]
	ihl := int(ip[0]&0x0f) * 4
	if ip[0]>>4 != 4 || ip[9] != 17 || len(ip) < ihl+8 {
		return nil, false
	}
	return ip[ihl+8:], true
}

// TestLiveCapture captures on two veth interfaces and loopback inside a
// fresh network namespace while datagrams are sent to each.
func TestLiveCapture(t *testing.T) {
	n := newTestNet(t)

	// Open the capture in ns1: a1 (Iface 0), a2 (Iface 1), lo (Iface 2).
	var src Source
	inNetns(t, n.ns1, func() (err error) {
		src, err = OpenLive([]string{n.a1, n.a2, "lo"}, LiveOptions{Promiscuous: true, PollTimeout: 100 * time.Millisecond})
		return err
	})
	defer src.Close()
	n.listen(t, n.ns1, 40001, 40002, 40003)
	if out, err := exec.Command("ip", "-n", n.ns1, "-d", "link", "show", "dev", n.a1).CombinedOutput(); err != nil || !strings.Contains(string(out), "promiscuity 1") {
		t.Errorf("%s not promiscuous while captured: %v\n%s", n.a1, err, out)
	}
	if want := n.a1 + "," + n.a2 + ",lo"; src.Name() != want {
		t.Errorf("Name() = %q, want %q", src.Name(), want)
	}

	// Senders: from ns2 to ns1 over each veth, and within ns1 over lo.
	var to1, to2, toLo *net.UDPConn
	inNetns(t, n.ns2, func() (err error) {
		if to1, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 40001}); err != nil {
			return err
		}
		to2, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(198, 51, 100, 1), Port: 40002})
		return err
	})
	defer to1.Close()
	defer to2.Close()
	inNetns(t, n.ns1, func() (err error) {
		toLo, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40003})
		return err
	})
	defer toLo.Close()

	// Each marker must be seen exactly once, on its interface.
	const perIface = 5
	want := map[string]int{}
	start := time.Now()
	for i := 0; i < perIface; i++ {
		for iface, c := range []*net.UDPConn{to1, to2, toLo} {
			msg := fmt.Sprintf("tamon-capture-test %d %d", iface, i)
			want[msg] = iface
			if _, err := c.Write([]byte(msg)); err != nil {
				t.Fatal(err)
			}
		}
	}

	seen := map[string]int{}
	var frames, wire uint64
	deadline := time.Now().Add(10 * time.Second)
	var f Frame
	for len(seen) < len(want) && time.Now().Before(deadline) {
		err := src.Next(&f)
		if errors.Is(err, ErrTimeout) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		frames++
		wire += uint64(f.WireLen)
		if f.Link != LinkEthernet {
			t.Errorf("frame on interface %d: link %v, want Ethernet", f.Iface, f.Link)
		}
		p, ok := udpPayload(f.Data)
		if !ok {
			continue // ARP, IPv6 neighbour discovery, ICMP (may predate start)
		}
		if f.TS < start.UnixNano() || f.TS > time.Now().UnixNano() {
			t.Errorf("frame time %v outside the test [%v, now]", time.Unix(0, f.TS), start)
		}
		msg := string(p)
		iface, ok := want[msg]
		if !ok {
			continue
		}
		if f.Iface != iface {
			t.Errorf("%q captured on interface %d, sent over %d", msg, f.Iface, iface)
		}
		if f.WireLen != len(f.Data) || f.WireLen != 14+20+8+len(msg) {
			t.Errorf("%q: %d bytes captured, wire length %d, want %d", msg, len(f.Data), f.WireLen, 14+20+8+len(msg))
		}
		seen[msg]++
	}
	for msg := range want {
		if seen[msg] != 1 {
			t.Errorf("%q captured %d times, want once", msg, seen[msg])
		}
	}
	st := src.Stats()
	if st.Packets != frames || st.Bytes != wire || st.KernelDrops != 0 || st.Skipped != 0 {
		t.Errorf("Stats() = %+v, want %d packets, %d bytes, no drops", st, frames, wire)
	}

	// Nothing more is sent: Next must come back with ErrTimeout within
	// about the poll timeout (stray IPv6 frames may come first).
	got := false
	for end := time.Now().Add(5 * time.Second); !got && time.Now().Before(end); {
		t0 := time.Now()
		err := src.Next(&f)
		if errors.Is(err, ErrTimeout) {
			got = true
			if d := time.Since(t0); d < 90*time.Millisecond || d > 600*time.Millisecond {
				t.Errorf("ErrTimeout after %v, poll timeout is 100ms", d)
			}
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if !got {
		t.Error("Next never returned ErrTimeout")
	}

	// Steady state: reading frames waiting in the rings does not allocate.
	msg := []byte("tamon-capture-alloc")
	for i := 0; i < 300; i++ {
		if _, err := to1.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := to2.Write(msg); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond) // let the kernel retire the blocks
	read := 0
	allocs := testing.AllocsPerRun(400, func() {
		if err := src.Next(&f); err == nil {
			read++
		} else if !errors.Is(err, ErrTimeout) {
			t.Fatal(err)
		}
	})
	if read < 400 {
		t.Errorf("only %d of 401 reads returned a frame", read)
	}
	if allocs != 0 {
		t.Errorf("live Next allocates %v times per frame", allocs)
	}

	// Close is final and idempotent; Stats still answers.
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := src.Next(&f); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close = %v, want ErrClosed", err)
	}
	if st2 := src.Stats(); st2.Packets < st.Packets {
		t.Errorf("Stats after Close = %+v", st2)
	}
}

// TestLiveSnapLen checks that the kernel cuts frames at SnapLen and that
// WireLen keeps the length on the wire.
func TestLiveSnapLen(t *testing.T) {
	n := newTestNet(t)
	var src Source
	inNetns(t, n.ns1, func() (err error) {
		src, err = OpenLive([]string{n.a1}, LiveOptions{SnapLen: 100, BlockSize: 64 << 10, NumBlocks: 4, PollTimeout: 50 * time.Millisecond})
		return err
	})
	defer src.Close()
	n.listen(t, n.ns1, 40001)
	var c *net.UDPConn
	inNetns(t, n.ns2, func() (err error) {
		c, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 40001})
		return err
	})
	defer c.Close()
	payload := bytes.Repeat([]byte("snap"), 250) // 1000 bytes
	var f Frame
	for tries := 0; tries < 100; tries++ {
		if _, err := c.Write(payload); err != nil {
			t.Fatal(err)
		}
		err := src.Next(&f)
		if errors.Is(err, ErrTimeout) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Data) > 100 {
			t.Fatalf("captured %d bytes, snap length 100", len(f.Data))
		}
		if f.WireLen == 14+20+8+len(payload) {
			if len(f.Data) != 100 || !bytes.Equal(f.Data[14+20+8:], payload[:100-42]) {
				t.Fatalf("snapped frame: %d bytes %x", len(f.Data), f.Data)
			}
			return
		}
	}
	t.Fatal("the 1042-byte frame was not captured")
}

func TestOpenLiveErrors(t *testing.T) {
	n := newTestNet(t)
	tests := []struct {
		ifaces []string
		opt    LiveOptions
		want   string
	}{
		{nil, LiveOptions{}, "open capture: no interface given"},
		{[]string{"tamon-nosuch0"}, LiveOptions{}, "open capture tamon-nosuch0: no such network interface"},
		{[]string{n.a1, "tamon-nosuch0"}, LiveOptions{}, "open capture tamon-nosuch0: no such network interface"},
		{[]string{n.a1, n.a1}, LiveOptions{}, "interface " + n.a1 + " given twice"},
		{[]string{n.a1}, LiveOptions{SnapLen: -5}, "open capture " + n.a1 + ": snap length -5"},
		{[]string{n.a1}, LiveOptions{BlockSize: 1000}, "block size 1000"},
	}
	for _, tt := range tests {
		inNetns(t, n.ns1, func() error {
			src, err := OpenLive(tt.ifaces, tt.opt)
			if err == nil {
				src.Close()
				t.Errorf("OpenLive(%q, %+v) succeeded", tt.ifaces, tt.opt)
			} else if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("OpenLive(%q, %+v) error %q, want %q", tt.ifaces, tt.opt, err, tt.want)
			}
			return nil
		})
	}

	// Without CAP_NET_RAW (dropped on a thread of its own, which dies
	// afterwards) the error says what is missing.
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // no Unlock: the thread dies with us
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		data[0].Effective &^= 1 << unix.CAP_NET_RAW
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		src, err := OpenLive([]string{"lo"}, LiveOptions{})
		if err == nil {
			src.Close()
		}
		errc <- err
	}()
	if err := <-errc; err == nil || !errors.Is(err, unix.EPERM) ||
		!strings.Contains(err.Error(), "open capture lo: ") || !strings.Contains(err.Error(), "CAP_NET_RAW") {
		t.Errorf("OpenLive without CAP_NET_RAW: %v", err)
	}

	// The interface goes away under a running capture: Next fails,
	// naming it.
	var src Source
	inNetns(t, n.ns1, func() (err error) {
		src, err = OpenLive([]string{n.a1, n.a2}, LiveOptions{PollTimeout: 50 * time.Millisecond})
		return err
	})
	defer src.Close()
	ipCmd(t, "-n", n.ns1, "link", "del", n.a2)
	var f Frame
	var err error
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
		if err = src.Next(&f); err != nil && !errors.Is(err, ErrTimeout) {
			break
		}
	}
	if err == nil || errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "read capture "+n.a2+": ") ||
		!errors.Is(err, unix.ENETDOWN) {
		t.Errorf("Next after the interface was removed = %v", err)
	}
}

// TestLiveRawIP captures on a tun device, which has no link header: the
// socket is SOCK_DGRAM and frames are raw IP.
func TestLiveRawIP(t *testing.T) {
	n := newTestNet(t)
	tun := "tca" + n.a1[3:9] + "tu"
	var tunFD int
	inNetns(t, n.ns1, func() error {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open /dev/net/tun: %w", err)
		}
		ifr, err := unix.NewIfreq(tun)
		if err != nil {
			return err
		}
		ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			unix.Close(fd)
			return fmt.Errorf("TUNSETIFF: %w", err)
		}
		tunFD = fd
		return nil
	})
	defer unix.Close(tunFD)
	ipCmd(t, "-n", n.ns1, "link", "set", tun, "up")
	var src Source
	inNetns(t, n.ns1, func() (err error) {
		src, err = OpenLive([]string{tun}, LiveOptions{PollTimeout: 50 * time.Millisecond})
		return err
	})
	defer src.Close()

	v4 := []byte{0x45, 0, 0, 32, 0, 1, 0, 0, 64, 17, 0, 0, 203, 0, 113, 2, 203, 0, 113, 1,
		0x9c, 0x41, 0x9c, 0x42, 0, 12, 0, 0, 'r', 'a', 'w', '4'}
	binary.BigEndian.PutUint16(v4[10:], ipv4Checksum(v4[:20]))
	v6 := make([]byte, 40+8+4)
	v6[0] = 0x60
	binary.BigEndian.PutUint16(v6[4:], 12)
	v6[6], v6[7] = 17, 64
	copy(v6[8:], net.ParseIP("2001:db8::2"))
	copy(v6[24:], net.ParseIP("2001:db8::1"))
	binary.BigEndian.PutUint16(v6[40:], 40001)
	binary.BigEndian.PutUint16(v6[42:], 40002)
	binary.BigEndian.PutUint16(v6[44:], 12)
	copy(v6[48:], "raw6")
	for _, p := range [][]byte{v4, v6} {
		if _, err := unix.Write(tunFD, p); err != nil {
			t.Fatal(err)
		}
	}
	var got [][]byte // our two packets, in capture order; others are ignored
	var f Frame
	for end := time.Now().Add(5 * time.Second); len(got) < 2 && time.Now().Before(end); {
		err := src.Next(&f)
		if errors.Is(err, ErrTimeout) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.Link != LinkRaw || f.Iface != 0 || f.WireLen != len(f.Data) {
			t.Errorf("frame: link %v iface %d wire %d len %d", f.Link, f.Iface, f.WireLen, len(f.Data))
		}
		if bytes.Equal(f.Data, v4) || bytes.Equal(f.Data, v6) {
			got = append(got, bytes.Clone(f.Data))
		}
	}
	if len(got) != 2 || !bytes.Equal(got[0], v4) || !bytes.Equal(got[1], v6) {
		t.Errorf("captured %x, want %x and %x", got, v4, v6)
	}
}

func ipv4Checksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// TestLiveKernelDrops overfills a tiny ring: the kernel's drops show in
// Stats, and the frames that fit are still delivered.
func TestLiveKernelDrops(t *testing.T) {
	n := newTestNet(t)
	n.listen(t, n.ns1, 40001)
	var src Source
	inNetns(t, n.ns1, func() (err error) {
		src, err = OpenLive([]string{n.a1}, LiveOptions{SnapLen: 256, BlockSize: os.Getpagesize(), NumBlocks: 2, PollTimeout: 20 * time.Millisecond})
		return err
	})
	defer src.Close()
	var c *net.UDPConn
	inNetns(t, n.ns2, func() (err error) {
		c, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 40001})
		return err
	})
	defer c.Close()
	const sent = 500
	payload := make([]byte, 200)
	for i := 0; i < sent; i++ {
		if _, err := c.Write(payload); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	var f Frame
	for {
		err := src.Next(&f)
		if errors.Is(err, ErrTimeout) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	st := src.Stats()
	if st.Packets == 0 || st.KernelDrops == 0 || st.KernelFreezes == 0 || st.Packets+st.KernelDrops < sent {
		t.Errorf("Stats() = %+v after %d datagrams into a two-page ring", st, sent)
	}
	if st2 := src.Stats(); st2.KernelDrops != st.KernelDrops {
		t.Errorf("KernelDrops not cumulative: %d then %d", st.KernelDrops, st2.KernelDrops)
	}
	t.Logf("%+v", st)
}
