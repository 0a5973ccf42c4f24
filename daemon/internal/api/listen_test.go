package api

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tamon/daemon/internal/config"
)

// selfSigned makes a certificate for 127.0.0.1 and writes it and its key
// as DER (as uhttpd's px5g does) or PEM; keyForm picks the key encoding.
func selfSigned(t *testing.T, dir, name string, key crypto.Signer, pemFiles bool, keyForm string) (certFile, keyFile string, der []byte) {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "OpenWrt"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	var kb []byte
	var ktype string
	switch keyForm {
	case "pkcs1":
		kb, ktype = x509.MarshalPKCS1PrivateKey(key.(*rsa.PrivateKey)), "RSA PRIVATE KEY"
	case "ec":
		kb, err = x509.MarshalECPrivateKey(key.(*ecdsa.PrivateKey))
		ktype = "EC PRIVATE KEY"
	default:
		kb, err = x509.MarshalPKCS8PrivateKey(key)
		ktype = "PRIVATE KEY"
	}
	if err != nil {
		t.Fatal(err)
	}
	cb := der
	if pemFiles {
		cb = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		kb = pem.EncodeToMemory(&pem.Block{Type: ktype, Bytes: kb})
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	os.WriteFile(certFile, cb, 0o600)
	os.WriteFile(keyFile, kb, 0o600)
	return certFile, keyFile, der
}

// TestLoadKeyPair: DER and PEM, RSA (PKCS#1, PKCS#8) and EC keys; keys that
// do not belong to the certificate and junk are refused.
func TestLoadKeyPair(t *testing.T) {
	dir := t.TempDir()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cases := []struct {
		name string
		key  crypto.Signer
		pem  bool
		form string
	}{
		{"rsa-der-pkcs1", rsaKey, false, "pkcs1"},
		{"rsa-der-pkcs8", rsaKey, false, "pkcs8"},
		{"ec-der", ecKey, false, "ec"},
		{"rsa-pem", rsaKey, true, "pkcs1"},
		{"ec-pem-pkcs8", ecKey, true, "pkcs8"},
	}
	for _, c := range cases {
		cf, kf, der := selfSigned(t, dir, c.name, c.key, c.pem, c.form)
		kp, err := loadKeyPair(cf, kf)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if string(kp.Certificate[0]) != string(der) {
			t.Errorf("%s: wrong certificate", c.name)
		}
	}
	cf, _, _ := selfSigned(t, dir, "a", rsaKey, false, "pkcs1")
	_, kf, _ := selfSigned(t, dir, "b", ecKey, false, "ec")
	if _, err := loadKeyPair(cf, kf); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Errorf("mismatched pair: %v", err)
	}
	junk := filepath.Join(dir, "junk")
	os.WriteFile(junk, []byte("not a certificate"), 0o600)
	if _, err := loadKeyPair(junk, kf); err == nil || !strings.Contains(err.Error(), junk) {
		t.Errorf("junk certificate: %v", err)
	}
	if _, err := loadKeyPair(cf, junk); err == nil || !strings.Contains(err.Error(), junk) {
		t.Errorf("junk key: %v", err)
	}
	if _, err := loadKeyPair(filepath.Join(dir, "none"), kf); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestTLSConfig: off, on and auto (following uhttpd's listen_https).
func TestTLSConfig(t *testing.T) {
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cf, kf, _ := selfSigned(t, dir, "uhttpd", key, false, "ec")
	withHTTPS := filepath.Join(dir, "uhttpd-https")
	os.WriteFile(withHTTPS, []byte("config uhttpd 'main'\n\tlist listen_http '0.0.0.0:80'\n\tlist listen_https '0.0.0.0:443'\n\toption cert '"+cf+"'\n\toption key '"+kf+"'\n"), 0o644)
	plain := filepath.Join(dir, "uhttpd-plain")
	os.WriteFile(plain, []byte("config uhttpd 'main'\n\tlist listen_http '0.0.0.0:80'\n\toption cert '"+cf+"'\n\toption key '"+kf+"'\n"), 0o644)
	cases := []struct {
		uhttpd string
		cfg    config.API
		tls    bool
		err    string
	}{
		{withHTTPS, config.API{TLS: "off"}, false, ""},
		{withHTTPS, config.API{TLS: "auto"}, true, ""},
		{withHTTPS, config.API{}, true, ""},
		{plain, config.API{TLS: "auto"}, false, ""},
		{filepath.Join(dir, "missing"), config.API{TLS: "auto"}, false, ""},
		{plain, config.API{TLS: "on"}, true, ""},
		{filepath.Join(dir, "missing"), config.API{TLS: "on", Cert: cf, Key: kf}, true, ""},
		{filepath.Join(dir, "missing"), config.API{TLS: "on"}, false, "/etc/uhttpd.crt"},
		{withHTTPS, config.API{TLS: "auto", Cert: filepath.Join(dir, "nope.crt")}, false, "nope.crt"},
		{plain, config.API{TLS: "maybe"}, false, "maybe"},
	}
	for i, c := range cases {
		s := New(Options{UhttpdConfig: c.uhttpd})
		tc, err := s.tlsConfig(c.cfg)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("case %d: %v, want an error naming %s", i, err, c.err)
			}
			continue
		}
		if err != nil || (tc != nil) != c.tls {
			t.Errorf("case %d: TLS %v, %v; want TLS %v", i, tc != nil, err, c.tls)
		}
	}
}

