package pipeline_test

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"

	"tamon/daemon/internal/pipeline"
	"tamon/daemon/internal/record"
)

// clientHello returns the first flight of a crypto/tls client for sni: one
// handshake record holding its ClientHello.
func clientHello(t *testing.T, sni string) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer b.Close()
	go func() {
		tls.Client(a, &tls.Config{ServerName: sni, InsecureSkipVerify: true}).Handshake()
		a.Close()
	}()
	buf := make([]byte, 16<<10)
	n, err := b.Read(buf)
	if err != nil || n < 6 || buf[0] != 0x16 || buf[5] != 1 {
		t.Fatalf("no ClientHello from crypto/tls: %d bytes, %v", n, err)
	}
	return buf[:n]
}

// A ClientHello sent in two segments gives its TLS record (SNI, JA3, JA4)
// wherever the cut falls, also inside the 5-byte record header: some
// clients send the record's first byte in a segment of its own. The
// engine's counters say so.
func TestSplitClientHello(t *testing.T) {
	hello := clientHello(t, "split.example")
	for _, cut := range []int{0, 1, 2, 3, 4, 5, 6, 9, 40, len(hello) - 1} {
		c := &tcpConv{t: t, seqC: 1000, seqS: 5000}
		c.add(true, true, false, false, nil)
		c.add(false, true, true, false, nil)
		c.add(true, false, true, false, nil)
		if cut == 0 {
			c.add(true, false, true, false, hello)
		} else {
			c.add(true, false, true, false, hello[:cut])
			c.add(true, false, true, false, hello[cut:])
		}
		c.add(true, false, true, true, nil)
		c.add(false, false, true, true, nil)
		var got []*record.TLS
		sink := pipeline.SinkFunc(func(rs []record.Record) error {
			for _, r := range rs {
				if v, ok := r.(*record.TLS); ok {
					got = append(got, v)
				}
			}
			return nil
		})
		e := pipeline.New(pipeline.Config{Sensor: "t", Workers: 1}, sink)
		if err := e.Run(context.Background(), &cutSource{frames: c.frames, snap: 65535}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].SNI != "split.example" || got[0].JA3 == "" || got[0].JA4 == "" {
			t.Errorf("cut at %d: TLS records %+v, want one for split.example with JA3 and JA4", cut, got)
		}
		st := e.Stats()
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
