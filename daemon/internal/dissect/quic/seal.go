package quic

import (
	"encoding/binary"
	"fmt"
)

// Sealer protects Initial packets (RFC 9001 5.3, 5.4): the other side of
// what an Assembler undoes. tamond does not use it; the benchmark generator
// builds real Initial packets with it, and the tests check the decryption
// against it. It follows the RFC independently of the decryption path;
// only the key schedule (checked against the RFC's vectors) and the
// ciphers' setup are shared.
type Sealer struct {
	version uint32
	vi      versionInfo
	p       *protection
}

// NewSealer returns a Sealer for the Initial packets of version on a
// connection whose client chose the Destination Connection ID dcid, with
// the server's keys if server is true, else the client's.
func NewSealer(version uint32, dcid []byte, server bool) (*Sealer, error) {
	vi, ok := lookupVersion(version)
	if !ok {
		return nil, fmt.Errorf("quic: seal Initial packets of version 0x%08x: no Initial keys known", version)
	}
	sec, err := deriveInitial(vi, dcid, server)
	if err != nil {
		return nil, err
	}
	p, err := newProtection(&sec)
	if err != nil {
		return nil, err
	}
	return &Sealer{version: version, vi: vi, p: p}, nil
}

// InitialOverhead is what SealInitial adds to a payload of frames: the
// long header (with a 2-byte Length), the packet number and the tag.
func InitialOverhead(dcid, scid, token []byte, pnLen int) int {
	return 1 + 4 + 1 + len(dcid) + 1 + len(scid) + len(appendVarint(nil, uint64(len(token)), 0)) + len(token) +
		2 + pnLen + tagLen
}

// SealInitial returns a protected Initial packet with the given header
// fields, packet number pn encoded on pnLen bytes (1 to 4), and plaintext
// payload (frames, padded by the caller to at least 3 bytes so that the
// header protection sample exists).
func (s *Sealer) SealInitial(dcid, scid, token []byte, pn uint64, pnLen int, payload []byte) []byte {
	first := byte(0xc0) | ((typeInitial+s.vi.typeShift)&3)<<4 | byte(pnLen-1)
	hdr := []byte{first}
	hdr = binary.BigEndian.AppendUint32(hdr, s.version)
	hdr = append(hdr, byte(len(dcid)))
	hdr = append(hdr, dcid...)
	hdr = append(hdr, byte(len(scid)))
	hdr = append(hdr, scid...)
	hdr = appendVarint(hdr, uint64(len(token)), 0)
	hdr = append(hdr, token...)
	hdr = appendVarint(hdr, uint64(pnLen+len(payload)+tagLen), 2)
	pnOff := len(hdr)
	for i := pnLen - 1; i >= 0; i-- {
		hdr = append(hdr, byte(pn>>(8*i)))
	}
	nonce := s.p.iv
	for i := range 8 {
		nonce[ivLen-1-i] ^= byte(pn >> (8 * i))
	}
	pkt := s.p.aead.Seal(append([]byte(nil), hdr...), nonce[:], payload, hdr)
	var mask [16]byte
	s.p.hp.Encrypt(mask[:], pkt[pnOff+4:pnOff+4+16])
	pkt[0] ^= mask[0] & 0x0f
	for i := range pnLen {
		pkt[pnOff+i] ^= mask[1+i]
	}
	return pkt
}

// AppendCryptoFrame appends a CRYPTO frame carrying data at offset.
func AppendCryptoFrame(b []byte, offset uint64, data []byte) []byte {
	b = append(b, 0x06)
	b = appendVarint(b, offset, 0)
	b = appendVarint(b, uint64(len(data)), 0)
	return append(b, data...)
}

// appendVarint appends v as a QUIC variable-length integer (RFC 9000 16)
// of the smallest size, or of size bytes (1, 2, 4 or 8) if size is not 0.
func appendVarint(b []byte, v uint64, size int) []byte {
	if size == 0 {
		switch {
		case v < 1<<6:
			size = 1
		case v < 1<<14:
			size = 2
		case v < 1<<30:
			size = 4
		default:
			size = 8
		}
	}
	var prefix byte
	switch size {
	case 2:
		prefix = 0x40
	case 4:
		prefix = 0x80
	case 8:
		prefix = 0xc0
	}
	for i := size - 1; i >= 0; i-- {
		c := byte(v >> (8 * i))
		if i == size-1 {
			c = c&0x3f | prefix
		}
		b = append(b, c)
	}
	return b
}
