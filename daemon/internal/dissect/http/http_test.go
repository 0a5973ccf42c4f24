package http

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// reqWant is what ParseRequest must make of a head; unset strings are
// compared too (an absent header gives "").
type reqWant struct {
	method, uri, version, host, ua, referer, ctype string
	cl                                             int64
	chunked                                        bool
	headLen                                        int // 0: the whole input
}

type reqTest struct {
	name string
	in   string
	err  error
	want reqWant
}

// requestTests returns the hand-written request heads; the fuzz test seeds
// from them too.
func requestTests() []reqTest {
	long := strings.Repeat("a", MaxHead)
	get := reqWant{method: "GET", uri: "/", version: "HTTP/1.1", host: "example.com", cl: -1}
	with := func(w reqWant, f func(*reqWant)) reqWant { f(&w); return w }
	// head builds a head with the given lines and an end of exactly
	// total bytes, padding an X-Pad field.
	head := func(total int) string {
		const pre = "GET / HTTP/1.1\r\nHost: example.com\r\nX-Pad: "
		return pre + strings.Repeat("p", total-len(pre)-4) + "\r\n\r\n"
	}
	return []reqTest{
		{name: "minimal", in: "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", want: get},
		{name: "LF only", in: "GET / HTTP/1.1\nHost: example.com\n\n", want: get},
		{name: "mixed line ends", in: "GET / HTTP/1.1\r\nHost: example.com\n\r\n", want: get},
		{name: "HTTP/1.0 no headers", in: "GET /index.html HTTP/1.0\r\n\r\n",
			want: reqWant{method: "GET", uri: "/index.html", version: "HTTP/1.0", cl: -1}},
		{name: "all fields", in: "POST /form?a=1&b=2 HTTP/1.1\r\n" +
			"Host: www.example.com:8080\r\n" +
			"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/115.0\r\n" +
			"Referer: http://www.example.com/start\r\n" +
			"Content-Type: application/x-www-form-urlencoded\r\n" +
			"Content-Length: 7\r\n\r\n" + "a=1&b=2",
			want: reqWant{method: "POST", uri: "/form?a=1&b=2", version: "HTTP/1.1", host: "www.example.com:8080",
				ua: "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/115.0", referer: "http://www.example.com/start",
				ctype: "application/x-www-form-urlencoded", cl: 7, headLen: 240}},
		{name: "header names any case", in: "GET / HTTP/1.1\r\nhOsT: example.com\r\nUSER-AGENT: curl/8.0\r\nREFERER: r\r\ncontent-TYPE: t/x\r\nCONTENT-LENGTH: 0\r\n\r\n",
			want: with(get, func(w *reqWant) { w.ua, w.referer, w.ctype, w.cl = "curl/8.0", "r", "t/x", 0 })},
		{name: "values trimmed", in: "GET / HTTP/1.1\r\nHost: \t example.com \t\r\nUser-Agent:x\r\n\r\n",
			want: with(get, func(w *reqWant) { w.ua = "x" })},
		{name: "space before colon", in: "GET / HTTP/1.1\r\nHost : example.com\r\n\r\n", want: get},
		{name: "duplicate host first wins", in: "GET / HTTP/1.1\r\nHost: example.com\r\nHost: evil.example\r\nUser-Agent: a\r\nUser-Agent: b\r\n\r\n",
			want: with(get, func(w *reqWant) { w.ua = "a" })},
		{name: "empty host kept", in: "GET / HTTP/1.1\r\nHost:\r\nHost: late.example\r\n\r\n",
			want: with(get, func(w *reqWant) { w.host = "" })},
		{name: "obs-fold", in: "GET / HTTP/1.1\r\nUser-Agent: Agent/1.0\r\n  (compatible;\r\n\tfolded)\r\nHost: example.com\r\n\r\n",
			want: with(get, func(w *reqWant) { w.ua = "Agent/1.0\r\n  (compatible;\r\n\tfolded)" })},
		{name: "obs-fold LF", in: "GET / HTTP/1.1\nUser-Agent: A\n B\nHost: example.com\n\n",
			want: with(get, func(w *reqWant) { w.ua = "A\n B" })},
		{name: "obs-fold onto empty value", in: "GET / HTTP/1.1\r\nUser-Agent:\r\n   late\r\nHost: example.com\r\n\r\n",
			want: with(get, func(w *reqWant) { w.ua = "late" })},
		{name: "obs-fold of untracked field", in: "GET / HTTP/1.1\r\nX-Long: a\r\n b\r\nHost: example.com\r\n\r\n", want: get},
		{name: "obs-fold of a later duplicate ignored", in: "GET / HTTP/1.1\r\nHost: example.com\r\nHost: b\r\n c\r\n\r\n", want: get},
		{name: "whitespace line before first header ignored", in: "GET / HTTP/1.1\r\n  stray\r\nHost: example.com\r\n\r\n", want: get},
		{name: "obs-fold of Content-Length", in: "GET / HTTP/1.1\r\nContent-Length: 1\r\n 2\r\n\r\n", err: ErrMalformed},
		{name: "obs-fold of Transfer-Encoding", in: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n gzip\r\n\r\n", err: ErrMalformed},
		{name: "leading empty lines skipped", in: "\r\n\r\nGET / HTTP/1.1\r\nHost: example.com\r\n\r\n", want: get},
		{name: "webdav method", in: "PROPFIND /dav/ HTTP/1.1\r\nDepth: 1\r\n\r\n",
			want: reqWant{method: "PROPFIND", uri: "/dav/", version: "HTTP/1.1", cl: -1}},
		{name: "custom method", in: "FOOBAR /x HTTP/1.1\r\n\r\n",
			want: reqWant{method: "FOOBAR", uri: "/x", version: "HTTP/1.1", cl: -1}},
		{name: "token method with punctuation", in: "CCM_POST / HTTP/1.1\r\n\r\n",
			want: reqWant{method: "CCM_POST", uri: "/", version: "HTTP/1.1", cl: -1}},
		{name: "ssdp", in: "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n",
			want: reqWant{method: "M-SEARCH", uri: "*", version: "HTTP/1.1", host: "239.255.255.250:1900", cl: -1}},
		{name: "options asterisk", in: "OPTIONS * HTTP/1.1\r\nHost: example.com\r\n\r\n",
			want: with(get, func(w *reqWant) { w.method, w.uri = "OPTIONS", "*" })},
		{name: "connect authority form", in: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
			want: with(get, func(w *reqWant) { w.method, w.uri, w.host = "CONNECT", "example.com:443", "example.com:443" })},
		{name: "absolute form", in: "GET http://example.com/a?b HTTP/1.1\r\nHost: example.com\r\n\r\n",
			want: with(get, func(w *reqWant) { w.uri = "http://example.com/a?b" })},
		{name: "utf-8 in target", in: "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: example.com\r\n\r\n",
			want: with(get, func(w *reqWant) { w.uri = "/caf\xc3\xa9" })},
		{name: "HTTP/1.9", in: "GET / HTTP/1.9\r\nHost: example.com\r\n\r\n",
			want: with(get, func(w *reqWant) { w.version = "HTTP/1.9" })},
		{name: "body not read", in: "GET / HTTP/1.1\r\nHost: example.com\r\n\r\nGET /next HTTP/1.1\r\n",
			want: with(get, func(w *reqWant) { w.headLen = 37 })},
		{name: "content-length list", in: "POST / HTTP/1.1\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n",
			want: reqWant{method: "POST", uri: "/", version: "HTTP/1.1", cl: 5}},
		{name: "content-length large", in: "PUT / HTTP/1.1\r\nContent-Length: 4611686018427387904\r\n\r\n",
			want: reqWant{method: "PUT", uri: "/", version: "HTTP/1.1", cl: 1 << 62}},
		{name: "content-length too large", in: "PUT / HTTP/1.1\r\nContent-Length: 46116860184273879040\r\n\r\n", err: ErrMalformed},
		{name: "content-length conflict", in: "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", err: ErrMalformed},
		{name: "content-length list conflict", in: "POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n", err: ErrMalformed},
		{name: "content-length negative", in: "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", err: ErrMalformed},
		{name: "content-length empty", in: "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", err: ErrMalformed},
		{name: "content-length trailing comma", in: "POST / HTTP/1.1\r\nContent-Length: 5,\r\n\r\n", err: ErrMalformed},
		{name: "content-length hex", in: "POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", err: ErrMalformed},
		{name: "chunked", in: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
			want: reqWant{method: "POST", uri: "/", version: "HTTP/1.1", cl: -1, chunked: true}},
		{name: "chunked wins over length", in: "POST / HTTP/1.1\r\nContent-Length: 10\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n",
			want: reqWant{method: "POST", uri: "/", version: "HTTP/1.1", cl: -1, chunked: true}},
		{name: "chunked over two fields", in: "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
			want: reqWant{method: "POST", uri: "/", version: "HTTP/1.1", cl: -1, chunked: true}},
		{name: "chunked not final", in: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", err: ErrMalformed},
		{name: "transfer-encoding without chunked", in: "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n", err: ErrMalformed},

		{name: "space in target", in: "GET /a b HTTP/1.1\r\nHost: example.com\r\n\r\n", err: ErrMalformed},
		{name: "empty target", in: "GET  HTTP/1.1\r\n\r\n", err: ErrMalformed},
		{name: "header without colon", in: "GET / HTTP/1.1\r\nHost example.com\r\n\r\n", err: ErrMalformed},
		{name: "header name not a token", in: "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", err: ErrMalformed},
		{name: "empty header name", in: "GET / HTTP/1.1\r\n: x\r\n\r\n", err: ErrMalformed},
		{name: "NUL in value", in: "GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n", err: ErrMalformed},
		{name: "bare CR in value", in: "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", err: ErrMalformed},
		{name: "bare CR ending the head", in: "GET / HTTP/1.1\r\nHost: a\r\n\rX", err: ErrMalformed},

		{name: "HTTP/0.9", in: "GET /\r\n\r\n", err: ErrNotHTTP},
		{name: "one space no version", in: "GET /HTTP/1.1\r\nHost: example.com\r\n\r\n", err: ErrNotHTTP},
		{name: "version cut", in: "GET / HTTP/1.\r\nHost: example.com\r\n\r\n", err: ErrNotHTTP},
		{name: "HTTP/2 preface", in: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", err: ErrNotHTTP},
		{name: "HTTP/1.10", in: "GET / HTTP/1.10\r\n\r\n", err: ErrNotHTTP},
		{name: "lower-case version", in: "GET / http/1.1\r\n\r\n", err: ErrNotHTTP},
		{name: "trailing space", in: "GET / HTTP/1.1 \r\n\r\n", err: ErrNotHTTP},
		{name: "method only", in: "OPTIONS\r\nHost: example.com\r\n\r\n", err: ErrNotHTTP},
		{name: "method and version", in: "OPTIONS HTTP/1.1\r\nHost: example.com\r\n\r\n", err: ErrNotHTTP},
		{name: "no space after method", in: "GET/ HTTP/1.1\r\n\r\n", err: ErrNotHTTP},
		{name: "leading space", in: " GET / HTTP/1.1\r\n\r\n", err: ErrNotHTTP},
		{name: "non-token method", in: "\xc3\x82\xc3 / HTTP/1.1\r\n\r\n", err: ErrNotHTTP},
		{name: "tls", in: "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", err: ErrNotHTTP},
		{name: "ssh", in: "SSH-2.0-OpenSSH_9.6\r\n", err: ErrNotHTTP},
		{name: "smtp", in: "EHLO mail.example.com\r\n", err: ErrNotHTTP},
		{name: "control byte in target", in: "GET /\x01 HTTP/1.1\r\n\r\n", err: ErrNotHTTP},
		{name: "tab in target", in: "GET /\tx HTTP/1.1\r\n\r\n", err: ErrNotHTTP},
		{name: "bare CR in request line", in: "GET /\rx HTTP/1.1\r\n\r\n", err: ErrNotHTTP},
		{name: "early control byte", in: "GET /\x00", err: ErrNotHTTP},

		{name: "empty", in: "", err: ErrIncomplete},
		{name: "empty lines only", in: "\r\n\r\n", err: ErrIncomplete},
		{name: "method prefix", in: "GE", err: ErrIncomplete},
		{name: "request line cut", in: "GET /index.ht", err: ErrIncomplete},
		{name: "CR at end", in: "GET / HTTP/1.1\r", err: ErrIncomplete},
		{name: "headers cut", in: "GET / HTTP/1.1\r\nHost: exa", err: ErrIncomplete},
		{name: "final line end cut", in: "GET / HTTP/1.1\r\nHost: example.com\r\n\r", err: ErrIncomplete},

		{name: "head of MaxHead bytes", in: head(MaxHead), want: reqWant{method: "GET", uri: "/", version: "HTTP/1.1", host: "example.com", cl: -1}},
		{name: "head of MaxHead+1 bytes", in: head(MaxHead + 1), err: ErrTooLong},
		{name: "endless header", in: "GET / HTTP/1.1\r\nX: " + long, err: ErrTooLong},
		{name: "endless target", in: "GET /" + long, err: ErrTooLong},
		{name: "endless method", in: long, err: ErrTooLong},
		{name: "endless empty lines", in: strings.Repeat("\r\n", MaxHead/2) + "GET / HTTP/1.1\r\n\r\n", err: ErrTooLong},
	}
}

func TestParseRequest(t *testing.T) {
	for _, tt := range requestTests() {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			orig := bytes.Clone(in)
			var r Request
			err := ParseRequest(in, &r)
			if !bytes.Equal(in, orig) {
				t.Fatal("ParseRequest modified its input")
			}
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			w := tt.want
			if w.headLen == 0 {
				w.headLen = len(in)
			}
			got := reqWant{string(r.Method), string(r.URI), string(r.Version), string(r.Host), string(r.UserAgent),
				string(r.Referer), string(r.ContentType), r.ContentLength, r.Chunked, r.HeadLen}
			if got != w {
				t.Errorf("got  %+v\nwant %+v", got, w)
			}
			checkViews(t, in, r.Method, r.URI, r.Version, r.Host, r.UserAgent, r.Referer, r.ContentType)
			// Every proper prefix of a complete head is incomplete.
			for k := range r.HeadLen {
				var p Request
				if err := ParseRequest(in[:k], &p); err != ErrIncomplete {
					t.Fatalf("prefix of %d bytes: err = %v, want ErrIncomplete", k, err)
				}
			}
		})
	}
}

// checkViews fails unless every non-nil view lies inside in.
func checkViews(t *testing.T, in []byte, views ...[]byte) {
	t.Helper()
	for _, v := range views {
		if v == nil || len(v) == 0 {
			continue
		}
		off := -1
		for k := range in {
			if &in[k] == &v[0] {
				off = k
				break
			}
		}
		if off < 0 || off+len(v) > len(in) {
			t.Errorf("view %q is not inside the input", v)
		}
	}
}

func TestRequestPresentEmptyHeader(t *testing.T) {
	var r Request
	if err := ParseRequest([]byte("GET / HTTP/1.1\r\nUser-Agent:\r\n\r\n"), &r); err != nil {
		t.Fatal(err)
	}
	if r.UserAgent == nil || len(r.UserAgent) != 0 || r.Host != nil {
		t.Errorf("UserAgent = %q (nil %v), Host = %q (nil %v); want empty non-nil, nil",
			r.UserAgent, r.UserAgent == nil, r.Host, r.Host == nil)
	}
}

// TestParseRequestReuse checks that a reused Request keeps nothing of the
// previous parse.
func TestParseRequestReuse(t *testing.T) {
	var r Request
	if err := ParseRequest([]byte("POST /a HTTP/1.1\r\nHost: h\r\nUser-Agent: u\r\nTransfer-Encoding: chunked\r\n\r\n"), &r); err != nil {
		t.Fatal(err)
	}
	if err := ParseRequest([]byte("GET /b HTTP/1.0\r\n\r\n"), &r); err != nil {
		t.Fatal(err)
	}
	if r.Host != nil || r.UserAgent != nil || r.Chunked || r.ContentLength != -1 || string(r.URI) != "/b" {
		t.Errorf("stale fields after reuse: %+v", r)
	}
}

type respWant struct {
	version string
	status  int
	reason  string
	ctype   string
	cl      int64
	chunked bool
	headLen int // 0: the whole input
}

type respTest struct {
	name string
	in   string
	err  error
	want respWant
}

// responseTests returns the hand-written response heads; the fuzz test
// seeds from them too.
func responseTests() []respTest {
	return []respTest{
		{name: "ok", in: "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Length: 1234\r\n\r\n",
			want: respWant{"HTTP/1.1", 200, "OK", "text/html; charset=UTF-8", 1234, false, 0}},
		{name: "LF only", in: "HTTP/1.0 404 Not Found\nContent-Type: text/plain\n\n",
			want: respWant{"HTTP/1.0", 404, "Not Found", "text/plain", -1, false, 0}},
		{name: "no reason", in: "HTTP/1.1 204\r\n\r\n", want: respWant{"HTTP/1.1", 204, "", "", -1, false, 0}},
		{name: "empty reason", in: "HTTP/1.1 304 \r\n\r\n", want: respWant{"HTTP/1.1", 304, "", "", -1, false, 0}},
		{name: "reason with spaces and utf-8", in: "HTTP/1.1 451 Unavailable For Legal Reasons \xe2\x9c\x93\r\n\r\n",
			want: respWant{"HTTP/1.1", 451, "Unavailable For Legal Reasons \xe2\x9c\x93", "", -1, false, 0}},
		{name: "chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n",
			want: respWant{"HTTP/1.1", 200, "OK", "", -1, true, 0}},
		{name: "other coding means until close", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 99\r\n\r\n",
			want: respWant{"HTTP/1.1", 200, "OK", "", -1, false, 0}},
		{name: "first content-type wins", in: "HTTP/1.1 200 OK\r\ncontent-type: image/png\r\nContent-Type: text/html\r\n\r\n",
			want: respWant{"HTTP/1.1", 200, "OK", "image/png", -1, false, 0}},
		{name: "request fields not taken", in: "HTTP/1.1 200 OK\r\nHost: x\r\nUser-Agent: y\r\n\r\n",
			want: respWant{"HTTP/1.1", 200, "OK", "", -1, false, 0}},
		{name: "interim", in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n",
			want: respWant{"HTTP/1.1", 100, "Continue", "", -1, false, 25}},
		{name: "leading empty line", in: "\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
			want: respWant{"HTTP/1.1", 200, "OK", "", 0, false, 0}},
		{name: "folded content-type", in: "HTTP/1.1 200 OK\r\nContent-Type: text/html;\r\n charset=utf-8\r\n\r\n",
			want: respWant{"HTTP/1.1", 200, "OK", "text/html;\r\n charset=utf-8", -1, false, 0}},

		{name: "status two digits", in: "HTTP/1.1 20 OK\r\n\r\n", err: ErrMalformed},
		{name: "status four digits", in: "HTTP/1.1 2000 OK\r\n\r\n", err: ErrMalformed},
		{name: "status below 100", in: "HTTP/1.1 099 Low\r\n\r\n", err: ErrMalformed},
		{name: "status not digits", in: "HTTP/1.1 OK 200\r\n\r\n", err: ErrMalformed},
		{name: "NUL in reason", in: "HTTP/1.1 200 O\x00K\r\n\r\n", err: ErrMalformed},
		{name: "bad header", in: "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", err: ErrMalformed},
		{name: "conflicting length", in: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", err: ErrMalformed},

		{name: "HTTP/2", in: "HTTP/2 200\r\n\r\n", err: ErrNotHTTP},
		{name: "no space after version", in: "HTTP/1.1200 OK\r\n\r\n", err: ErrNotHTTP},
		{name: "icy", in: "ICY 200 OK\r\n\r\n", err: ErrNotHTTP},
		{name: "request", in: "GET / HTTP/1.1\r\n\r\n", err: ErrNotHTTP},
		{name: "lower case", in: "http/1.1 200 OK\r\n\r\n", err: ErrNotHTTP},
		{name: "binary", in: "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09", err: ErrNotHTTP},

		{name: "empty", in: "", err: ErrIncomplete},
		{name: "version prefix", in: "HTTP/1", err: ErrIncomplete},
		{name: "status cut", in: "HTTP/1.1 20", err: ErrIncomplete},
		{name: "reason cut", in: "HTTP/1.1 200 O", err: ErrIncomplete},
		{name: "headers cut", in: "HTTP/1.1 200 OK\r\nContent-Type: text/h", err: ErrIncomplete},
		{name: "too long", in: "HTTP/1.1 200 OK\r\nSet-Cookie: " + strings.Repeat("c", MaxHead), err: ErrTooLong},
	}
}

func TestParseResponse(t *testing.T) {
	for _, tt := range responseTests() {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			orig := bytes.Clone(in)
			var r Response
			err := ParseResponse(in, &r)
			if !bytes.Equal(in, orig) {
				t.Fatal("ParseResponse modified its input")
			}
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			w := tt.want
			if w.headLen == 0 {
				w.headLen = len(in)
			}
			got := respWant{string(r.Version), r.Status, string(r.Reason), string(r.ContentType), r.ContentLength, r.Chunked, r.HeadLen}
			if got != w {
				t.Errorf("got  %+v\nwant %+v", got, w)
			}
			checkViews(t, in, r.Version, r.Reason, r.ContentType)
			for k := range r.HeadLen {
				var p Response
				if err := ParseResponse(in[:k], &p); err != ErrIncomplete {
					t.Fatalf("prefix of %d bytes: err = %v, want ErrIncomplete", k, err)
				}
			}
		})
	}
}

