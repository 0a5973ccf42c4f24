package api

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"tamon/daemon/internal/config"
	"tamon/daemon/internal/uci"
)

// uhttpd's defaults (package uhttpd, /etc/config/uhttpd section main).
const (
	uhttpdCert = "/etc/uhttpd.crt"
	uhttpdKey  = "/etc/uhttpd.key"
)

// tlsConfig returns the TLS configuration cfg asks for, nil for plain HTTP.
func (s *Server) tlsConfig(cfg config.API) (*tls.Config, error) {
	mode := cfg.TLS
	if mode == "" {
		mode = "auto"
	}
	var on bool
	cert, key := cfg.Cert, cfg.Key
	switch mode {
	case "off":
		return nil, nil
	case "on", "auto":
		https, ucert, ukey, err := uhttpdTLS(s.opts.UhttpdConfig)
		if mode == "auto" {
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("api.tls auto: %w", err)
			}
			on = https
		} else {
			on = true
		}
		if cert == "" {
			cert = ucert
		}
		if key == "" {
			key = ukey
		}
	default:
		return nil, fmt.Errorf("api.tls %q: not auto, on or off", mode)
	}
	if !on {
		return nil, nil
	}
	kl := &keyLoader{cert: cert, key: key}
	if _, err := kl.load(); err != nil {
		return nil, fmt.Errorf("api.tls %s: %w", mode, err)
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return kl.get()
		},
	}, nil
}

// uhttpdTLS reads uhttpd's UCI file: whether it serves HTTPS
// (main.listen_https is set) and its certificate and key files.
func uhttpdTLS(path string) (https bool, cert, key string, err error) {
	cert, key = uhttpdCert, uhttpdKey
	f, err := uci.ParseFile(path)
	if err != nil {
		return false, cert, key, err
	}
	sec := f.Section("main")
	if sec == nil {
		if list := f.ByType("uhttpd"); len(list) > 0 {
			sec = list[0]
		}
	}
	if sec == nil {
		return false, cert, key, nil
	}
	return len(sec.List("listen_https")) > 0, sec.String("cert", cert), sec.String("key", key), nil
}

// keyLoader loads a certificate and key pair and loads it again when a
// file changes (checked at most every 10 s). Safe for concurrent use.
type keyLoader struct {
	cert, key string
	mu        sync.Mutex
	cur       *tls.Certificate
	stamp     [2]time.Time
	checked   time.Time
}

func (kl *keyLoader) get() (*tls.Certificate, error) {
	kl.mu.Lock()
	defer kl.mu.Unlock()
	if kl.cur != nil && time.Since(kl.checked) < 10*time.Second {
		return kl.cur, nil
	}
	kl.checked = time.Now()
	if kl.cur != nil && kl.stamp == kl.stamps() {
		return kl.cur, nil
	}
	c, err := kl.loadLocked()
	if err != nil {
		if kl.cur != nil {
			return kl.cur, nil // keep serving the one that worked
		}
		return nil, err
	}
	return c, nil
}

func (kl *keyLoader) load() (*tls.Certificate, error) {
	kl.mu.Lock()
	defer kl.mu.Unlock()
	return kl.loadLocked()
}

func (kl *keyLoader) loadLocked() (*tls.Certificate, error) {
	stamp := kl.stamps()
	c, err := loadKeyPair(kl.cert, kl.key)
	if err != nil {
		return nil, err
	}
	kl.cur, kl.stamp, kl.checked = c, stamp, time.Now()
	return c, nil
}

func (kl *keyLoader) stamps() [2]time.Time {
	var st [2]time.Time
	for i, p := range []string{kl.cert, kl.key} {
		if fi, err := os.Stat(p); err == nil {
			st[i] = fi.ModTime()
		}
	}
	return st
}

// loadKeyPair reads a certificate (chain) and its private key, each DER
// (uhttpd's px5g writes DER) or PEM, and checks that they belong together.
func loadKeyPair(certFile, keyFile string) (*tls.Certificate, error) {
	cb, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("read certificate: %w", err)
	}
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	chain, err := parseCertificates(cb)
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", certFile, err)
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", certFile, err)
	}
	priv, err := parsePrivateKey(kb)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", keyFile, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key %s: not a signing key", keyFile)
	}
	pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(signer.Public()) {
		return nil, fmt.Errorf("key %s does not belong to certificate %s", keyFile, certFile)
	}
	return &tls.Certificate{Certificate: chain, PrivateKey: priv, Leaf: leaf}, nil
}

// parseCertificates returns the DER certificates of b: PEM CERTIFICATE
// blocks, or one DER certificate.
func parseCertificates(b []byte) ([][]byte, error) {
	if !isPEM(b) {
		if _, err := x509.ParseCertificate(b); err != nil {
			return nil, fmt.Errorf("neither PEM nor a DER certificate: %w", err)
		}
		return [][]byte{b}, nil
	}
	var chain [][]byte
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type == "CERTIFICATE" {
			chain = append(chain, blk.Bytes)
		}
	}
	if len(chain) == 0 {
		return nil, errors.New("no CERTIFICATE block in the PEM file")
	}
	return chain, nil
}

// parsePrivateKey reads a PKCS#1 RSA, SEC 1 EC or PKCS#8 key, DER or PEM.
func parsePrivateKey(b []byte) (crypto.PrivateKey, error) {
	if isPEM(b) {
		for {
			var blk *pem.Block
			blk, b = pem.Decode(b)
			if blk == nil {
				return nil, errors.New("no private key block in the PEM file")
			}
			if blk.Type == "PRIVATE KEY" || blk.Type == "RSA PRIVATE KEY" || blk.Type == "EC PRIVATE KEY" {
				b = blk.Bytes
				break
			}
		}
	}
	if k, err := x509.ParsePKCS1PrivateKey(b); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(b); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS8PrivateKey(b); err == nil {
		return k, nil
	}
	return nil, errors.New("not a PKCS#1, EC or PKCS#8 private key")
}

func isPEM(b []byte) bool {
	return bytes.Contains(b[:min(len(b), 1024)], []byte("-----BEGIN "))
}
