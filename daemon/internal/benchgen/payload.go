package benchgen

import (
	"math/rand/v2"
	"strconv"

	"tamon/daemon/internal/dissect/quic"
)

// Application payload builders. Each appends one message to b.

var zeros [512]byte

func appendU16(b []byte, v uint16) []byte { return append(b, byte(v>>8), byte(v)) }

func appendU32(b []byte, v uint32) []byte {
	return append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func appendRandom(b []byte, r *rand.Rand, n int) []byte {
	for n >= 8 {
		v := r.Uint64()
		b = append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24),
			byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
		n -= 8
	}
	for ; n > 0; n-- {
		b = append(b, byte(r.Uint32()))
	}
	return b
}

// greaseValue returns one of the 16 reserved GREASE values (RFC 8701).
func greaseValue(r *rand.Rand) uint16 {
	n := uint16(r.IntN(16))
	return n<<12 | 0x0a00 | n<<4 | 0x0a
}

// TLS extension numbers used in the ClientHello.
const (
	extServerName     = 0
	extStatusRequest  = 5
	extSupportedGroup = 10
	extPointFormats   = 11
	extSigAlgs        = 13
	extALPN           = 16
	extSCT            = 18
	extPadding        = 21
	extEMS            = 23
	extCompressCert   = 27
	extSessionTicket  = 35
	extSupportedVers  = 43
	extPSKModes       = 45
	extKeyShare       = 51
	extALPS           = 17513
	extECH            = 0xfe0d
	extRenegotiation  = 0xff01
)

// helloExts are the extensions between the leading and trailing GREASE
// ones; browsers send them in a random order.
var helloExts = [...]uint16{
	extServerName, extEMS, extRenegotiation, extSupportedGroup, extPointFormats,
	extSessionTicket, extALPN, extStatusRequest, extSigAlgs, extSCT, extKeyShare,
	extPSKModes, extSupportedVers, extCompressCert, extALPS, extECH,
}

var cipherSuites = [...]uint16{
	0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
	0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
}

var sigAlgs = [...]uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601}

// helloSessionIDOffset is where the 32-byte legacy session ID starts in a
// ClientHello record built by appendClientHello.
const helloSessionIDOffset = 5 + 4 + 2 + 32 + 1

// appendClientHello appends a browser-like TLS 1.3 ClientHello record for
// host: 16 cipher suites, GREASE, SNI, ALPN h2/http1.1, supported_versions,
// key_share, signature algorithms, supported groups and a GREASE ECH
// extension, 500-600 bytes in all.
func appendClientHello(b []byte, r *rand.Rand, host string) []byte {
	start := len(b)
	b = append(b, 0x16, 0x03, 0x01, 0, 0) // record header, length below
	hs := len(b)
	b = append(b, 0x01, 0, 0, 0) // ClientHello, length below
	b = append(b, 0x03, 0x03)
	b = appendRandom(b, r, 32)
	b = append(b, 32)
	b = appendRandom(b, r, 32)

	b = appendU16(b, uint16(2*(1+len(cipherSuites))))
	b = appendU16(b, greaseValue(r))
	for _, c := range cipherSuites {
		b = appendU16(b, c)
	}
	b = append(b, 1, 0) // compression: null

	extLen := len(b)
	b = append(b, 0, 0)
	gr := greaseValue(r)
	b = appendU16(b, gr)
	b = append(b, 0, 0)

	var order [len(helloExts)]uint16
	order = helloExts
	r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	groupGrease := greaseValue(r)
	for _, e := range order {
		b = appendU16(b, e)
		l := len(b)
		b = append(b, 0, 0)
		switch e {
		case extServerName:
			b = appendU16(b, uint16(len(host)+3))
			b = append(b, 0)
			b = appendU16(b, uint16(len(host)))
			b = append(b, host...)
		case extRenegotiation:
			b = append(b, 0)
		case extSupportedGroup:
			b = appendU16(b, 8)
			b = appendU16(b, groupGrease)
			b = append(b, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18)
		case extPointFormats:
			b = append(b, 1, 0)
		case extALPN:
			b = append(b, 0, 12, 2, 'h', '2', 8)
			b = append(b, "http/1.1"...)
		case extStatusRequest:
			b = append(b, 1, 0, 0, 0, 0)
		case extSigAlgs:
			b = appendU16(b, uint16(2*len(sigAlgs)))
			for _, a := range sigAlgs {
				b = appendU16(b, a)
			}
		case extKeyShare:
			b = appendU16(b, 5+36)
			b = appendU16(b, groupGrease)
			b = append(b, 0, 1, 0)
			b = append(b, 0x00, 0x1d, 0, 32)
			b = appendRandom(b, r, 32)
		case extPSKModes:
			b = append(b, 1, 1)
		case extSupportedVers:
			b = append(b, 6)
			b = appendU16(b, greaseValue(r))
			b = append(b, 0x03, 0x04, 0x03, 0x03)
		case extCompressCert:
			b = append(b, 2, 0, 2)
		case extALPS:
			b = append(b, 0, 3, 2, 'h', '2')
		case extECH:
			// GREASE ECH: outer type, HPKE KDF/AEAD, config id, enc, payload.
			b = append(b, 0, 0, 1, 0, 1, byte(r.Uint32()), 0, 32)
			b = appendRandom(b, r, 32)
			n := 144 + 32*r.IntN(3)
			b = appendU16(b, uint16(n))
			b = appendRandom(b, r, n)
		}
		be.PutUint16(b[l:], uint16(len(b)-l-2))
	}
	// Trailing GREASE extension with one zero byte.
	b = appendU16(b, gr^0x1010)
	b = append(b, 0, 1, 0)
	if n := len(b) - start; n < 500 {
		pad := 500 - n - 4 + r.IntN(16)
		if pad < 0 {
			pad = 0
		}
		b = appendU16(b, extPadding)
		b = appendU16(b, uint16(pad))
		b = append(b, zeros[:pad]...)
	}
	be.PutUint16(b[extLen:], uint16(len(b)-extLen-2))
	hl := len(b) - hs - 4
	b[hs+1], b[hs+2], b[hs+3] = byte(hl>>16), byte(hl>>8), byte(hl)
	be.PutUint16(b[start+3:], uint16(len(b)-start-5))
	return b
}

