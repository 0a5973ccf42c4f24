package http

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
)

// corpusSeeds returns the first bytes of every direction the corpus test
// reads as HTTP: request streams and response streams. It fails the fuzz
// test when the corpus is missing.
func corpusSeeds(f *testing.F) (requests, responses [][]byte) {
	corpus := findCorpus(f)
	for _, capture := range httpCaptures(f, corpus) {
		got := runCapture(f, filepath.Join(corpus, "pcaps", capture))
		requests = append(requests, got.requestStreams...)
		responses = append(responses, got.responseStreams...)
	}
	return requests, responses
}

// knownErr reports whether err is one of the package's parse errors.
func knownErr(err error) bool {
	return err == ErrIncomplete || err == ErrNotHTTP || err == ErrTooLong || err == ErrMalformed
}

// inside reports whether v is nil or a slice of b[:n].
func inside(v, b []byte, n int) bool {
	if len(v) == 0 {
		return true
	}
	for k := 0; k+len(v) <= n; k++ {
		if &b[k] == &v[0] {
			return true
		}
	}
	return false
}

// FuzzParseRequest checks that ParseRequest survives any input and keeps
// its contract: known errors only, the input untouched, views inside the
// head, a well-formed request line, and results that do not change when
// more bytes arrive.
func FuzzParseRequest(f *testing.F) {
	for _, tt := range requestTests() {
		f.Add([]byte(tt.in))
	}
	requests, _ := corpusSeeds(f)
	for _, s := range requests {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		var r Request
		err := ParseRequest(b, &r)
		if !bytes.Equal(b, orig) {
			t.Fatal("input modified")
		}
		if err != nil && !knownErr(err) {
			t.Fatalf("unknown error %v", err)
		}
		if err == nil {
			if r.HeadLen <= 0 || r.HeadLen > len(b) || r.HeadLen > MaxHead {
				t.Fatalf("HeadLen %d of %d bytes", r.HeadLen, len(b))
			}
			for _, v := range [][]byte{r.Method, r.URI, r.Version, r.Host, r.UserAgent, r.Referer, r.ContentType} {
				if !inside(v, b, r.HeadLen) {
					t.Fatalf("view %q outside the head", v)
				}
			}
			if len(r.Method) == 0 || len(r.URI) == 0 || bytes.ContainsAny(r.URI, " \r\n") || !isVersion(r.Version) {
				t.Fatalf("bad request line: %q %q %q", r.Method, r.URI, r.Version)
			}
			for _, c := range r.Method {
				if !isToken(c) {
					t.Fatalf("method %q is not a token", r.Method)
				}
			}
			if r.ContentLength < -1 || (r.Chunked && r.ContentLength != -1) {
				t.Fatalf("ContentLength %d Chunked %v", r.ContentLength, r.Chunked)
			}
			// The head alone parses the same.
			var h Request
			if err := ParseRequest(b[:r.HeadLen], &h); err != nil || h.HeadLen != r.HeadLen || !bytes.Equal(h.URI, r.URI) {
				t.Fatalf("head alone: %v, HeadLen %d vs %d", err, h.HeadLen, r.HeadLen)
			}
			// A request is never a response.
			var p Response
			if ParseResponse(b, &p) == nil {
				t.Fatal("parses as a request and as a response")
			}
		}
		// Stable under growth: a prefix is incomplete or says the same.
		for _, k := range []int{len(b) / 2, len(b) - 1, r.HeadLen - 1} {
			if k < 0 || k >= len(b) {
				continue
			}
			var p Request
			perr := ParseRequest(b[:k], &p)
			if perr == ErrIncomplete {
				continue
			}
			if perr != err || (err == nil && p.HeadLen != r.HeadLen) {
				t.Fatalf("prefix of %d bytes: %v (HeadLen %d), whole: %v (HeadLen %d)", k, perr, p.HeadLen, err, r.HeadLen)
			}
		}
	})
}

