package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// BatchReader is a Source that can also read many frames at once straight
// into the caller's buffer, saving one copy per frame. Classic pcap files
// offer it (see AsBatchReader). Use either Next or ReadBatch on a source,
// never both.
type BatchReader interface {
	Source
	// ReadBatch fills buf (all of it, up to cap) with whole frames read
	// from the source and appends one Frame per frame to frames, with Data
	// pointing into buf. The caller owns buf; the frames stay valid as long
	// as buf is not changed. A frame cut by the end of buf is kept by the
	// source and delivered first by the next call. ReadBatch returns io.EOF
	// only when no frame is left, and ErrTruncated (wrapped) after the last
	// complete frame of a file that ends inside a record. buf must hold at
	// least 2 * (16 + snap length) bytes.
	ReadBatch(buf []byte, frames []Frame) ([]Frame, error)
}

// AsBatchReader returns s as a BatchReader when it can read in batches.
func AsBatchReader(s Source) (BatchReader, bool) {
	fs, ok := s.(*fileSource)
	if !ok || !fs.classic {
		return nil, false
	}
	return fs, true
}

// ReadBatch implements BatchReader for classic pcap files.
func (s *fileSource) ReadBatch(buf []byte, frames []Frame) ([]Frame, error) {
	if s.err != nil {
		return frames, s.err
	}
	if !s.classic {
		return frames, fmt.Errorf("read capture %s: batch reading needs a classic pcap file", s.name)
	}
	buf = buf[:cap(buf)]
	n := copy(buf, s.carry)
	if n < len(s.carry) {
		return frames, fmt.Errorf("read capture %s: batch buffer of %d bytes is smaller than a record", s.name, len(buf))
	}
	s.carry = s.carry[:0]
	var rerr error
	for n < len(buf) && rerr == nil {
		var k int
		if s.br.Buffered() > 0 {
			k, rerr = s.br.Read(buf[n:])
		} else {
			// Straight into the caller's buffer: no copy through br.
			k, rerr = s.under.Read(buf[n:])
		}
		n += k
	}
	if rerr != nil && !errors.Is(rerr, io.EOF) {
		s.err = fmt.Errorf("read capture %s: packet %d: %w", s.name, s.records+1, rerr)
		return frames, s.err
	}
	off := 0
	var npkts, nbytes uint64 // published once per batch, not per frame
	defer func() {
		s.packets.Add(npkts)
		s.bytes.Add(nbytes)
	}()
	for n-off >= 16 {
		h := buf[off : off+16]
		caplen := int(s.u32(h[8:12]))
		if caplen > maxRecordLen {
			s.err = fmt.Errorf("read capture %s: packet %d: captured length %d is not plausible (corrupt file)",
				s.name, s.records+1, caplen)
			return frames, s.err
		}
		if n-off-16 < caplen {
			break
		}
		sec := int64(s.u32(h[0:4]))
		frac := int64(s.u32(h[4:8]))
		if !s.nano {
			frac *= 1000
		}
		wire := int(s.u32(h[12:16]))
		if wire < caplen {
			wire = caplen
		}
		start := off + 16
		off = start + caplen
		frames = append(frames, Frame{Data: buf[start:off:off], WireLen: wire, TS: sec*1e9 + frac, Link: s.pcapLink})
		s.records++
		npkts++
		nbytes += uint64(wire)
	}
	s.carry = append(s.carry, buf[off:n]...)
	if rerr == nil {
		if off == 0 {
			s.err = fmt.Errorf("read capture %s: packet %d: record larger than the %d-byte batch buffer", s.name, s.records+1, len(buf))
			return frames, s.err
		}
		return frames, nil
	}
	// End of file.
	switch {
	case off > 0:
		return frames, nil // the rest (or io.EOF) on the next call
	case len(s.carry) > 0:
		s.err = fmt.Errorf("read capture %s: packet %d: %w", s.name, s.records+1, ErrTruncated)
	default:
		s.err = io.EOF
	}
	return frames, s.err
}

// u32 reads a record header field in the file's byte order: inlined,
// where a call through s.order (an interface) is not, four times a frame.
func (s *fileSource) u32(b []byte) uint32 {
	v := binary.LittleEndian.Uint32(b)
	if s.swap {
		v = bits.ReverseBytes32(v)
	}
	return v
}

// maxRecordLen bounds a record's captured length: a larger value means a
// corrupt file rather than a packet.
const maxRecordLen = 1 << 20
