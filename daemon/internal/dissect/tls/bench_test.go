package tls

import (
	"testing"
)

// benchInputs are real streams and hellos: the Chrome 125 ClientHello with a
// Kyber key share (1.8 KiB, split over TCP segments and, here, re-split over
// three records to exercise the scratch path) and Chrome's ServerHello.
type benchInputs struct {
	stream      []byte // one record
	splitStream []byte // the same message over three records
	client      []byte
	server      []byte
}

func loadBenchInputs(tb testing.TB) benchInputs {
	tb.Helper()
	var in benchInputs
	for _, cn := range loadCapture(tb, "zeek_tls_chrome-1250-tls-x25519-kyber.pcap").conns {
		for _, h := range cn.dirs {
			switch {
			case h.res.msg == nil:
			case h.res.msg[0] == TypeClientHello:
				in.client = h.res.msg
				in.stream = h.contiguous()
			case h.res.msg[0] == TypeServerHello:
				in.server = h.res.msg
			}
		}
	}
	if in.client == nil || in.server == nil {
		tb.Fatal("zeek_tls_chrome-1250-tls-x25519-kyber.pcap: hellos not found")
	}
	in.splitStream = records(in.client, 600, 600)
	return in
}

// TestZeroAllocs checks the per-connection path the engine runs: Records
// (both one-record and scratch paths), ParseClientHello, AppendJA3 and
// AppendJA4 into reused buffers, and the same for the ServerHello.
func TestZeroAllocs(t *testing.T) {
	in := loadBenchInputs(t)
	scratch := make([]byte, 0, MaxHello)
	dst := make([]byte, 0, 2*FingerprintRoom)
	var ch ClientHello
	var sh ServerHello
	allocs := testing.AllocsPerRun(200, func() {
		for _, stream := range [][]byte{in.stream, in.splitStream} {
			msg, need, err := Records(stream, scratch)
			if err != nil || need != 0 {
				t.Fatalf("Records: need %d, %v", need, err)
			}
			if err := ParseClientHello(msg, &ch); err != nil {
				t.Fatal(err)
			}
			dst = AppendJA3(dst[:0], &ch)
			dst = AppendJA3String(dst[:0], &ch)
			dst = AppendJA4(dst[:0], &ch, false)
			dst = AppendJA4R(dst[:0], &ch, true)
		}
		if err := ParseServerHello(in.server, &sh); err != nil {
			t.Fatal(err)
		}
		dst = AppendJA3S(dst[:0], &sh)
		_ = VersionString(sh.Version())
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per connection, want 0", allocs)
	}
}

func BenchmarkRecords(b *testing.B) {
	in := loadBenchInputs(b)
	scratch := make([]byte, 0, MaxHello)
	for _, bc := range []struct {
		name   string
		stream []byte
	}{{"one-record", in.stream}, {"three-records", in.splitStream}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in.client)))
			for b.Loop() {
				if _, _, err := Records(bc.stream, scratch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseClientHello(b *testing.B) {
	in := loadBenchInputs(b)
	var ch ClientHello
	b.ReportAllocs()
	b.SetBytes(int64(len(in.client)))
	for b.Loop() {
		if err := ParseClientHello(in.client, &ch); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseServerHello(b *testing.B) {
	in := loadBenchInputs(b)
	var sh ServerHello
	b.ReportAllocs()
	for b.Loop() {
		if err := ParseServerHello(in.server, &sh); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendJA3(b *testing.B) {
	in := loadBenchInputs(b)
	var ch ClientHello
	if err := ParseClientHello(in.client, &ch); err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, 0, FingerprintRoom)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendJA3(dst[:0], &ch)
	}
}

func BenchmarkAppendJA3S(b *testing.B) {
	in := loadBenchInputs(b)
	var sh ServerHello
	if err := ParseServerHello(in.server, &sh); err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, 0, FingerprintRoom)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendJA3S(dst[:0], &sh)
	}
}

func BenchmarkAppendJA4(b *testing.B) {
	in := loadBenchInputs(b)
	var ch ClientHello
	if err := ParseClientHello(in.client, &ch); err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, 0, FingerprintRoom)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendJA4(dst[:0], &ch, false)
	}
}

// BenchmarkHello is the whole per-connection client side: Records,
// ParseClientHello, JA3 and JA4.
func BenchmarkHello(b *testing.B) {
	in := loadBenchInputs(b)
	scratch := make([]byte, 0, MaxHello)
	dst := make([]byte, 0, FingerprintRoom)
	var ch ClientHello
	b.ReportAllocs()
	for b.Loop() {
		msg, _, _ := Records(in.stream, scratch)
		if err := ParseClientHello(msg, &ch); err != nil {
			b.Fatal(err)
		}
		dst = AppendJA3(dst[:0], &ch)
		dst = AppendJA4(dst, &ch, false)
	}
}
