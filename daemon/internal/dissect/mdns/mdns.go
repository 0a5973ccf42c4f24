// Package mdns extracts what a multicast DNS message (RFC 6762, DNS-SD RFC
// 6763) says about the device that sent it: its host name, its addresses and
// its model.
//
// Messages are decoded with package dns. dns.Parse keeps only the answer
// section, while mDNS puts the records a device announces about itself in
// three places: the answer section of a response, its additional section,
// and the authority section of a probe (a query that proposes the records
// it is about to claim). A [Parser] therefore copies the message into its
// own buffer and rewrites the header so that every record after the
// questions is read as an answer; the section of each record is known again
// from the original counts. The first dns.MaxAnswers (32) records are kept,
// which covers the messages devices send about themselves.
//
// Which records count: in a response, the answer and additional sections; in
// a query, only the authority section (a probe). The answer section of a
// query lists what the querier has cached about other devices (known-answer
// suppression) and is ignored.
//
// The host name is, by priority: the owner of an A or AAAA record in .local;
// the target of a reverse-mapping PTR (in-addr.arpa, ip6.arpa) in .local;
// the target of an SRV record in .local; the instance name of a
// _device-info._tcp service. The model is the value of a "model=" string of
// a TXT record (as in _device-info), else of an "md=" string (Google Cast).
//
// A Parser is about 29 KiB and is meant to be reused: allocate one per
// goroutine. It is not safe for concurrent use. Parse never allocates.
package mdns

import (
	"bytes"
	"errors"
	"net/netip"

	"tamon/daemon/internal/dissect/dns"
)

const (
	// MaxMessage is the largest message read, the mDNS limit on a message's
	// size (RFC 6762 17). A longer message is read as if cut there: the
	// records before the cut count, and Parse reports dns.ErrShort.
	MaxMessage = 9000

	// MaxAddrs is the number of addresses kept for the host name.
	MaxAddrs = 8

	// MaxModel is the largest model text kept, in bytes.
	MaxModel = 64

	headerLen = 12
)

// Source tells which kind of record gave the host name.
type Source uint8

// Sources of the host name, from the most to the least reliable.
const (
	SourceNone       Source = iota
	SourceAddress           // owner of an A/AAAA record
	SourceReverse           // target of a reverse-mapping PTR
	SourceSRV               // target of an SRV record
	SourceDeviceInfo        // instance name of a _device-info service
)

// Text is a short byte string held in place: a host name or a model. The
// zero Text is empty; copying a Text copies its bytes.
type Text struct {
	buf [dns.MaxName]byte
	n   uint8
}

// Bytes returns the text, a view into t valid until t is next modified; its
// capacity is its length.
func (t *Text) Bytes() []byte { return t.buf[:t.n:t.n] }

// String returns the text. It allocates.
func (t *Text) String() string { return string(t.buf[:t.n]) }

// Len returns the length of the text in bytes.
func (t *Text) Len() int { return int(t.n) }

func (t *Text) set(b []byte) {
	t.n = uint8(copy(t.buf[:], b))
}

// Info is what one message says about its sender. Parse fills it; the zero
// value is ready for use.
type Info struct {
	Response bool // QR bit
	Probe    bool // a query with records in its authority section

	// Hostname is the device's name without the ".local" suffix, with the
	// \DDD escapes of DNS presentation form decoded back to bytes (mDNS
	// names are UTF-8). Empty when the message names no host.
	Hostname Text
	Source   Source

	// Addrs holds the first NAddrs addresses (A, then AAAA records in wire
	// order, without repeats) of the host name. Entries at NAddrs and above
	// hold leftovers and must be ignored.
	Addrs  [MaxAddrs]netip.Addr
	NAddrs int

	// Model is the device model from TXT records ("model=" or "md="),
	// cut at MaxModel bytes; empty when none.
	Model Text

	// Records counts the records examined (after the section rule above).
	Records int
}

// Parser extracts Info from mDNS messages. The zero value is ready for use.
type Parser struct {
	msg dns.Message
	buf [MaxMessage]byte
	// name holds the chosen host name as it appears in the records (with
	// its .local suffix and escapes), to match the A/AAAA records owned by it.
	name Text
}

