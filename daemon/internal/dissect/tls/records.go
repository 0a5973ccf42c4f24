package tls

const (
	recordHeaderLen    = 5
	handshakeHeaderLen = 4
	contentAlert       = 21
	contentHandshake   = 22
	alertWarning       = 1
	// maxRecord is the longest record accepted. Plaintext records carry at
	// most 2^14 bytes; the 2048 bytes of slack that RFC 5246 allows
	// compressed records keep a sloppy peer from being taken for non-TLS.
	maxRecord = 16384 + 2048
)

// Records finds the first handshake message in a TLS byte stream: the bytes
// of one direction of a TCP connection from its first byte, as TLS records
// (content type 22, SSL 3.0 to TLS 1.3) that may split the message over
// several records, records that may be split over several segments.
//
// Warning alerts before the message are skipped: some servers send an
// unrecognized_name warning before their ServerHello.
//
// When the message is complete, Records returns it (4-byte handshake header
// and body, exactly 4+length bytes) with need == 0 and err == nil. msg then
// aliases either stream (the message lies in one record) or scratch (the
// message spans records: its fragments are copied into scratch[:0], which
// grows, and so allocates, only when cap(scratch) is too small; a scratch of
// MaxHello bytes never grows). Bytes after the message are not looked at.
//
// When the bytes are a TLS handshake so far but end too early, Records
// returns need > 0: a lower bound on the number of bytes to add to stream
// before calling again. When they cannot be one, it returns an error
// wrapping ErrNotTLS (not a handshake record, not a ClientHello or
// ServerHello first), ErrMalformed (broken record framing) or ErrTooLarge
// (the message would exceed MaxHello bytes). Errors come only from bytes
// present, so an error found in a prefix of a stream is found in the whole
// stream too, and a stream that holds a complete message gives need > 0 for
// each of its shorter prefixes.
//
// Records keeps no reference to stream or scratch; it writes only to
// scratch's backing array.
func Records(stream []byte, scratch []byte) (msg []byte, need int, err error) {
	var hdr [handshakeHeaderLen]byte
	hdrN := 0    // handshake header bytes seen
	total := -1  // 4 + message length, once the header is known
	copied := -1 // bytes of the message in scratch; -1 while nothing is copied
	off := 0
	for {
		rem := len(stream) - off
		if rem < recordHeaderLen {
			if err := checkRecordHeader(stream[off:], hdrN == 0); err != nil {
				return nil, 0, err
			}
			return nil, recordHeaderLen - rem + missing(hdrN, total, copied), nil
		}
		if err := checkRecordHeader(stream[off:off+recordHeaderLen], hdrN == 0); err != nil {
			return nil, 0, err
		}
		rl := int(be16(stream[off+3:]))
		start := off + recordHeaderLen
		body := stream[start:min(start+rl, len(stream))]

		if stream[off] == contentAlert {
			// A warning before the first handshake byte (checkRecordHeader
			// allows no other alert): skip it.
			if rl != 2 {
				return nil, 0, errAlertLength
			}
			if len(body) > 0 && body[0] != alertWarning {
				return nil, 0, errFatalAlert
			}
			if len(body) < rl {
				return nil, rl - len(body) + recordHeaderLen + handshakeHeaderLen, nil
			}
			off = start + rl
			continue
		}
		if rl == 0 {
			return nil, 0, errEmptyRecord
		}
		if rl > maxRecord {
			return nil, 0, errRecordTooLong
		}

		// The usual case: the whole message in the first handshake record.
		if hdrN == 0 && len(body) >= handshakeHeaderLen {
			t := body[0]
			if t != TypeClientHello && t != TypeServerHello {
				return nil, 0, errFirstMsgType
			}
			n := handshakeHeaderLen + be24(body[1:])
			if n > MaxHello {
				return nil, 0, errTooLarge
			}
			if n <= rl {
				if len(body) >= n {
					return body[:n], 0, nil
				}
				return nil, n - len(body), nil
			}
		}

		// The message spans records: gather it in scratch.
		i := 0
		for hdrN < handshakeHeaderLen && i < len(body) {
			hdr[hdrN] = body[i]
			hdrN++
			i++
			if hdrN == 1 && hdr[0] != TypeClientHello && hdr[0] != TypeServerHello {
				return nil, 0, errFirstMsgType
			}
			if hdrN == handshakeHeaderLen {
				total = handshakeHeaderLen + be24(hdr[1:])
				if total > MaxHello {
					return nil, 0, errTooLarge
				}
				scratch = append(scratch[:0], hdr[:]...)
				copied = handshakeHeaderLen
			}
		}
		if copied >= 0 {
			take := min(total-copied, len(body)-i)
			scratch = append(scratch, body[i:i+take]...)
			copied += take
			if copied == total {
				return scratch[:total], 0, nil
			}
		}
		if len(body) < rl { // the record itself is cut off
			left := rl - len(body)
			m := missing(hdrN, total, copied)
			if m <= left {
				return nil, m, nil
			}
			return nil, m + recordHeaderLen, nil
		}
		off = start + rl
	}
}

// missing is a lower bound on the message bytes still to come.
func missing(hdrN, total, copied int) int {
	if total < 0 {
		return handshakeHeaderLen - hdrN
	}
	return total - copied
}

// IsHelloStart reports whether b, the first payload bytes of one direction
// of a TCP session, can start a handshake record that holds a ClientHello
// or ServerHello: content type 22, version 3.0-3.4, a length of 1 to 2^14
// (RFC 8446 5.1: no empty handshake records), then, once six bytes are
// there, handshake type 1 or 2. A shorter b that fits so far counts: some
// clients send the first byte of the record, or the first few, in a segment
// of their own (Records reads the hello across segments).
func IsHelloStart(b []byte) bool {
	if len(b) == 0 || b[0] != contentHandshake || checkRecordHeader(b[:min(len(b), recordHeaderLen)], true) != nil {
		return false
	}
	if len(b) >= recordHeaderLen {
		if rl := be16(b[3:]); rl == 0 || rl > 1<<14 {
			return false
		}
	}
	return len(b) <= recordHeaderLen || b[5] == 1 || b[5] == 2
}

// checkRecordHeader checks the bytes present of a record header (h may be
// shorter than 5 bytes). beforeMsg tells whether no byte of the handshake
// message has been seen yet: then the record may also be an alert, and a
// wrong record means the stream is not TLS rather than broken TLS.
func checkRecordHeader(h []byte, beforeMsg bool) error {
	if len(h) > 0 && h[0] != contentHandshake && (h[0] != contentAlert || !beforeMsg) {
		if beforeMsg {
			return errRecordType
		}
		return errInterleaved
	}
	if (len(h) > 1 && h[1] != 3) || (len(h) > 2 && h[2] > 4) {
		if beforeMsg {
			return errRecordVersion
		}
		return errNextVersion
	}
	return nil
}
