//go:build linux

package capture

import (
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket/afpacket"
	"golang.org/x/sys/unix"
)

// OpenLive opens a TPACKET_V3 ring on each of the named interfaces, in the
// calling thread's network namespace.
//
// Design: one AF_PACKET socket and ring per interface (gopacket afpacket), no
// goroutines. Next reads the rings round robin, one frame at a time, starting
// after the ring that gave the previous frame, so a busy interface cannot
// starve the others. A ring found empty is not asked again until poll(2) on
// all the sockets says it is readable; when every ring is empty Next sleeps
// in that poll(2), up to PollTimeout, then returns ErrTimeout. Reading a ring
// that has frames makes no system call.
//
// The link type follows the interface's hardware type: Ethernet and loopback
// give LinkEthernet; interfaces without a link header (PPP, tun, WireGuard,
// GRE, SIT, raw IP) are opened as SOCK_DGRAM and give LinkRaw. Other hardware
// types (802.11 monitor, CAN, ...) are refused. On loopback, outgoing copies
// are ignored (PACKET_IGNORE_OUTGOING, Linux 4.20+) so each packet is seen
// once. VLAN tags that the kernel moved out of the frame are put back, as
// libpcap does.
//
// If an interface goes down or is removed, Next fails with an error naming
// it: reopen the source (with a back-off) to follow interfaces that come
// back, e.g. pppoe-wan after a reconnect, which gets a new ifindex.
func OpenLive(ifaces []string, opt LiveOptions) (Source, error) {
	name := strings.Join(ifaces, ",")
	if len(ifaces) == 0 {
		return nil, errors.New("open capture: no interface given")
	}
	o, err := opt.withDefaults(os.Getpagesize())
	if err != nil {
		return nil, fmt.Errorf("open capture %s: %w", name, err)
	}
	s := &liveSource{
		name:    name,
		snap:    o.SnapLen,
		timeout: o.PollTimeout,
	}
	for i, ifname := range ifaces {
		for _, prev := range ifaces[:i] {
			if prev == ifname {
				s.closeRings()
				return nil, fmt.Errorf("open capture %s: interface %s given twice", name, ifname)
			}
		}
		li, err := openIface(ifname, o)
		if err != nil {
			s.closeRings()
			return nil, err
		}
		s.ifaces = append(s.ifaces, li)
		s.pfds = append(s.pfds, unix.PollFd{Fd: int32(li.fd), Events: unix.POLLIN})
		s.ready = append(s.ready, true)
	}
	return s, nil
}

type liveIface struct {
	name string
	tp   *afpacket.TPacket
	fd   int // tp's socket, for poll(2) and socket options
	link LinkType
}

type liveSource struct {
	name    string
	snap    int
	timeout time.Duration

	ifaces []liveIface
	pfds   []unix.PollFd // pfds[i] is ifaces[i]'s socket
	ready  []bool        // ready[i]: ring i may have a frame
	next   int           // the ring to try first
	ts     unix.Timespec // poll timeout, kept here so Next does not allocate
	err    error         // final error

	packets, bytes atomic.Uint64

	mu                  sync.Mutex // guards closed, the rings' stats and the last* fields
	closed              bool
	lastDrops, lastFrzs uint64
}

// Hardware types whose frames start with the network header.
var noLinkHeader = map[uint16]bool{
	unix.ARPHRD_NONE:    true, // tun, WireGuard
	unix.ARPHRD_PPP:     true, // pppoe-wan
	unix.ARPHRD_RAWIP:   true,
	unix.ARPHRD_TUNNEL:  true, // ipip
	unix.ARPHRD_TUNNEL6: true, // ip6tnl
	unix.ARPHRD_SIT:     true,
	unix.ARPHRD_IPGRE:   true,
	unix.ARPHRD_IP6GRE:  true,
}

