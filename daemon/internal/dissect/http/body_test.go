package http

import (
	"errors"
	"strings"
	"testing"
)

type bodyTest struct {
	name       string
	cl         int64
	chunked    bool
	untilClose bool
	in         string
	consumed   int // when done
	done       bool
	err        error
}

// wikiChunks is a chunked body with extensions, upper- and lower-case hex,
// LF-only line ends and a trailer field, followed by the next message.
const wikiChunks = "4\r\nWiki\r\n5;name=value\r\npedia\r\nE \r\n in\r\n\r\nchunks.\r\n" +
	"a\nabcdefghij\n0000;last\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n"

// bodyTests returns the hand-written bodies; the fuzz test seeds from them.
func bodyTests() []bodyTest {
	return []bodyTest{
		{name: "length", cl: 5, in: "helloGET", consumed: 5, done: true},
		{name: "length exact", cl: 5, in: "hello", consumed: 5, done: true},
		{name: "length short", cl: 5, in: "hel", consumed: 3},
		{name: "length zero", cl: 0, in: "GET", consumed: 0, done: true},
		{name: "none", cl: -1, in: "GET", consumed: 0, done: true},
		{name: "until close", cl: -1, untilClose: true, in: "lots of bytes", consumed: 13},
		{name: "length wins over close", cl: 2, untilClose: true, in: "abc", consumed: 2, done: true},
		{name: "chunked", chunked: true, in: wikiChunks + "NEXT", consumed: len(wikiChunks), done: true},
		{name: "chunked wins", cl: 3, chunked: true, in: "0\r\n\r\nX", consumed: 5, done: true},
		{name: "chunked LF only", chunked: true, in: "3\nabc\n0\n\nX", consumed: 9, done: true},
		{name: "chunked space before CRLF", chunked: true, in: "3 \r\nabc\r\n0\t\r\n\r\n", consumed: 15, done: true},
		{name: "chunked unfinished", chunked: true, in: "10\r\nabc", consumed: 7},
		{name: "chunked no trailer end", chunked: true, in: "0\r\nX-T: 1\r\n", consumed: 11},
		{name: "chunked size not hex", chunked: true, in: "zz\r\n", err: ErrBadChunk},
		{name: "chunked empty size", chunked: true, in: "\r\n", err: ErrBadChunk},
		{name: "chunked size then junk", chunked: true, in: "3x\r\nabc\r\n", err: ErrBadChunk},
		{name: "chunked data not ended", chunked: true, in: "3\r\nabcd\r\n", err: ErrBadChunk},
		{name: "chunked CR without LF", chunked: true, in: "3\r\nabc\rX", err: ErrBadChunk},
		{name: "chunked trailer CR without LF", chunked: true, in: "0\r\n\rX", err: ErrBadChunk},
		{name: "chunked size overflow", chunked: true, in: "1000000000000000\r\n", err: ErrBadChunk},
		{name: "chunked largest size", chunked: true, in: "fffffffffffffff\r\nabc", consumed: 20},
		{name: "chunked endless zeros", chunked: true, in: strings.Repeat("0", maxChunkLine+1), err: ErrBadChunk},
		{name: "chunked endless extension", chunked: true, in: "1;" + strings.Repeat("x", maxChunkLine), err: ErrBadChunk},
		{name: "chunked endless trailer", chunked: true, in: "0\r\nX: " + strings.Repeat("t", MaxHead), err: ErrTooLong},
	}
}

// skipAll feeds pieces to a fresh body, stopping at done or an error.
func skipAll(tt bodyTest, pieces []string) (consumed int, done bool, err error) {
	var b Body
	b.Start(tt.cl, tt.chunked, tt.untilClose)
	for _, p := range pieces {
		n, d, e := b.Skip([]byte(p))
		consumed += n
		if e != nil {
			return consumed, false, e
		}
		if d {
			return consumed, true, nil
		}
		if n != len(p) {
			return consumed, false, errors.New("consumed less than the piece without being done")
		}
	}
	return consumed, false, nil
}

