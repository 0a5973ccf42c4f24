package pipeline_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/big"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tamon/daemon/internal/pipeline"
	"tamon/daemon/internal/record"
)

// firstWrite keeps what was written first on a connection.
type firstWrite struct {
	net.Conn
	once  sync.Once
	first []byte
}

func (c *firstWrite) Write(b []byte) (int, error) {
	c.once.Do(func() { c.first = append([]byte(nil), b...) })
	return c.Conn.Write(b)
}

// hellos runs a crypto/tls handshake for sni over an in-memory connection
// and returns each side's first flight: the client's ClientHello record,
// and the server's records from its ServerHello on.
func hellos(t *testing.T, sni string) (client, server []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{sni},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	ca, cb := &firstWrite{Conn: a}, &firstWrite{Conn: b}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		tls.Client(ca, &tls.Config{ServerName: sni, InsecureSkipVerify: true}).Handshake()
		a.Close()
	}()
	go func() {
		defer wg.Done()
		cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
		tls.Server(cb, &tls.Config{Certificates: []tls.Certificate{cert}}).Handshake()
		b.Close()
	}()
	wg.Wait()
	if len(ca.first) < 6 || ca.first[5] != 1 || len(cb.first) < 6 || cb.first[5] != 2 {
		t.Fatalf("no hellos from crypto/tls: % x... and % x...", ca.first[:min(6, len(ca.first))], cb.first[:min(6, len(cb.first))])
	}
	return ca.first, cb.first
}

// tlsDesc describes TLS records for a failure message.
func tlsDesc(rs []*record.TLS) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("sni %q ja3 %q ja4 %q ja3s %q", r.SNI, r.JA3, r.JA4, r.JA3S))
	}
	return out
}

// runConv runs the engine over c and returns its records and counters.
func runConv(t *testing.T, c *tcpConv) ([]record.Record, pipeline.Stats) {
	t.Helper()
	var got []record.Record
	sink := pipeline.SinkFunc(func(rs []record.Record) error {
		got = append(got, rs...)
		return nil
	})
	e := pipeline.New(pipeline.Config{Sensor: "t", Workers: 1}, sink)
	if err := e.Run(context.Background(), &cutSource{frames: c.frames, snap: 65535}); err != nil {
		t.Fatal(err)
	}
	return got, e.Stats()
}

