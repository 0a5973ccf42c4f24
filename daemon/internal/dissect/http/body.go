package http

// Body follows the body of one message through the bytes after its head and
// says where it ends, so the caller knows where the next message starts. It
// handles a Content-Length body, a chunked body (chunk sizes, extensions and
// trailer fields are read as they stream by, in pieces of any size, without
// buffering), a body that lasts until the connection closes, and no body.
//
// The zero Body has no body (Skip reports done at once). A Body holds no
// reference to the bytes it is given, and is reused by calling a Start method
// again. It is not safe for concurrent use.
type Body struct {
	mode  uint8
	state uint8 // chunked: where in the framing the next byte falls
	n     int64 // length mode, or chunked data state: body bytes still to come
	line  int   // chunked: bytes of the current chunk-size line, or of the trailer section
	err   error // sticky
}

// Body modes.
const (
	modeNone = iota // no body, or the body has ended
	modeLength
	modeClose
	modeChunked
)

// States of the chunked framing.
const (
	chSize      = iota // first hex digit of a chunk size
	chSizeMore         // more hex digits, or what ends them
	chExt              // chunk extension or spaces, up to LF
	chData             // n bytes of chunk data
	chDataEnd          // CR or LF after chunk data
	chDataLF           // LF after that CR
	chTrailer          // the start of a trailer line, or the final empty line
	chTrailerLF        // LF of the final empty line, after its CR
	chTrailerIn        // inside a trailer field line, up to LF
)

// maxChunkLine bounds a chunk-size line (size, extensions, line end).
const maxChunkLine = 4096

// Start prepares b for a new body. Chunked wins over contentLength; else a
// contentLength >= 0 gives a body of that many bytes; else untilClose gives a
// body that lasts until the connection closes (Skip consumes everything and
// never reports done); else there is no body.
func (b *Body) Start(contentLength int64, chunked bool, untilClose bool) {
	*b = Body{}
	switch {
	case chunked:
		b.mode, b.state = modeChunked, chSize
	case contentLength > 0:
		b.mode, b.n = modeLength, contentLength
	case contentLength == 0:
	case untilClose:
		b.mode = modeClose
	}
}

// StartRequest prepares b for the body of request r: chunked, or
// Content-Length bytes, or none (a request without either has no body).
func (b *Body) StartRequest(r *Request) { b.Start(r.ContentLength, r.Chunked, false) }

// StartResponse prepares b for the body of response r to a request whose
// method was requestMethod (nil when unknown). Responses to HEAD and 1xx, 204
// and 304 responses have no body (RFC 9110 section 6.4.1). After 101
// Switching Protocols, and after a 2xx response to CONNECT, the connection
// carries another protocol: the rest of the stream is treated as a body that
// lasts until the connection closes. Otherwise the body is chunked, or
// Content-Length bytes, or lasts until the connection closes.
func (b *Body) StartResponse(r *Response, requestMethod []byte) {
	switch {
	case r.Status == 101,
		r.Status/100 == 2 && string(requestMethod) == "CONNECT":
		b.Start(-1, false, true)
	case string(requestMethod) == "HEAD", r.Status < 200, r.Status == 204, r.Status == 304:
		b.Start(0, false, false)
	default:
		b.Start(r.ContentLength, r.Chunked, true)
	}
}

// Skip reads p, the next bytes of the stream after those it was given before
// (after the head, for the first call), and returns how many of them belong
// to the body. done reports that the body has ended: the next message starts
// at p[consumed:]. While done is false, consumed is len(p). Once done, Skip
// returns (0, true, nil) until the next Start. On broken chunked framing it
// returns ErrBadChunk, and ErrTooLong for a trailer section longer than
// MaxHead; the error is sticky, and the stream cannot be followed further.
func (b *Body) Skip(p []byte) (consumed int, done bool, err error) {
	if b.err != nil {
		return 0, false, b.err
	}
	switch b.mode {
	case modeLength:
		n := len(p)
		if int64(n) >= b.n {
			n = int(b.n)
		}
		b.n -= int64(n)
		if b.n == 0 {
			b.mode = modeNone
			return n, true, nil
		}
		return n, false, nil
	case modeClose:
		return len(p), false, nil
	case modeChunked:
		return b.chunked(p)
	}
	return 0, true, nil
}

// Done reports whether the body has ended.
func (b *Body) Done() bool { return b.mode == modeNone && b.err == nil }

// Remaining returns how many more bytes are body bytes for sure, without
// looking at them: the rest of a Content-Length body or of the current chunk's
// data. A caller that does not keep body bytes may pass any bytes of that
// length to Skip (or account for lost segments). It is -1 for a body that
// lasts until the connection closes and 0 when the next bytes are framing
// or the body has ended.
func (b *Body) Remaining() int64 {
	switch {
	case b.err != nil:
		return 0
	case b.mode == modeLength:
		return b.n
	case b.mode == modeClose:
		return -1
	case b.mode == modeChunked && b.state == chData:
		return b.n
	}
	return 0
}

// chunked runs the chunked-framing state machine over p.
func (b *Body) chunked(p []byte) (int, bool, error) {
	i := 0
	for i < len(p) {
		if b.state == chData {
			n := len(p) - i
			if int64(n) > b.n {
				n = int(b.n)
			}
			i += n
			b.n -= int64(n)
			if b.n == 0 {
				b.state = chDataEnd
			}
			continue
		}
		c := p[i]
		i++
		switch b.state {
		case chSize, chSizeMore:
			b.line++
			if b.line > maxChunkLine {
				return b.fail(i, ErrBadChunk)
			}
			if d, ok := hexDigit(c); ok {
				if b.n >= 1<<56 { // the size would reach 2^60
					return b.fail(i, ErrBadChunk)
				}
				b.n = b.n<<4 | int64(d)
				b.state = chSizeMore
				continue
			}
			if b.state == chSize {
				return b.fail(i, ErrBadChunk)
			}
			switch c {
			case '\n':
				b.endSizeLine()
			case ' ', '\t', ';', '\r':
				b.state = chExt
			default:
				return b.fail(i, ErrBadChunk)
			}
		case chExt:
			b.line++
			if b.line > maxChunkLine {
				return b.fail(i, ErrBadChunk)
			}
			if c == '\n' {
				b.endSizeLine()
			}
		case chDataEnd:
			switch c {
			case '\r':
				b.state = chDataLF
			case '\n':
				b.state, b.line = chSize, 0
			default:
				return b.fail(i, ErrBadChunk)
			}
		case chDataLF:
			if c != '\n' {
				return b.fail(i, ErrBadChunk)
			}
			b.state, b.line = chSize, 0
		case chTrailer, chTrailerLF, chTrailerIn:
			b.line++
			if b.line > MaxHead {
				return b.fail(i, ErrTooLong)
			}
			switch {
			case b.state == chTrailerIn:
				if c == '\n' {
					b.state = chTrailer
				}
			case c == '\n':
				b.mode = modeNone
				return i, true, nil
			case b.state == chTrailerLF:
				return b.fail(i, ErrBadChunk)
			case c == '\r':
				b.state = chTrailerLF
			default:
				b.state = chTrailerIn
			}
		}
	}
	return i, false, nil
}

// endSizeLine moves on after the line end of a chunk-size line: to the data,
// or to the trailer section after the last chunk.
func (b *Body) endSizeLine() {
	b.line = 0
	if b.n == 0 {
		b.state = chTrailer
		return
	}
	b.state = chData
}

func (b *Body) fail(i int, err error) (int, bool, error) {
	b.err = err
	return i, false, err
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
