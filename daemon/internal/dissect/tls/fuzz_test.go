package tls

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Seeds: hand-built streams and hellos, the first bytes and hellos of a few
// corpus captures, and testdata/fuzz/<FuzzName> (hellos taken from the
// corpus captures: Chrome with GREASE, Chrome 125 with a Kyber key share,
// Facebook's Fizz, an old TLS 1.0 client, OpenSSL with 74 ciphers, a draft-18
// ServerHello, an unrecognized_name alert before a ServerHello, ...).

// seedCaptures are the corpus captures whose streams seed the fuzz tests.
var seedCaptures = []string{
	"ndpi_chrome.pcap", "zeek_tls_chrome-1250-tls-x25519-kyber.pcap", "arkime_tls13.pcap",
	"ndpi_http_ipv6.pcap", "arkime_openssl-tls1_2.pcap",
}

// corpusStreams returns, for the seed captures, the first bytes (at most
// 4 KiB) of every direction in which Records found a hello, and the hellos.
func corpusStreams(t testing.TB) (streams, clients, servers [][]byte) {
	for _, name := range seedCaptures {
		c := loadCapture(t, name)
		for _, cn := range c.conns {
			for _, h := range cn.dirs {
				if h.res.msg == nil {
					continue
				}
				s := h.contiguous()
				streams = append(streams, s[:min(len(s), 4096)])
				if h.res.msg[0] == TypeClientHello {
					clients = append(clients, h.res.msg)
				} else {
					servers = append(servers, h.res.msg)
				}
			}
		}
	}
	return streams, clients, servers
}

func FuzzRecords(f *testing.F) {
	hello := chromeLike().marshal()
	f.Add(records(hello))
	f.Add(records(hello, 7, 100))
	f.Add(append(record(contentAlert, 0x0303, []byte{1, 112}), records(hello)...))
	f.Add([]byte{0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15})
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	streams, _, _ := corpusStreams(f)
	for _, s := range streams {
		f.Add(s)
	}
	scratch := make([]byte, 0, MaxHello)
	f.Fuzz(func(t *testing.T, stream []byte) {
		orig := bytes.Clone(stream)
		msg, need, err := Records(stream, scratch)
		if !bytes.Equal(stream, orig) {
			t.Fatal("Records modified its input")
		}
		checkRecordsResult(t, msg, need, err)
		if err != nil {
			return
		}
		// A prefix never errs where the whole did not, and need is a lower
		// bound.
		for _, k := range []int{len(stream) / 2, len(stream) - 1} {
			if k < 0 || (msg == nil && k >= len(stream)) {
				continue
			}
			pm, pneed, perr := Records(stream[:k], nil)
			checkRecordsResult(t, pm, pneed, perr)
			if perr != nil {
				t.Fatalf("prefix %d: %v, whole stream fine", k, perr)
			}
			if pm == nil && pneed > 1 && k+pneed-1 <= len(stream) {
				if m2, n2, _ := Records(stream[:k+pneed-1], nil); m2 != nil || n2 == 0 {
					t.Fatalf("prefix %d says need %d, but %d bytes more complete it", k, pneed, pneed-1)
				}
			}
			if msg != nil && pm != nil && !bytes.Equal(pm, msg) {
				t.Fatal("a prefix gives another message")
			}
		}
	})
}

func checkRecordsResult(t *testing.T, msg []byte, need int, err error) {
	t.Helper()
	switch {
	case err != nil:
		if !errors.Is(err, ErrNotTLS) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("unexpected error %v", err)
		}
		if msg != nil || need != 0 {
			t.Fatalf("error %v with msg %d bytes, need %d", err, len(msg), need)
		}
	case msg != nil:
		if need != 0 || len(msg) < 4 || len(msg) != 4+be24(msg[1:]) || len(msg) > MaxHello ||
			(msg[0] != TypeClientHello && msg[0] != TypeServerHello) {
			t.Fatalf("bad message: type %d, %d bytes, need %d", msg[0], len(msg), need)
		}
	default:
		if need <= 0 {
			t.Fatalf("no message, no error, need %d", need)
		}
	}
}