func openIface(name string, o LiveOptions) (li liveIface, err error) {
	li.name = name
	if name == "" {
		return li, errors.New("open capture: empty interface name")
	}
	if _, err := net.InterfaceByName(name); err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) {
			err = oe.Err
		}
		return li, fmt.Errorf("open capture %s: %w", name, err)
	}
	hw, err := hardwareType(name)
	if err != nil {
		return li, fmt.Errorf("open capture %s: hardware type: %w", name, err)
	}
	sockType := afpacket.SocketRaw
	switch {
	case hw == unix.ARPHRD_ETHER || hw == unix.ARPHRD_LOOPBACK:
		li.link = LinkEthernet
	case noLinkHeader[hw]:
		li.link = LinkRaw
		sockType = afpacket.SocketDgram
	default:
		return li, fmt.Errorf("open capture %s: unsupported hardware type %d (ARPHRD_*); supported: Ethernet, loopback, and interfaces without link header (PPP, tun, WireGuard, IP tunnels)", name, hw)
	}

	li.tp, err = afpacket.NewTPacket(
		afpacket.OptInterface(name),
		afpacket.OptTPacketVersion(afpacket.TPacketVersion3),
		sockType,
		afpacket.OptBlockSize(o.BlockSize),
		afpacket.OptNumBlocks(o.NumBlocks),
		afpacket.OptBlockTimeout(blockTimeout(o.PollTimeout)),
		// Never block in gopacket: Next polls all the sockets itself.
		afpacket.OptPollTimeout(0),
		afpacket.OptAddVLANHeader(li.link == LinkEthernet),
	)
	if err != nil {
		switch {
		case errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES):
			err = fmt.Errorf("%w (capture needs root or CAP_NET_RAW)", err)
		case strings.Contains(err.Error(), "cannot allocate memory"):
			err = fmt.Errorf("%w (ring of %d blocks of %d bytes; lower BlockSize or NumBlocks)", err, o.NumBlocks, o.BlockSize)
		}
		return li, fmt.Errorf("open capture %s: %w", name, err)
	}
	fail := func(what string, err error) (liveIface, error) {
		li.tp.Close()
		return li, fmt.Errorf("open capture %s: %s: %w", name, what, err)
	}
	var ok bool
	if li.fd, ok = tpacketFD(li.tp); !ok {
		return fail("socket", errors.New("cannot find the socket of afpacket.TPacket (gopacket changed?)"))
	}
	if o.SnapLen < maxSnapLen {
		// The one instruction "ret #snaplen": the kernel keeps at most
		// SnapLen bytes of each frame, as libpcap does without a filter.
		prog := [1]unix.SockFilter{{Code: 0x06 /* BPF_RET|BPF_K */, K: uint32(o.SnapLen)}}
		if err := unix.SetsockoptSockFprog(li.fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER,
			&unix.SockFprog{Len: 1, Filter: &prog[0]}); err != nil {
			return fail("snap length filter", err)
		}
	}
	if hw == unix.ARPHRD_LOOPBACK {
		// Loopback delivers every packet twice, outgoing and incoming.
		// Older kernels lack the option: then packets appear twice.
		if err := unix.SetsockoptInt(li.fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil && !errors.Is(err, unix.ENOPROTOOPT) {
			return fail("ignore outgoing", err)
		}
	}
	if o.Promiscuous {
		if err := li.tp.SetPromiscuous(true); err != nil {
			return fail("promiscuous mode", err)
		}
	}
	return li, nil
}

// hardwareType returns the interface's ARPHRD_* type (SIOCGIFHWADDR). It
// asks the kernel rather than /sys/class/net, which shows the interfaces of
// the namespace sysfs was mounted in, not the caller's.
func hardwareType(name string) (uint16, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFHWADDR, ifr); err != nil {
		return 0, err
	}
	return ifr.Uint16(), nil // sa_family of ifr_hwaddr
}

// tpacketFD returns the socket of a TPacket. gopacket v1.7.7 does not export
// it; reflect can read the unexported int field without unsafe. If a later
// gopacket renames the field, OpenLive fails with a clear error (and the live
// test catches it).
func tpacketFD(tp *afpacket.TPacket) (int, bool) {
	v := reflect.ValueOf(tp).Elem().FieldByName("fd")
	if !v.IsValid() || v.Kind() != reflect.Int {
		return -1, false
	}
	return int(v.Int()), true
}