// ofKind returns the records of type T among rs.
func ofKind[T record.Record](rs []record.Record) []T {
	var out []T
	for _, r := range rs {
		if v, ok := r.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// runTLS runs the engine over c and returns its TLS records and counters.
func runTLS(t *testing.T, c *tcpConv) ([]*record.TLS, pipeline.Stats) {
	t.Helper()
	recs, st := runConv(t, c)
	return ofKind[*record.TLS](recs), st
}

// splitConv is a TCP connection: the three-way handshake, then the
// client's first payload in two segments cut after cut bytes (in one when
// cut is 0).
func splitConv(t *testing.T, payload []byte, cut int) *tcpConv {
	c := &tcpConv{t: t, seqC: 1000, seqS: 5000}
	c.add(true, true, false, false, nil)
	c.add(false, true, true, false, nil)
	c.add(true, false, true, false, nil)
	if cut == 0 {
		c.add(true, false, true, false, payload)
	} else {
		c.add(true, false, true, false, payload[:cut])
		c.add(true, false, true, false, payload[cut:])
	}
	return c
}

// A ClientHello sent in two segments gives its TLS record (SNI, JA3, JA4)
// wherever the cut falls, also inside the 5-byte record header: some
// clients send the record's first byte in a segment of its own. The
// engine's counters say so.
func TestSplitClientHello(t *testing.T) {
	hello, _ := hellos(t, "split.example")
	for _, cut := range []int{0, 1, 2, 3, 4, 5, 6, 9, 40, len(hello) - 1} {
		c := splitConv(t, hello, cut)
		c.add(true, false, true, true, nil)
		c.add(false, false, true, true, nil)
		got, st := runTLS(t, c)
		if len(got) != 1 || got[0].SNI != "split.example" || got[0].JA3 == "" || got[0].JA4 == "" {
			t.Errorf("cut at %d: %d TLS records (%v), want one for split.example with JA3 and JA4", cut, len(got), tlsDesc(got))
		}
		if d := st.Dissect; d.TLSHellos != 1 || d.TLSErrors != 0 {
			t.Errorf("cut at %d: %d hellos, %d errors counted, want 1 and 0", cut, d.TLSHellos, d.TLSErrors)
		}
		var sum strings.Builder
		st.WriteSummary(&sum)
		if !strings.Contains(sum.String(), "\ntls_hellos 1\ntls_errors 0\n") {
			t.Errorf("cut at %d: the -r summary lacks the TLS counters:\n%s", cut, sum.String())
		}
	}
}

// A server flight whose first segment (the ServerHello) arrives after the
// segment that follows it still gives the JA3S: the client's
// acknowledgment number says where the server's bytes start. When the
// server's bytes are in another sequence space than the acknowledgment
// says (a capture of both sides of a middlebox that rewrites sequence
// numbers), the first segment seen starts them, as without the hint.
func TestServerHelloOutOfOrder(t *testing.T) {
	ch, sh := hellos(t, "order.example")
	for _, tt := range []struct {
		name     string
		swap     bool   // the second segment of the server flight first
		shift    uint32 // server bytes in a sequence space this far from the client's ACK
		wantJA3S bool
	}{
		{"in order", false, 0, true},
		{"second segment first", true, 0, true},
		{"other sequence space", false, 1 << 30, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &tcpConv{t: t, seqC: 1000, seqS: 5000}
			c.add(true, true, false, false, nil)
			c.add(false, true, true, false, nil)
			c.add(true, false, true, false, nil)
			c.add(true, false, true, false, ch)
			cut := 40
			start := c.seqS
			c.seqS += tt.shift
			first, second := sh[:cut], sh[cut:]
			if tt.swap {
				c.seqS = start + uint32(cut)
				c.add(false, false, true, false, second)
				c.seqS = start
				c.add(false, false, true, false, first)
				c.seqS = start + uint32(len(sh))
			} else {
				c.add(false, false, true, false, first)
				c.add(false, false, true, false, second)
			}
			c.add(true, false, true, true, nil)
			c.add(false, false, true, true, nil)
			got, st := runTLS(t, c)
			if len(got) != 1 || got[0].SNI != "order.example" || (got[0].JA3S != "") != tt.wantJA3S {
				t.Fatalf("%d TLS records (%v), want one for order.example with a JA3S", len(got), tlsDesc(got))
			}
			if d := st.Dissect; d.TLSErrors != 0 || d.StreamGaps != 0 {
				t.Errorf("%d TLS errors, %d stream gaps counted, want none", d.TLSErrors, d.StreamGaps)
			}
		})
	}
}

// An HTTP request whose first segment holds only the first bytes of its
// method ("G", then "ET / HTTP/1.1...", as some clients send) gives its
// record and is paired with its response.
func TestSplitRequest(t *testing.T) {
	req := []byte("GET /split HTTP/1.1\r\nHost: split.example\r\nUser-Agent: t\r\n\r\n")
	for _, cut := range []int{0, 1, 2, 3, 4, 10} {
		c := splitConv(t, req, cut)
		c.add(false, false, true, false, []byte("HTTP/1.1 204 No Content\r\n\r\n"))
		c.add(true, false, true, true, nil)
		c.add(false, false, true, true, nil)
		recs, st := runConv(t, c)
		got := ofKind[*record.HTTP](recs)
		if len(got) != 1 || got[0].Method != "GET" || got[0].URI != "/split" || got[0].Host != "split.example" || got[0].Status != 204 {
			var desc []string
			for _, h := range got {
				desc = append(desc, fmt.Sprintf("%q %q %q %d", h.Method, h.URI, h.Host, h.Status))
			}
			t.Errorf("cut at %d: HTTP records %v, want GET /split on split.example answered 204", cut, desc)
		}
		if d := st.Dissect; d.HTTPReqs != 1 || d.HTTPErrors != 0 {
			t.Errorf("cut at %d: %d requests, %d errors counted, want 1 and 0", cut, d.HTTPReqs, d.HTTPErrors)
		}
	}
}

// An HTTP response sent in two segments, on a connection whose capture
// starts at that response (the request went by before), gives its record
// wherever the cut falls, also inside "HTTP/1.1 ".
func TestSplitResponse(t *testing.T) {
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 0\r\n\r\n")
	for _, cut := range []int{0, 1, 4, 5, 7, 8, 9, 20} {
		c := &tcpConv{t: t, seqC: 1000, seqS: 5000}
		if cut == 0 {
			c.add(false, false, true, false, resp)
		} else {
			c.add(false, false, true, false, resp[:cut])
			c.add(false, false, true, false, resp[cut:])
		}
		c.add(true, false, true, true, nil)
		c.add(false, false, true, true, nil)
		recs, st := runConv(t, c)
		got := ofKind[*record.HTTP](recs)
		if len(got) != 1 || got[0].Status != 200 || got[0].ContentType != "text/html" {
			var desc []string
			for _, h := range got {
				desc = append(desc, fmt.Sprintf("%d %q", h.Status, h.ContentType))
			}
			t.Errorf("cut at %d: HTTP records %v, want one of status 200, text/html", cut, desc)
		}
		if d := st.Dissect; d.HTTPErrors != 0 {
			t.Errorf("cut at %d: %d HTTP errors counted, want 0", cut, d.HTTPErrors)
		}
	}
}

// A capture that joins a connection in the middle of a response: the
// request it answers is written without a response when the server had
// received it (its acknowledgment says so), and the next response goes with
// the next request; bytes of a response to a request before the capture
// leave the request seen waiting for its own, as do bytes without an
// acknowledgment. None of it counts as an error.
func TestMidResponse(t *testing.T) {
	body := []byte("the middle of an image, whose head went by before the capture started")
	ok := []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	get := func(uri string) []byte { return []byte("GET " + uri + " HTTP/1.1\r\nHost: mid.example\r\n\r\n") }
	tests := []struct {
		name string
		conv func(c *tcpConv)
		want []string // URI and status of each HTTP record, in order
	}{
		{"its response's head unseen", func(c *tcpConv) {
			c.add(true, false, true, false, get("/1"))
			c.add(false, false, true, false, body)
			c.add(true, false, true, false, get("/2"))
			c.add(false, false, true, false, ok)
		}, []string{"/1 0", "/2 200"}},
		{"a response to a request before the capture", func(c *tcpConv) {
			c.add(true, false, true, false, get("/1"))
			seqC := c.seqC
			c.seqC = 1000 // the server acknowledges up to before /1
			c.add(false, false, true, false, body)
			c.seqC = seqC
			c.add(false, false, true, false, ok)
		}, []string{"/1 200"}},
		{"no acknowledgment to go by", func(c *tcpConv) {
			c.add(true, false, true, false, get("/1"))
			c.add(false, false, false, false, body)
			c.add(false, false, true, false, ok)
		}, []string{"/1 200"}},
		{"its head seen", func(c *tcpConv) {
			c.add(true, false, true, false, get("/1"))
			c.add(false, false, true, false, ok)
			c.add(true, false, true, false, get("/2"))
			c.add(false, false, true, false, ok)
		}, []string{"/1 200", "/2 200"}},
	}
	for _, tt := range tests {
		c := &tcpConv{t: t, seqC: 1000, seqS: 5000}
		tt.conv(c)
		c.add(true, false, true, true, nil)
		c.add(false, false, true, true, nil)
		recs, st := runConv(t, c)
		var got []string
		for _, h := range ofKind[*record.HTTP](recs) {
			got = append(got, fmt.Sprintf("%s %d", h.URI, h.Status))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: HTTP records %q, want %q", tt.name, got, tt.want)
		}
		if d := st.Dissect; d.HTTPErrors != 0 {
			t.Errorf("%s: %d HTTP errors counted, want 0", tt.name, d.HTTPErrors)
		}
	}
}

// The client's first payload in two segments that arrive the wrong way
// round, after a three-way handshake: the second is held until the first
// comes, then both are read, as TLS or HTTP, or given up on for another
// protocol. When the first never comes, the held bytes are dropped once
// more than the out-of-order bound follow, and no gap is counted: no
// stream was being read.
func TestFirstSegmentLate(t *testing.T) {
	hello, _ := hellos(t, "late.example")
	get := []byte("GET /late HTTP/1.1\r\nHost: late.example\r\n\r\n")
	for _, tt := range []struct {
		name    string
		payload []byte
		check   func(recs []record.Record) string
	}{
		{"TLS", hello, func(recs []record.Record) string {
			if got := ofKind[*record.TLS](recs); len(got) != 1 || got[0].SNI != "late.example" || got[0].JA4 == "" {
				return fmt.Sprintf("%d TLS records, want one for late.example", len(got))
			}
			return ""
		}},
		{"HTTP", get, func(recs []record.Record) string {
			if got := ofKind[*record.HTTP](recs); len(got) != 1 || got[0].URI != "/late" || got[0].Status != 204 {
				return fmt.Sprintf("%d HTTP records, want GET /late answered 204", len(got))
			}
			return ""
		}},
		{"lost", hello, func(recs []record.Record) string {
			if n := len(ofKind[*record.TLS](recs)); n != 0 {
				return fmt.Sprintf("%d TLS records, want none", n)
			}
			return ""
		}},
		{"other", []byte("SSH-2.0-OpenSSH_9.6\r\n and the key exchange that follows it"), func(recs []record.Record) string {
			if n := len(ofKind[*record.TLS](recs)) + len(ofKind[*record.HTTP](recs)); n != 0 {
				return fmt.Sprintf("%d TLS or HTTP records, want none", n)
			}
			return ""
		}},
	} {
		c := splitConv(t, tt.payload, 10)
		n := len(c.frames)
		c.frames[n-2], c.frames[n-1] = c.frames[n-1], c.frames[n-2]
		if tt.name == "lost" {
			c.frames = c.frames[:n-1] // the first segment never comes
			for range 9 {             // more than maxOOOSegs (8)
				c.add(true, false, true, false, []byte("more bytes after the hole"))
			}
		}
		if tt.name == "HTTP" {
			c.add(false, false, true, false, []byte("HTTP/1.1 204 No Content\r\n\r\n"))
		}
		c.add(true, false, true, true, nil)
		c.add(false, false, true, true, nil)
		recs, st := runConv(t, c)
		if msg := tt.check(recs); msg != "" {
			t.Errorf("%s: %s", tt.name, msg)
		}
		if d := st.Dissect; d.TLSErrors != 0 || d.HTTPErrors != 0 || d.StreamGaps != 0 {
			t.Errorf("%s: %d TLS errors, %d HTTP errors, %d gaps, want none", tt.name, d.TLSErrors, d.HTTPErrors, d.StreamGaps)
		}
	}
}