// FuzzParseResponse is FuzzParseRequest for ParseResponse.
func FuzzParseResponse(f *testing.F) {
	for _, tt := range responseTests() {
		f.Add([]byte(tt.in))
	}
	_, responses := corpusSeeds(f)
	for _, s := range responses {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		var r Response
		err := ParseResponse(b, &r)
		if !bytes.Equal(b, orig) {
			t.Fatal("input modified")
		}
		if err != nil && !knownErr(err) {
			t.Fatalf("unknown error %v", err)
		}
		if err == nil {
			if r.HeadLen <= 0 || r.HeadLen > len(b) || r.HeadLen > MaxHead {
				t.Fatalf("HeadLen %d of %d bytes", r.HeadLen, len(b))
			}
			for _, v := range [][]byte{r.Version, r.Reason, r.ContentType} {
				if !inside(v, b, r.HeadLen) {
					t.Fatalf("view %q outside the head", v)
				}
			}
			if !isVersion(r.Version) || r.Status < 100 || r.Status > 999 {
				t.Fatalf("bad status line: %q %d", r.Version, r.Status)
			}
			if r.ContentLength < -1 || (r.Chunked && r.ContentLength != -1) {
				t.Fatalf("ContentLength %d Chunked %v", r.ContentLength, r.Chunked)
			}
			var h Response
			if err := ParseResponse(b[:r.HeadLen], &h); err != nil || h.HeadLen != r.HeadLen || h.Status != r.Status {
				t.Fatalf("head alone: %v, HeadLen %d vs %d", err, h.HeadLen, r.HeadLen)
			}
			if !IsResponseStart(b[len(b)-len(bytes.TrimLeft(b, "\r\n")):]) {
				t.Fatal("IsResponseStart disagrees with ParseResponse")
			}
		}
		for _, k := range []int{len(b) / 2, len(b) - 1, r.HeadLen - 1} {
			if k < 0 || k >= len(b) {
				continue
			}
			var p Response
			perr := ParseResponse(b[:k], &p)
			if perr == ErrIncomplete {
				continue
			}
			if perr != err || (err == nil && p.HeadLen != r.HeadLen) {
				t.Fatalf("prefix of %d bytes: %v (HeadLen %d), whole: %v (HeadLen %d)", k, perr, p.HeadLen, err, r.HeadLen)
			}
		}
	})
}

// FuzzBody checks that Body gives the same answer however the bytes are
// cut into pieces, never claims more bytes than it got, and ends a
// Content-Length body exactly.
func FuzzBody(f *testing.F) {
	for _, tt := range bodyTests() {
		mode := byte(0)
		if tt.chunked {
			mode |= 1
		}
		if tt.untilClose {
			mode |= 2
		}
		f.Add([]byte(tt.in), mode, tt.cl, uint8(1))
	}
	// Bodies from the corpus: what follows each response head.
	_, responses := corpusSeeds(f)
	for _, s := range responses {
		var r Response
		if ParseResponse(s, &r) == nil {
			mode := byte(2)
			if r.Chunked {
				mode |= 1
			}
			f.Add(s[r.HeadLen:], mode, r.ContentLength, uint8(7))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, mode byte, cl int64, piece uint8) {
		chunked, untilClose := mode&1 != 0, mode&2 != 0
		var whole Body
		whole.Start(cl, chunked, untilClose)
		n, done, err := whole.Skip(data)
		if err != nil && !errors.Is(err, ErrBadChunk) && !errors.Is(err, ErrTooLong) {
			t.Fatalf("unknown error %v", err)
		}
		if n < 0 || n > len(data) || (err == nil && !done && n != len(data)) {
			t.Fatalf("consumed %d of %d, done %v", n, len(data), done)
		}
		if !chunked && cl >= 0 && err == nil && int64(n) != min(int64(len(data)), cl) {
			t.Fatalf("length body of %d: consumed %d of %d", cl, n, len(data))
		}
		if whole.Done() != (done && err == nil) {
			t.Fatalf("Done %v after Skip done %v err %v", whole.Done(), done, err)
		}

		// The same bytes in pieces of size piece%16+1.
		size := int(piece%16) + 1
		var pieces Body
		pieces.Start(cl, chunked, untilClose)
		total, pdone := 0, false
		var perr error
		for off := 0; off < len(data) && !pdone && perr == nil; off += size {
			p := data[off:min(off+size, len(data))]
			k, d, e := pieces.Skip(p)
			total += k
			pdone, perr = d, e
			if e == nil && !d && k != len(p) {
				t.Fatalf("piece at %d: consumed %d of %d without done", off, k, len(p))
			}
		}
		if len(data) == 0 {
			_, pdone, perr = pieces.Skip(nil)
		}
		if total != n || pdone != done || perr != err {
			t.Fatalf("whole: %d %v %v; in pieces of %d: %d %v %v", n, done, err, size, total, pdone, perr)
		}
	})
}
