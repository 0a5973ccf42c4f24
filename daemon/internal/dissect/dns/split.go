package dns

// Split walks buf, a stretch of a DNS-over-TCP byte stream (RFC 1035 4.2.2,
// RFC 7766) that starts on a message boundary, and calls fn for every
// complete message in it: each is preceded by its length as a 2-byte
// big-endian number. It returns the number of bytes consumed, which is the
// offset of the first incomplete message (or len(buf)); the caller keeps
// buf[consumed:] and retries once more of the stream has arrived.
//
// A zero length prefix is a complete, empty message: fn is called with an
// empty slice (which Parse rejects with ErrShort).
//
// The slice passed to fn aliases buf and is only valid during the call: fn
// must copy whatever it keeps. Split does not allocate, and does not
// retain buf or fn.
func Split(buf []byte, fn func(msg []byte)) (consumed int) {
	for len(buf)-consumed >= 2 {
		n := int(be16(buf[consumed:]))
		end := consumed + 2 + n
		if end > len(buf) {
			break
		}
		fn(buf[consumed+2 : end : end])
		consumed = end
	}
	return consumed
}
