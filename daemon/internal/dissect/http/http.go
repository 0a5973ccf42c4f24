// Package http parses HTTP/1.x request and response heads from untrusted bytes without allocating, for the HTTP log.
//
// The engine hands the package the bytes of one TCP direction in sequence
// order. [ParseRequest] and [ParseResponse] read the head (start line and
// header fields) of the message at the start of those bytes into a
// caller-owned [Request] or [Response]; a [Body] then says how many of the
// bytes after the head belong to the message body, so that the caller learns
// where the next message of a pipelined or keep-alive connection starts:
//
//	for len(buf) > 0 {
//		err := http.ParseRequest(buf, &req)
//		if err == http.ErrIncomplete { break } // keep buf (at most MaxHead bytes), wait for more
//		if err != nil { break }                // stop reading this direction as HTTP
//		log(&req)                              // copy the fields out of buf first
//		body.StartRequest(&req)
//		n, done, err := body.Skip(buf[req.HeadLen:])
//		buf = buf[req.HeadLen+n:]
//		if err != nil || !done { break } // later bytes go to body.Skip first
//	}
//
// The server direction is read the same way with [ParseResponse] and
// [Body.StartResponse], which needs the method of the request the response
// answers (a response to HEAD has no body). Responses pair with requests in
// order (HTTP/1.1 pipelining keeps order), except that an interim 1xx
// response ([Response.Interim]) is followed by the final response to the same
// request.
//
// Nothing here allocates (Unfold appends to the caller's buffer), keeps a
// reference to its input after returning, or panics on any input. The []byte fields of Request and Response are views
// into the input: they are valid until the caller changes or reuses those
// bytes, and must be copied (for example into a record.Arena) to outlive
// them. Request, Response and Body are not safe for concurrent use; distinct
// values may be used from different goroutines at once.
//
// The parser is lenient where real clients and servers are sloppy and strict
// where being lenient would hide another protocol or misframe the stream:
//
//   - lines may end in CRLF or in LF alone; empty lines before a start line
//     are skipped (RFC 9112 section 2.2);
//   - header names are case-insensitive, may be followed by spaces before the
//     colon, and must otherwise be tokens; values are trimmed of leading and
//     trailing spaces and tabs;
//   - obs-fold continuation lines extend the previous value: the view then
//     spans the fold, and [Unfold] turns it into one line;
//   - of duplicated fields the first wins (Host, User-Agent, Referer,
//     Content-Type); repeated Content-Length fields must agree;
//   - Transfer-Encoding whose final coding is chunked wins over
//     Content-Length; in a request any other final coding is ErrMalformed,
//     in a response it means the body runs until the connection closes;
//   - a request method is any token (WebDAV, SSDP, custom methods), and
//     [IsRequestStart] recognizes the well-known ones on any port; the
//     request target may not contain spaces (ErrMalformed) or control
//     bytes (ErrNotHTTP); HTTP/0.9 request lines are not HTTP/1.x.
package http

import (
	"bytes"
	"errors"
	"strings"
)

// MaxHead is the largest head, in bytes, that ParseRequest and ParseResponse
// accept, counted from the first byte of the input (skipped empty lines
// included) to the end of the empty line that ends the head. It also bounds
// the trailer section of a chunked body.
const MaxHead = 8192

// Errors of ParseRequest, ParseResponse and Body.Skip. They are sentinels:
// compare with errors.Is or ==.
var (
	// ErrIncomplete means the input ends before the head does: the caller
	// should wait for more bytes and parse again from the same start.
	ErrIncomplete = errors.New("http: parse head: input ends inside the head")

	// ErrNotHTTP means the input does not start like an HTTP/1.x message: a
	// request line must be a method token, one space, a target, one space
	// and HTTP/1.x, without control bytes; a status line must start with
	// "HTTP/1.x ". The caller should stop reading this direction as HTTP.
	ErrNotHTTP = errors.New("http: parse head: start line is not HTTP/1.x")

	// ErrTooLong means the head (or the trailer section of a chunked body)
	// is longer than MaxHead; for a head, that the input holds MaxHead
	// bytes and the head has not ended within them.
	ErrTooLong = errors.New("http: parse head: longer than MaxHead")

	// ErrMalformed means an HTTP/1.x start line in a head that breaks the
	// grammar: an empty target or one with spaces, a status code that is
	// not three digits from 100, a header line without a colon or with a
	// name that is not a token, a NUL or bare CR in a header line or the
	// reason phrase, a bad or conflicting Content-Length, a request whose
	// final transfer coding is not chunked, or a folded Content-Length or
	// Transfer-Encoding.
	ErrMalformed = errors.New("http: parse head: malformed")

	// ErrBadChunk means a chunked body whose framing is broken: a chunk
	// size that is not hexadecimal or is 2^60 or more, a chunk-size line
	// longer than 4096 bytes, or chunk data not followed by a line end.
	ErrBadChunk = errors.New("http: skip body: malformed chunked framing")
)

