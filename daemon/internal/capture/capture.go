// Package capture yields link-layer frames with their capture timestamps,
// from live interfaces (AF_PACKET TPACKET_V3 ring) or from pcap/pcapng files.
//
// A Source is read with Next in a loop:
//
//	var f capture.Frame
//	for {
//		err := src.Next(&f)
//		switch {
//		case err == nil:
//			handle(&f) // f.Data is only valid until the next call of Next
//		case errors.Is(err, capture.ErrTimeout):
//			// live source, nothing arrived: advance timers
//		case errors.Is(err, io.EOF):
//			return nil // end of the file
//		default:
//			return err // fatal; errors.Is(err, capture.ErrTruncated) for a cut file
//		}
//	}
//
// Ownership: the bytes of Frame.Data belong to the Source. They are reused
// (files) or live in the kernel's ring (live capture, where the ring block is
// handed back to the kernel when Next moves on), so they are valid only until
// the next call of Next or Close on the same Source. Copy what you keep.
//
// Concurrency: a Source is read by one goroutine. Next and Close must not run
// at the same time. Stats and Name may be called from any goroutine at any
// time, also while Next runs or after Close.
//
// Allocation: in the steady state Next does not allocate, for files (pcap and
// pcapng) and for live capture, with the exceptions listed on Next.
package capture

import (
	"errors"
	"fmt"
	"time"
)

// LinkType says how a frame starts. Values are tamon's own, mapped from pcap
// LINKTYPE_* numbers by FromPcap. The zero value means "unknown".
type LinkType uint8

// The link types tamon decodes.
const (
	// LinkEthernet is Ethernet II / 802.3 (LINKTYPE_ETHERNET, DLT_EN10MB, 1).
	LinkEthernet LinkType = iota + 1
	// LinkLinuxSLL is the Linux "cooked" header v1 (LINKTYPE_LINUX_SLL, 113).
	LinkLinuxSLL
	// LinkLinuxSLL2 is the Linux "cooked" header v2 (LINKTYPE_LINUX_SLL2, 276).
	LinkLinuxSLL2
	// LinkRaw is a bare IP packet; the version is in its first nibble.
	// From LINKTYPE_RAW (101), DLT_RAW (12, and 14 on OpenBSD),
	// LINKTYPE_IPV4 (228) and LINKTYPE_IPV6 (229); also what live capture
	// gives for interfaces without a link header (PPP, tun, WireGuard, GRE).
	LinkRaw
	// LinkNull is BSD loopback: a 4-byte address family in the byte order of
	// the machine that wrote the file (LINKTYPE_NULL, 0).
	LinkNull
	// LinkLoop is OpenBSD loopback: a 4-byte address family, big-endian
	// (LINKTYPE_LOOP, 108).
	LinkLoop
)

var linkNames = [...]string{"", "Ethernet", "Linux SLL", "Linux SLL2", "Raw IP", "Null", "Loop"}

// String returns a short human name, e.g. "Ethernet" or "Linux SLL2".
func (l LinkType) String() string {
	if l != 0 && int(l) < len(linkNames) {
		return linkNames[l]
	}
	return fmt.Sprintf("LinkType(%d)", uint8(l))
}

// Pcap returns the pcap LINKTYPE_* number to write frames of this link type
// to a pcap or pcapng file (LinkRaw gives LINKTYPE_RAW, 101), or 0 and false
// for an unknown value.
func (l LinkType) Pcap() (uint32, bool) {
	switch l {
	case LinkEthernet:
		return 1, true
	case LinkLinuxSLL:
		return 113, true
	case LinkLinuxSLL2:
		return 276, true
	case LinkRaw:
		return 101, true
	case LinkNull:
		return 0, true
	case LinkLoop:
		return 108, true
	}
	return 0, false
}

// FromPcap maps a pcap link type number (the pcap file header's network
// field, a pcapng interface's LinkType) to tamon's; ok is false when tamon
// cannot decode that link type.
func FromPcap(n uint32) (l LinkType, ok bool) {
	switch n {
	case 1:
		return LinkEthernet, true
	case 113:
		return LinkLinuxSLL, true
	case 276:
		return LinkLinuxSLL2, true
	case 101, 12, 14, 228, 229:
		return LinkRaw, true
	case 0:
		return LinkNull, true
	case 108:
		return LinkLoop, true
	}
	return 0, false
}