func FuzzParseClientHello(f *testing.F) {
	f.Add(chromeLike().marshal())
	f.Add(clientHelloSpec{version: 0x0300, ciphers: []uint16{5}, noExts: true}.marshal())
	_, clients, _ := corpusStreams(f)
	for _, m := range clients {
		f.Add(m)
	}
	var ch, ch2 ClientHello
	other := chromeLike().marshal()
	dst := make([]byte, 0, FingerprintRoom)
	f.Fuzz(func(t *testing.T, msg []byte) {
		orig := bytes.Clone(msg)
		err := ParseClientHello(msg, &ch)
		if !bytes.Equal(msg, orig) {
			t.Fatal("ParseClientHello modified its input")
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("unexpected error %v", err)
		}
		if ch.NCiphers > MaxList || ch.NExts > MaxList || ch.NGroups > MaxGroups || ch.NPointFormats > MaxPointFormats ||
			ch.NSigAlgs > MaxSigAlgs || ch.NVersions > MaxVersions || ch.SNILen > MaxSNI || ch.NALPN > MaxALPN || ch.Dropped < 0 {
			t.Fatalf("counts out of range: %+v", ch)
		}
		_ = ParseClientHello(other, &ch2)
		if err2 := ParseClientHello(msg, &ch2); err2 != err || ch2 != ch {
			t.Fatal("a reused ClientHello gives another result")
		}
		if err != nil {
			return
		}
		if ja3 := AppendJA3(dst[:0], &ch); len(ja3) != 32 {
			t.Fatalf("JA3 %q", ja3)
		}
		ja4 := AppendJA4(dst[:0], &ch, false)
		if len(ja4) != 36 || ja4[10] != '_' || ja4[23] != '_' {
			t.Fatalf("JA4 %q", ja4)
		}
		if raw := AppendJA4R(dst[:0], &ch, true); raw[0] != 'q' || !bytes.Equal(raw[1:10], ja4[1:10]) {
			t.Fatalf("JA4_r %q for JA4 %q", raw, ja4)
		}
		_ = ch.SNIString() + ch.ALPNString()
	})
}

func FuzzParseServerHello(f *testing.F) {
	f.Add(serverHelloSpec{version: 0x0303, cipher: 0x1301, exts: []ext{serverVersionExt(0x0304)}}.marshal())
	_, _, servers := corpusStreams(f)
	for _, m := range servers {
		f.Add(m)
	}
	var sh, sh2 ServerHello
	other := serverHelloSpec{version: 0x0303, cipher: 0xc02f, exts: []ext{alpnExt("h2")}}.marshal()
	dst := make([]byte, 0, FingerprintRoom)
	f.Fuzz(func(t *testing.T, msg []byte) {
		orig := bytes.Clone(msg)
		err := ParseServerHello(msg, &sh)
		if !bytes.Equal(msg, orig) {
			t.Fatal("ParseServerHello modified its input")
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("unexpected error %v", err)
		}
		if sh.NExts > MaxServerExts || sh.ALPNLen > MaxALPNLen || sh.Dropped < 0 {
			t.Fatalf("counts out of range: %+v", sh)
		}
		_ = ParseServerHello(other, &sh2)
		if err2 := ParseServerHello(msg, &sh2); err2 != err || sh2 != sh {
			t.Fatal("a reused ServerHello gives another result")
		}
		if err == nil {
			if ja3s := AppendJA3S(dst[:0], &sh); len(ja3s) != 32 {
				t.Fatalf("JA3S %q", ja3s)
			}
			_ = VersionString(sh.Version()) + sh.ALPNString()
		}
	})
}

// TestFuzzSeedFiles checks the seed files in testdata/fuzz: each is a
// complete record stream (FuzzRecords) or hello (the parsers) as the file
// name promises, so a seed that stops being one is noticed.
func TestFuzzSeedFiles(t *testing.T) {
	for _, target := range []string{"FuzzRecords", "FuzzParseClientHello", "FuzzParseServerHello"} {
		files, err := filepath.Glob(filepath.Join("testdata", "fuzz", target, "*"))
		if err != nil || len(files) < 3 {
			t.Fatalf("%s: %d seed files (%v)", target, len(files), err)
		}
		for _, file := range files {
			b := readSeed(t, file)
			var err error
			switch target {
			case "FuzzRecords":
				var msg []byte
				var need int
				msg, need, err = Records(b, nil)
				if err == nil && msg == nil {
					t.Errorf("%s: incomplete (need %d)", file, need)
				}
				if filepath.Base(file) == "sslv2-compatible-hello" {
					if !errors.Is(err, ErrNotTLS) {
						t.Errorf("%s: got %v, want ErrNotTLS", file, err)
					}
					continue
				}
			case "FuzzParseClientHello":
				err = ParseClientHello(b, new(ClientHello))
			case "FuzzParseServerHello":
				err = ParseServerHello(b, new(ServerHello))
			}
			if err != nil {
				t.Errorf("%s: %v", file, err)
			}
		}
	}
}

// readSeed decodes a "go test fuzz v1" file holding one []byte.
func readSeed(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	const head = "go test fuzz v1\n[]byte("
	s := string(b)
	if len(s) < len(head)+2 || s[:len(head)] != head || s[len(s)-2:] != ")\n" {
		t.Fatalf("%s: not a one-[]byte fuzz seed file", file)
	}
	v, err := strconv.Unquote(s[len(head) : len(s)-2])
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return []byte(v)
}