// Request is the head of an HTTP/1.x request. The byte-slice fields are views
// into the input of ParseRequest (see the package comment); a field whose
// header is absent is nil.
type Request struct {
	Method  []byte // any token: GET, PROPFIND, M-SEARCH, ...
	URI     []byte // the request target as sent: origin, absolute, authority or asterisk form
	Version []byte // "HTTP/1.0", "HTTP/1.1", ...

	// Header values, trimmed; the first of duplicated fields. A value with
	// an obs-fold spans the fold: see Unfold.
	Host, UserAgent, Referer, ContentType []byte

	ContentLength int64 // -1 when unknown (absent, or Chunked)
	Chunked       bool  // the final transfer coding is chunked
	HeadLen       int   // bytes of the head, including skipped empty lines and the final empty line
}

// Response is the head of an HTTP/1.x response. The byte-slice fields are
// views into the input of ParseResponse (see the package comment).
type Response struct {
	Version []byte // "HTTP/1.0", "HTTP/1.1", ...
	Status  int    // 100..999
	Reason  []byte // reason phrase, possibly empty

	ContentType []byte // trimmed value of the first Content-Type field, nil if absent

	ContentLength int64 // -1 when unknown (absent, Chunked, or another transfer coding)
	Chunked       bool  // the final transfer coding is chunked
	HeadLen       int   // bytes of the head, including skipped empty lines and the final empty line
}

// Interim reports whether r is an interim 1xx response (100 Continue, 103
// Early Hints, ...), which is followed by another response to the same
// request. 101 Switching Protocols is final: the connection stops being HTTP
// after it.
func (r *Response) Interim() bool { return r.Status >= 100 && r.Status < 200 && r.Status != 101 }

// ParseRequest parses the request head at the start of b into r, which it
// overwrites. On success r.HeadLen is the length of the head and the body,
// if any, starts at b[r.HeadLen:] (see Body.StartRequest). It returns
// ErrIncomplete when b does not yet hold the whole head, ErrNotHTTP when b
// does not start like an HTTP/1.x request, ErrTooLong and ErrMalformed. On
// error the contents of r are unspecified.
//
// Results are stable under growth: when ParseRequest(b) returns anything but
// ErrIncomplete, it returns the same for every longer input that starts with
// b. Empty lines before the request line are skipped.
func ParseRequest(b []byte, r *Request) error {
	*r = Request{ContentLength: -1}
	i := skipEmptyLines(b)
	if i >= MaxHead {
		return ErrTooLong
	}
	if i == len(b) {
		return ErrIncomplete
	}
	lim := min(len(b), MaxHead)

	// Method: a token, then one SP.
	m := i
	for i < lim && isToken(b[i]) {
		i++
	}
	if i == lim {
		return incomplete(b)
	}
	if b[i] != ' ' || i == m {
		return ErrNotHTTP
	}
	r.Method = b[m:i]
	i++

	// Target SP version, up to the end of the line. Control bytes mean
	// another protocol; whether spaces make the target malformed or the
	// line not HTTP depends on how the line ends, so look at it whole.
	t := i
	for ; i < lim; i++ {
		c := b[i]
		if c == '\n' {
			break
		}
		if c == '\r' {
			if i+1 == lim {
				return incomplete(b)
			}
			if b[i+1] != '\n' {
				return ErrNotHTTP
			}
			continue
		}
		if c < ' ' || c == 0x7f {
			return ErrNotHTTP
		}
	}
	if i == lim {
		return incomplete(b)
	}
	line := trimCR(b[t:i])
	// line is "target SP HTTP/1.d".
	n := len(line)
	if n < len(" HTTP/1.0") || line[n-9] != ' ' || !isVersion(line[n-8:]) {
		return ErrNotHTTP
	}
	r.URI = line[:n-9]
	r.Version = line[n-8:]
	if len(r.URI) == 0 {
		return ErrMalformed
	}
	for _, c := range r.URI {
		if c == ' ' || c == '\r' {
			return ErrMalformed
		}
	}

	var h headers
	end, err := h.parse(b, i+1, true)
	if err != nil {
		return err
	}
	r.Host, r.UserAgent, r.Referer, r.ContentType = h.host, h.userAgent, h.referer, h.contentType
	r.HeadLen = end
	switch {
	case h.teSeen && !h.chunked:
		return ErrMalformed
	case h.chunked:
		r.Chunked = true
	default:
		r.ContentLength = h.contentLength
	}
	return nil
}

