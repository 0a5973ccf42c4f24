package benchgen

// Session scripts: each kind of conversation appends its packets, with
// their gaps, payload references and TCP sequence offsets, to s.steps.

// tcpFlow scripts the packets of one TCP connection, tracking sequence
// numbers relative to each side's ISN.
type tcpFlow struct {
	s   *session
	seq [2]uint32
}

func (f *tcpFlow) add(dir, flags uint8, gap int64, doff, dlen int, src payloadSrc, xoff, xlen int, mark uint8) int {
	st := step{
		gap: gap, seq: f.seq[dir], ack: f.seq[1-dir],
		doff: int32(doff), dlen: int32(dlen), xoff: int32(xoff), xlen: int32(xlen),
		dir: dir, flags: flags, src: src, mark: mark,
	}
	f.s.steps = append(f.s.steps, st)
	adv := uint32(dlen + xlen)
	if flags&(tcpSYN|tcpFIN) != 0 {
		adv++
	}
	f.seq[dir] += adv
	return len(f.s.steps) - 1
}

func (f *tcpFlow) ack(dir uint8, gap int64) { f.add(dir, tcpACK, gap, 0, 0, srcNone, 0, 0, 0) }

// data adds a segment whose payload is one source (no session data).
func (f *tcpFlow) data(g *gen, dir, flags uint8, gap int64, src payloadSrc, n int, mark uint8) int {
	off := 0
	switch src {
	case srcText:
		off = g.r.IntN(textSize - n)
	case srcNoise, srcTLSApp:
		off = g.r.IntN(noiseSize - n)
	}
	return f.add(dir, flags, gap, 0, 0, src, off, n, mark)
}

// maybeRetransmit repeats step i after a retransmission timeout, 1% of
// the time.
func (f *tcpFlow) maybeRetransmit(g *gen, i int) {
	if g.r.IntN(100) != 0 {
		return
	}
	st := f.s.steps[i]
	st.gap = g.us(200000 + mul(2, float64(f.s.rtt)))
	st.mark = 0
	f.s.steps = append(f.s.steps, st)
}

func (f *tcpFlow) handshake(g *gen) {
	f.add(0, tcpSYN, 0, 0, 0, srcNone, 0, 0, 0)
	f.add(1, tcpSYN|tcpACK, g.gapWAN(f.s), 0, 0, srcNone, 0, 0, 0)
	f.ack(0, g.gapLAN())
}

// close ends the connection: FIN/ACK both ways, or a reset 10% of the time.
func (f *tcpFlow) close(g *gen) {
	s := f.s
	if g.r.IntN(10) == 0 {
		if g.r.IntN(2) == 0 {
			f.add(1, tcpRST|tcpACK, g.gapWAN(s), 0, 0, srcNone, 0, 0, 0)
		} else {
			f.add(0, tcpRST, g.gapThink(), 0, 0, srcNone, 0, 0, 0)
		}
		return
	}
	closer := uint8(0)
	if g.r.IntN(5) < 2 {
		closer = 1
	}
	f.add(closer, tcpFIN|tcpACK, g.gapThink(), 0, 0, srcNone, 0, 0, 0)
	if closer == 0 {
		f.add(1, tcpFIN|tcpACK, g.gapWAN(s), 0, 0, srcNone, 0, 0, 0)
		f.ack(0, g.gapLAN())
	} else {
		f.add(0, tcpFIN|tcpACK, g.gapLAN(), 0, 0, srcNone, 0, 0, 0)
		f.ack(1, g.gapWAN(s))
	}
}

// response adds k full-sized server segments from src, the last one
// partial, each retransmitted 1% of the time, with delayed client ACKs.
func (f *tcpFlow) response(g *gen, k int, src payloadSrc) {
	s := f.s
	full := s.pay(1)
	for i := range k {
		n := full
		if i == k-1 {
			n = 60 + g.r.IntN(full-60)
		}
		gap := g.gapBurst()
		if i == 0 {
			gap = g.gapWAN(s)
		}
		flags := uint8(tcpACK)
		if i == k-1 {
			flags |= tcpPSH
		}
		j := f.data(g, 1, flags, gap, src, n, 0)
		f.maybeRetransmit(g, j)
		if i%2 == 1 || i == k-1 {
			f.ack(0, g.gapLAN())
		}
	}
}