// Parse reads the mDNS message msg (a UDP payload, port 5353) into info,
// resetting info first. It never allocates, never panics, does not modify
// msg and keeps no reference to it.
//
// It returns nil, or the error of dns.Parse (dns.ErrShort, dns.ErrName,
// dns.ErrRData) for a malformed message; info then holds what the records
// decoded before the fault say. dns.ErrTooManyQuestions is not an error
// here: mDNS queries often ask several questions.
func (p *Parser) Parse(msg []byte, info *Info) error {
	info.reset()
	p.name.n = 0
	if len(msg) < headerLen {
		return dns.ErrShort
	}
	b := p.buf[:copy(p.buf[:], msg)]
	an, ns, ar := int(be16(b[6:])), int(be16(b[8:])), int(be16(b[10:]))
	total := min(an+ns+ar, 0xffff)
	b[6], b[7] = byte(total>>8), byte(total)
	b[8], b[9], b[10], b[11] = 0, 0, 0, 0

	err := dns.Parse(b, &p.msg)
	if errors.Is(err, dns.ErrTooManyQuestions) {
		err = nil
	}
	m := &p.msg
	info.Response = m.Response
	info.Probe = !m.Response && ns > 0

	// The records that describe the sender, as ranges of m.Answers.
	var parts [2][]dns.RR
	kept := m.Answers[:m.NAnswers]
	if m.Response {
		parts[0] = kept[:min(an, len(kept))]
		parts[1] = kept[min(an+ns, len(kept)):]
	} else {
		parts[0] = kept[min(an, len(kept)):min(an+ns, len(kept))]
	}
	for _, rrs := range parts {
		p.pick(info, rrs)
	}
	if info.Source != SourceNone {
		host := p.name.Bytes()
		if info.Source != SourceDeviceInfo {
			host = host[:len(host)-len(".local")]
			for _, rrs := range parts {
				p.addrs(info, rrs, dns.TypeA)
			}
			for _, rrs := range parts {
				p.addrs(info, rrs, dns.TypeAAAA)
			}
		}
		info.Hostname.n = uint8(unescape(info.Hostname.buf[:], host))
	}
	for _, key := range [2]string{"model=", "md="} {
		if info.Model.n == 0 {
			for _, rrs := range parts {
				p.model(info, b, rrs, key)
			}
		}
	}
	return err
}

func (info *Info) reset() {
	info.Response = false
	info.Probe = false
	info.Hostname.n = 0
	info.Source = SourceNone
	info.NAddrs = 0
	info.Model.n = 0
	info.Records = 0
}

// pick chooses the host name from rrs into p.name, keeping a better source
// found in an earlier call; the first record of the best source wins.
func (p *Parser) pick(info *Info, rrs []dns.RR) {
	for i := range rrs {
		rr := &rrs[i]
		info.Records++
		owner := rr.Name.Bytes()
		var cand []byte
		var src Source
		switch rr.Type {
		case dns.TypeA, dns.TypeAAAA:
			if isLocal(owner) {
				cand, src = owner, SourceAddress
			}
		case dns.TypePTR:
			target := rr.DataBytes()
			switch {
			case isReverse(owner) && isLocal(target):
				cand, src = target, SourceReverse
			case hasSuffixFold(owner, "_device-info._tcp.local"):
				cand, src = target, SourceDeviceInfo
			}
		case dns.TypeSRV:
			if target := srvTarget(rr.DataBytes()); isLocal(target) {
				cand, src = target, SourceSRV
			}
		case dns.TypeTXT:
			if hasSuffixFold(owner, "._device-info._tcp.local") {
				cand, src = owner, SourceDeviceInfo
			}
		}
		if src == SourceNone || (info.Source != SourceNone && info.Source <= src) {
			continue
		}
		if src == SourceDeviceInfo {
			label, ok := firstLabel(cand)
			if !ok || len(label) == len(cand) {
				continue
			}
			cand = label
		}
		info.Source = src
		p.name.set(cand)
	}
}