// ParseResponse parses the response head at the start of b into r, which it
// overwrites. Its errors and guarantees are those of ParseRequest; a status
// line must start with "HTTP/1.x", one space and a three-digit status code,
// followed by a space and a reason phrase or by the end of the line.
func ParseResponse(b []byte, r *Response) error {
	*r = Response{ContentLength: -1}
	i := skipEmptyLines(b)
	if i >= MaxHead {
		return ErrTooLong
	}
	lim := min(len(b), MaxHead)

	// "HTTP/1.d SP", compared as far as b goes.
	const prefix = "HTTP/1.0 "
	for k := 0; k < len(prefix); k++ {
		if i+k == lim {
			return incomplete(b)
		}
		c := b[i+k]
		switch {
		case k == 7:
			if !isDigit(c) {
				return ErrNotHTTP
			}
		case c != prefix[k]:
			return ErrNotHTTP
		}
	}
	r.Version = b[i : i+8]
	i += len(prefix)

	// Three digits, then SP or the end of the line.
	for k := 0; k < 4; k++ {
		if i+k == lim {
			return incomplete(b)
		}
		c := b[i+k]
		if k < 3 {
			if !isDigit(c) {
				return ErrMalformed
			}
			r.Status = r.Status*10 + int(c-'0')
			continue
		}
		if c != ' ' && c != '\r' && c != '\n' {
			return ErrMalformed
		}
	}
	if r.Status < 100 {
		return ErrMalformed
	}
	i += 3

	// Reason phrase up to the end of the line.
	s := i
	for ; i < lim && b[i] != '\n'; i++ {
		if c := b[i]; c == 0 || (c == '\r' && i+1 < lim && b[i+1] != '\n') {
			return ErrMalformed
		}
	}
	if i == lim {
		return incomplete(b)
	}
	r.Reason = trimSpace(trimCR(b[s:i]))

	var h headers
	end, err := h.parse(b, i+1, false)
	if err != nil {
		return err
	}
	r.ContentType = h.contentType
	r.HeadLen = end
	switch {
	case h.chunked:
		r.Chunked = true
	case h.teSeen:
		// Another final coding: the body ends when the connection does.
	default:
		r.ContentLength = h.contentLength
	}
	return nil
}

// headers collects the fields that Request and Response report while
// parse walks the header section.
type headers struct {
	host, userAgent, referer, contentType []byte

	contentLength int64 // -1 until a Content-Length field is seen
	teSeen        bool
	chunked       bool // the final coding of the last Transfer-Encoding field
}

// Kinds of the field a continuation line (obs-fold) would extend.
const (
	foldIgnore = iota // an untracked field, or no field yet: skip the line
	foldValue         // a tracked text field: extend its view
	foldForbid        // Content-Length or Transfer-Encoding: malformed
)