// supportedPcapLinkTypes is the list that errors about unsupported link
// types print.
const supportedPcapLinkTypes = "0 (NULL), 1 (ETHERNET), 12/14/101 (RAW), 108 (LOOP), 113 (LINUX_SLL), 228 (IPV4), 229 (IPV6), 276 (LINUX_SLL2)"

// Frame is one captured frame. Data is owned by the Source and valid only
// until the next call of Next (or Close) on the same Source; copy what you
// keep. A Frame can be reused for every call of Next: Next overwrites all its
// fields.
type Frame struct {
	// Data is the captured bytes, starting with the header that Link names.
	// It may be shorter than WireLen when the snap length cut the frame.
	Data []byte
	// WireLen is the length of the frame on the wire, never less than
	// len(Data).
	WireLen int
	// TS is the capture time in Unix nanoseconds; 0 when the file has no
	// time for the packet (pcapng Simple Packet Block).
	TS int64
	// Link says how Data starts.
	Link LinkType
	// Iface is an index into the Source's interface list: for a live source
	// the position of the interface in the list given to OpenLive, for a
	// pcap file 0, for a pcapng file the interface id of the packet (an
	// index into the interfaces of the current section).
	Iface int
}

// Stats are a Source's counters, cumulative since it was opened.
type Stats struct {
	// Packets and Bytes count the frames Next returned and their wire
	// lengths (WireLen, not the captured bytes).
	Packets, Bytes uint64
	// KernelDrops is the number of frames the kernel dropped because the
	// ring was full (TPACKET_V3 tp_drops, summed over the interfaces).
	// Always 0 for files.
	KernelDrops uint64
	// KernelFreezes is the number of times the kernel found the ring full
	// and froze it (TPACKET_V3 tp_freeze_q_cnt). Always 0 for files.
	KernelFreezes uint64
	// Skipped counts frames read but not returned: in a pcapng file, the
	// packets of interfaces whose link type tamon cannot decode.
	Skipped uint64
}

// Source yields frames. See the package documentation for ownership and
// concurrency rules.
type Source interface {
	// Next fills f with the next frame. It returns
	//   - io.EOF at the end of a file;
	//   - ErrTimeout when a live source saw no frame within its poll
	//     timeout (so the caller can advance its clock); the source stays
	//     usable;
	//   - an error wrapping ErrTruncated, naming the file and the packet
	//     number, when a file ends in the middle of a packet record, after
	//     all complete packets were delivered;
	//   - other errors for fatal conditions (corrupt file, interface gone
	//     down or removed, Next after Close).
	// Every error but ErrTimeout is final: later calls return it again.
	//
	// Next does not allocate in the steady state. Exceptions: a file
	// record (pcapng block) longer than the read buffer (256 KiB) takes a
	// buffer of its size, once; live frames whose VLAN tag the kernel
	// stripped (gopacket's afpacket puts the tag back into a new buffer).
	Next(f *Frame) error
	// Stats returns the counters. Safe to call from any goroutine, also
	// after Close (then it returns the last values).
	Stats() Stats
	// Close releases the file or the sockets and rings. It does not close
	// standard input. Calling Close again returns nil.
	Close() error
	// Name is the file path ("-" for standard input) or the comma-joined
	// interface names.
	Name() string
}

var (
	// ErrTimeout is returned by Next of a live source when no frame arrived
	// within LiveOptions.PollTimeout.
	ErrTimeout = errors.New("capture: no frame within the poll timeout")
	// ErrTruncated is wrapped by the error Next (or OpenFile, for a cut file
	// header) returns when a file ends in the middle of a record.
	ErrTruncated = errors.New("file ends in the middle of a packet record")
	// ErrClosed is wrapped by the error Next returns after Close.
	ErrClosed = errors.New("capture source closed")
)

