package http

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"tamon/daemon/internal/corpus"
)

// This file compares the parser with TShark on the shared corpus (see
// shared/corpus/MANIFEST.md): for every capture with an .http.tsv, it reads
// the pcap, reassembles each TCP direction by sequence number, runs a
// follower (follow_test.go) over each direction, and compares per connection
// the sequence of requests (method, host, URI, user agent) and of responses
// (status, content type) with TShark's. SSDP over UDP port 1900, which TShark
// also decodes as HTTP, is compared datagram by datagram.
//
// Which directions are read as HTTP. TShark decodes HTTP on its default
// HTTP ports (80, 8080, 8088, 3128, 3132, 5985, 11371, 1900, 2869, 2710, 631,
// 3689) and, through its TCP heuristic, on other ports whose data starts like
// HTTP. The follower decides the way the engine should: a direction whose
// first bytes pass IsRequestStart (a well-known method and a space, on any
// port), or whose server port is one of those default ports and whose first
// bytes ParseRequest does not reject as ErrNotHTTP (custom methods such as
// CCM_POST), is read as requests; a direction starting with IsResponseStart
// is read as responses, framed by the requests of the other direction.
// Connections only one side decodes show up as differences, so nothing is
// filtered by port after the fact.

// tsharkHTTPPorts are TShark 4.0's default TCP ports for HTTP.
var tsharkHTTPPorts = []uint16{80, 3128, 3132, 5985, 8080, 8088, 11371, 1900, 2869, 2710, 631, 3689}

// Categories of known differences. Each is checked against evidence the
// test has, and a difference in one of them is not a parser miss: it is left
// out of the denominator of the gated agreement (the raw agreement, which
// counts it, is reported too).
const (
	// catNotHTTP1: the request line is not "method SP target SP HTTP/1.x"
	// ("OPTIONS", "GET /HTTP/1.1", "GET / HTTP/1."). ParseRequest returns
	// ErrNotHTTP by contract; TShark decodes such lines leniently.
	// Checked: TShark's http.request.version is not HTTP/1.x.
	catNotHTTP1 = "request line not HTTP/1.x"

	// catRetransmitted: TShark decodes a retransmitted copy of a response
	// as a second response. Checked: .tcpanalysis.tsv flags the frame as a
	// retransmission.
	catRetransmitted = "TShark decodes a retransmission again"

	// catBodyCut: the capture ends inside the message's body (a body until
	// close without a FIN, or a Content-Length body cut short). TShark
	// reassembles the whole message before decoding it
	// (http.desegment_body) and so never shows the head. Checked: the
	// follower ended inside that message's body, and TShark run with
	// "-o http.desegment_body:FALSE" (testdata/tshark-nodesegment.tsv)
	// decodes the same status and content type at the same frame.
	catBodyCut = "capture ends inside the body"
)

// knownDiff identifies one difference: a message that one side has and the
// other lacks.
type knownDiff struct {
	capture string
	frame   int    // TShark's frame (who "tshark") or the frame that completed our head (who "tamon")
	kind    string // "tcp request", "tcp response", "udp"
	who     string // the side that has the message: "tshark" or "tamon"
}

// knownGroup lists known differences of one capture, kind, side and reason.
type knownGroup struct {
	capture, kind, who, cat string
	frames                  []int
}

// knownDiffs lists every difference on the corpus; the test fails on any
// other, and on a listed one that no longer occurs.
var knownDiffs = []knownGroup{
	// zeek/zeek http/methods.pcap sends broken request lines on purpose:
	// "OPTIONS HTTP/1.1" (14), "OPTIONS" (34), then for each method
	// "M / HTTP/1." and "M /HTTP/1.1".
	{"zeek_http_methods.pcap", "tcp request", "tshark", catNotHTTP1,
		[]int{14, 34, 108, 172, 319, 329, 369, 379, 419, 429, 469, 479, 519, 529, 569, 579, 619, 629}},
	// Frames 42 and 86 repeat the responses of frames 41 and 85.
	{"arkime_wireshark-retrans.pcap", "tcp response", "tshark", catRetransmitted, []int{42, 86}},
	// The capture ends inside these responses' bodies. mercury capture2
	// 5041-5573: a Python SimpleHTTP/0.6 server on 127.0.0.1 answers
	// HTTP/1.0 without Content-Length, and the capture has no FIN.
	{"mercury_capture2.pcap", "tcp response", "tamon", catBodyCut, []int{
		5041, 5053, 5065, 5075, 5087, 5099, 5109, 5121, 5133, 5143, 5155, 5165, 5177, 5189, 5201, 5211,
		5223, 5235, 5245, 5257, 5269, 5279, 5291, 5303, 5313, 5325, 5337, 5349, 5359, 5371, 5383, 5393,
		5405, 5415, 5427, 5439, 5449, 5461, 5473, 5483, 5495, 5505, 5517, 5529, 5539, 5551, 5563, 5573}},
	// Images and video ranges whose Content-Length bodies the capture cuts.
	{"ndpi_netflix.pcap", "tcp response", "tamon", catBodyCut, []int{
		351, 355, 387, 419, 490, 491, 552, 607, 625, 700, 717, 719, 727, 734, 737, 740,
		744, 747, 751, 754, 1324, 1327, 1464, 1505, 1708, 1770}},
	{"ndpi_instagram.pcap", "tcp response", "tamon", catBodyCut, []int{80, 130, 467}},
}

// findCorpus returns shared/corpus: $TAMON_CORPUS, or ../../../../shared/corpus
// from the package, or a shared/corpus in the working directory's parents.
func findCorpus(tb testing.TB) string {
	tb.Helper()
	if d := os.Getenv("TAMON_CORPUS"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatalf("find corpus: %v", err)
	}
	for {
		c := filepath.Join(dir, "shared", "corpus")
		if _, err := os.Stat(filepath.Join(c, "MANIFEST.md")); err == nil {
			return c
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("find corpus: no shared/corpus/MANIFEST.md above the package; set TAMON_CORPUS")
		}
		dir = parent
	}
}

// httpCaptures returns the captures that have an .http.tsv.
func httpCaptures(tb testing.TB, corpus string) []string {
	tb.Helper()
	m, err := filepath.Glob(filepath.Join(corpus, "expected", "*.http.tsv"))
	if err != nil || len(m) == 0 {
		tb.Fatalf("list %s/expected/*.http.tsv: none found (%v)", corpus, err)
	}
	var out []string
	for _, p := range m {
		out = append(out, strings.TrimSuffix(filepath.Base(p), ".http.tsv"))
	}
	return out
}

// frame is one captured frame, numbered from 1 as in TShark.
type frame struct {
	num  int
	data []byte
}

// readCapture reads a pcap or pcapng file.
func readCapture(path string) (layers.LinkType, []frame, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, err
	}
	type source interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var src source
	var lt layers.LinkType
	if len(raw) >= 4 && string(raw[:4]) == "\x0a\x0d\x0d\x0a" {
		r, err := pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return 0, nil, fmt.Errorf("read pcapng %s: %w", path, err)
		}
		src, lt = r, r.LinkType()
	} else {
		r, err := pcapgo.NewReader(bytes.NewReader(raw))
		if err != nil {
			return 0, nil, fmt.Errorf("read pcap %s: %w", path, err)
		}
		src, lt = r, r.LinkType()
	}
	var frames []frame
	for n := 1; ; n++ {
		data, _, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return lt, frames, nil
		}
		if err != nil {
			return 0, nil, fmt.Errorf("read %s frame %d: %w", path, n, err)
		}
		frames = append(frames, frame{n, data})
	}
}

// tupleKey names a connection or datagram flow independently of direction.
func tupleKey(a, b netip.AddrPort) string {
	x, y := a.String(), b.String()
	if x > y {
		x, y = y, x
	}
	return x + " " + y
}

// segment is a TCP segment held until the bytes before it arrive.
type segment struct {
	seq   uint32
	data  []byte
	frame int
}

// direction is one side's byte stream of a connection: an in-order
// reassembler (retransmitted and overlapping bytes are dropped, the first copy
// wins; segments after a hole wait for it) feeding a follower.
type direction struct {
	started bool
	next    uint32
	fin     bool   // a FIN was seen
	finSeq  uint32 // the sequence number of the FIN
	held    []segment
	role    int // 0 undecided, 1 requests, 2 responses, 3 not HTTP
	f       follower
	raw     []byte // the first maxRaw bytes delivered, as fuzz seeds
}

// maxRaw bounds the bytes of each direction kept as fuzz seeds.
const maxRaw = 2 * MaxHead

const (
	roleUndecided = iota
	roleRequests
	roleResponses
	roleNone
)

type connection struct {
	stats *reasmStats
	a, b  netip.AddrPort // a sent the first packet
	isn   uint32         // the client's SYN sequence number, when seen
	synOK bool
	dirs  [2]direction // [0] from a, [1] from b
}

// add takes a segment of direction d (0 or 1) of c.
func (c *connection) add(d int, seq uint32, syn, fin bool, payload []byte, frameNum int, dstPort uint16) {
	dir := &c.dirs[d]
	if fin {
		dir.fin, dir.finSeq = true, seq+uint32(len(payload))
	}
	if syn {
		if !dir.started {
			dir.started, dir.next = true, seq+1
		}
		seq++
	}
	if len(payload) == 0 {
		return
	}
	if !dir.started {
		dir.started, dir.next = true, seq
	}
	switch off := int32(seq - dir.next); {
	case off > 0:
		c.stats.outOfOrder++
	case int(-off) >= len(payload):
		c.stats.retransmitted++
	}
	dir.held = append(dir.held, segment{seq, bytes.Clone(payload), frameNum})
	for progress := true; progress; {
		progress = false
		for k := 0; k < len(dir.held); k++ {
			s := dir.held[k]
			off := int32(s.seq - dir.next)
			if off > 0 {
				continue // a hole before it
			}
			dir.held = slices.Delete(dir.held, k, k+1)
			k--
			if int(-off) >= len(s.data) {
				continue // all seen before: a retransmission
			}
			p := s.data[-off:]
			dir.next += uint32(len(p))
			c.deliver(d, p, s.frame, dstPort)
			progress = true
		}
	}
}

// deliver hands in-order bytes of direction d to its follower, deciding on
// the first bytes how to read the direction.
func (c *connection) deliver(d int, p []byte, frameNum int, dstPort uint16) {
	dir := &c.dirs[d]
	if n := min(len(p), maxRaw-len(dir.raw)); n > 0 {
		dir.raw = append(dir.raw, p[:n]...)
	}
	if dir.role == roleUndecided {
		var r Request
		switch {
		case IsRequestStart(p),
			slices.Contains(tsharkHTTPPorts, dstPort) && ParseRequest(p, &r) != ErrNotHTTP && !IsResponseStart(p):
			dir.role = roleRequests
		case IsResponseStart(p):
			dir.role = roleResponses
			dir.f.response = true
			if other := &c.dirs[1-d]; other.role == roleRequests {
				dir.f.method = methodOf(&other.f)
			}
		default:
			dir.role = roleNone
		}
	}
	if dir.role == roleRequests || dir.role == roleResponses {
		dir.f.feed(p, frameNum)
	}
}

// ours is what the follower found in one capture.
type ours struct {
	tcp   map[string]*tcpResult // by tupleKey
	udp   map[int]message       // SSDP messages by frame
	stats reasmStats

	requestStreams, responseStreams [][]byte // the first bytes of each direction read as HTTP
}

// reasmStats counts what the reassembler had to deal with.
type reasmStats struct {
	outOfOrder    int // segments that arrived after a hole
	retransmitted int // segments whose bytes had all been delivered
}

type tcpResult struct{ requests, responses []message }

// runCapture reads a capture through the reassembler and followers.
func runCapture(t testing.TB, path string) ours {
	t.Helper()
	lt, frames, err := readCapture(path)
	if err != nil {
		t.Fatal(err)
	}
	res := ours{tcp: map[string]*tcpResult{}, udp: map[int]message{}}
	conns := map[string]*connection{}
	var order []*connection
	for _, fr := range frames {
		pkt := gopacket.NewPacket(fr.data, lt, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		// The innermost IP header, as TShark's occurrence=l fields.
		var src, dst netip.Addr
		fragment := false
		for _, l := range pkt.Layers() {
			switch ip := l.(type) {
			case *layers.IPv4:
				fragment = ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0
				src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
				dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
			case *layers.IPv6:
				src, _ = netip.AddrFromSlice(ip.SrcIP)
				dst, _ = netip.AddrFromSlice(ip.DstIP)
			}
		}
		if !src.IsValid() || fragment {
			continue
		}
		switch tr := pkt.TransportLayer().(type) {
		case *layers.TCP:
			sa := netip.AddrPortFrom(src, uint16(tr.SrcPort))
			da := netip.AddrPortFrom(dst, uint16(tr.DstPort))
			key := tupleKey(sa, da)
			c := conns[key]
			// A SYN with a new sequence number on a known tuple is a new
			// connection (port reuse).
			if c != nil && tr.SYN && !tr.ACK && c.synOK && c.isn != tr.Seq {
				c = nil
			}
			if c == nil {
				c = &connection{stats: &res.stats, a: sa, b: da}
				conns[key] = c
				order = append(order, c)
			}
			if tr.SYN && !tr.ACK && !c.synOK {
				c.isn, c.synOK = tr.Seq, true
			}
			d := 0
			if sa != c.a {
				d = 1
			}
			c.add(d, tr.Seq, tr.SYN, tr.FIN, tr.Payload, fr.num, uint16(tr.DstPort))
		case *layers.UDP:
			if tr.SrcPort != 1900 && tr.DstPort != 1900 {
				continue
			}
			var req Request
			var rsp Response
			if err := ParseRequest(tr.Payload, &req); err == nil {
				res.udp[fr.num] = message{method: string(req.Method), host: string(req.Host), uri: string(req.URI),
					ua: string(req.UserAgent), frame: fr.num}
			} else if err := ParseResponse(tr.Payload, &rsp); err == nil {
				res.udp[fr.num] = message{status: rsp.Status, ctype: string(rsp.ContentType), frame: fr.num}
			}
		}
	}
	for _, c := range order {
		key := tupleKey(c.a, c.b)
		r := res.tcp[key]
		if r == nil {
			r = &tcpResult{}
			res.tcp[key] = r
		}
		for d := range c.dirs {
			dir := &c.dirs[d]
			dir.f.end(dir.fin && dir.next == dir.finSeq)
			if dir.role == roleRequests {
				r.requests = append(r.requests, dir.f.msgs...)
				res.requestStreams = append(res.requestStreams, dir.raw)
			} else if dir.role == roleResponses {
				r.responses = append(r.responses, dir.f.msgs...)
				res.responseStreams = append(res.responseStreams, dir.raw)
			}
		}
	}
	return res
}

// tsharkRow is one line of an .http.tsv.
type tsharkRow struct {
	frame   int
	tcp     bool
	key     string // tupleKey for TCP rows
	version string
	msg     message
}

// readTshark reads an .http.tsv (see MANIFEST.md for its columns).
func readTshark(t *testing.T, path string) []tsharkRow {
	t.Helper()
	header, lines := corpus.ReadTable(t, path)
	col := map[string]int{}
	for k, name := range header {
		col[name] = k
	}
	for _, name := range []string{"frame.number", "tcp.stream", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst",
		"tcp.dstport", "http.request.method", "http.host", "http.request.uri", "http.request.version",
		"http.user_agent", "http.response.code", "http.content_type"} {
		if _, ok := col[name]; !ok {
			t.Fatalf("%s: no column %s", path, name)
		}
	}
	var rows []tsharkRow
	for _, fields := range lines {
		var err error
		get := func(name string) string {
			if k := col[name]; k < len(fields) {
				return fields[k]
			}
			return ""
		}
		last := func(v string) string { // innermost of tunnelled values
			if k := strings.LastIndexByte(v, ','); k >= 0 {
				return v[k+1:]
			}
			return v
		}
		row := tsharkRow{version: get("http.request.version")}
		row.frame, err = strconv.Atoi(get("frame.number"))
		if err != nil {
			t.Fatalf("%s: frame number %q: %v", path, get("frame.number"), err)
		}
		method, code := get("http.request.method"), get("http.response.code")
		if strings.Contains(method, ",") || strings.Contains(code, ",") {
			t.Fatalf("%s frame %d: several HTTP messages in one frame; the comparison cannot split TShark's fields", path, row.frame)
		}
		row.msg = message{method: method, host: get("http.host"), uri: get("http.request.uri"),
			ua: get("http.user_agent"), ctype: get("http.content_type"), frame: row.frame}
		if code != "" {
			row.msg.status, err = strconv.Atoi(code)
			if err != nil {
				t.Fatalf("%s frame %d: response code %q", path, row.frame, code)
			}
		}
		if get("tcp.stream") != "" {
			row.tcp = true
			addr := func(v4, v6 string) (netip.Addr, error) {
				if v := get(v6); v != "" {
					return netip.ParseAddr(last(v))
				}
				return netip.ParseAddr(last(get(v4)))
			}
			src, err1 := addr("ip.src", "ipv6.src")
			dst, err2 := addr("ip.dst", "ipv6.dst")
			sp, err3 := strconv.ParseUint(get("tcp.srcport"), 10, 16)
			dp, err4 := strconv.ParseUint(get("tcp.dstport"), 10, 16)
			if err := errors.Join(err1, err2, err3, err4); err != nil {
				t.Fatalf("%s frame %d: addresses: %v", path, row.frame, err)
			}
			row.key = tupleKey(netip.AddrPortFrom(src, uint16(sp)), netip.AddrPortFrom(dst, uint16(dp)))
		}
		rows = append(rows, row)
	}
	return rows
}

// retransmissions returns the frames .tcpanalysis.tsv flags as
// retransmissions (none when the capture has no such file).
func retransmissions(t *testing.T, corpus, capture string) map[int]bool {
	t.Helper()
	out := map[int]bool{}
	b, err := os.ReadFile(filepath.Join(corpus, "expected", capture+".tcpanalysis.tsv"))
	if errors.Is(err, os.ErrNotExist) {
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Split(line, "\t")
		if len(f) < 2 || !strings.Contains(f[len(f)-1], "retransmission") {
			continue
		}
		if n, err := strconv.Atoi(f[0]); err == nil {
			out[n] = true
		}
	}
	return out
}

// readNodesegment reads testdata/tshark-nodesegment.tsv: the responses
// TShark decodes when it does not wait for whole bodies, keyed as the
// differences of kind "tcp response" found by tamon.
func readNodesegment(t *testing.T) map[knownDiff]message {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "tshark-nodesegment.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[knownDiff]message{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, "\t")
		if strings.HasPrefix(line, "#") || len(f) < 5 {
			continue
		}
		frame, err1 := strconv.Atoi(f[1])
		status, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			t.Fatalf("tshark-nodesegment.tsv: bad line %q", line)
		}
		out[knownDiff{f[0], frame, "tcp response", "tamon"}] = message{status: status, ctype: f[4], frame: frame}
	}
	return out
}

// diff is one message that one side has and the other lacks.
type diff struct {
	knownDiff
	msg message
}

// tally counts matched messages and differences of one kind.
type tally struct{ matched, tsharkOnly, oursOnly, excused int }

// align compares two message sequences by their compared fields (longest
// common subsequence) and returns the number matched and what each side has
// alone. Among equally long alignments it leaves out the want messages for
// which spare reports true (TShark's decodes of retransmitted copies), so
// that a duplicate is reported at the frame that repeats, not the original.
func align(want, got []message, key func(message) string, spare func(message) bool) (matched int, wantOnly, gotOnly []message) {
	n, m := len(want), len(got)
	l := make([][]int, n+1)
	for i := range l {
		l[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if key(want[i]) == key(got[j]) {
				l[i][j] = l[i+1][j+1] + 1
			} else {
				l[i][j] = max(l[i+1][j], l[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case key(want[i]) == key(got[j]) && !(spare(want[i]) && l[i+1][j] == l[i][j]):
			matched++
			i, j = i+1, j+1
		case l[i+1][j] >= l[i][j+1]:
			wantOnly = append(wantOnly, want[i])
			i++
		default:
			gotOnly = append(gotOnly, got[j])
			j++
		}
	}
	return matched, append(wantOnly, want[i:]...), append(gotOnly, got[j:]...)
}

// requestKey and responseKey are the compared fields: the request's
// method, host, URI and user agent (and its content type, which TShark also
// gives), the response's status and content type.
func requestKey(m message) string {
	return m.method + "\x00" + m.host + "\x00" + m.uri + "\x00" + m.ua + "\x00" + m.ctype
}

func responseKey(m message) string { return strconv.Itoa(m.status) + "\x00" + m.ctype }

var http1Version = regexp.MustCompile(`^HTTP/1\.[0-9]$`)

// TestCorpusAgainstTshark is the comparison described at the top of the file.
func TestCorpusAgainstTshark(t *testing.T) {
	corpus := findCorpus(t)
	kinds := []string{"tcp request", "tcp response", "udp"}
	tallies := map[string]*tally{}
	for _, k := range kinds {
		tallies[k] = &tally{}
	}
	var diffs []diff
	nodesegment := readNodesegment(t)
	rowsByFrame := map[string]map[int]tsharkRow{}
	retrans := map[string]map[int]bool{}

	for _, capture := range httpCaptures(t, corpus) {
		got := runCapture(t, filepath.Join(corpus, "pcaps", capture))
		rows := readTshark(t, filepath.Join(corpus, "expected", capture+".http.tsv"))
		retrans[capture] = retransmissions(t, corpus, capture)
		rowsByFrame[capture] = map[int]tsharkRow{}

		// TCP: per connection tuple, in order.
		want := map[string]*tcpResult{}
		var keys []string
		for _, r := range rows {
			rowsByFrame[capture][r.frame] = r
			if !r.tcp {
				continue
			}
			w := want[r.key]
			if w == nil {
				w = &tcpResult{}
				want[r.key] = w
				keys = append(keys, r.key)
			}
			if r.msg.method != "" {
				w.requests = append(w.requests, r.msg)
			}
			if r.msg.status != 0 {
				w.responses = append(w.responses, r.msg)
			}
		}
		for k := range got.tcp {
			if want[k] == nil {
				want[k] = &tcpResult{}
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			g := got.tcp[k]
			if g == nil {
				g = &tcpResult{}
			}
			w := want[k]
			for _, part := range []struct {
				kind      string
				want, got []message
				key       func(message) string
			}{
				{"tcp request", w.requests, g.requests, requestKey},
				{"tcp response", w.responses, g.responses, responseKey},
			} {
				spare := func(m message) bool { return retrans[capture][m.frame] }
				matched, wantOnly, gotOnly := align(part.want, part.got, part.key, spare)
				tallies[part.kind].matched += matched
				for _, m := range wantOnly {
					diffs = append(diffs, diff{knownDiff{capture, m.frame, part.kind, "tshark"}, m})
				}
				for _, m := range gotOnly {
					diffs = append(diffs, diff{knownDiff{capture, m.frame, part.kind, "tamon"}, m})
				}
			}
		}

		// UDP (SSDP): per datagram.
		frames := map[int]bool{}
		for _, r := range rows {
			if !r.tcp {
				frames[r.frame] = true
			}
		}
		for f := range got.udp {
			frames[f] = true
		}
		for _, f := range slices.Sorted(func(yield func(int) bool) {
			for f := range frames {
				if !yield(f) {
					return
				}
			}
		}) {
			r, inT := rowsByFrame[capture][f]
			inT = inT && !r.tcp
			m, inO := got.udp[f]
			key := responseKey
			if (inT && r.msg.method != "") || (inO && m.method != "") {
				key = requestKey
			}
			switch {
			case inT && inO && key(r.msg) == key(m):
				tallies["udp"].matched++
			default:
				if inT {
					diffs = append(diffs, diff{knownDiff{capture, f, "udp", "tshark"}, r.msg})
				}
				if inO {
					diffs = append(diffs, diff{knownDiff{capture, f, "udp", "tamon"}, m})
				}
			}
		}
	}

	// Every difference must be known, and every known one must occur with
	// its reason verified.
	known := map[knownDiff]string{}
	for _, g := range knownDiffs {
		for _, f := range g.frames {
			known[knownDiff{g.capture, f, g.kind, g.who}] = g.cat
		}
	}
	seen := map[knownDiff]bool{}
	for _, d := range diffs {
		tl := tallies[d.kind]
		if d.who == "tshark" {
			tl.tsharkOnly++
		} else {
			tl.oursOnly++
		}
		cat, ok := known[d.knownDiff]
		if !ok {
			t.Errorf("unexpected difference: %s frame %d: %s only in %s: %s (cut %v)", d.capture, d.frame, d.kind, d.who, d.msg, d.msg.cut)
			continue
		}
		seen[d.knownDiff] = true
		switch cat {
		case catNotHTTP1:
			if r := rowsByFrame[d.capture][d.frame]; http1Version.MatchString(r.version) {
				t.Errorf("%+v: TShark's version %q is HTTP/1.x, so the request line should parse", d.knownDiff, r.version)
			}
		case catRetransmitted:
			if !retrans[d.capture][d.frame] {
				t.Errorf("%+v: the frame is not a retransmission in .tcpanalysis.tsv", d.knownDiff)
			}
		case catBodyCut:
			if !d.msg.cut {
				t.Errorf("%+v: the capture does not end inside this message's body", d.knownDiff)
			}
			if w, ok := nodesegment[d.knownDiff]; !ok || responseKey(w) != responseKey(d.msg) {
				t.Errorf("%+v: TShark without body reassembly has %v (present %v), tamon %v", d.knownDiff, w, ok, d.msg)
			}
		default:
			continue // a listed miss: not excused
		}
		tl.excused++
	}
	for id := range known {
		if !seen[id] {
			t.Errorf("known difference no longer occurs (remove it from knownDiffs): %+v", id)
		}
	}

	for _, kind := range kinds {
		tl := tallies[kind]
		all := tl.matched + tl.tsharkOnly + tl.oursOnly
		if all == 0 {
			t.Errorf("%s: no messages compared", kind)
			continue
		}
		raw := 100 * float64(tl.matched) / float64(all)
		gated := 100 * float64(tl.matched) / float64(all-tl.excused)
		t.Logf("%-12s matched %3d, TShark only %2d, tamon only %2d: agreement %5.1f%% raw, %5.1f%% without the %d explained differences",
			kind, tl.matched, tl.tsharkOnly, tl.oursOnly, raw, gated, tl.excused)
		if gated < 99 {
			t.Errorf("%s: agreement %.1f%% < 99%%", kind, gated)
		}
	}
}

// TestCorpusSplitHeads checks that the captures with awkward segmentation
// exercise what they are in the corpus for: nDPI's
// http_ua_splitted_in_two_pkts cuts every request head inside its
// User-Agent field (MANIFEST.md), so ParseRequest must return ErrIncomplete
// and then complete; where TShark flags retransmitted or out-of-order data
// segments (.tcpanalysis.tsv), the reassembler must have dropped or held
// some, and the requests must still all be there.
func TestCorpusSplitHeads(t *testing.T) {
	corpus := findCorpus(t)
	for _, tt := range []struct {
		capture  string
		allSplit bool
	}{
		{"ndpi_http_ua_splitted_in_two_pkts.pcapng", true},
		{"arkime_wireshark-retrans.pcap", false},
		{"arkime_http-post-upload.pcap", false},
		{"mercury_capture2.pcap", false},
	} {
		got := runCapture(t, filepath.Join(corpus, "pcaps", tt.capture))
		var requests, split int
		for _, r := range got.tcp {
			for _, m := range r.requests {
				requests++
				if m.split {
					split++
				}
			}
		}
		want := 0
		for _, r := range readTshark(t, filepath.Join(corpus, "expected", tt.capture+".http.tsv")) {
			if r.tcp && r.msg.method != "" {
				want++
			}
		}
		retrans, ooo := tsharkDataAnalysis(t, corpus, tt.capture)
		t.Logf("%s: %d requests (TShark %d), %d heads split across segments; segments retransmitted %d (TShark %d), out of order %d (TShark %d)",
			tt.capture, requests, want, split, got.stats.retransmitted, retrans, got.stats.outOfOrder, ooo)
		if requests != want {
			t.Errorf("%s: %d requests, TShark has %d", tt.capture, requests, want)
		}
		if tt.allSplit && split != requests {
			t.Errorf("%s: %d of %d heads split across segments, want all", tt.capture, split, requests)
		}
		// TShark calls a late copy of delivered bytes out of order when
		// newer bytes came first; to the reassembler that is a
		// retransmission. So only compare whether anything happened.
		if (retrans+ooo > 0) != (got.stats.retransmitted+got.stats.outOfOrder > 0) {
			t.Errorf("%s: the reassembler saw %d retransmitted and %d out-of-order segments, TShark %d and %d",
				tt.capture, got.stats.retransmitted, got.stats.outOfOrder, retrans, ooo)
		}
	}
}

// tsharkDataAnalysis counts the segments with data that .tcpanalysis.tsv
// flags as retransmissions and as out of order.
func tsharkDataAnalysis(t *testing.T, corpus, capture string) (retrans, ooo int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpus, "expected", capture+".tcpanalysis.tsv"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, 0
	}
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	col := map[string]int{}
	for k, name := range strings.Split(lines[0], "\t") {
		col[name] = k
	}
	for _, line := range lines[1:] {
		f := strings.Split(line, "\t")
		if len(f) < len(col) || f[col["tcp.len"]] == "0" {
			continue
		}
		msg := f[col["_ws.expert.message"]]
		if strings.Contains(msg, "retransmission") {
			retrans++
		}
		if strings.Contains(msg, "out-of-order") {
			ooo++
		}
	}
	return retrans, ooo
}

// TestCorpusNoFalseHTTP runs the captures for which TShark decodes no HTTP
// at all (no .http.tsv: TLS, QUIC, DNS, echo and BitTorrent traffic, ...)
// and checks that the follower finds no HTTP message either.
func TestCorpusNoFalseHTTP(t *testing.T) {
	corpus := findCorpus(t)
	withHTTP := map[string]bool{}
	for _, c := range httpCaptures(t, corpus) {
		withHTTP[c] = true
	}
	all, err := filepath.Glob(filepath.Join(corpus, "pcaps", "*"))
	if err != nil || len(all) == 0 {
		t.Fatalf("list %s/pcaps: none found (%v)", corpus, err)
	}
	checked := 0
	for _, path := range all {
		capture := filepath.Base(path)
		if withHTTP[capture] {
			continue
		}
		checked++
		got := runCapture(t, path)
		for key, r := range got.tcp {
			for _, m := range append(r.requests, r.responses...) {
				t.Errorf("%s %s: HTTP message TShark does not see: %s (frame %d)", capture, key, m, m.frame)
			}
		}
		for f, m := range got.udp {
			t.Errorf("%s frame %d: SSDP message TShark does not see: %s", capture, f, m)
		}
	}
	t.Logf("%d captures without HTTP checked", checked)
}
