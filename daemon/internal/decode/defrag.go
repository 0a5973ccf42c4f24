package decode

import "encoding/binary"

// Limits of reassembly. A datagram that is not complete within FragTimeout
// of packet time after its first fragment is dropped and counted.
const (
	FragTimeout    = 30_000_000_000 // ns
	maxDatagramLen = 65535
	maxFragRanges  = 64
)

type fragKey struct {
	src, dst [16]byte
	id       uint32
	proto    uint8
	family   uint8
}

type fragRange struct{ start, end int }

type datagram struct {
	used    bool
	key     fragKey
	first   int64 // ts of the first fragment seen
	hdr     [60]byte
	hdrLen  int // 0 until the offset-0 fragment arrives
	data    []byte
	total   int // payload length, -1 until the last fragment arrives
	ranges  [maxFragRanges]fragRange
	nranges int
}

// DefragStats counts what the Defragmenter did.
type DefragStats struct {
	Fragments   uint64 // fragments offered
	Reassembled uint64 // datagrams completed
	TimedOut    uint64 // datagrams dropped incomplete after FragTimeout
	Dropped     uint64 // fragments refused: overlap, too long, too many ranges, no slot
}

// Defragmenter reassembles IPv4 and IPv6 fragments into whole datagrams. It
// keeps a fixed number of datagram slots whose buffers are allocated once and
// reused, so steady-state reassembly does not allocate. Owned by one
// goroutine.
type Defragmenter struct {
	slots []datagram
	out   []byte
	Stats DefragStats
}

// NewDefragmenter returns a Defragmenter with n datagram slots.
func NewDefragmenter(n int) *Defragmenter {
	return &Defragmenter{slots: make([]datagram, n)}
}

// add stores one fragment. hdr is the IP header to use for the rebuilt
// datagram when this is the offset-0 fragment; payload is the fragment's
// data. When the datagram becomes complete it returns the whole datagram
// (valid until the next call) and ReasonOK.
func (f *Defragmenter) add(key fragKey, ts int64, off int, more bool, hdr, payload []byte) ([]byte, Reason) {
	f.Stats.Fragments++
	if len(f.slots) == 0 {
		f.Stats.Dropped++
		return nil, ReasonFragDropped
	}
	var dg *datagram
	var free, oldest *datagram
	for i := range f.slots {
		s := &f.slots[i]
		if s.used && ts-s.first > FragTimeout {
			s.used = false
			f.Stats.TimedOut++
		}
		if !s.used {
			if free == nil {
				free = s
			}
			continue
		}
		if s.key == key {
			dg = s
		}
		if oldest == nil || s.first < oldest.first {
			oldest = s
		}
	}
	if dg == nil {
		if free == nil {
			oldest.used = false
			f.Stats.TimedOut++
			free = oldest
		}
		dg = free
		dg.used, dg.key, dg.first, dg.hdrLen, dg.total, dg.nranges = true, key, ts, 0, -1, 0
		if dg.data == nil {
			dg.data = make([]byte, maxDatagramLen)
		}
	}
	end := off + len(payload)
	if end > maxDatagramLen || (!more && dg.total >= 0 && dg.total != end) || (dg.total >= 0 && end > dg.total) {
		dg.used = false
		f.Stats.Dropped++
		return nil, ReasonFragDropped
	}
	// Duplicates are ignored; any other overlap drops the datagram (RFC 5722).
	for i := 0; i < dg.nranges; i++ {
		r := dg.ranges[i]
		if r.start == off && r.end == end {
			return nil, ReasonFragment
		}
		if off < r.end && r.start < end {
			dg.used = false
			f.Stats.Dropped++
			return nil, ReasonFragDropped
		}
	}
	if dg.nranges == maxFragRanges {
		dg.used = false
		f.Stats.Dropped++
		return nil, ReasonFragDropped
	}
	dg.ranges[dg.nranges] = fragRange{off, end}
	dg.nranges++
	copy(dg.data[off:end], payload)
	if !more {
		dg.total = end
	}
	if off == 0 {
		if len(hdr) > len(dg.hdr) {
			dg.used = false
			f.Stats.Dropped++
			return nil, ReasonFragDropped
		}
		dg.hdrLen = copy(dg.hdr[:], hdr)
	}
	if dg.total < 0 || dg.hdrLen == 0 {
		return nil, ReasonFragment
	}
	got := 0
	for i := 0; i < dg.nranges; i++ {
		got += dg.ranges[i].end - dg.ranges[i].start
	}
	if got != dg.total {
		return nil, ReasonFragment
	}
	// Complete: header + payload, with lengths and fragment fields fixed.
	n := dg.hdrLen + dg.total
	if cap(f.out) < n {
		f.out = make([]byte, maxDatagramLen+len(dg.hdr))
	}
	out := f.out[:n]
	copy(out, dg.hdr[:dg.hdrLen])
	copy(out[dg.hdrLen:], dg.data[:dg.total])
	if key.family == 4 {
		binary.BigEndian.PutUint16(out[2:4], uint16(min(n, 0xffff)))
		out[6] &= 0x40 // keep DF, clear MF and the offset
		out[7] = 0
	} else {
		binary.BigEndian.PutUint16(out[4:6], uint16(dg.total))
	}
	dg.used = false
	f.Stats.Reassembled++
	return out, ReasonOK
}