// scriptTLS scripts a TLS connection to host on port: handshake, a
// ClientHello (split across two segments 15% of the time), the server's
// first flight, then request/response rounds of TLS records and a close.
// 5% of connections are already running when the capture starts.
func (g *gen) scriptTLS(s *session, port uint16, host string, lo, hi int) {
	r := g.r
	g.setupTCP(s)
	s.cport = s.cl.nextPort()
	s.sport = port
	f := tcpFlow{s: s}
	total := g.pareto(lo, hi, 1.1)
	if r.IntN(20) != 0 {
		f.handshake(g)
		s.data = appendClientHello(s.data[:0], r, host)
		hl := len(s.data)
		if r.Float64() < 0.15 {
			var cut int
			if r.IntN(2) == 0 {
				cut = 1 + r.IntN(64) // before the SNI
			} else {
				cut = 1 + r.IntN(hl-1)
			}
			f.add(0, tcpACK, g.gapLAN(), 0, cut, srcNone, 0, 0, markHello)
			f.add(0, tcpPSH|tcpACK, g.gapBurst(), cut, hl-cut, srcNone, 0, 0, markSplit)
		} else {
			f.add(0, tcpPSH|tcpACK, g.gapLAN(), 0, hl, srcNone, 0, 0, markHello)
		}
		// Server flight: ServerHello and ChangeCipherSpec, then encrypted
		// handshake records; every segment holds whole records.
		sh := len(s.data)
		s.data = appendServerHello(s.data, r, s.data[helloSessionIDOffset:helloSessionIDOffset+32])
		shLen := len(s.data) - sh
		flight := 1500 + r.IntN(3500)
		if r.IntN(5) == 0 {
			flight = 80 + r.IntN(200) // resumed session
		}
		full := s.pay(1)
		for i := 0; flight > 0; i++ {
			dl, doff := 0, 0
			gap := g.gapBurst()
			if i == 0 {
				dl, doff = shLen, sh
				gap = g.gapWAN(s)
			}
			x := min(full-dl, flight)
			if rest := flight - x; rest > 0 && rest < 40 {
				x -= 40
			}
			flight -= x
			flags := uint8(tcpACK)
			if flight == 0 {
				flags |= tcpPSH
			}
			f.add(1, flags, gap, doff, dl, srcTLSApp, r.IntN(noiseSize-x), x, 0)
			if i%2 == 1 || flight == 0 {
				f.ack(0, g.gapLAN())
			}
		}
		// Client ChangeCipherSpec and Finished.
		ccs := len(s.data)
		s.data = append(s.data, 0x14, 0x03, 0x03, 0, 1, 1)
		f.add(0, tcpPSH|tcpACK, g.gapLAN(), ccs, 6, srcTLSApp, r.IntN(noiseSize-64), 58, 0)
	}
	for first := true; first || len(s.steps) < total-3; first = false {
		req := int(min(max(g.lognormal(350, 0.9), 40), float64(s.pay(0))))
		i := f.data(g, 0, tcpPSH|tcpACK, g.gapThink(), srcTLSApp, req, 0)
		f.maybeRetransmit(g, i)
		left := total - 3 - len(s.steps)
		k := min(g.pareto(1, 120, 0.9), max(1, left*2/3))
		f.response(g, k, srcTLSApp)
	}
	f.close(g)
}

