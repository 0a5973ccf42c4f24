package quic

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"fmt"
	"unsafe"
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
// SHA-256 and an empty context, for outputs of at most one hash (32 bytes):
// T(1) = HMAC(secret, HkdfLabel || 0x01). It does not allocate.
func hkdfExpandLabel(secret []byte, label string, length int) ([sha256.Size]byte, error) {
	var info [4 + 255 + 1]byte
	if length > sha256.Size {
		return [sha256.Size]byte{}, fmt.Errorf("quic: HKDF-Expand-Label %q of %d bytes: more than one block", label, length)
	}
	n, err := putHkdfLabel(info[:], label, length)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	info[n] = 1 // HKDF-Expand counter
	return hmacSHA256(secret, info[:n+1]), nil
}

// putHkdfLabel writes the HkdfLabel structure (RFC 8446 7.1) with an empty
// context into dst (at least 4+255 bytes): uint16 length, opaque
// label<7..255> = "tls13 " + label, opaque context<0..255>.
func putHkdfLabel(dst []byte, label string, length int) (int, error) {
	full := len("tls13 ") + len(label)
	if full > 255 || length < 0 || length > 0xffff {
		return 0, fmt.Errorf("quic: HKDF-Expand-Label %q of %d bytes: label or length out of range", label, length)
	}
	dst[0], dst[1], dst[2] = byte(length>>8), byte(length), byte(full)
	n := 3
	n += copy(dst[n:], "tls13 ")
	n += copy(dst[n:], label)
	dst[n] = 0 // empty context
	return n + 1, nil
}

// hkdfLabel returns the HkdfLabel structure as a new slice.
func hkdfLabel(label string, length int) ([]byte, error) {
	b := make([]byte, 4+255)
	n, err := putHkdfLabel(b, label, length)
	return b[:n], err
}

// hmacSHA256 is HMAC-SHA256 (RFC 2104) over stack buffers: no allocation.
// msg must be at most 320 bytes.
func hmacSHA256(key, msg []byte) [sha256.Size]byte {
	var k [64]byte
	if len(key) > len(k) {
		h := sha256.Sum256(key)
		copy(k[:], h[:])
	} else {
		copy(k[:], key)
	}
	var inner [64 + 320]byte
	for i := range k {
		inner[i] = k[i] ^ 0x36
	}
	n := copy(inner[64:], msg)
	ih := sha256.Sum256(inner[:64+n])
	var outer [64 + sha256.Size]byte
	for i := range k {
		outer[i] = k[i] ^ 0x5c
	}
	copy(outer[64:], ih[:])
	return sha256.Sum256(outer[:])
}

// deriveInitial derives the Initial secrets of the client (server false) or
// the server from the client's first Destination Connection ID.
func deriveInitial(vi versionInfo, dcid []byte, server bool) (s initialSecrets, err error) {
	var salt [32]byte
	initial := hmacSHA256(salt[:copy(salt[:], vi.salt)], dcid) // HKDF-Extract(salt, DCID)
	label := "client in"
	if server {
		label = "server in"
	}
	secret, err := hkdfExpandLabel(initial[:], label, sha256.Size)
	if err != nil {
		return s, err
	}
	var lbl [32]byte
	for _, k := range [...]struct {
		out    []byte
		suffix string
	}{{s.key[:], "key"}, {s.iv[:], "iv"}, {s.hp[:], "hp"}} {
		n := copy(lbl[:], vi.labels)
		n += copy(lbl[n:], k.suffix)
		b, err := hkdfExpandLabel(secret[:], unsafeString(lbl[:n]), len(k.out))
		if err != nil {
			return s, err
		}
		copy(k.out, b[:])
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

// unsafeString views b as a string for a call that does not keep it.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
