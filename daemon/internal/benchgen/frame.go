package benchgen

import (
	"time"

	"github.com/gopacket/gopacket"
)

// Frame building: turns one scripted step into an Ethernet frame in g.buf.

// tcpOptions returns the options of a segment of s in direction dir.
func (g *gen) tcpOptions(s *session, st *step) []byte {
	o := g.opt[:0]
	syn := st.flags&tcpSYN != 0
	var tsval, tsecr uint32
	if s.ts {
		tsval = s.tsBase[st.dir] + uint32(g.now/1000)
		if !(syn && st.dir == 0) {
			tsecr = s.tsLast[1-st.dir]
		}
		s.tsLast[st.dir] = tsval
	}
	appendTS := func(o []byte) []byte {
		o = append(o, 8, 10)
		o = appendU32(o, tsval)
		return appendU32(o, tsecr)
	}
	if !syn {
		if s.ts {
			o = append(o, 1, 1)
			o = appendTS(o)
		}
		return o
	}
	mss := s.mss[st.dir]
	if st.dir == 1 {
		o = append(o, 2, 4, byte(mss>>8), byte(mss))
		if s.ts {
			o = append(o, 4, 2)
			o = appendTS(o)
			return append(o, 1, 3, 3, 7)
		}
		return append(o, 1, 1, 4, 2, 1, 3, 3, 7)
	}
	o = append(o, 2, 4, byte(mss>>8), byte(mss))
	switch s.cl.os {
	case osApple:
		o = append(o, 1, 3, 3, 6, 1, 1)
		o = appendTS(o)
		return append(o, 4, 2, 0, 0)
	case osLinux:
		o = append(o, 4, 2)
		o = appendTS(o)
		return append(o, 1, 3, 3, 7)
	default:
		return append(o, 1, 3, 3, 8, 1, 1, 4, 2)
	}
}

// emit builds the frame for step st of s into g.buf and writes it.
func (g *gen) emit(s *session, st *step) error {
	frame := g.build(s, st)
	g.count(s, st, len(frame))
	ci := gopacket.CaptureInfo{
		Timestamp:     g.start.Add(time.Duration(g.now) * time.Microsecond),
		CaptureLength: len(frame),
		Length:        len(frame),
	}
	return g.pw.WritePacket(ci, frame)
}

func (g *gen) count(s *session, st *step, n int) {
	g.mix.sent[s.kind]++
	g.mix.total++
	c := &g.stats
	c.Packets++
	c.Bytes += n
	if s.v6 {
		c.IPv6Packets++
	}
	if s.cl.vlan != 0 {
		c.VLANPackets++
	}
	if st.mark == 0 {
		return
	}
	if st.mark&markStart != 0 {
		c.Sessions++
		switch s.proto {
		case protoTCP:
			c.TCPSessions++
		case protoUDP:
			c.UDPSessions++
		}
	}
	if st.mark&markDNSQuery != 0 {
		c.DNSQueries++
	}
	if st.mark&markHello != 0 {
		c.TLSHellos++
	}
	if st.mark&markSplit != 0 {
		c.SplitHellos++
	}
	if st.mark&markHTTP != 0 {
		c.HTTPRequests++
	}
	if st.mark&markQUICHello != 0 {
		c.QUICHellos++
	}
	if st.mark&markEcho != 0 {
		c.ICMPEchos++
	}
}

func (g *gen) build(s *session, st *step) []byte {
	b := g.buf
	c := s.cl
	dir := st.dir
	proto := s.proto
	if st.proto != 0 {
		proto = st.proto
	}
	srcMAC, dstMAC := &c.mac, &s.peerMAC
	src, dst := &s.cip, &s.sip
	sport, dport := s.cport, s.sport
	ttl := s.cliTTL
	if dir == 1 {
		srcMAC, dstMAC = &g.gwMAC, &c.mac
		src, dst = dst, src
		sport, dport = dport, sport
		ttl = s.srvTTL
	}
	l2 := ethHeaderLen
	if c.vlan != 0 {
		l2 += vlanTagLen
	}
	l3 := ipv4HeaderLen
	etype := uint16(etherTypeIPv4)
	if s.v6 {
		l3 = ipv6HeaderLen
		etype = etherTypeIPv6
	}
	var opts []byte
	l4 := 0
	switch proto {
	case protoTCP:
		opts = g.tcpOptions(s, st)
		l4 = tcpHeaderLen + len(opts)
	case protoUDP:
		l4 = udpHeaderLen
	}
	p := l2 + l3 + l4
	n := p
	if st.dlen > 0 {
		n += copy(b[n:], s.data[st.doff:st.doff+st.dlen])
	}
	switch st.src {
	case srcNoise:
		n += copy(b[n:], g.noise[st.xoff:st.xoff+st.xlen])
	case srcText:
		n += copy(b[n:], g.text[st.xoff:st.xoff+st.xlen])
	case srcTLSApp:
		b[n], b[n+1], b[n+2] = 0x17, 0x03, 0x03
		be.PutUint16(b[n+3:], uint16(st.xlen-5))
		n += 5
		n += copy(b[n:], g.noise[st.xoff:st.xoff+st.xlen-5])
	}
	seg := b[l2+l3 : n]
	switch proto {
	case protoTCP:
		var ack uint32
		if st.flags&tcpACK != 0 {
			ack = s.isn[1-dir] + st.ack
		}
		win := s.win[dir]
		if st.flags&tcpSYN != 0 {
			win = s.synWin[dir]
		}
		putTCP(seg, sport, dport, s.isn[dir]+st.seq, ack, st.flags, win, opts)
	case protoUDP:
		putUDP(seg, sport, dport, n-p)
	}
	setL4Checksum(seg, s.v6, src, dst, proto)
	id := s.ipid[dir]
	if !s.v6 {
		s.ipid[dir]++
	}
	putIP(b[l2:], s.v6, src, dst, proto, ttl, id, s.df, s.flow[dir], len(seg))
	putEth(b, dstMAC, srcMAC, c.vlan, etype)
	if dir == 0 && n < minFrameLen {
		// Frames the router receives from the LAN arrive padded.
		clear(b[n:minFrameLen])
		n = minFrameLen
	}
	return b[:n]
}