// scriptHTTP scripts an HTTP/1.1 connection to port 80 with 1-3 requests.
func (g *gen) scriptHTTP(s *session) {
	r := g.r
	g.setupTCP(s)
	s.cport = s.cl.nextPort()
	s.sport = 80
	f := tcpFlow{s: s}
	total := g.pareto(10, 200, 1.1)
	hi := g.pickHost()
	host := hostNames[hi]
	if s.v6 {
		s.sip = g.host6[hi]
	} else {
		s.sip = g.host4[hi]
	}
	f.handshake(g)
	s.data = s.data[:0]
	for round := 0; round < 3 && (round == 0 || len(s.steps) < total-8); round++ {
		post := r.IntN(8) == 0
		ref := ""
		if r.IntN(10) < 7 {
			ref = hostNames[g.pickHost()]
		}
		off := len(s.data)
		s.data = appendHTTPRequest(s.data, r, host, httpPaths[r.IntN(len(httpPaths))], userAgents[s.cl.ua], ref, post)
		gap := g.gapLAN()
		if round > 0 {
			gap = g.gapThink()
		}
		f.add(0, tcpPSH|tcpACK, gap, off, len(s.data)-off, srcNone, 0, 0, markHTTP)

		ct := contentTypes[r.IntN(len(contentTypes))]
		status := 200
		switch p := r.IntN(100); {
		case p < 7:
			status = 304
		case p < 12:
			status = 404
		}
		full := s.pay(1)
		budget := max(1, (total-len(s.steps)-4)*2/3)
		body := 0
		switch status {
		case 200:
			body = int(min(g.lognormal(float64(ct.small), 1.0), float64(budget*full)))
			body = max(body, 20)
		case 404:
			ct = contentTypes[0]
			body = 150 + r.IntN(200)
		}
		src := srcNoise
		if ct.text {
			src = srcText
		}
		hoff := len(s.data)
		s.data = appendHTTPResponseHead(s.data, status, ct.name, body, g.date)
		hlen := len(s.data) - hoff
		for i := 0; i == 0 || body > 0; i++ {
			dl, doff := 0, 0
			gap := g.gapBurst()
			if i == 0 {
				dl, doff = hlen, hoff
				gap = g.gapWAN(s)
			}
			x := min(full-dl, body)
			body -= x
			flags := uint8(tcpACK)
			if body == 0 {
				flags |= tcpPSH
			}
			xoff := 0
			if x > 0 {
				if src == srcText {
					xoff = r.IntN(textSize - x)
				} else {
					xoff = r.IntN(noiseSize - x)
				}
			}
			j := f.add(1, flags, gap, doff, dl, src, xoff, x, 0)
			f.maybeRetransmit(g, j)
			if i%2 == 1 || body == 0 {
				f.ack(0, g.gapLAN())
			}
		}
	}
	f.close(g)
}