// Defaults for LiveOptions.
const (
	// DefaultSnapLen keeps a whole MTU-sized frame (a QUIC Initial must be
	// complete to be decrypted) and, for GRO-merged TCP super-frames, the
	// first two or three segments, enough for a TLS ClientHello with a
	// post-quantum key share. In a TPACKET_V3 ring a frame takes only the
	// space it needs, so a larger snap length costs ring space only for
	// frames longer than ~1.5 KiB.
	DefaultSnapLen = 4096
	// DefaultBlockSize and DefaultNumBlocks give a 4 MiB ring per
	// interface (kernel memory, not swappable): about 2,700 full-size
	// frames, 0.3 s of a saturated 100 Mbit/s link, while fitting a router
	// with 128 MB of RAM. 128 KiB is a multiple of every page size Linux
	// uses (4, 16, 64 KiB).
	DefaultBlockSize = 128 << 10
	DefaultNumBlocks = 32
	// DefaultPollTimeout is how long Next waits for a frame before it
	// returns ErrTimeout.
	DefaultPollTimeout = 200 * time.Millisecond
	// maxSnapLen is libpcap's MAXIMUM_SNAPLEN.
	maxSnapLen = 262144
	// maxBlockTimeout bounds how long the kernel keeps a partly filled
	// ring block before handing it to us.
	maxBlockTimeout = 64 * time.Millisecond
)

// LiveOptions tune OpenLive. The zero value gives the defaults.
type LiveOptions struct {
	// Promiscuous puts each interface in promiscuous mode through a packet
	// socket membership (PACKET_MR_PROMISC). The kernel counts memberships
	// and drops this one when the source is closed or the process exits.
	Promiscuous bool
	// SnapLen is the most bytes kept of each frame, 1 to 262144; 0 means
	// DefaultSnapLen (4096). The kernel cuts frames with a one-instruction
	// socket filter, so longer frames do not take ring space.
	SnapLen int
	// BlockSize is the size of one ring block (TPACKET_V3 tp_block_size),
	// a multiple of the page size, larger than SnapLen + 128; 0 means
	// DefaultBlockSize (128 KiB).
	BlockSize int
	// NumBlocks is the number of ring blocks per interface, at least 2;
	// 0 means DefaultNumBlocks (32). The ring of each interface takes
	// BlockSize*NumBlocks bytes of kernel memory (4 MiB by default).
	NumBlocks int
	// PollTimeout is how long Next waits for a frame before it returns
	// ErrTimeout, at least 1 ms; 0 means DefaultPollTimeout (200 ms).
	// The kernel hands over a partly filled block after min(PollTimeout/2,
	// 64 ms) (tp_retire_blk_tov), so on a quiet link a frame reaches Next
	// up to that long after its TS: a frame may arrive after an ErrTimeout
	// with a TS earlier than the time that ErrTimeout was seen.
	PollTimeout time.Duration
}

// withDefaults fills zero fields with the defaults and checks the result.
func (o LiveOptions) withDefaults(pageSize int) (LiveOptions, error) {
	if o.SnapLen == 0 {
		o.SnapLen = DefaultSnapLen
	}
	if o.BlockSize == 0 {
		o.BlockSize = DefaultBlockSize
	}
	if o.NumBlocks == 0 {
		o.NumBlocks = DefaultNumBlocks
	}
	if o.PollTimeout == 0 {
		o.PollTimeout = DefaultPollTimeout
	}
	switch {
	case o.SnapLen < 1 || o.SnapLen > maxSnapLen:
		return o, fmt.Errorf("snap length %d out of range 1..%d", o.SnapLen, maxSnapLen)
	case o.BlockSize <= 0 || o.BlockSize%pageSize != 0:
		return o, fmt.Errorf("block size %d is not a multiple of the page size %d", o.BlockSize, pageSize)
	case o.BlockSize < o.SnapLen+128:
		return o, fmt.Errorf("block size %d too small for snap length %d (need at least snap length + 128)", o.BlockSize, o.SnapLen)
	case o.NumBlocks < 2:
		return o, fmt.Errorf("number of blocks %d: need at least 2", o.NumBlocks)
	case int64(o.BlockSize)*int64(o.NumBlocks) > 1<<30:
		return o, fmt.Errorf("ring of %d blocks of %d bytes exceeds 1 GiB", o.NumBlocks, o.BlockSize)
	case o.PollTimeout < time.Millisecond:
		return o, fmt.Errorf("poll timeout %v shorter than 1ms", o.PollTimeout)
	}
	return o, nil
}

// blockTimeout is the ring's tp_retire_blk_tov for a poll timeout.
func blockTimeout(poll time.Duration) time.Duration {
	t := poll / 2
	if t > maxBlockTimeout {
		t = maxBlockTimeout
	}
	if t < time.Millisecond {
		t = time.Millisecond
	}
	return t
}
