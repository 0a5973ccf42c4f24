package quic

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
)

const (
	keyLen = 16 // AEAD_AES_128_GCM key and header protection key
	ivLen  = 12
	tagLen = 16
	// sampleLen is the size of the ciphertext sample for header protection.
	sampleLen = 16
)

// initialSecrets are the packet protection keys of one direction of the
// Initial packet number space (RFC 9001 5.1 and 5.2).
type initialSecrets struct {
	key [keyLen]byte
	iv  [ivLen]byte
	hp  [keyLen]byte
}

// hkdfExpandLabel is HKDF-Expand-Label of TLS 1.3 (RFC 8446 7.1) with
// SHA-256 and an empty context.
func hkdfExpandLabel(secret []byte, label string, length int) ([]byte, error) {
	info, err := hkdfLabel(label, length)
	if err != nil {
		return nil, err
	}
	return hkdf.Expand(sha256.New, secret, string(info), length)
}

// hkdfLabel encodes the HkdfLabel structure (RFC 8446 7.1) with an empty
// context: uint16 length, opaque label<7..255> = "tls13 " + label, opaque
// context<0..255>.
func hkdfLabel(label string, length int) ([]byte, error) {
	full := "tls13 " + label
	if len(full) > 255 || length < 0 || length > 0xffff {
		return nil, fmt.Errorf("quic: HKDF-Expand-Label %q of %d bytes: label or length out of range", label, length)
	}
	info := make([]byte, 0, 4+len(full))
	info = append(info, byte(length>>8), byte(length), byte(len(full)))
	info = append(info, full...)
	return append(info, 0), nil
}

// deriveInitial derives the Initial secrets of the client (server false) or
// the server from the client's first Destination Connection ID.
func deriveInitial(vi versionInfo, dcid []byte, server bool) (s initialSecrets, err error) {
	initial, err := hkdf.Extract(sha256.New, dcid, []byte(vi.salt))
	if err != nil {
		return s, fmt.Errorf("quic: derive initial secret from DCID %x: %w", dcid, err)
	}
	label := "client in"
	if server {
		label = "server in"
	}
	secret, err := hkdfExpandLabel(initial, label, sha256.Size)
	if err != nil {
		return s, err
	}
	for _, k := range []struct {
		out   []byte
		label string
	}{
		{s.key[:], vi.labels + "key"},
		{s.iv[:], vi.labels + "iv"},
		{s.hp[:], vi.labels + "hp"},
	} {
		b, err := hkdfExpandLabel(secret, k.label, len(k.out))
		if err != nil {
			return s, err
		}
		copy(k.out, b)
	}
	return s, nil
}

// protection removes the protection of Initial packets of one direction:
// the AEAD of the payload, the block cipher of header protection and the
// IV. Creating one allocates (the AES and GCM states); using one does not.
type protection struct {
	aead cipher.AEAD
	hp   cipher.Block
	iv   [ivLen]byte
}

// newProtection builds the ciphers for secrets s.
func newProtection(s *initialSecrets) (*protection, error) {
	block, err := aes.NewCipher(s.key[:])
	if err != nil {
		return nil, fmt.Errorf("quic: create AES cipher for Initial packets: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("quic: create AES-GCM for Initial packets: %w", err)
	}
	hp, err := aes.NewCipher(s.hp[:])
	if err != nil {
		return nil, fmt.Errorf("quic: create AES cipher for header protection: %w", err)
	}
	return &protection{aead: aead, hp: hp, iv: s.iv}, nil
}