// Next implements Source.
func (s *liveSource) Next(f *Frame) error {
	if s.err != nil {
		return s.err
	}
	n := len(s.ifaces)
	var deadline time.Time
	for {
		i := s.next
		for k := 0; k < n; k, i = k+1, i+1 {
			if i == n {
				i = 0
			}
			if !s.ready[i] {
				continue
			}
			data, ci, err := s.ifaces[i].tp.ZeroCopyReadPacketData()
			if err != nil {
				if err == afpacket.ErrTimeout {
					s.ready[i] = false // empty: wait for poll(2)
					continue
				}
				return s.fail(i, err)
			}
			if len(data) > s.snap {
				// Frames that arrived before the snap length filter.
				data = data[:s.snap]
			}
			f.Data = data
			f.WireLen = ci.Length
			if f.WireLen < len(data) {
				f.WireLen = len(data)
			}
			f.TS = ci.Timestamp.UnixNano()
			f.Link = s.ifaces[i].link
			f.Iface = i
			s.packets.Add(1)
			s.bytes.Add(uint64(f.WireLen))
			if s.next = i + 1; s.next == n {
				s.next = 0
			}
			return nil
		}

		// Every ring is empty: wait for any of them, up to the timeout
		// counted from the first wait of this call (so that signals and
		// spurious wake-ups do not stretch it).
		now := time.Now()
		if deadline.IsZero() {
			deadline = now.Add(s.timeout)
		}
		left := deadline.Sub(now)
		if left <= 0 {
			return ErrTimeout
		}
		s.ts = unix.NsecToTimespec(int64(left))
		for j := range s.pfds {
			s.pfds[j].Revents = 0
		}
		got, err := unix.Ppoll(s.pfds, &s.ts, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			s.err = fmt.Errorf("read capture %s: poll: %w", s.name, err)
			return s.err
		}
		if got == 0 {
			return ErrTimeout
		}
		for j := range s.pfds {
			if s.pfds[j].Revents != 0 {
				// Also on POLLERR: the read then reports it.
				s.ready[j] = true
			}
		}
	}
}

// fail records the final error for a read error on ring i.
func (s *liveSource) fail(i int, err error) error {
	li := &s.ifaces[i]
	if err == afpacket.ErrPoll {
		// POLLERR: the socket has a pending error, ENETDOWN when the
		// interface went down or was removed. Reading clears it.
		if e, gerr := unix.GetsockoptInt(li.fd, unix.SOL_SOCKET, unix.SO_ERROR); gerr == nil && e != 0 {
			err = unix.Errno(e)
		}
		if errors.Is(err, unix.ENETDOWN) {
			err = fmt.Errorf("interface went down or was removed: %w", err)
		}
	}
	s.err = fmt.Errorf("read capture %s: %w", li.name, err)
	return s.err
}

// Stats implements Source.
func (s *liveSource) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.readKernelStats()
	}
	return Stats{
		Packets:       s.packets.Load(),
		Bytes:         s.bytes.Load(),
		KernelDrops:   s.lastDrops,
		KernelFreezes: s.lastFrzs,
	}
}

// readKernelStats updates lastDrops and lastFrzs; s.mu must be held.
// gopacket reads (and so clears) the kernel counters and keeps the sums.
func (s *liveSource) readKernelStats() {
	var drops, freezes uint64
	for _, li := range s.ifaces {
		_, v3, err := li.tp.SocketStats()
		if err != nil {
			return // keep the last good values
		}
		drops += uint64(v3.Drops())
		freezes += uint64(v3.QueueFreezes())
	}
	s.lastDrops, s.lastFrzs = drops, freezes
}

// Close implements Source.
func (s *liveSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.readKernelStats()
	s.closed = true
	s.err = fmt.Errorf("read capture %s: %w", s.name, ErrClosed)
	s.closeRings()
	return nil
}

// closeRings closes the sockets and unmaps the rings.
func (s *liveSource) closeRings() {
	for _, li := range s.ifaces {
		li.tp.Close()
	}
}

// Name implements Source.
func (s *liveSource) Name() string { return s.name }
