package lab

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DNSQuery returns a DNS query (recursion desired) for name and qtype.
func DNSQuery(id uint16, name string, qtype uint16) []byte {
	q := []byte{byte(id >> 8), byte(id), 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		q = append(q, byte(len(l)))
		q = append(q, l...)
	}
	return append(q, 0, byte(qtype>>8), byte(qtype), 0, 1)
}

// SendDNSQuery sends one A query for name from c to the lab's DNS server
// and waits up to a second for the answer.
func SendDNSQuery(c Client, name string) error {
	var conn net.Conn
	err := InNS(c.NS, func() error {
		var err error
		conn, err = net.Dial("udp4", net.JoinHostPort(Server4, "53"))
		return err
	})
	if err != nil {
		return fmt.Errorf("dns from %s: %w", c.Name, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write(DNSQuery(uint16(time.Now().UnixNano()), name, 1)); err != nil {
		return fmt.Errorf("dns from %s: %w", c.Name, err)
	}
	conn.Read(make([]byte, 512))
	return nil
}

// HTTPClient returns an HTTP client whose connections start in c's
// namespace, one connection per request (each request is one session).
func HTTPClient(c Client) *http.Client {
	return &http.Client{Timeout: 15 * time.Second,
		Transport: &http.Transport{DialContext: Dialer(c.NS), DisableKeepAlives: true}}
}

// Fetch GETs url with client and returns the body length.
func Fetch(ctx context.Context, client *http.Client, url string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return n, err
}

// CurlResult is what curl's -w reported of one transfer.
type CurlResult struct {
	Code       int
	HeaderSize int64 // response head bytes received
	BodySize   int64 // response body bytes received
	Request    int64 // request bytes sent
	LocalPort  int
}

// Curl runs curl in c's namespace with args (a URL among them) and
// returns what it reported; the body goes to /dev/null.
func (l *Lab) Curl(ctx context.Context, c Client, args ...string) (CurlResult, error) {
	a := append([]string{"-sS", "--max-time", "15", "-o", "/dev/null",
		"-w", "%{http_code} %{size_header} %{size_download} %{size_request} %{local_port}"}, args...)
	out, err := l.Exec(ctx, c.NS, "curl", a...)
	if err != nil {
		return CurlResult{}, err
	}
	var r CurlResult
	if _, err := fmt.Sscan(string(out), &r.Code, &r.HeaderSize, &r.BodySize, &r.Request, &r.LocalPort); err != nil {
		return r, fmt.Errorf("curl %v: cannot read %q: %w", args, out, err)
	}
	return r, nil
}

// PacketSocket opens an AF_PACKET socket bound to c's interface, for
// sending hand-made frames onto the bridge. The caller closes it.
func PacketSocket(c Client) (int, error) {
	fd := -1
	err := InNS(c.NS, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("AF_PACKET socket: %w", err)
		}
		ifi, err := net.InterfaceByName(c.Iface)
		if err != nil {
			unix.Close(fd)
			return err
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifi.Index}); err != nil {
			unix.Close(fd)
			return fmt.Errorf("bind AF_PACKET to %s: %w", c.Iface, err)
		}
		return nil
	})
	return fd, err
}

// Rate paces a loop at perSecond iterations.
type Rate struct {
	start time.Time
	every time.Duration
	n     int
}

// NewRate starts pacing.
func NewRate(perSecond int) *Rate {
	return &Rate{start: time.Now(), every: time.Second / time.Duration(perSecond)}
}

// Wait returns when the next iteration is due.
func (r *Rate) Wait() {
	r.n++
	if d := time.Until(r.start.Add(time.Duration(r.n) * r.every)); d > 0 {
		time.Sleep(d)
	}
}

// SYNFlood sends count TCP SYNs from c (its own address, ports from
// 20000 up) to dst:port, at most perSecond a second, through a raw IPv4
// socket. It returns the number sent.
func SYNFlood(c Client, dst string, port, count, perSecond int) (int, error) {
	fd := -1
	err := InNS(c.NS, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("raw socket in %s: %w", c.NS, err)
	}
	defer unix.Close(fd)
	src, dip := net.ParseIP(c.IP4).To4(), net.ParseIP(dst).To4()
	to := &unix.SockaddrInet4{}
	copy(to.Addr[:], dip)
	rate := NewRate(perSecond)
	pkt := make([]byte, 40)
	for i := 0; i < count; i++ {
		rate.Wait()
		buildSYN(pkt, src, dip, uint16(20000+i%40000), uint16(port), uint32(i)*7919+1)
		if err := unix.Sendto(fd, pkt, 0, to); err != nil {
			return i, fmt.Errorf("send SYN %d: %w", i, err)
		}
	}
	return count, nil
}

// buildSYN writes an IPv4 header and a TCP SYN (no options) into p[:40].
func buildSYN(p []byte, src, dst net.IP, sport, dport uint16, seq uint32) {
	clear(p)
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], 40)
	p[8] = 64
	p[9] = syscall.IPPROTO_TCP
	copy(p[12:16], src)
	copy(p[16:20], dst)
	binary.BigEndian.PutUint16(p[10:], checksum(p[:20], 0))
	t := p[20:]
	binary.BigEndian.PutUint16(t[0:], sport)
	binary.BigEndian.PutUint16(t[2:], dport)
	binary.BigEndian.PutUint32(t[4:], seq)
	t[12] = 5 << 4
	t[13] = 0x02 // SYN
	binary.BigEndian.PutUint16(t[14:], 64240)
	var pseudo uint32
	for i := 0; i < 4; i += 2 {
		pseudo += uint32(binary.BigEndian.Uint16(src[i:])) + uint32(binary.BigEndian.Uint16(dst[i:]))
	}
	pseudo += syscall.IPPROTO_TCP + 20
	binary.BigEndian.PutUint16(t[16:], checksum(t[:20], pseudo))
}

// checksum is the Internet checksum of b plus an initial sum.
func checksum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// UDPScan sends one small datagram from c to each port of dst in
// [from, to], at most perSecond a second, from one socket: each port is
// a session of its own. It returns the number sent.
func UDPScan(c Client, dst string, from, to, perSecond int) (int, error) {
	fd := -1
	err := InNS(c.NS, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("udp socket in %s: %w", c.NS, err)
	}
	defer unix.Close(fd)
	sa := &unix.SockaddrInet4{}
	copy(sa.Addr[:], net.ParseIP(dst).To4())
	rate := NewRate(perSecond)
	n := 0
	for p := from; p <= to; p++ {
		rate.Wait()
		sa.Port = p
		if err := unix.Sendto(fd, []byte("lab-scan"), 0, sa); err != nil {
			return n, fmt.Errorf("send to port %d: %w", p, err)
		}
		n++
	}
	return n, nil
}

// Int reads an integer column whichever way the driver returned it.
func Int(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int:
		return int64(x)
	case float64:
		return int64(x)
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	case []byte:
		n, _ := strconv.ParseInt(string(x), 10, 64)
		return n
	}
	return 0
}

// Str reads a text column or JSON field.
func Str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}