// parse reads header lines from b[i:] up to and including the empty line
// that ends the head, and returns the offset just past it. req selects the
// request fields (Host, User-Agent, Referer) besides those both kinds share.
func (h *headers) parse(b []byte, i int, req bool) (int, error) {
	h.contentLength = -1
	lim := min(len(b), MaxHead)
	fold := foldIgnore
	var field *[]byte // the tracked field a fold extends
	var fieldStart int

	for {
		if i >= lim {
			return 0, incomplete(b)
		}
		// The empty line that ends the head.
		if b[i] == '\n' {
			return i + 1, nil
		}
		if b[i] == '\r' {
			if i+1 == lim {
				return 0, incomplete(b)
			}
			if b[i+1] != '\n' {
				return 0, ErrMalformed
			}
			return i + 2, nil
		}

		// One line, without its line end.
		s := i
		e := bytes.IndexByte(b[s:lim], '\n')
		if e < 0 {
			return 0, incomplete(b)
		}
		line := trimCR(b[s : s+e])
		i = s + e + 1
		if bytes.IndexByte(line, 0) >= 0 || bytes.IndexByte(line, '\r') >= 0 {
			return 0, ErrMalformed
		}

		if line[0] == ' ' || line[0] == '\t' {
			// obs-fold: the line continues the previous field's value.
			switch fold {
			case foldForbid:
				return 0, ErrMalformed
			case foldValue:
				v := trimSpace(line)
				if len(v) == 0 {
					break
				}
				if len(*field) == 0 {
					fieldStart = s + indexNonSpace(line)
				}
				*field = b[fieldStart : s+len(trimRight(line))]
			}
			continue
		}

		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return 0, ErrMalformed
		}
		name := trimRight(line[:colon])
		if len(name) == 0 {
			return 0, ErrMalformed
		}
		for _, c := range name {
			if !isToken(c) {
				return 0, ErrMalformed
			}
		}
		raw := line[colon+1:]
		v := trimSpace(raw)
		vStart := s + colon + 1 + indexNonSpace(raw)

		fold, field = foldIgnore, nil
		var dst *[]byte
		switch len(name) {
		case 4:
			if req && equalFold(name, "host") {
				dst = &h.host
			}
		case 7:
			if req && equalFold(name, "referer") {
				dst = &h.referer
			}
		case 10:
			if req && equalFold(name, "user-agent") {
				dst = &h.userAgent
			}
		case 12:
			if equalFold(name, "content-type") {
				dst = &h.contentType
			}
		case 14:
			if equalFold(name, "content-length") {
				n, ok := parseLength(v)
				if !ok || (h.contentLength >= 0 && h.contentLength != n) {
					return 0, ErrMalformed
				}
				h.contentLength = n
				fold = foldForbid
			}
		case 17:
			if equalFold(name, "transfer-encoding") {
				h.teSeen = true
				h.chunked = equalFold(lastCoding(v), "chunked")
				fold = foldForbid
			}
		}
		if dst != nil && *dst == nil {
			// First occurrence wins; a present but empty value is
			// kept as an empty, non-nil view.
			*dst = b[vStart : vStart+len(v)]
			fold, field, fieldStart = foldValue, dst, vStart
		}
	}
}

// IsRequestStart reports whether b starts with a well-known HTTP method
// followed by a space: a cheap test on the first bytes of a stream, to decide
// whether to read a connection on any port as HTTP. It knows the methods of
// RFC 9110, PATCH, WebDAV and its extensions (RFC 4918, 3253, 3648, 5323,
// 5842), and SSDP/UPnP (M-SEARCH, NOTIFY, SUBSCRIBE, UNSUBSCRIBE). It reports
// false when b is too short to hold the method and the space; ParseRequest
// accepts other method tokens too.
func IsRequestStart(b []byte) bool {
	sp := -1
	for k := 0; k < len(b) && k <= maxKnownMethod; k++ {
		if b[k] == ' ' {
			sp = k
			break
		}
	}
	if sp <= 0 {
		return false
	}
	// " GET " in knownMethods (the concatenation stays on the stack).
	return strings.Contains(knownMethods, " "+string(b[:sp+1]))
}

// maxKnownMethod is the length of the longest method IsRequestStart knows.
const maxKnownMethod = len("UPDATEREDIRECTREF")

// knownMethods are the methods IsRequestStart knows, each between spaces.
const knownMethods = " GET HEAD POST PUT DELETE CONNECT OPTIONS TRACE PATCH" +
	" PROPFIND PROPPATCH MKCOL COPY MOVE LOCK UNLOCK" +
	" SEARCH REPORT CHECKOUT CHECKIN UNCHECKOUT MERGE MKACTIVITY" +
	" MKWORKSPACE VERSION-CONTROL BASELINE-CONTROL LABEL UPDATE" +
	" ORDERPATCH ACL BIND UNBIND REBIND MKCALENDAR MKREDIRECTREF" +
	" UPDATEREDIRECTREF" +
	" M-SEARCH NOTIFY SUBSCRIBE UNSUBSCRIBE "

// IsRequestPrefix reports whether b, too short to hold a method and its
// space, is the start of a method IsRequestStart knows ("G", "POS"): some
// clients send the first bytes of a request in a segment of their own, and
// ParseRequest reads a request across segments.
func IsRequestPrefix(b []byte) bool {
	if len(b) == 0 || len(b) > maxKnownMethod {
		return false
	}
	for _, c := range b {
		if (c < 'A' || c > 'Z') && c != '-' {
			return false
		}
	}
	return strings.Contains(knownMethods, " "+string(b))
}