func TestBody(t *testing.T) {
	for _, tt := range bodyTests() {
		t.Run(tt.name, func(t *testing.T) {
			check := func(how string, consumed int, done bool, err error) {
				t.Helper()
				if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
					t.Fatalf("%s: err = %v, want %v", how, err, tt.err)
				}
				if err == nil && (consumed != tt.consumed || done != tt.done) {
					t.Fatalf("%s: consumed %d done %v, want %d %v", how, consumed, done, tt.consumed, tt.done)
				}
			}
			c, d, err := skipAll(tt, []string{tt.in})
			check("whole", c, d, err)
			// Split in two at every byte.
			for k := 0; k <= len(tt.in); k++ {
				c, d, err := skipAll(tt, []string{tt.in[:k], tt.in[k:]})
				check("split at "+itoa(k), c, d, err)
			}
			// One byte at a time.
			pieces := make([]string, len(tt.in))
			for k := range tt.in {
				pieces[k] = tt.in[k : k+1]
			}
			c, d, err = skipAll(tt, pieces)
			check("bytewise", c, d, err)
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestBodyAfterDoneAndError(t *testing.T) {
	var b Body
	if !b.Done() {
		t.Error("zero Body is not done")
	}
	if n, done, err := b.Skip([]byte("x")); n != 0 || !done || err != nil {
		t.Errorf("zero Body Skip = %d %v %v", n, done, err)
	}
	b.Start(2, false, false)
	if b.Done() {
		t.Error("Done before the body")
	}
	b.Skip([]byte("ab"))
	if n, done, err := b.Skip([]byte("cd")); n != 0 || !done || err != nil || !b.Done() {
		t.Errorf("after done: Skip = %d %v %v", n, done, err)
	}
	b.Start(-1, true, false)
	if _, _, err := b.Skip([]byte("g\r\n")); err != ErrBadChunk {
		t.Fatalf("err = %v", err)
	}
	if n, done, err := b.Skip([]byte("0\r\n\r\n")); n != 0 || done || err != ErrBadChunk || b.Done() {
		t.Errorf("error not sticky: %d %v %v", n, done, err)
	}
	b.Start(0, false, false)
	if !b.Done() {
		t.Error("Start did not clear the error")
	}
}

func TestBodyRemaining(t *testing.T) {
	var b Body
	b.Start(10, false, false)
	b.Skip([]byte("abc"))
	if got := b.Remaining(); got != 7 {
		t.Errorf("length body: Remaining = %d, want 7", got)
	}
	b.Start(-1, false, true)
	if got := b.Remaining(); got != -1 {
		t.Errorf("until close: Remaining = %d, want -1", got)
	}
	b.Start(-1, true, false)
	if got := b.Remaining(); got != 0 {
		t.Errorf("chunk size line: Remaining = %d, want 0", got)
	}
	b.Skip([]byte("1F\r\n0123"))
	if got := b.Remaining(); got != 27 {
		t.Errorf("in chunk data: Remaining = %d, want 27", got)
	}
	// Skipping exactly Remaining bytes lands on the framing again.
	b.Skip(make([]byte, 27))
	if got := b.Remaining(); got != 0 {
		t.Errorf("after chunk data: Remaining = %d, want 0", got)
	}
	if n, done, err := b.Skip([]byte("\r\n0\r\n\r\n")); n != 7 || !done || err != nil {
		t.Errorf("end of chunked body: %d %v %v", n, done, err)
	}
}

func TestStartResponse(t *testing.T) {
	const after = "HTTP/1.1 200 OK\r\n"
	for _, tt := range []struct {
		name     string
		head     string
		method   string
		body     string // the body bytes that precede after
		forever  bool   // the rest of the stream is body
		consumed int
	}{
		{name: "length", head: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", method: "GET", body: "abc"},
		{name: "HEAD with length", head: "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", method: "HEAD"},
		{name: "HEAD chunked", head: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", method: "HEAD"},
		{name: "HEAD without length", head: "HTTP/1.0 200 OK\r\n\r\n", method: "HEAD"},
		{name: "204", head: "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", method: "GET"},
		{name: "304", head: "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", method: "GET"},
		{name: "100", head: "HTTP/1.1 100 Continue\r\n\r\n", method: "POST"},
		{name: "103", head: "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n", method: "GET"},
		{name: "chunked", head: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", method: "GET", body: "2\r\nab\r\n0\r\n\r\n"},
		{name: "unknown method", head: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", body: "ab"},
		{name: "until close", head: "HTTP/1.0 200 OK\r\n\r\n", method: "GET", forever: true},
		{name: "other coding until close", head: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\n", method: "GET", forever: true},
		{name: "101", head: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", method: "GET", forever: true},
		{name: "CONNECT 200", head: "HTTP/1.1 200 Connection established\r\n\r\n", method: "CONNECT", forever: true},
		{name: "CONNECT 407", head: "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 1\r\n\r\n", method: "CONNECT", body: "x"},
		{name: "404 to HEAD", head: "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\n", method: "HEAD"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var r Response
			in := []byte(tt.head + tt.body + after)
			if err := ParseResponse(in, &r); err != nil {
				t.Fatal(err)
			}
			var b Body
			var m []byte
			if tt.method != "" {
				m = []byte(tt.method)
			}
			b.StartResponse(&r, m)
			n, done, err := b.Skip(in[r.HeadLen:])
			if err != nil {
				t.Fatal(err)
			}
			if tt.forever {
				if done || n != len(in)-r.HeadLen {
					t.Errorf("consumed %d done %v, want all the rest and not done", n, done)
				}
				return
			}
			if !done || n != len(tt.body) {
				t.Errorf("consumed %d done %v, want %d true", n, done, len(tt.body))
			}
		})
	}
}

// TestPipelinedRequests parses several requests sent back to back in one
// buffer: head, body, next head.
func TestPipelinedRequests(t *testing.T) {
	stream := "GET /a HTTP/1.1\r\nHost: example.com\r\n\r\n" +
		"POST /b HTTP/1.1\r\nHost: example.com\r\nContent-Length: 11\r\n\r\nhello world" +
		"PUT /c HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" +
		"\r\n" + // a stray line end between messages, as old clients send after a POST
		"HEAD /d HTTP/1.0\r\n\r\n" +
		"DELETE /e HTTP/1.1\r\nHost: other.example\r\n\r\n"
	want := []string{"GET /a", "POST /b", "PUT /c", "HEAD /d", "DELETE /e"}

	// By hand, as the package comment shows.
	var got []string
	buf := []byte(stream)
	var req Request
	var body Body
	for len(buf) > 0 {
		if err := ParseRequest(buf, &req); err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got = append(got, string(req.Method)+" "+string(req.URI))
		body.StartRequest(&req)
		n, done, err := body.Skip(buf[req.HeadLen:])
		if err != nil || !done {
			t.Fatalf("body of %s: done %v err %v", req.URI, done, err)
		}
		buf = buf[req.HeadLen+n:]
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %v, want %v", got, want)
	}

	// The same stream cut at every byte, and byte by byte.
	for k := 0; k <= len(stream); k++ {
		f := follower{}
		f.feed([]byte(stream[:k]), 1)
		f.feed([]byte(stream[k:]), 2)
		checkFollowed(t, "split at "+itoa(k), &f, want)
	}
	f := follower{}
	for k := range len(stream) {
		f.feed([]byte{stream[k]}, k)
	}
	checkFollowed(t, "bytewise", &f, want)
}

func checkFollowed(t *testing.T, how string, f *follower, want []string) {
	t.Helper()
	if f.err != nil {
		t.Fatalf("%s: %v", how, f.err)
	}
	var got []string
	for _, m := range f.msgs {
		if m.method != "" {
			got = append(got, m.method+" "+m.uri)
		} else {
			got = append(got, itoa(m.status)+" "+m.ctype)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("%s: got %v, want %v", how, got, want)
	}
}

// TestPipelinedResponses frames responses by the requests they answer:
// HEAD responses and 1xx/204/304 carry no body even with a Content-Length.
func TestPipelinedResponses(t *testing.T) {
	reqs := &follower{}
	reqs.feed([]byte("GET /1 HTTP/1.1\r\n\r\nHEAD /2 HTTP/1.1\r\n\r\nPOST /3 HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"+
		"GET /4 HTTP/1.1\r\n\r\nGET /5 HTTP/1.1\r\n\r\nGET /6 HTTP/1.1\r\n\r\n"), 1)
	if reqs.err != nil || len(reqs.msgs) != 6 {
		t.Fatalf("requests: %v %v", reqs.msgs, reqs.err)
	}
	stream := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc" +
		"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n" + // to HEAD: no body
		"HTTP/1.1 100 Continue\r\n\r\n" +
		"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n" +
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 77\r\n\r\n" +
		"HTTP/1.1 204 No Content\r\n\r\n" +
		"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\n<html>until close</html>"
	want := []string{"200 text/plain", "200 text/html", "100 ", "201 application/json", "304 ", "204 ", "404 text/html"}
	for k := 0; k <= len(stream); k++ {
		f := follower{response: true, method: methodOf(reqs)}
		f.feed([]byte(stream[:k]), 1)
		f.feed([]byte(stream[k:]), 2)
		checkFollowed(t, "split at "+itoa(k), &f, want)
		if !f.inBody || f.body.Remaining() != -1 {
			t.Fatalf("split at %d: last body should last until close", k)
		}
	}
	f := follower{response: true, method: methodOf(reqs)}
	for k := range len(stream) {
		f.feed([]byte{stream[k]}, k)
	}
	checkFollowed(t, "bytewise", &f, want)
}