// TestListenAndServeTLS: serves HTTPS with uhttpd's DER certificate on the
// configured address, reloads a replaced certificate, and shuts down when
// the context ends.
func TestListenAndServeTLS(t *testing.T) {
	dir := t.TempDir()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	cf, kf, der := selfSigned(t, dir, "uhttpd", key, false, "pkcs1")
	uh := filepath.Join(dir, "uhttpd")
	os.WriteFile(uh, []byte("config uhttpd 'main'\n\tlist listen_https '0.0.0.0:443'\n\toption cert '"+cf+"'\n\toption key '"+kf+"'\n"), 0o644)
	logs := &syncBuffer{}
	s := New(Options{UhttpdConfig: uh, Logger: logs, Token: func() string { return testToken }, StreamSocketBuffer: 8192})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe(ctx, config.API{Listen: "127.0.0.1:0", TLS: "auto"}) }()
	addr := waitAddr(t, s, done)
	pool := x509.NewCertPool()
	leaf, _ := x509.ParseCertificate(der)
	pool.AddCert(leaf)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	resp, err := client.Get("https://" + addr + "/api/v1/health")
	if err != nil {
		t.Fatalf("https health: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "{\"ok\":true}\n" {
		t.Fatalf("health: %d %s", resp.StatusCode, b)
	}
	if resp.TLS == nil || string(resp.TLS.PeerCertificates[0].Raw) != string(der) {
		t.Fatal("not served with uhttpd's certificate")
	}
	// A stream over TLS, closed with 1001 when the server stops.
	d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool}, HandshakeTimeout: 5 * time.Second}
	ws, _, err := d.Dial("wss://"+addr+"/api/v1/stream", nil)
	if err != nil {
		t.Fatalf("wss: %v", err)
	}
	defer ws.Close()
	ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"auth","token":"`+testToken+`"}`))
	waitSubscribedClients(t, s, 1)
	// Plain HTTP on the TLS port fails.
	if resp, err := http.Get("http://" + addr + "/api/v1/health"); err == nil && resp.StatusCode == 200 {
		t.Error("plain HTTP answered on the TLS port")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ListenAndServe: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ListenAndServe did not return after its context ended")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("still listening after shutdown")
	}
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
				t.Errorf("stream at shutdown: %v, want close 1001", err)
			}
			break
		}
	}
	// The same Server listens again.
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := make(chan error, 1)
	go func() { done2 <- s.ListenAndServe(ctx2, config.API{Listen: "127.0.0.1:0", TLS: "off"}) }()
	addr2 := waitAddr(t, s, done2)
	if code, _, _ := do(t, "GET", "http://"+addr2+"/api/v1/status", "Bearer "+testToken, nil); code != 200 {
		t.Errorf("second ListenAndServe: %d", code)
	}
	cancel2()
	if err := <-done2; err != nil {
		t.Error(err)
	}
	if !strings.Contains(logs.String(), "listening on") {
		t.Errorf("log: %s", logs.String())
	}
}

func waitAddr(t *testing.T, s *Server, done chan error) string {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("ListenAndServe returned: %v", err)
		default:
		}
		if a := s.Addrs(); len(a) > 0 {
			return a[0].String()
		}
	}
	t.Fatal("ListenAndServe did not listen")
	return ""
}

// TestListenLAN: "lan:PORT" listens on the addresses ubus gives for the
// interface, waits while it has none (never falling back to every
// address), and follows changes.
func TestListenLAN(t *testing.T) {
	var mu sync.Mutex
	status := `{"up":false,"ipv4-address":[]}`
	var calls []string
	run := func(ctx context.Context, name string, args ...string) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, name+" "+strings.Join(args, " "))
		if name != "ubus" || len(args) != 3 || args[0] != "call" || args[1] != "network.interface.lan" || args[2] != "status" {
			return nil, errors.New("unexpected command")
		}
		return []byte(status), nil
	}
	logs := &syncBuffer{}
	s := New(Options{Run: run, Logger: logs, ResolveEvery: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	port := freePort(t)
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe(ctx, config.API{Listen: "lan:" + port, TLS: "off"}) }()
	time.Sleep(1500 * time.Millisecond)
	if a := s.Addrs(); len(a) != 0 {
		t.Fatalf("listening on %v while lan has no address", a)
	}
	if !strings.Contains(logs.String(), "interface lan has no address yet") {
		t.Errorf("log: %s", logs.String())
	}
	mu.Lock()
	status = `{"up":true,"ipv4-address":[{"address":"127.0.0.1","mask":8}],"ipv6-address":[{"address":"fe80::1","mask":64}]}`
	mu.Unlock()
	addr := waitAddr(t, s, done)
	if addr != "127.0.0.1:"+port {
		t.Fatalf("listening on %s", addr)
	}
	code, body, _ := do(t, "GET", "http://"+addr+"/api/v1/health", "", nil)
	if code != 200 {
		t.Fatalf("health: %d %s", code, body)
	}
	// The address moves: ::1 and 127.0.0.2 (both on loopback).
	mu.Lock()
	status = `{"up":true,"ipv4-address":[{"address":"127.0.0.2","mask":8}],"ipv6-prefix-assignment":[{"address":"2001:db8::","mask":64,"local-address":{"address":"::1","mask":128}}]}`
	mu.Unlock()
	want := []string{"127.0.0.2:" + port, "[::1]:" + port}
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var got []string
		for _, a := range s.Addrs() {
			got = append(got, a.String())
		}
		if slices.Equal(got, want) {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("listening on %v, want %v", got, want)
		}
	}
	if _, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
		t.Error("still listening on the old address")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// TestListenErrors: a bad listen value and a taken port are errors.
func TestListenErrors(t *testing.T) {
	s := New(Options{})
	if err := s.ListenAndServe(context.Background(), config.API{Listen: "8321", TLS: "off"}); err == nil || !strings.Contains(err.Error(), "api.listen") {
		t.Errorf("listen 8321: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s = New(Options{})
	if err := s.ListenAndServe(context.Background(), config.API{Listen: l.Addr().String(), TLS: "off"}); err == nil || !strings.Contains(err.Error(), l.Addr().String()) {
		t.Errorf("taken port: %v", err)
	}
}

// TestInterfaceAddrs: addresses from ubus network.interface status.
func TestInterfaceAddrs(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  bool
	}{
		{`{"ipv4-address":[{"address":"192.0.2.1","mask":24}]}`, []string{"192.0.2.1"}, false},
		{`{"ipv4-address":[{"address":"192.0.2.1","mask":24},{"address":"198.51.100.1","mask":24}],
		  "ipv6-address":[{"address":"fe80::1","mask":64},{"address":"2001:db8::1","mask":64}],
		  "ipv6-prefix-assignment":[{"address":"2001:db8:1::","mask":60,"local-address":{"address":"2001:db8:1::1","mask":60}},{"address":"2001:db8:2::","mask":60}]}`,
			[]string{"192.0.2.1", "198.51.100.1", "2001:db8:1::1", "2001:db8::1"}, false},
		{`{"up":false}`, nil, false},
		{`{"ipv4-address":[{"address":"not an ip"},{"address":"0.0.0.0"},{"address":"192.0.2.1"},{"address":"192.0.2.1"}]}`, []string{"192.0.2.1"}, false},
		{`Command failed: Not found`, nil, true},
	}
	for _, c := range cases {
		got, err := interfaceAddrs([]byte(c.in))
		if (err != nil) != c.err || !slices.Equal(got, c.want) {
			t.Errorf("interfaceAddrs(%.60s) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}