// IsResponseStart reports whether b starts with "HTTP/1.", a digit and a
// space, as every status line ParseResponse accepts does.
func IsResponseStart(b []byte) bool {
	return len(b) >= 9 && string(b[:7]) == "HTTP/1." && isDigit(b[7]) && b[8] == ' '
}

// IsResponsePrefix reports whether b, too short for IsResponseStart, is the
// start of a status line it would accept ("HTTP/1", "HTTP/1.1"): a server
// may send the first bytes of a response in a segment of their own, and
// ParseResponse reads a response across segments.
func IsResponsePrefix(b []byte) bool {
	const pattern = "HTTP/1.0 " // 0: any digit
	if len(b) == 0 || len(b) >= len(pattern) {
		return false
	}
	for i, c := range b {
		if i == 7 {
			if !isDigit(c) {
				return false
			}
		} else if c != pattern[i] {
			return false
		}
	}
	return true
}

// Unfold returns v with each obs-fold (a line end and the spaces and tabs
// around it) replaced by one space. When v holds no line end it returns v
// itself; otherwise it appends the unfolded text to dst and returns the
// extended slice, so a dst with enough capacity avoids allocation.
func Unfold(dst, v []byte) []byte {
	if bytes.IndexByte(v, '\n') < 0 && bytes.IndexByte(v, '\r') < 0 {
		return v // the usual case, checked in vector steps
	}
	base := len(dst)
	for i := 0; i < len(v); {
		c := v[i]
		if c != '\r' && c != '\n' {
			dst = append(dst, c)
			i++
			continue
		}
		for len(dst) > base && (dst[len(dst)-1] == ' ' || dst[len(dst)-1] == '\t') {
			dst = dst[:len(dst)-1]
		}
		for i < len(v) && (v[i] == '\r' || v[i] == '\n' || v[i] == ' ' || v[i] == '\t') {
			i++
		}
		dst = append(dst, ' ')
	}
	return dst
}

// incomplete is the error for a head that has not ended within b: too long
// once b holds MaxHead bytes, else incomplete.
func incomplete(b []byte) error {
	if len(b) >= MaxHead {
		return ErrTooLong
	}
	return ErrIncomplete
}

// skipEmptyLines returns the offset of the first byte of b that is not CR or LF.
func skipEmptyLines(b []byte) int {
	i := 0
	for i < len(b) && (b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// parseLength parses a Content-Length value: decimal digits, or a list of
// equal values ("42, 42") as some intermediaries send. Values above 2^62
// are refused.
func parseLength(v []byte) (int64, bool) {
	var first int64 = -1
	for len(v) > 0 {
		k := 0
		for k < len(v) && v[k] != ',' {
			k++
		}
		item := trimSpace(v[:k])
		if len(item) == 0 {
			return 0, false
		}
		var n int64
		for _, c := range item {
			if !isDigit(c) || n > (1<<62)/10 {
				return 0, false
			}
			n = n*10 + int64(c-'0')
		}
		if first >= 0 && n != first {
			return 0, false
		}
		first = n
		if k == len(v) {
			break
		}
		v = v[k+1:]
		if len(trimSpace(v)) == 0 {
			return 0, false
		}
	}
	return first, first >= 0
}

// lastCoding returns the last element of a comma-separated list of
// transfer codings, without parameters or surrounding spaces.
func lastCoding(v []byte) []byte {
	for k := len(v) - 1; k >= 0; k-- {
		if v[k] == ',' {
			v = v[k+1:]
			break
		}
	}
	for k, c := range v {
		if c == ';' {
			v = v[:k]
			break
		}
	}
	return trimSpace(v)
}

// isVersion reports whether v is "HTTP/1." followed by one digit.
func isVersion(v []byte) bool {
	return len(v) == 8 && string(v[:7]) == "HTTP/1." && isDigit(v[7])
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isToken reports whether c is a tchar of RFC 9110 section 5.6.2.
func isToken(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// equalFold reports whether b equals the lower-case ASCII string s, ignoring
// the case of b's letters.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for k := range len(s) {
		c := b[k]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[k] {
			return false
		}
	}
	return true
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

func trimRight(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func indexNonSpace(b []byte) int {
	k := 0
	for k < len(b) && (b[k] == ' ' || b[k] == '\t') {
		k++
	}
	return k
}

func trimSpace(b []byte) []byte { return trimRight(b[indexNonSpace(b):]) }