// appendServerHello appends a TLS 1.3 ServerHello record echoing sid, then
// a ChangeCipherSpec record.
func appendServerHello(b []byte, r *rand.Rand, sid []byte) []byte {
	start := len(b)
	b = append(b, 0x16, 0x03, 0x03, 0, 0)
	hs := len(b)
	b = append(b, 0x02, 0, 0, 0, 0x03, 0x03)
	b = appendRandom(b, r, 32)
	b = append(b, byte(len(sid)))
	b = append(b, sid...)
	b = append(b, 0x13, 0x01+byte(r.IntN(3)), 0)
	b = append(b, 0, 46)             // extensions length
	b = append(b, 0, 43, 0, 2, 3, 4) // supported_versions: TLS 1.3
	b = append(b, 0, 51, 0, 36, 0, 0x1d, 0, 32)
	b = appendRandom(b, r, 32)
	hl := len(b) - hs - 4
	b[hs+1], b[hs+2], b[hs+3] = byte(hl>>16), byte(hl>>8), byte(hl)
	be.PutUint16(b[start+3:], uint16(len(b)-start-5))
	return append(b, 0x14, 0x03, 0x03, 0, 1, 1)
}

// appendDNSName appends name in DNS label form.
func appendDNSName(b []byte, name string) []byte {
	for len(name) > 0 {
		i := 0
		for i < len(name) && name[i] != '.' {
			i++
		}
		b = append(b, byte(i))
		b = append(b, name[:i]...)
		if i < len(name) {
			i++
		}
		name = name[i:]
	}
	return append(b, 0)
}

const (
	dnsTypeA     = 1
	dnsTypeCNAME = 5
	dnsTypeSOA   = 6
	dnsTypePTR   = 12
	dnsTypeTXT   = 16
	dnsTypeAAAA  = 28
	dnsTypeSRV   = 33
	dnsTypeOPT   = 41
)

func appendOPT(b []byte, size uint16) []byte {
	b = append(b, 0) // root
	b = appendU16(b, dnsTypeOPT)
	b = appendU16(b, size)
	return append(b, 0, 0, 0, 0, 0, 0) // ext-rcode, version, flags, rdlength
}

// appendDNSQuery appends a recursive query with an EDNS OPT record.
func appendDNSQuery(b []byte, id uint16, name string, qtype uint16) []byte {
	b = appendU16(b, id)
	b = append(b, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1)
	b = appendDNSName(b, name)
	b = appendU16(b, qtype)
	b = appendU16(b, 1)
	return appendOPT(b, 1232)
}

// dnsAnswer describes a response: a CNAME chain, then addresses of qtype.
type dnsAnswer struct {
	cnames []string
	addrs  []addr
	nx     bool
	ttl    uint32
}