// addrs collects the addresses of the typ (A or AAAA) records of rrs owned
// by the chosen name, in wire order, without repeats.
func (p *Parser) addrs(info *Info, rrs []dns.RR, typ uint16) {
	for i := range rrs {
		rr := &rrs[i]
		if rr.Type != typ || !equalFold(rr.Name.Bytes(), p.name.Bytes()) {
			continue
		}
		a, ok := parseAddr(rr.DataBytes(), typ == dns.TypeAAAA)
		if !ok || info.hasAddr(a) || info.NAddrs == MaxAddrs {
			continue
		}
		info.Addrs[info.NAddrs] = a
		info.NAddrs++
	}
}

func (info *Info) hasAddr(a netip.Addr) bool {
	for _, x := range info.Addrs[:info.NAddrs] {
		if x == a {
			return true
		}
	}
	return false
}

// model looks for a key ("model=" or "md=") in the TXT records of rrs.
// dns.Parse joins a TXT record's strings without a separator, so it only
// tells whether the key is there; the value, with its exact end, is then
// read from the length-prefixed string in the raw message msg.
func (p *Parser) model(info *Info, msg []byte, rrs []dns.RR, key string) {
	for i := range rrs {
		rr := &rrs[i]
		if rr.Type != dns.TypeTXT || !bytes.Contains(rr.DataBytes(), []byte(key)) {
			continue
		}
		if v, ok := txtValue(msg, key); ok {
			info.Model.set(clean(v, MaxModel))
			return
		}
	}
}

// txtValue finds a character-string "key=value" in msg (a length byte, then
// the bytes) and returns its value. A string cut by the end of msg, or an
// empty value, does not count.
func txtValue(msg []byte, key string) ([]byte, bool) {
	for from := 1; from < len(msg); {
		i := bytes.Index(msg[from:], []byte(key))
		if i < 0 {
			return nil, false
		}
		start := from + i
		from = start + 1
		l := int(msg[start-1])
		if l > len(key) && start+l <= len(msg) {
			return msg[start+len(key) : start+l], true
		}
	}
	return nil, false
}

// clean keeps at most max bytes of v, and only bytes that are printable
// ASCII or part of a UTF-8 sequence (>= 0x80).
func clean(v []byte, max int) []byte {
	v = v[:min(len(v), max)]
	for i, c := range v {
		if c < 0x20 || c == 0x7f {
			return v[:i]
		}
	}
	return v
}

// srvTarget returns the target of SRV data in text form
// ("priority weight port target").
func srvTarget(d []byte) []byte {
	for n := 0; n < 3; n++ {
		i := bytes.IndexByte(d, ' ')
		if i < 0 {
			return nil
		}
		d = d[i+1:]
	}
	return d
}

// firstLabel returns the first label of a name in presentation form, still
// escaped; false if the name has a single label.
func firstLabel(name []byte) ([]byte, bool) {
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '\\':
			i++ // an escape: "\." or "\DDD"; the digits are not dots
		case '.':
			return name[:i], i > 0
		}
	}
	return name, false
}

// unescape decodes the \DDD and \X escapes of DNS presentation form from src
// into dst and returns the length written; dst is at least as long as src.
func unescape(dst, src []byte) int {
	n := 0
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '\\' && i+1 < len(src) {
			if i+3 < len(src) && isDigit(src[i+1]) && isDigit(src[i+2]) && isDigit(src[i+3]) {
				v := int(src[i+1]-'0')*100 + int(src[i+2]-'0')*10 + int(src[i+3]-'0')
				if v <= 255 {
					c = byte(v)
					i += 3
				}
			} else {
				i++
				c = src[i]
			}
		}
		dst[n] = c
		n++
	}
	return n
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isLocal reports whether name is a host in the .local domain (not .local
// itself).
func isLocal(name []byte) bool {
	return len(name) > len(".local") && hasSuffixFold(name, ".local")
}

// isReverse reports whether name is in a reverse-mapping zone.
func isReverse(name []byte) bool {
	return hasSuffixFold(name, ".in-addr.arpa") || hasSuffixFold(name, ".ip6.arpa")
}

func hasSuffixFold(b []byte, suffix string) bool {
	if len(b) < len(suffix) {
		return false
	}
	return equalFold(b[len(b)-len(suffix):], []byte(suffix))
}

// equalFold compares ASCII letters case-insensitively (RFC 4343).
func equalFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }
