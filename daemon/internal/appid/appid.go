// Package appid identifies applications from features.txt signatures and
// keeps app-usage sessions per device.
//
// # Signature files
//
// A features file has one application per line. Two formats are read, and
// may be mixed in one file:
//
//	name:[proto;sport;dport;host;payload, proto;sport;dport;host;payload, ...]
//	id name:[proto;sport;dport;host;request;dict, ...]
//
// The first is the prototype's format (TrafficAnalyzer), the second
// OpenAppFilter's (OAF), told apart per signature by its field count: 5
// fields are the prototype's, 6 to 8 OAF's (proto;sport;dport;host;request;
// dict;search;ignore). The signatures of one line are alternatives (OR); the
// fields of one signature must all match (AND); an empty field matches
// anything. On an OAF line, the leading numeric id is dropped from the name.
//
//   - proto: tcp or udp (any case); empty for both.
//   - sport, dport: the client's and the server's port, whatever the
//     direction of the packet that carried the payload (the prototype
//     compared them with the ports of its client-to-server packets, which
//     is the same thing). A port is N, a range A-B, or a list of those
//     joined by |; a ! in front of an item excludes it. A port matches when
//     it is in one of the plain items (or there is none) and in none of the
//     excluded ones.
//   - host: a case-insensitive substring of the session's host name (TLS
//     SNI, QUIC SNI, HTTP Host or the name from DNS). A leading ^ anchors it
//     at the start of the name, a trailing $ at the end (a ":port" or a final
//     dot may follow): ^t.me$ is only t.me.
//   - payload (dict in OAF): N:xx pairs joined by |, all of which must hold
//     for one payload of one of the first packets of the session, in either
//     direction: the byte at offset N (decimal; negative counts from the end,
//     -1 is the last byte) equals xx (hex). Empty pairs are ignored.
//   - request (OAF): an HTTP request URL pattern. It is kept but not
//     matched, because the engine matches on the host only; an OAF signature
//     whose only condition is a request URL never matches.
//   - search (OAF, 7th field): a byte string the payload must contain, in
//     addition to the dict pairs. The 8th field (OAF's ignore flag) is read
//     and ignored.
//
// A line starting with # is a comment, except #class NAME ..., which sets
// the category of the applications on the lines below it until the next
// #class line: OAF's "#class chat 1 聊天" and tamon's "#class chat 聊天"
// both give the category "chat". Names are UTF-8 and may contain spaces.
// Empty signatures (",,") are skipped, and so is text after the closing ]
// that starts with a colon (OAF appends flags there).
//
// # Matching
//
// A Rules value is immutable once Parse returns it and may be used from any
// number of goroutines. The engine calls PayloadHits from its workers on the
// payloads of the first packets of each session and keeps the indexes it
// returns; when the session ends and its host name is known, Match picks the
// first signature, in file order, that matches the whole session.
//
// # Usage
//
// Usage turns matched sessions into app-usage records per device (client
// MAC) and application, in packet time; see Usage.
package appid

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

// App is an application as named by a features file.
type App struct {
	Name     string
	Category string // from the last #class line above it; "" when none
}

// LineError is a bad line of a features file. The line is skipped; the
// rest of the file still loads.
type LineError struct {
	Path   string
	Line   int // 1-based
	Reason string
}

// Error returns "path:line: reason".
func (e LineError) Error() string {
	return e.Path + ":" + strconv.Itoa(e.Line) + ": " + e.Reason
}

// MaxRules is the most signatures a Rules value holds: PayloadHits reports
// signatures by uint16 index.
const MaxRules = 1 << 16

// maxLine bounds one line of a features file.
const maxLine = 64 << 10

// Load reads and parses the features file at path. The error is non-nil
// only when the file cannot be read at all; bad lines are returned as
// LineErrors with the rules of the good ones.
func Load(path string) (*Rules, []LineError, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, nil, fmt.Errorf("open features file %s: %w", path, err)
	}
	defer f.Close()
	r, errs := Parse(path, f)
	return r, errs, nil
}

// Parse reads a features file from r; path only names it in LineErrors.
// Every bad line is skipped and reported (in line order); the returned
// Rules, never nil, hold the signatures of all the other lines in file
// order. A read error ends the input and is reported as a LineError on the
// line where it happened.
func Parse(path string, r io.Reader) (*Rules, []LineError) {
	b := newBuilder()
	var errs []LineError
	br := bufio.NewReaderSize(r, 64<<10)
	category := ""
	for lineNo := 1; ; lineNo++ {
		line, tooLong, err := readLine(br)
		if err != nil && err != io.EOF {
			errs = append(errs, LineError{path, lineNo, "read: " + err.Error()})
			break
		}
		if err == io.EOF && line == "" && !tooLong {
			break
		}
		if lineNo == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		switch {
		case tooLong:
			errs = append(errs, LineError{path, lineNo, fmt.Sprintf("line longer than %d bytes", maxLine)})
		default:
			if reason := b.line(line, &category); reason != "" {
				errs = append(errs, LineError{path, lineNo, reason})
			}
		}
		if err == io.EOF {
			break
		}
	}
	return b.finish(), errs
}

// readLine returns the next line without its line ending. A line longer
// than maxLine is consumed and reported with tooLong.
func readLine(br *bufio.Reader) (line string, tooLong bool, err error) {
	var sb []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(sb)+len(chunk) > maxLine+2 {
				tooLong, sb = true, nil
			} else {
				sb = append(sb, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if tooLong {
			return "", true, err
		}
		s := strings.TrimSuffix(string(sb), "\n")
		return strings.TrimSuffix(s, "\r"), false, err
	}
}

// line parses one line into b, updating the current category. It returns
// the reason the line is bad, or "".
func (b *builder) line(raw string, category *string) string {
	s := strings.TrimSpace(raw)
	if s == "" {
		return ""
	}
	if s[0] == '#' {
		if rest, ok := strings.CutPrefix(s, "#class"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			f := strings.Fields(rest)
			if len(f) == 0 {
				return "#class line names no category"
			}
			if !utf8.ValidString(f[0]) {
				return "category is not valid UTF-8"
			}
			*category = f[0]
		}
		return ""
	}
	if !utf8.ValidString(s) {
		return "line is not valid UTF-8"
	}
	colon := strings.IndexByte(s, ':')
	if colon < 0 {
		return "no ':' after the app name (want name:[proto;sport;dport;host;payload, ...])"
	}
	name := strings.TrimSpace(s[:colon])
	body := strings.TrimSpace(s[colon+1:])
	if name == "" {
		return "no app name before ':'"
	}
	if !strings.HasPrefix(body, "[") {
		return fmt.Sprintf("app %q: signatures must be in [...] after the ':'", name)
	}
	end := strings.IndexByte(body, ']')
	if end < 0 {
		return fmt.Sprintf("app %q: no closing ']'", name)
	}
	if tail := strings.TrimSpace(body[end+1:]); tail != "" && tail[0] != ':' {
		return fmt.Sprintf("app %q: unexpected text %q after ']'", name, tail)
	}
	var sigs []rule
	oaf := false
	for i, alt := range strings.Split(body[1:end], ",") {
		alt = strings.TrimSpace(alt)
		if alt == "" {
			continue
		}
		rl, isOAF, reason := parseSignature(alt)
		if reason != "" {
			return fmt.Sprintf("app %q, signature %d %q: %s", name, i+1, alt, reason)
		}
		oaf = oaf || isOAF
		sigs = append(sigs, rl)
	}
	if len(sigs) == 0 {
		return fmt.Sprintf("app %q has no signature", name)
	}
	if oaf {
		name = stripOAFID(name)
	}
	if len(b.rules)+len(sigs) > MaxRules {
		return fmt.Sprintf("app %q: its %d signatures would make more than %d in the file", name, len(sigs), MaxRules)
	}
	b.add(App{Name: name, Category: *category}, sigs)
	return ""
}

// stripOAFID drops OAF's leading "1234 " application id.
func stripOAFID(name string) string {
	i := 0
	for i < len(name) && name[i] >= '0' && name[i] <= '9' {
		i++
	}
	if i == 0 || i == len(name) || (name[i] != ' ' && name[i] != '\t') {
		return name
	}
	if rest := strings.TrimSpace(name[i:]); rest != "" {
		return rest
	}
	return name
}

// parseSignature parses "proto;sport;dport;host;payload" (prototype) or
// "proto;sport;dport;host;request;dict[;search[;ignore]]" (OAF).
func parseSignature(s string) (rl rule, oaf bool, reason string) {
	f := strings.Split(s, ";")
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	var payload string
	switch len(f) {
	case 5:
		payload = f[4]
	case 6, 7, 8:
		oaf = true
		rl.request = f[4]
		payload = f[5]
		if len(f) >= 7 {
			rl.search = []byte(f[6])
		}
	default:
		return rl, false, fmt.Sprintf("%d fields; want 5 (proto;sport;dport;host;payload) or 6 (proto;sport;dport;host;request;dict)", len(f))
	}
	switch strings.ToLower(f[0]) {
	case "":
	case "tcp":
		rl.proto = protoTCP
	case "udp":
		rl.proto = protoUDP
	default:
		return rl, oaf, fmt.Sprintf("protocol %q is not tcp, udp or empty", f[0])
	}
	var err error
	if rl.sport, err = parsePorts(f[1]); err != nil {
		return rl, oaf, "sport: " + err.Error()
	}
	if rl.dport, err = parsePorts(f[2]); err != nil {
		return rl, oaf, "dport: " + err.Error()
	}
	if rl.host, err = parseHost(f[3]); err != nil {
		return rl, oaf, "host: " + err.Error()
	}
	if rl.pay, err = parsePayload(payload); err != nil {
		return rl, oaf, "payload: " + err.Error()
	}
	if rl.proto == 0 && rl.sport.any() && rl.dport.any() && rl.host.lit == "" &&
		len(rl.pay) == 0 && len(rl.search) == 0 && rl.request == "" {
		return rl, oaf, "every field is empty, so it would match every session"
	}
	return rl, oaf, ""
}

// parsePorts parses "", "N", "A-B", "!N" and lists of them joined by "|".
func parsePorts(s string) (portSet, error) {
	var ps portSet
	if s == "" {
		return ps, nil
	}
	for _, item := range strings.Split(s, "|") {
		item = strings.TrimSpace(item)
		not := false
		if rest, ok := strings.CutPrefix(item, "!"); ok {
			not, item = true, strings.TrimSpace(rest)
		}
		if item == "" {
			return portSet{}, fmt.Errorf("empty item in %q", s)
		}
		lo, hi, found := strings.Cut(item, "-")
		a, err := parsePort(lo)
		if err != nil {
			return portSet{}, err
		}
		b := a
		if found {
			if b, err = parsePort(hi); err != nil {
				return portSet{}, err
			}
			if b < a {
				return portSet{}, fmt.Errorf("range %q ends before it starts", item)
			}
		}
		ps.ranges = append(ps.ranges, portRange{lo: a, hi: b, not: not})
	}
	return ps, nil
}

func parsePort(s string) (uint16, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("%q is not a port number (0-65535)", s)
	}
	return uint16(n), nil
}

// parseHost lower-cases a host pattern and takes off its ^ and $ anchors.
func parseHost(s string) (hostPattern, error) {
	var h hostPattern
	if s == "" {
		return h, nil
	}
	if rest, ok := strings.CutPrefix(s, "^"); ok {
		h.start, s = true, rest
	}
	if rest, ok := strings.CutSuffix(s, "$"); ok {
		h.end, s = true, rest
	}
	if s == "" {
		return hostPattern{}, errors.New("pattern is empty once its anchors are taken off")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return hostPattern{}, fmt.Errorf("pattern %q contains a space or control character", s)
		}
	}
	h.lit = strings.ToLower(s)
	return h, nil
}

// parsePayload parses "N:xx|N:xx|...".
func parsePayload(s string) ([]payByte, error) {
	var out []payByte
	for _, pair := range strings.Split(s, "|") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		off, val, ok := strings.Cut(pair, ":")
		if !ok || strings.Contains(val, ":") {
			return nil, fmt.Errorf("%q is not N:xx", pair)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(off), 10, 32)
		if err != nil || n > maxLine || n < -maxLine {
			return nil, fmt.Errorf("offset %q in %q is not a decimal number within ±%d", off, pair, maxLine)
		}
		val = strings.TrimSpace(val)
		v, err := strconv.ParseUint(val, 16, 8)
		if err != nil || len(val) > 2 {
			return nil, fmt.Errorf("value %q in %q is not one hex byte", val, pair)
		}
		out = append(out, payByte{off: int32(n), val: byte(v)})
	}
	return out, nil
}
