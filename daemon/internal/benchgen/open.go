package benchgen

import (
	"errors"
	"io"
)

// openConcurrency is how many OpenSessions handshakes are in flight at once.
const openConcurrency = 256

// OpenSessions writes n TCP sessions that are all still open at the end:
// each a SYN, SYN-ACK, ACK and one data packet each way (a ClientHello and
// the server's first flight), from 16..64 LAN clients to many servers
// (distinct 5-tuples, IPv4 and ~30% IPv6), no FIN/RST. 256 handshakes are
// interleaved at a time. Packets are about 2 µs apart, closer for more
// than 600k sessions, so the capture spans at most about 30 s and every
// session remains within any idle timeout of 60 s or more.
func OpenSessions(w io.Writer, n int, seed uint64) (Stats, error) {
	if n < 0 {
		return Stats{}, errors.New("benchgen: negative session count")
	}
	g, bw, err := newGen(w, seed, DefaultStart)
	if err != nil {
		return Stats{}, err
	}
	g.makeClients(16+g.r.IntN(49), 0)
	// Gaps within a session are uniform in [1, maxGap] µs; 5n packets
	// spread over openConcurrency slots then span 5n·maxGap/2/256 µs.
	maxGap := int64(1000)
	if n > 0 {
		maxGap = min(max(3e9/int64(n), 2), 1000)
	}
	created := 0
	start := func(t0 int64) {
		g.push(g.scriptOpen(seed, maxGap), t0)
		created++
	}
	for created < min(n, openConcurrency) {
		start(g.r.Int64N(500))
	}
	err = g.run(func(end int64) bool {
		if created < n {
			start(end + g.r.Int64N(500))
		}
		return true
	})
	if err == nil {
		err = bw.Flush()
	}
	return g.stats, err
}

// scriptOpen scripts one handshake plus a data packet each way. A client
// uses its ephemeral ports in turn; the server address is a hash of the
// client, the port and how often the client's ports wrapped, so no 5-tuple
// repeats (for fewer than 508 wraps, far beyond 10^8 sessions).
func (g *gen) scriptOpen(seed uint64, maxGap int64) *session {
	r := g.r
	ci := r.IntN(len(g.clients))
	c := g.clients[ci]
	s := g.newSession(c, r.IntN(10) < 3)
	g.setupTCP(s)
	s.cport = c.nextPort()
	s.sport = 443
	h := mix64(seed ^ uint64(ci)<<32 ^ uint64(s.cport)<<8)
	if s.v6 {
		s.sip = addr{0x20, 0x01, 0x0d, 0xb8, 0x00, 0xff}
		be.PutUint16(s.sip[6:], c.wraps)
		be.PutUint64(s.sip[8:], h|1)
	} else {
		i := (h%508 + uint64(c.wraps)) % 508
		if i < 254 {
			s.sip = v4addr(198, 51, 100, byte(1+i))
		} else {
			s.sip = v4addr(203, 0, 113, byte(1+i-254))
		}
	}
	gap := func() int64 { return 1 + r.Int64N(maxGap) }
	f := tcpFlow{s: s}
	f.add(0, tcpSYN, 0, 0, 0, srcNone, 0, 0, 0)
	f.add(1, tcpSYN|tcpACK, gap(), 0, 0, srcNone, 0, 0, 0)
	f.ack(0, gap())
	s.data = appendClientHello(s.data[:0], r, hostNames[g.pickHost()])
	hl := len(s.data)
	f.add(0, tcpPSH|tcpACK, gap(), 0, hl, srcNone, 0, 0, markHello)
	s.data = appendServerHello(s.data, r, s.data[helloSessionIDOffset:helloSessionIDOffset+32])
	x := 100 + r.IntN(400)
	f.add(1, tcpPSH|tcpACK, gap(), hl, len(s.data)-hl, srcTLSApp, r.IntN(noiseSize-x), x, 0)
	return s
}

// mix64 is the splitmix64 finaliser.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
