package quic

import "fmt"

// maxStreamOffset is the largest offset a QUIC stream can reach (2^62-1).
const maxStreamOffset = 1<<62 - 1

// cryptoFrame is the data of one CRYPTO frame; data aliases the packet.
type cryptoFrame struct {
	offset uint64
	data   []byte
}

// frameReader walks the frames of one decrypted Initial payload and yields
// its CRYPTO frames. It skips the other frames allowed in Initial packets
// (RFC 9000 table 3: PADDING, PING, ACK, CONNECTION_CLOSE of type 0x1c);
// Google T051 payloads use Google QUIC frame types (PADDING 0x00 to the end
// of the packet, PING 0x07, CRYPTO 0x08).
type frameReader struct {
	b     []byte
	gquic bool
}

// next returns the next CRYPTO frame. ok is false at the end of the payload
// or on error; err is non-nil (wrapping ErrFrame) when a frame does not
// parse or has a type not allowed in Initial packets.
func (r *frameReader) next() (f cryptoFrame, ok bool, err error) {
	for len(r.b) > 0 {
		if r.gquic {
			switch r.b[0] {
			case 0x00: // PADDING: the rest of the packet
				r.b = nil
				return f, false, nil
			case 0x07: // PING
				r.b = r.b[1:]
				continue
			case 0x08: // CRYPTO
				r.b = r.b[1:]
				return r.crypto()
			}
			return f, false, r.fail("Google QUIC frame type 0x%02x", r.b[0])
		}
		if r.b[0] == 0x00 { // PADDING, usually many in a row
			i := 1
			for i < len(r.b) && r.b[i] == 0 {
				i++
			}
			r.b = r.b[i:]
			continue
		}
		typ, n := varint(r.b)
		if n == 0 {
			return f, false, r.fail("frame type cut off")
		}
		r.b = r.b[n:]
		switch typ {
		case 0x01: // PING
		case 0x02, 0x03: // ACK, ACK with ECN counts
			if err := r.skipAck(typ == 0x03); err != nil {
				return f, false, err
			}
		case 0x06: // CRYPTO
			return r.crypto()
		case 0x1c: // CONNECTION_CLOSE (transport)
			if !r.skipVarints(2) {
				return f, false, r.fail("CONNECTION_CLOSE cut off")
			}
			if !r.skipBytes() {
				return f, false, r.fail("CONNECTION_CLOSE reason cut off")
			}
		default:
			return f, false, r.fail("frame type 0x%x not allowed in Initial packets", typ)
		}
	}
	return f, false, nil
}

// crypto reads the body of a CRYPTO frame whose type byte is consumed.
func (r *frameReader) crypto() (f cryptoFrame, ok bool, err error) {
	off, n := varint(r.b)
	if n == 0 {
		return f, false, r.fail("CRYPTO offset cut off")
	}
	r.b = r.b[n:]
	length, n := varint(r.b)
	if n == 0 {
		return f, false, r.fail("CRYPTO length cut off")
	}
	r.b = r.b[n:]
	if length > uint64(len(r.b)) {
		return f, false, r.fail("CRYPTO frame of %d bytes, %d left in the packet", length, len(r.b))
	}
	if off+length > maxStreamOffset {
		return f, false, r.fail("CRYPTO frame at offset %d of %d bytes beyond 2^62", off, length)
	}
	f = cryptoFrame{offset: off, data: r.b[:length]}
	r.b = r.b[length:]
	return f, true, nil
}

// skipAck skips the body of an ACK frame (RFC 9000 19.3).
func (r *frameReader) skipAck(ecn bool) error {
	if !r.skipVarints(2) { // Largest Acknowledged, ACK Delay
		return r.fail("ACK cut off")
	}
	count, n := varint(r.b)
	if n == 0 {
		return r.fail("ACK range count cut off")
	}
	r.b = r.b[n:]
	if !r.skipVarints(1) { // First ACK Range
		return r.fail("ACK cut off")
	}
	// Each range is at least 2 bytes, which bounds the loop by the payload.
	if count > uint64(len(r.b)/2) {
		return r.fail("ACK with %d ranges in %d bytes", count, len(r.b))
	}
	if !r.skipVarints(2 * int(count)) {
		return r.fail("ACK ranges cut off")
	}
	if ecn && !r.skipVarints(3) {
		return r.fail("ACK ECN counts cut off")
	}
	return nil
}

// skipVarints skips k variable-length integers.
func (r *frameReader) skipVarints(k int) bool {
	for range k {
		_, n := varint(r.b)
		if n == 0 {
			return false
		}
		r.b = r.b[n:]
	}
	return true
}

// skipBytes skips a length-prefixed byte string.
func (r *frameReader) skipBytes() bool {
	l, n := varint(r.b)
	if n == 0 || l > uint64(len(r.b)-n) {
		return false
	}
	r.b = r.b[n+int(l):]
	return true
}

// fail stops the walk and returns an ErrFrame error.
func (r *frameReader) fail(format string, args ...any) error {
	r.b = nil
	return fmt.Errorf("%w: "+format, append([]any{ErrFrame}, args...)...)
}