func TestInterim(t *testing.T) {
	for _, tt := range []struct {
		status int
		want   bool
	}{{100, true}, {101, false}, {103, true}, {199, true}, {200, false}, {204, false}, {404, false}} {
		r := Response{Status: tt.status}
		if got := r.Interim(); got != tt.want {
			t.Errorf("Interim(%d) = %v, want %v", tt.status, got, tt.want)
		}
	}
}

func TestIsRequestStart(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"GET / HTTP/1.1\r\n", true},
		{"GET ", true},
		{"POST /x", true},
		{"HEAD /", true},
		{"OPTIONS *", true},
		{"CONNECT a:443", true},
		{"PROPFIND /", true},
		{"MKCALENDAR /", true},
		{"UPDATEREDIRECTREF /", true},
		{"M-SEARCH * HTTP/1.1", true},
		{"NOTIFY * HTTP/1.1", true},
		{"GET", false},       // too short to tell
		{"get / ", false},    // methods are case-sensitive
		{"GET\t/", false},    // only SP separates
		{"FOOBAR / ", false}, // ParseRequest accepts it; IsRequestStart is for unknown ports
		{"GETX / ", false},
		{" GET /", false},
		{"", false},
		{"HTTP/1.1 200 OK", false},
		{"\x16\x03\x01", false},
		{"UPDATEREDIRECTREFS /", false},
	} {
		if got := IsRequestStart([]byte(tt.in)); got != tt.want {
			t.Errorf("IsRequestStart(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestIsRequestPrefix(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"G", true},
		{"GE", true},
		{"GET", true},
		{"POS", true},
		{"M-", true},
		{"M-SEARC", true},
		{"UPDATEREDIRECTREF", true},
		{"", false},
		{"GET ", false}, // IsRequestStart's
		{"ET", false},   // not the start of a method
		{"X", false},
		{"g", false},
		{"-", false},
		{"\x16", false},
		{"UPDATEREDIRECTREFS", false},
	} {
		if got := IsRequestPrefix([]byte(tt.in)); got != tt.want {
			t.Errorf("IsRequestPrefix(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	// Every known method, and every prefix of it, is one.
	methods := strings.Fields(knownMethods)
	for _, m := range methods {
		if !IsRequestStart([]byte(m + " /")) {
			t.Errorf("IsRequestStart(%q) = false", m+" /")
		}
		for i := 1; i <= len(m); i++ {
			if !IsRequestPrefix([]byte(m[:i])) {
				t.Errorf("IsRequestPrefix(%q) = false", m[:i])
			}
		}
	}
	if len(methods) != 40 {
		t.Errorf("knownMethods has %d methods, want 40", len(methods))
	}
	b := []byte("MKCALENDAR /")
	if n := testing.AllocsPerRun(100, func() { IsRequestPrefix(b[:7]); IsRequestStart(b) }); n != 0 {
		t.Errorf("IsRequestPrefix and IsRequestStart allocate %.0f times", n)
	}
}

func TestIsResponsePrefix(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"H", true},
		{"HTTP", true},
		{"HTTP/1", true},
		{"HTTP/1.", true},
		{"HTTP/1.1", true},
		{"HTTP/1.0", true},
		{"", false},
		{"HTTP/1.1 ", false}, // IsResponseStart's
		{"HTTP/1.1 200", false},
		{"TTP", false},
		{"h", false},
		{"HTTP/2", false},
		{"HTTP/1.x", false},
		{"HTTP/1-", false},
		{"\x16", false},
	} {
		if got := IsResponsePrefix([]byte(tt.in)); got != tt.want {
			t.Errorf("IsResponsePrefix(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	// Every prefix of a status line IsResponseStart accepts is one.
	line := "HTTP/1.1 200 OK\r\n"
	if !IsResponseStart([]byte(line)) {
		t.Fatalf("IsResponseStart(%q) = false", line)
	}
	for i := 1; i < len("HTTP/1.1 "); i++ {
		if !IsResponsePrefix([]byte(line[:i])) {
			t.Errorf("IsResponsePrefix(%q) = false", line[:i])
		}
	}
	b := []byte(line)
	if n := testing.AllocsPerRun(100, func() { IsResponsePrefix(b[:6]) }); n != 0 {
		t.Errorf("IsResponsePrefix allocates %.0f times", n)
	}
}

func TestIsResponseStart(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"HTTP/1.1 200 OK", true},
		{"HTTP/1.0 ", true},
		{"HTTP/1.1", false},
		{"HTTP/1.x 200", false},
		{"HTTP/2 200", false},
		{"http/1.1 200", false},
		{"GET / HTTP/1.1", false},
		{"", false},
	} {
		if got := IsResponseStart([]byte(tt.in)); got != tt.want {
			t.Errorf("IsResponseStart(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestUnfold(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"plain value", "plain value"},
		{"a\r\n b", "a b"},
		{"a \r\n\t  b", "a b"},
		{"a\n b\n\tc", "a b c"},
		{"Agent/1.0\r\n  (compatible;\r\n\tfolded)", "Agent/1.0 (compatible; folded)"},
	} {
		in := []byte(tt.in)
		got := Unfold(nil, in)
		if string(got) != tt.want {
			t.Errorf("Unfold(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if !strings.ContainsAny(tt.in, "\r\n") && len(in) > 0 && &got[0] != &in[0] {
			t.Errorf("Unfold(%q) copied a value without folds", tt.in)
		}
	}
	// dst is appended to, and its own trailing spaces are kept.
	if got := Unfold([]byte("x "), []byte("a\r\n b")); string(got) != "x a b" {
		t.Errorf("Unfold with dst = %q, want %q", got, "x a b")
	}
}

// TestFoldedFieldUnfolds ties ParseRequest's folded view to Unfold.
func TestFoldedFieldUnfolds(t *testing.T) {
	var r Request
	in := []byte("GET / HTTP/1.1\r\nUser-Agent: Mozilla/4.0\r\n (compatible; MSIE 6.0)\r\n\r\n")
	if err := ParseRequest(in, &r); err != nil {
		t.Fatal(err)
	}
	if got := Unfold(nil, r.UserAgent); string(got) != "Mozilla/4.0 (compatible; MSIE 6.0)" {
		t.Errorf("unfolded User-Agent = %q", got)
	}
}