// appendDNSResponse appends the response to a query for name, with
// compressed owner names, and an OPT record.
func appendDNSResponse(b []byte, id uint16, name string, qtype uint16, a *dnsAnswer) []byte {
	msg := len(b)
	b = appendU16(b, id)
	flags := uint16(0x8180)
	an := len(a.cnames) + len(a.addrs)
	ns := 0
	if a.nx {
		flags |= 3
		an, ns = 0, 1
	}
	b = appendU16(b, flags)
	b = append(b, 0, 1)
	b = appendU16(b, uint16(an))
	b = appendU16(b, uint16(ns))
	b = append(b, 0, 1)
	b = appendDNSName(b, name)
	b = appendU16(b, qtype)
	b = appendU16(b, 1)
	owner := uint16(12)
	if a.nx {
		b = append(b, 0) // root zone
		b = appendU16(b, dnsTypeSOA)
		b = appendU16(b, 1)
		b = appendU32(b, 900)
		l := len(b)
		b = append(b, 0, 0)
		b = appendDNSName(b, "a.root-servers.net")
		b = appendDNSName(b, "nstld.verisign-grs.com")
		b = appendU32(b, 2026010100)
		b = appendU32(b, 1800)
		b = appendU32(b, 900)
		b = appendU32(b, 604800)
		b = appendU32(b, 86400)
		be.PutUint16(b[l:], uint16(len(b)-l-2))
		return appendOPT(b, 1232)
	}
	for _, c := range a.cnames {
		b = appendU16(b, 0xc000|owner)
		b = appendU16(b, dnsTypeCNAME)
		b = appendU16(b, 1)
		b = appendU32(b, a.ttl)
		l := len(b)
		b = append(b, 0, 0)
		owner = uint16(len(b) - msg)
		b = appendDNSName(b, c)
		be.PutUint16(b[l:], uint16(len(b)-l-2))
	}
	for i := range a.addrs {
		b = appendU16(b, 0xc000|owner)
		b = appendU16(b, qtype)
		b = appendU16(b, 1)
		b = appendU32(b, a.ttl)
		if qtype == dnsTypeAAAA {
			b = append(b, 0, 16)
			b = append(b, a.addrs[i][:]...)
		} else {
			b = append(b, 0, 4)
			b = append(b, a.addrs[i][:4]...)
		}
	}
	return appendOPT(b, 1232)
}

// appendMDNS appends a multicast DNS query for service, or an announcement
// with PTR, SRV, TXT and A records.
func appendMDNS(b []byte, r *rand.Rand, service string, announce bool, ip addr) []byte {
	msg := len(b)
	if !announce {
		b = append(b, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0)
		b = appendDNSName(b, service)
		b = appendU16(b, dnsTypePTR)
		return appendU16(b, 1)
	}
	b = append(b, 0, 0, 0x84, 0, 0, 0, 0, 4, 0, 0, 0, 0)
	svc := len(b) - msg
	b = appendDNSName(b, service)
	b = appendU16(b, dnsTypePTR)
	b = appendU16(b, 1)
	b = appendU32(b, 4500)
	l := len(b)
	b = append(b, 0, 0)
	inst := len(b) - msg
	label := "Living Room-" + strconv.Itoa(r.IntN(900)+100)
	b = append(b, byte(len(label)))
	b = append(b, label...)
	b = appendU16(b, 0xc000|uint16(svc))
	be.PutUint16(b[l:], uint16(len(b)-l-2))

	b = appendU16(b, 0xc000|uint16(inst))
	b = appendU16(b, dnsTypeSRV)
	b = appendU16(b, 0x8001) // cache-flush, IN
	b = appendU32(b, 120)
	l = len(b)
	b = append(b, 0, 0, 0, 0, 0, 0) // rdlength, priority, weight
	b = appendU16(b, uint16(8009+r.IntN(3)))
	tgt := len(b) - msg
	b = appendDNSName(b, "device-"+strconv.Itoa(r.IntN(9000)+1000)+".local")
	be.PutUint16(b[l:], uint16(len(b)-l-2))

	b = appendU16(b, 0xc000|uint16(inst))
	b = appendU16(b, dnsTypeTXT)
	b = appendU16(b, 0x8001)
	b = appendU32(b, 4500)
	txt := "md=Chromecast"
	b = appendU16(b, uint16(len(txt)+1))
	b = append(b, byte(len(txt)))
	b = append(b, txt...)

	b = appendU16(b, 0xc000|uint16(tgt))
	b = appendU16(b, dnsTypeA)
	b = appendU16(b, 0x8001)
	b = appendU32(b, 120)
	b = append(b, 0, 4)
	return append(b, ip[:4]...)
}

func appendSSDP(b []byte, v6 bool, target, ua string) []byte {
	b = append(b, "M-SEARCH * HTTP/1.1\r\nHOST: "...)
	if v6 {
		b = append(b, "[FF02::C]:1900"...)
	} else {
		b = append(b, "239.255.255.250:1900"...)
	}
	b = append(b, "\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: "...)
	b = append(b, target...)
	b = append(b, "\r\nUSER-AGENT: "...)
	b = append(b, ua...)
	return append(b, "\r\n\r\n"...)
}

// ntpEpochOffset is the number of seconds from 1900 to 1970.
const ntpEpochOffset = 2208988800