// scriptSSH scripts an interactive SSH session on port 22.
func (g *gen) scriptSSH(s *session) {
	r := g.r
	g.setupTCP(s)
	s.cport = s.cl.nextPort()
	s.sport = 22
	f := tcpFlow{s: s}
	total := g.pareto(12, 200, 1.0)
	f.handshake(g)
	s.data = append(s.data[:0], "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5\r\n"...)
	sb := len(s.data)
	s.data = append(s.data, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"...)
	f.add(1, tcpPSH|tcpACK, g.gapWAN(s), sb, len(s.data)-sb, srcNone, 0, 0, 0)
	f.add(0, tcpPSH|tcpACK, g.gapLAN(), 0, sb, srcNone, 0, 0, 0)
	f.data(g, 0, tcpPSH|tcpACK, g.gapBurst(), srcNoise, 1400+r.IntN(200), 0)
	f.data(g, 1, tcpPSH|tcpACK, g.gapWAN(s), srcNoise, 1000+r.IntN(200), 0)
	for len(s.steps) < total-3 {
		i := f.data(g, 0, tcpPSH|tcpACK, g.gapThink(), srcNoise, 36+r.IntN(5)*16, 0)
		f.maybeRetransmit(g, i)
		f.data(g, 1, tcpPSH|tcpACK, g.gapWAN(s), srcNoise, 36+r.IntN(40)*16, 0)
		if r.IntN(3) == 0 {
			f.ack(0, g.gapLAN())
		}
	}
	f.close(g)
}

// scriptMQTT scripts a plaintext MQTT 3.1.1 client on port 1883.
func (g *gen) scriptMQTT(s *session) {
	r := g.r
	g.setupTCP(s)
	s.cport = s.cl.nextPort()
	s.sport = 1883
	f := tcpFlow{s: s}
	total := g.pareto(10, 120, 1.0)
	f.handshake(g)
	d := s.data[:0]
	id := "tamon-dev-" + string(rune('a'+r.IntN(26))) + string(rune('a'+r.IntN(26)))
	d = append(d, 0x10, byte(10+2+len(id)), 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60)
	d = appendU16(d, uint16(len(id)))
	d = append(d, id...)
	connect := len(d)
	d = append(d, 0x20, 2, 0, 0) // CONNACK
	topic := "home/sensor/" + string(rune('0'+r.IntN(10))) + "/state"
	sub := len(d)
	d = append(d, 0x82, byte(2+2+len(topic)+1), 0, 1)
	d = appendU16(d, uint16(len(topic)))
	d = append(d, topic...)
	d = append(d, 0)
	suback := len(d)
	d = append(d, 0x90, 3, 0, 1, 0)
	pub := len(d)
	d = append(d, 0x30, byte(2+len(topic)+20))
	d = appendU16(d, uint16(len(topic)))
	d = append(d, topic...)
	d = append(d, "{\"t\":21.5,\"h\":40.2}"...)
	d = append(d, ' ')
	ping := len(d)
	d = append(d, 0xc0, 0, 0xd0, 0)
	s.data = d
	f.add(0, tcpPSH|tcpACK, g.gapLAN(), 0, connect, srcNone, 0, 0, 0)
	f.add(1, tcpPSH|tcpACK, g.gapWAN(s), connect, 4, srcNone, 0, 0, 0)
	f.add(0, tcpPSH|tcpACK, g.gapLAN(), sub, suback-sub, srcNone, 0, 0, 0)
	f.add(1, tcpPSH|tcpACK, g.gapWAN(s), suback, 5, srcNone, 0, 0, 0)
	for len(s.steps) < total-3 {
		if r.IntN(2) == 0 {
			f.add(1, tcpPSH|tcpACK, g.gapThink(), pub, ping-pub, srcNone, 0, 0, 0)
			f.ack(0, g.gapLAN())
		} else {
			f.add(0, tcpPSH|tcpACK, g.gapThink(), ping, 2, srcNone, 0, 0, 0)
			f.add(1, tcpPSH|tcpACK, g.gapWAN(s), ping+2, 2, srcNone, 0, 0, 0)
		}
	}
	f.close(g)
}

// udpStep appends a UDP (or ICMP, with proto set) step whose payload is
// s.data[doff:] followed by xlen bytes from src.
func udpStep(s *session, dir uint8, gap int64, doff int, src payloadSrc, xoff, xlen int, mark uint8) {
	s.steps = append(s.steps, step{
		gap: gap, doff: int32(doff), dlen: int32(len(s.data) - doff),
		xoff: int32(xoff), xlen: int32(xlen), src: src, dir: dir, mark: mark,
	})
}

// scriptDNS scripts DNS lookups to the gateway: one query, or an A and an
// AAAA query from the same socket, answered with CNAME chains and
// addresses; a few names do not exist and 2% of lookups go unanswered.
func (g *gen) scriptDNS(s *session) {
	r := g.r
	s.proto = protoUDP
	s.cport = s.cl.nextPort()
	s.sport = 53
	s.srvTTL = 64
	if s.v6 {
		s.sip = g.gw6
	} else {
		s.sip = g.gw4
	}
	hi := g.pickHost()
	name := hostNames[hi]
	nx := r.IntN(100) < 3
	if nx {
		name = nxNames[r.IntN(len(nxNames))]
	}
	qtypes := []uint16{dnsTypeA}
	switch p := r.IntN(10); {
	case p < 4:
		qtypes = []uint16{dnsTypeA, dnsTypeAAAA}
	case p < 6:
		qtypes = []uint16{dnsTypeAAAA}
	}
	answered := r.IntN(50) != 0
	var ids [2]uint16
	s.data = s.data[:0]
	for i, qt := range qtypes {
		ids[i] = uint16(r.Uint32())
		off := len(s.data)
		s.data = appendDNSQuery(s.data, ids[i], name, qt)
		gap := int64(0)
		if i > 0 {
			gap = g.us(20 + g.exp(100))
		}
		udpStep(s, 0, gap, off, srcNone, 0, 0, markDNSQuery)
	}
	if !answered {
		return
	}
	var ans dnsAnswer
	ans.nx = nx
	ans.ttl = uint32(30 + r.IntN(3600))
	chain := 0
	switch p := r.IntN(20); {
	case p < 10:
	case p < 15:
		chain = 1
	case p < 18:
		chain = 2
	default:
		chain = 3
	}
	var cn [3]string
	label := name
	for i := range label {
		if label[i] == '.' {
			label = label[:i]
			break
		}
	}
	for i := range chain {
		suffix := cnameSuffixes[(hi+i)%len(cnameSuffixes)]
		switch i {
		case 0:
			cn[i] = label + "-" + string(rune('a'+hi%26)) + "." + name[len(label)+1:] + "." + suffix
		default:
			cn[i] = "e" + string(rune('0'+hi%10)) + string(rune('0'+i)) + string(rune('a'+r.IntN(26))) + ".dsc." + suffix
		}
	}
	ans.cnames = cn[:chain]
	for i, qt := range qtypes {
		var addrs [4]addr
		na := 1 + r.IntN(4)
		for j := range na {
			switch {
			case qt == dnsTypeAAAA && j == 0:
				addrs[j] = g.host6[hi]
			case qt == dnsTypeAAAA:
				addrs[j] = g.serverIP6()
			case j == 0:
				addrs[j] = g.host4[hi]
			default:
				addrs[j] = g.serverIP4()
			}
		}
		ans.addrs = addrs[:na]
		off := len(s.data)
		s.data = appendDNSResponse(s.data, ids[i], name, qt, &ans)
		var gap int64
		switch {
		case i > 0:
			gap = g.us(30 + g.exp(300))
		case r.IntN(10) < 7: // answered from the gateway's cache
			gap = g.us(80 + g.exp(400))
		default:
			gap = g.us(3000 + g.exp(25000))
		}
		udpStep(s, 1, gap, off, srcNone, 0, 0, 0)
	}
}

// scriptQUIC scripts a QUIC connection to UDP 443: client and server
// Initial/Handshake long-header packets, then short-header packets.
func (g *gen) scriptQUIC(s *session) {
	r := g.r
	s.proto = protoUDP
	s.df = true
	s.cport = s.cl.nextPort()
	s.sport = 443
	s.rtt = int64(min(max(g.lognormal(18000, 0.8), 1500), 300000))
	hi := g.pickHost()
	if s.v6 {
		s.sip = g.host6[hi]
	} else {
		s.sip = g.host4[hi]
	}
	total := g.pareto(6, 150, 1.0)
	var cids [16]byte
	for i := range cids {
		cids[i] = byte(r.Uint32())
	}
	dcid, scid := cids[:8], cids[8:]
	ipHdr := 20
	if s.v6 {
		ipHdr = 40
	}
	maxDgram := 1252 - (ipHdr - 20)
	s.data = s.data[:0]
	long := func(dir uint8, typ byte, dst, src []byte, size int, gap int64) {
		off := len(s.data)
		s.data = appendQUICLong(s.data, r, typ, dst, src, 0)
		hl := len(s.data) - off
		be.PutUint16(s.data[len(s.data)-2:], 0x4000|uint16(size-hl))
		udpStep(s, dir, gap, off, srcNoise, r.IntN(noiseSize-size), size-hl, 0)
	}
	// The client's first Initial is a real one: a ClientHello for the
	// host, protected with the Initial keys of dcid, padded to the size
	// clients send. The rest of the handshake is ciphertext-like noise.
	off := len(s.data)
	s.data = appendQUICInitial(s.data, r, dcid, hostNames[hi], maxDgram)
	udpStep(s, 0, 0, off, srcNone, 0, 0, markQUICHello)
	long(1, quicInitial, scid, dcid, maxDgram-r.IntN(80), g.gapWAN(s))
	long(1, quicHandshake, scid, dcid, 400+r.IntN(800), g.gapBurst())
	long(0, quicHandshake, dcid, nil, 60+r.IntN(40), g.gapLAN())
	short := func(dir uint8, cid []byte, size int, gap int64) {
		off := len(s.data)
		s.data = append(s.data, 0x40|byte(r.IntN(64)))
		s.data = append(s.data, cid...)
		udpStep(s, dir, gap, off, srcNoise, r.IntN(noiseSize-size), size-9, 0)
	}
	for len(s.steps) < total {
		short(0, dcid, 60+r.IntN(400), g.gapThink())
		k := min(g.pareto(1, 60, 0.9), max(1, (total-len(s.steps))*2/3))
		for i := range k {
			gap := g.gapBurst()
			if i == 0 {
				gap = g.gapWAN(s)
			}
			short(1, scid, maxDgram-r.IntN(60), gap)
			if i%2 == 1 {
				short(0, dcid, 40+r.IntN(20), g.gapLAN())
			}
		}
	}
}

// scriptNTP scripts one NTP request and its reply.
func (g *gen) scriptNTP(s *session, t0 int64) {
	r := g.r
	s.proto = protoUDP
	s.cport = s.cl.nextPort()
	s.sport = 123
	hi := r.IntN(len(hostNames))
	if s.v6 {
		s.sip = g.host6[hi]
	} else {
		s.sip = g.host4[hi]
	}
	now := g.start.UnixMicro() + t0
	s.data = appendNTP(s.data[:0], r, false, now, 0, [4]byte{})
	udpStep(s, 0, 0, 0, srcNone, 0, 0, 0)
	rtt := g.us(5000 + g.exp(20000))
	ref := g.serverIP4()
	off := len(s.data)
	s.data = appendNTP(s.data, r, true, now+rtt, now, [4]byte(ref[:4]))
	udpStep(s, 1, rtt, off, srcNone, 0, 0, 0)
}

// scriptMulticast scripts mDNS (once per client and address family) or
// SSDP searches: one to four packets to a multicast group.
func (g *gen) scriptMulticast(s *session) {
	r := g.r
	c := s.cl
	s.proto = protoUDP
	fam := 0
	if s.v6 {
		fam = 1
	}
	mdns := !c.mdns[fam] && r.IntN(2) == 0
	s.cliTTL = 2
	if mdns {
		s.cliTTL = 255
		c.mdns[fam] = true
		s.cport, s.sport = 5353, 5353
		if s.v6 {
			s.sip = addr{0xff, 0x02, 15: 0xfb}
			s.peerMAC = [6]byte{0x33, 0x33, 0, 0, 0, 0xfb}
		} else {
			s.sip = v4addr(224, 0, 0, 251)
			s.peerMAC = [6]byte{0x01, 0x00, 0x5e, 0, 0, 0xfb}
		}
	} else {
		s.cport, s.sport = c.nextPort(), 1900
		if s.v6 {
			s.sip = addr{0xff, 0x02, 15: 0x0c}
			s.peerMAC = [6]byte{0x33, 0x33, 0, 0, 0, 0x0c}
		} else {
			s.sip = v4addr(239, 255, 255, 250)
			s.peerMAC = [6]byte{0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa}
		}
	}
	n := 1 + r.IntN(4)
	s.data = s.data[:0]
	for i := range n {
		off := len(s.data)
		if mdns {
			s.data = appendMDNS(s.data, r, mdnsServices[r.IntN(len(mdnsServices))], i > 0 && r.IntN(2) == 0, c.ip4)
		} else {
			s.data = appendSSDP(s.data, s.v6, ssdpTargets[r.IntN(len(ssdpTargets))], userAgents[c.ua])
		}
		gap := int64(0)
		if i > 0 {
			gap = g.gapThink()
		}
		udpStep(s, 0, gap, off, srcNone, 0, 0, 0)
	}
}

// scriptPing scripts 1-6 echo request/reply pairs to a server or the gateway.
func (g *gen) scriptPing(s *session) {
	r := g.r
	c := s.cl
	if s.v6 {
		s.proto = protoICMPv6
		s.sip = g.host6[g.pickHost()]
	} else {
		s.proto = protoICMP
		s.sip = g.host4[g.pickHost()]
	}
	s.rtt = int64(min(max(g.lognormal(18000, 0.8), 1500), 300000))
	if r.IntN(10) == 0 {
		s.sip, s.srvTTL = g.gw4, 64
		if s.v6 {
			s.sip = g.gw6
		}
		s.rtt = 400 + r.Int64N(2000)
	}
	id := c.icmpID
	c.icmpID++
	req, rep := byte(8), byte(0)
	if s.v6 {
		req, rep = 128, 129
	}
	n := 1 + r.IntN(6)
	s.data = s.data[:0]
	for i := range n {
		off := len(s.data)
		s.data = append(s.data, req, 0, 0, 0)
		s.data = appendU16(s.data, id)
		s.data = appendU16(s.data, uint16(i+1))
		if c.os == osWindows {
			s.data = append(s.data, "abcdefghijklmnopqrstuvwabcdefghi"...)
		} else {
			s.data = appendRandom(s.data, r, 8)
			s.data = append(s.data, zeros[:8]...)
			for b := byte(0x10); b < 0x38; b++ {
				s.data = append(s.data, b)
			}
		}
		gap := int64(0)
		if i > 0 {
			gap = g.us(100000 + g.exp(200000))
		}
		udpStep(s, 0, gap, off, srcNone, 0, 0, markEcho)
		rOff := len(s.data)
		s.data = append(s.data, s.data[off:rOff]...)
		s.data[rOff] = rep
		udpStep(s, 1, g.us(float64(s.rtt)+g.exp(300)), rOff, srcNone, 0, 0, 0)
	}
}

// scriptUnreachable scripts UDP datagrams to a closed port, each answered
// by an ICMP port unreachable error quoting the datagram.
func (g *gen) scriptUnreachable(s *session) {
	r := g.r
	c := s.cl
	s.proto = protoUDP
	hi := g.pickHost()
	if s.v6 {
		s.sip = g.host6[hi]
	} else {
		s.sip = g.host4[hi]
	}
	s.cport = c.nextPort()
	s.sport = uint16(33434 + r.IntN(100))
	s.rtt = int64(min(max(g.lognormal(18000, 0.8), 1500), 300000))
	n := 1 + r.IntN(3)
	s.data = s.data[:0]
	errProto := uint8(protoICMP)
	if s.v6 {
		errProto = protoICMPv6
	}
	for i := range n {
		off := len(s.data)
		s.data = append(s.data, zeros[:32]...)
		for j := off; j < len(s.data); j++ {
			s.data[j] = byte(0x40 + j - off)
		}
		gap := int64(0)
		if i > 0 {
			gap = g.us(300000 + g.exp(700000))
		}
		udpStep(s, 0, gap, off, srcNone, 0, 0, 0)

		// The error quotes the datagram as the server received it.
		eOff := len(s.data)
		if s.v6 {
			s.data = append(s.data, 1, 4, 0, 0, 0, 0, 0, 0)
		} else {
			s.data = append(s.data, 3, 3, 0, 0, 0, 0, 0, 0)
		}
		q := len(s.data)
		ipLen := ipv4HeaderLen
		if s.v6 {
			ipLen = ipv6HeaderLen
		}
		s.data = append(s.data, zeros[:ipLen+udpHeaderLen]...)
		s.data = append(s.data, s.data[off:off+32]...)
		udp := s.data[q+ipLen:]
		putUDP(udp, s.cport, s.sport, 32)
		setL4Checksum(udp, s.v6, &s.cip, &s.sip, protoUDP)
		putIP(s.data[q:], s.v6, &s.cip, &s.sip, protoUDP, c.ttl-uint8(8+r.IntN(10)),
			s.ipid[0]+uint16(i), false, s.flow[0], udpHeaderLen+32)
		s.steps = append(s.steps, step{
			gap: g.us(float64(s.rtt) + g.exp(500)), doff: int32(eOff), dlen: int32(len(s.data) - eOff),
			dir: 1, proto: errProto,
		})
	}
}
