package http

import (
	"bytes"
	"math/rand/v2"
	"net/http/httputil"
	"testing"
)

// browserRequest is a typical browser GET (about 600 bytes).
var browserRequest = []byte("GET /projects/calendar/images/header-sunbird.png?v=3 HTTP/1.1\r\n" +
	"Host: www.example.org\r\n" +
	"User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n" +
	"Accept: image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8\r\n" +
	"Accept-Encoding: gzip, deflate\r\n" +
	"Accept-Language: en-US,en;q=0.9,de;q=0.8\r\n" +
	"Referer: http://www.example.org/projects/calendar/\r\n" +
	"Cookie: session=0123456789abcdef0123456789abcdef; theme=dark; consent=yes\r\n" +
	"Connection: keep-alive\r\n" +
	"Cache-Control: no-cache\r\n\r\n")

// serverResponse is a typical response head (about 400 bytes).
var serverResponse = []byte("HTTP/1.1 200 OK\r\n" +
	"Date: Sat, 01 Dec 2012 02:29:17 GMT\r\n" +
	"Server: Apache/2.4.57 (Debian)\r\n" +
	"Last-Modified: Fri, 30 Nov 2012 18:00:00 GMT\r\n" +
	"ETag: \"5a3-4cfb9a4b1c2c0\"\r\n" +
	"Accept-Ranges: bytes\r\n" +
	"Content-Length: 1443\r\n" +
	"Cache-Control: max-age=86400\r\n" +
	"Expires: Sun, 02 Dec 2012 02:29:17 GMT\r\n" +
	"Keep-Alive: timeout=5, max=100\r\n" +
	"Connection: Keep-Alive\r\n" +
	"Content-Type: image/png\r\n\r\n")

// chunkedBody is a 64 KiB body in 1 KiB chunks, chunked-encoded.
func chunkedBody() []byte {
	var buf bytes.Buffer
	w := httputil.NewChunkedWriter(&buf)
	chunk := bytes.Repeat([]byte("x"), 1024)
	for range 64 {
		w.Write(chunk)
	}
	w.Close()
	buf.WriteString("\r\n")
	return buf.Bytes()
}

func BenchmarkParseRequest(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(browserRequest)))
	var r Request
	for b.Loop() {
		if err := ParseRequest(browserRequest, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseResponse(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(serverResponse)))
	var r Response
	for b.Loop() {
		if err := ParseResponse(serverResponse, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseRequestIncomplete measures the cost of retrying a head
// that arrives in two segments: the first attempt fails, the second parses.
func BenchmarkParseRequestIncomplete(b *testing.B) {
	b.ReportAllocs()
	half := browserRequest[:len(browserRequest)/2]
	var r Request
	for b.Loop() {
		if ParseRequest(half, &r) != ErrIncomplete || ParseRequest(browserRequest, &r) != nil {
			b.Fatal("unexpected result")
		}
	}
}

func BenchmarkBodyChunked(b *testing.B) {
	body := chunkedBody()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	var bd Body
	for b.Loop() {
		bd.Start(-1, true, false)
		// In segment-sized pieces.
		for off := 0; off < len(body); off += 1448 {
			bd.Skip(body[off:min(off+1448, len(body))])
		}
		if !bd.Done() {
			b.Fatal("body not done")
		}
	}
}

func BenchmarkIsRequestStart(b *testing.B) {
	b.ReportAllocs()
	inputs := [][]byte{browserRequest, []byte("PROPFIND /dav/ HTTP/1.1"), []byte("\x16\x03\x01\x02\x00\x01"), []byte("SSH-2.0-OpenSSH_9.6")}
	for b.Loop() {
		for _, in := range inputs {
			IsRequestStart(in)
		}
	}
}

// TestZeroAllocs checks that nothing on the per-packet path allocates.
func TestZeroAllocs(t *testing.T) {
	body := chunkedBody()
	folded := []byte("a\r\n b")
	tls := []byte("\x16\x03\x01")
	dst := make([]byte, 0, 64)
	var req Request
	var res Response
	var bd Body
	for name, f := range map[string]func(){
		"ParseRequest":            func() { ParseRequest(browserRequest, &req) },
		"ParseRequest incomplete": func() { ParseRequest(browserRequest[:100], &req) },
		"ParseRequest not HTTP":   func() { ParseRequest(tls, &req) },
		"ParseResponse":           func() { ParseResponse(serverResponse, &res) },
		"Body chunked": func() {
			bd.Start(-1, true, false)
			bd.Skip(body)
		},
		"Body StartResponse": func() { bd.StartResponse(&res, []byte("HEAD")) },
		"IsRequestStart":     func() { IsRequestStart(browserRequest) },
		"IsResponseStart":    func() { IsResponseStart(serverResponse) },
		"Unfold":             func() { Unfold(dst[:0], folded) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, n)
		}
	}
}

// TestBodyChunkedRoundTrip frames bodies written by the standard library's
// chunked writer, with random chunk sizes, and fed in random pieces.
func TestBodyChunkedRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var buf bytes.Buffer
		w := httputil.NewChunkedWriter(&buf)
		for range rng.IntN(20) {
			w.Write(bytes.Repeat([]byte{'a' + byte(round%26)}, 1+rng.IntN(5000)))
		}
		w.Close()
		if rng.IntN(2) == 0 {
			buf.WriteString("X-Checksum: abc\r\n")
		}
		buf.WriteString("\r\n")
		enc := buf.Bytes()
		next := []byte("HTTP/1.1 200 OK\r\n")
		stream := append(bytes.Clone(enc), next...)

		var bd Body
		bd.Start(-1, true, false)
		total, done := 0, false
		for off := 0; off < len(stream) && !done; {
			end := min(off+1+rng.IntN(3000), len(stream))
			n, d, err := bd.Skip(stream[off:end])
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			total += n
			done = d
			off = end
		}
		if !done || total != len(enc) {
			t.Fatalf("round %d: consumed %d of %d encoded bytes, done %v", round, total, len(enc), done)
		}
	}
}