func appendNTPTime(b []byte, unixMicro int64) []byte {
	sec := uint32(unixMicro/1e6 + ntpEpochOffset)
	frac := uint32(uint64(unixMicro%1e6) << 32 / 1e6)
	return appendU32(appendU32(b, sec), frac)
}

// appendNTP appends a 48-byte NTPv4 client request (mode 3) or the
// server's reply (mode 4) to a request sent at origin.
func appendNTP(b []byte, r *rand.Rand, server bool, now, origin int64, refID [4]byte) []byte {
	if !server {
		b = append(b, 0x23, 0, 0, 0x20)
		b = append(b, zeros[:36]...)
		return appendNTPTime(b, now) // transmit
	}
	b = append(b, 0x24, 2, 0, 0xe9)
	b = appendU32(b, uint32(r.IntN(2000)))        // root delay
	b = appendU32(b, uint32(r.IntN(3000)))        // root dispersion
	b = append(b, refID[:]...)                    // reference ID
	b = appendNTPTime(b, now-int64(r.IntN(60e6))) // reference
	b = appendNTPTime(b, origin)
	b = appendNTPTime(b, now-50)
	return appendNTPTime(b, now-20)
}

// QUIC long-header packet types.
const (
	quicInitial   = 0
	quicHandshake = 2
)

// appendQUICLong appends a QUIC v1 long header whose packet number and
// payload take payloadLen bytes after it (the caller appends them).
func appendQUICLong(b []byte, r *rand.Rand, typ byte, dcid, scid []byte, payloadLen int) []byte {
	b = append(b, 0xc3|typ<<4)
	b = append(b, 0, 0, 0, 1)
	b = append(b, byte(len(dcid)))
	b = append(b, dcid...)
	b = append(b, byte(len(scid)))
	b = append(b, scid...)
	if typ == quicInitial {
		b = append(b, 0) // token length
	}
	b = appendU16(b, 0x4000|uint16(payloadLen))
	return b
}

// appendQUICInitial appends a client's first QUIC v1 Initial packet: a
// CRYPTO frame with a ClientHello for host (the handshake message of
// appendClientHello, without its TLS record header), PADDING up to size
// bytes, protected with the Initial keys of dcid (RFC 9001 5).
func appendQUICInitial(b []byte, r *rand.Rand, dcid []byte, host string, size int) []byte {
	hello := appendClientHello(nil, r, host)[5:]
	payload := quic.AppendCryptoFrame(nil, 0, hello)
	for n := size - quic.InitialOverhead(dcid, nil, nil, 1); len(payload) < n; {
		payload = append(payload, 0)
	}
	s, err := quic.NewSealer(1, dcid, false)
	if err != nil {
		panic(err) // version 1 always has Initial keys
	}
	return append(b, s.SealInitial(dcid, nil, nil, 0, 1, payload)...)
}

// appendHTTPRequest appends a GET or POST request head (and POST body).
func appendHTTPRequest(b []byte, r *rand.Rand, host, path, ua, referer string, post bool) []byte {
	if post {
		b = append(b, "POST "...)
	} else {
		b = append(b, "GET "...)
	}
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\nUser-Agent: "...)
	b = append(b, ua...)
	b = append(b, "\r\nAccept: */*\r\nAccept-Language: en-US,en;q=0.9\r\nAccept-Encoding: gzip, deflate\r\n"...)
	if referer != "" {
		b = append(b, "Referer: http://"...)
		b = append(b, referer...)
		b = append(b, "/\r\n"...)
	}
	b = append(b, "Connection: keep-alive\r\n"...)
	if post {
		body := "id=" + strconv.Itoa(r.IntN(1e6)) + "&state=" + strconv.Itoa(r.IntN(100)) + "&token=" +
			strconv.FormatUint(r.Uint64(), 36)
		b = append(b, "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n\r\n"...)
		return append(b, body...)
	}
	return append(b, "\r\n"...)
}

// appendHTTPResponseHead appends a response status line and headers.
func appendHTTPResponseHead(b []byte, status int, ctype string, bodyLen int, date string) []byte {
	switch status {
	case 200:
		b = append(b, "HTTP/1.1 200 OK\r\n"...)
	case 304:
		b = append(b, "HTTP/1.1 304 Not Modified\r\n"...)
	default:
		b = append(b, "HTTP/1.1 404 Not Found\r\n"...)
	}
	b = append(b, "Server: nginx\r\nDate: "...)
	b = append(b, date...)
	if status != 304 {
		b = append(b, "\r\nContent-Type: "...)
		b = append(b, ctype...)
		b = append(b, "\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(bodyLen), 10)
	}
	b = append(b, "\r\nCache-Control: max-age=3600\r\nConnection: keep-alive\r\n\r\n"...)
	return b
}
