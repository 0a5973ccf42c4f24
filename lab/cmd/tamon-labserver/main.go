// Command tamon-labserver is the lab's web server (see package lab): HTTP on
// port 80 and HTTPS on port 443 (TLS 1.2 and 1.3, SNI, a self-signed
// certificate), on the given IPv4 and IPv6 addresses. It writes every TLS
// ClientHello it receives as one JSON line to the -hellos file, so that
// tests can compute JA3 and JA4 from what the client really sent.
//
// Paths: /size/N answers N bytes of body; /hold/S keeps the response open
// for S seconds, sending one byte a second; anything else answers
// "ok <path>". It prints "ready" once it listens.
//
// With -echo-delay it answers ICMP echo requests to the IPv4 address
// itself, that much later (the lab turns the kernel's answers off), so
// that round-trip times are long enough to check.
package main

import (
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Hello is one ClientHello as the server saw it (the JSON line of -hellos).
type Hello struct {
	Remote     string   `json:"remote"`
	SNI        string   `json:"sni"`
	Versions   []uint16 `json:"versions"`
	Ciphers    []uint16 `json:"ciphers"`
	Extensions []uint16 `json:"extensions"`
	Curves     []uint16 `json:"curves"`
	Points     []uint8  `json:"points"`
	SigAlgs    []uint16 `json:"sigalgs"`
	ALPN       []string `json:"alpn"`
}

func main() {
	listen4 := flag.String("listen", "", "IPv4 `address` to listen on")
	listen6 := flag.String("listen6", "", "IPv6 `address` to listen on")
	certFile := flag.String("cert", "", "certificate `file` (PEM)")
	keyFile := flag.String("key", "", "key `file` (PEM)")
	hellos := flag.String("hellos", "", "append each ClientHello as JSON to this `file`")
	echoDelay := flag.Duration("echo-delay", 0, "answer ICMP echo requests to -listen after this `delay` (0: leave them to the kernel)")
	flag.Parse()
	if *echoDelay > 0 {
		if err := echo(*listen4, *echoDelay); err != nil {
			fmt.Fprintln(os.Stderr, "tamon-labserver:", err)
			os.Exit(1)
		}
	}
	if err := run(*listen4, *listen6, *certFile, *keyFile, *hellos); err != nil {
		fmt.Fprintln(os.Stderr, "tamon-labserver:", err)
		os.Exit(1)
	}
}

func run(addr4, addr6, certFile, keyFile, hellos string) error {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("load %s and %s: %w", certFile, keyFile, err)
	}
	hf, err := os.OpenFile(hellos, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open the hello log: %w", err)
	}
	var hmu sync.Mutex
	tcfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13,
		NextProtos: []string{"http/1.1"}}
	tcfg.GetConfigForClient = func(chi *tls.ClientHelloInfo) (*tls.Config, error) {
		h := Hello{Remote: chi.Conn.RemoteAddr().String(), SNI: chi.ServerName, Versions: chi.SupportedVersions,
			Ciphers: chi.CipherSuites, Extensions: chi.Extensions, Points: chi.SupportedPoints, ALPN: chi.SupportedProtos}
		for _, c := range chi.SupportedCurves {
			h.Curves = append(h.Curves, uint16(c))
		}
		for _, s := range chi.SignatureSchemes {
			h.SigAlgs = append(h.SigAlgs, uint16(s))
		}
		b, _ := json.Marshal(h)
		hmu.Lock()
		hf.Write(append(b, '\n'))
		hmu.Unlock()
		return nil, nil // tcfg itself applies
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/size/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil || n < 0 || n > 1<<30 {
			http.Error(w, "bad size", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(n))
		chunk := []byte(strings.Repeat("x", 32<<10))
		for n > 0 {
			k := min(n, len(chunk))
			if _, err := w.Write(chunk[:k]); err != nil {
				return
			}
			n -= k
		}
	})
	mux.HandleFunc("/hold/{s}", func(w http.ResponseWriter, r *http.Request) {
		s, _ := strconv.Atoi(r.PathValue("s"))
		w.Header().Set("Content-Type", "text/plain")
		fl, _ := w.(http.Flusher)
		for i := 0; i < s; i++ {
			if _, err := w.Write([]byte{'.'}); err != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(time.Second):
			}
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "ok %s\n", r.URL.Path)
	})

	errc := make(chan error, 4)
	serve := func(network, addr string, tlsOn bool) error {
		ln, err := net.Listen(network, addr)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		if tlsOn {
			ln = tls.NewListener(ln, tcfg)
		}
		go func() { errc <- srv.Serve(ln) }()
		return nil
	}
	for _, a := range []struct {
		network, host string
	}{{"tcp4", addr4}, {"tcp6", addr6}} {
		if a.host == "" {
			continue
		}
		if err := serve(a.network, net.JoinHostPort(a.host, "80"), false); err != nil {
			return err
		}
		if err := serve(a.network, net.JoinHostPort(a.host, "443"), true); err != nil {
			return err
		}
	}
	fmt.Println("ready")
	return <-errc
}

// echo answers ICMP echo requests to addr after delay, from a raw socket.
func echo(addr string, delay time.Duration) error {
	pc, err := net.ListenPacket("ip4:icmp", addr)
	if err != nil {
		return fmt.Errorf("icmp listener on %s: %w", addr, err)
	}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 8 || buf[0] != 8 || buf[1] != 0 { // echo request
				continue
			}
			reply := append([]byte(nil), buf[:n]...)
			reply[0] = 0
			reply[2], reply[3] = 0, 0
			binary.BigEndian.PutUint16(reply[2:], icmpChecksum(reply))
			time.AfterFunc(delay, func() { pc.WriteTo(reply, from) })
		}
	}()
	return nil
}

func icmpChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
