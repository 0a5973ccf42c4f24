// Package spool keeps records on disk while the database is away: a folder
// of append-only segment files of checksummed frames, one stamped record
// per frame, read back in order and let go once the database has them.
//
// # Layout
//
// The folder holds segments named <id>.seg (16 hex digits, ids increasing),
// a cursor file and a lock file. A segment starts with an 8-byte magic and
// holds frames: a 4-byte little-endian payload length, the CRC-32C of the
// payload, and the payload (see codec.go). The cursor names the first frame
// that the database does not have yet (segment id and offset); it is
// rewritten after each commit but not synced, so after a crash the spool may
// replay records the database already has. That is safe: the database
// skips stamped records it has (see package sqldb).
//
// # Size cap
//
// The spool holds at most the configured bytes. When an append goes past
// the cap, whole segments are dropped, oldest first, and their records are
// counted in Dropped; the segment being appended to is never dropped. A
// segment is an eighth of the cap (64 KiB to 8 MiB), so a drop loses at
// most about an eighth of the spool.
//
// # Damage
//
// A frame that does not check out (a torn write at power loss, a flipped
// bit) ends its segment: at Open the last segment is cut back to its last
// good frame, and the bytes lost are counted in Corrupt.
//
// A Spool is safe for concurrent use. Only one Spool may use a folder at a
// time: Open takes an exclusive lock on it.
package spool

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"tamon/daemon/internal/store/sqldb"
)

const (
	magic       = "TAMSPL1\n"
	headerBytes = int64(len(magic))
	frameHead   = 8
	maxFrame    = 16 << 20
	cursorName  = "cursor"
	lockName    = "lock"
	segSuffix   = ".seg"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type segment struct {
	id       uint64
	size     int64 // bytes of valid frames, header included
	recs     int64 // frames
	readOff  int64 // next frame to read
	readRecs int64
	doneOff  int64 // first frame the database does not have
	doneRecs int64
	rf       *os.File // for reading, opened on demand
}

// Pos is the end of a Read: pass it to Commit once the records are in the
// database.
type Pos struct {
	seg  uint64
	off  int64
	recs int64
}

// Records returns the number of frames the read covered.
func (p Pos) Records() int64 { return p.recs }

// Spool is a folder of segments. See the package doc.
type Spool struct {
	dir      string
	maxBytes int64
	segBytes int64

	mu      sync.Mutex
	lock    *os.File
	segs    []*segment // oldest first; the last one is appended to
	tail    *os.File   // append handle of the last segment
	cursor  *os.File
	buf     []byte
	rbuf    []byte
	pending int64 // records not yet committed
	bytes   int64 // bytes of every segment
	dirty   bool  // appended since the last Sync
	dropped uint64
	corrupt uint64
	closed  bool
}

// Open opens (creating it when missing) the spool folder dir, capped at
// maxBytes (at least 64 KiB), and checks what an earlier process left in it.
func Open(dir string, maxBytes int64) (*Spool, error) {
	if dir == "" {
		return nil, errors.New("open spool: empty folder name")
	}
	maxBytes = max(maxBytes, 64<<10)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open spool %q: %w", dir, err)
	}
	lf, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open spool %q: %w", dir, err)
	}
	if err := lockFile(lf); err != nil {
		lf.Close()
		return nil, fmt.Errorf("open spool %q: another process uses it: %w", dir, err)
	}
	s := &Spool{dir: dir, maxBytes: maxBytes, segBytes: min(max(maxBytes/8, 64<<10), 8<<20), lock: lf}
	if err := s.load(); err != nil {
		s.closeFiles()
		return nil, fmt.Errorf("open spool %q: %w", dir, err)
	}
	return s, nil
}

func (s *Spool) segPath(id uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%016x%s", id, segSuffix))
}

// load scans the folder: segments, their frames, the cursor.
func (s *Spool) load() error {
	names, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	var ids []uint64
	for _, n := range names {
		name := n.Name()
		if !strings.HasSuffix(name, segSuffix) {
			continue
		}
		id, err := strconv.ParseUint(strings.TrimSuffix(name, segSuffix), 16, 64)
		if err != nil {
			continue // not ours
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	cseg, coff := s.readCursor()
	for i, id := range ids {
		last := i == len(ids)-1
		seg, err := s.scan(id, last, cseg, coff)
		if err != nil {
			return err
		}
		if seg == nil || (seg.doneOff >= seg.size && !last) {
			if err := os.Remove(s.segPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			continue
		}
		s.segs = append(s.segs, seg)
		s.bytes += seg.size
		s.pending += seg.recs - seg.doneRecs
	}
	if s.pending == 0 {
		return s.reset()
	}
	if err := s.openCursor(); err != nil {
		return err
	}
	t := s.segs[len(s.segs)-1]
	f, err := os.OpenFile(s.segPath(t.id), os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	s.tail = f
	return nil
}

// scan checks segment id frame by frame. A bad frame ends it; in the last
// segment the file is cut there so that appends go on from good data. cseg
// and coff are the cursor: frames before it are done.
func (s *Spool) scan(id uint64, last bool, cseg uint64, coff int64) (*segment, error) {
	path := s.segPath(id)
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	fileSize := st.Size()
	seg := &segment{id: id}
	head := make([]byte, headerBytes)
	if _, err := io.ReadFull(f, head); err != nil || string(head) != magic {
		s.corrupt += uint64(fileSize)
		return nil, nil // not a segment, or torn before its header: drop it
	}
	seg.size = headerBytes
	br := bufio.NewReaderSize(f, 64<<10)
	var fh [frameHead]byte
	for {
		if id == cseg && seg.size == coff {
			seg.doneOff, seg.doneRecs = seg.size, seg.recs
		}
		if _, err := io.ReadFull(br, fh[:]); err != nil {
			break
		}
		n := binary.LittleEndian.Uint32(fh[:4])
		if n == 0 || n > maxFrame || int64(n) > fileSize-seg.size-frameHead {
			break
		}
		if cap(s.rbuf) < int(n) {
			s.rbuf = make([]byte, n)
		}
		p := s.rbuf[:n]
		if _, err := io.ReadFull(br, p); err != nil || crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(fh[4:]) {
			break
		}
		seg.size += frameHead + int64(n)
		seg.recs++
	}
	if id < cseg {
		seg.doneOff, seg.doneRecs = seg.size, seg.recs
	}
	if seg.size < fileSize {
		s.corrupt += uint64(fileSize - seg.size)
		if last {
			if err := f.Truncate(seg.size); err != nil {
				return nil, err
			}
		}
	}
	seg.readOff, seg.readRecs = seg.doneOff, seg.doneRecs
	if seg.readOff == 0 {
		seg.readOff = headerBytes
		seg.doneOff = headerBytes
	}
	return seg, nil
}

func (s *Spool) readCursor() (uint64, int64) {
	b, err := os.ReadFile(filepath.Join(s.dir, cursorName))
	if err != nil || len(b) != 20 || crc32.Checksum(b[:16], castagnoli) != binary.LittleEndian.Uint32(b[16:]) {
		return 0, 0 // none or damaged: replay everything (duplicates are skipped)
	}
	return binary.LittleEndian.Uint64(b[:8]), int64(binary.LittleEndian.Uint64(b[8:16]))
}

func (s *Spool) openCursor() error {
	if s.cursor != nil {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(s.dir, cursorName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	s.cursor = f
	return nil
}

func (s *Spool) writeCursor(seg uint64, off int64) error {
	if err := s.openCursor(); err != nil {
		return err
	}
	var b [20]byte
	binary.LittleEndian.PutUint64(b[:8], seg)
	binary.LittleEndian.PutUint64(b[8:16], uint64(off))
	binary.LittleEndian.PutUint32(b[16:], crc32.Checksum(b[:16], castagnoli))
	_, err := s.cursor.WriteAt(b[:], 0)
	return err
}

// reset removes every segment: the database has everything.
func (s *Spool) reset() error {
	for _, seg := range s.segs {
		if seg.rf != nil {
			seg.rf.Close()
		}
		if err := os.Remove(s.segPath(seg.id)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if s.tail != nil {
		s.tail.Close()
		s.tail = nil
	}
	s.segs = s.segs[:0]
	s.bytes, s.pending = 0, 0
	if err := os.Remove(filepath.Join(s.dir, cursorName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if s.cursor != nil {
		s.cursor.Close()
		s.cursor = nil
	}
	return nil
}

// newSegment starts a segment after the last one and makes it the tail.
func (s *Spool) newSegment() error {
	var id uint64 = 1
	if n := len(s.segs); n > 0 {
		id = s.segs[n-1].id + 1
		if err := s.tail.Sync(); err != nil {
			return err
		}
		s.tail.Close()
		s.tail = nil
	}
	f, err := os.OpenFile(s.segPath(id), os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write([]byte(magic)); err != nil {
		f.Close()
		return err
	}
	s.tail = f
	s.segs = append(s.segs, &segment{id: id, size: headerBytes, readOff: headerBytes, doneOff: headerBytes})
	s.bytes += headerBytes
	return nil
}

// Append writes entries at the end of the spool and returns how many it
// wrote: all of them, unless it fails. When the spool goes past its cap,
// the oldest segments are dropped and counted.
func (s *Spool) Append(entries []sqldb.Entry) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errors.New("spool append: spool closed")
	}
	if len(entries) == 0 {
		return 0, nil
	}
	if err := s.openCursor(); err != nil {
		return 0, fmt.Errorf("spool append: %w", err)
	}
	if len(s.segs) == 0 {
		if err := s.newSegment(); err != nil {
			return 0, fmt.Errorf("spool append: %w", err)
		}
	}
	s.dirty = true
	buf := s.buf[:0]
	var recs int64
	written := 0
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		t := s.segs[len(s.segs)-1]
		if _, err := s.tail.Write(buf); err != nil {
			// Cut a partial write off, so that the segment ends on a frame.
			s.tail.Truncate(t.size) //nolint:errcheck // Open cuts a torn tail anyway
			return err
		}
		t.size += int64(len(buf))
		t.recs += recs
		s.bytes += int64(len(buf))
		s.pending += recs
		written += int(recs)
		buf, recs = buf[:0], 0
		return nil
	}
	for i := range entries {
		start := len(buf)
		buf = append(buf, 0, 0, 0, 0, 0, 0, 0, 0) // frame head, filled below
		buf = appendEntry(buf, &entries[i])
		n := len(buf) - start - frameHead
		if n > maxFrame {
			buf = buf[:start]
			err := flush()
			s.buf = buf[:0]
			return written, errors.Join(fmt.Errorf("spool append: record of %d bytes above the %d limit", n, maxFrame), err)
		}
		binary.LittleEndian.PutUint32(buf[start:], uint32(n))
		binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(buf[start+frameHead:], castagnoli))
		recs++
		if t := s.segs[len(s.segs)-1]; t.size+int64(len(buf)) > s.segBytes && (t.size > headerBytes || start > 0) {
			// This frame goes to a new segment: write what came before.
			frame := slices.Clone(buf[start:])
			buf, recs = buf[:start], recs-1
			if err := flush(); err != nil {
				return written, fmt.Errorf("spool append: %w", err)
			}
			if err := s.newSegment(); err != nil {
				return written, fmt.Errorf("spool append: %w", err)
			}
			s.enforceCap()
			buf, recs = append(buf, frame...), 1
		}
	}
	err := flush()
	s.buf = buf[:0]
	s.enforceCap()
	if err != nil {
		return written, fmt.Errorf("spool append: %w", err)
	}
	return written, nil
}

// enforceCap drops the oldest segments while the spool is over its cap.
func (s *Spool) enforceCap() {
	for s.bytes > s.maxBytes && len(s.segs) > 1 {
		seg := s.segs[0]
		s.dropped += uint64(seg.recs - seg.readRecs) // never read: lost
		s.pending -= seg.recs - seg.doneRecs         // read but not committed: the reader holds them
		s.bytes -= seg.size
		if seg.rf != nil {
			seg.rf.Close()
		}
		os.Remove(s.segPath(seg.id)) //nolint:errcheck // gone either way
		s.segs = s.segs[1:]
	}
}

// Read returns up to max records that follow the last Read, in order,
// appended to dst, and the position to Commit once the database has them.
// It reads within one segment; records that do not decode are skipped and
// counted in Corrupt. It returns no records when everything was read.
func (s *Spool) Read(max int, dst []sqldb.Entry) ([]sqldb.Entry, Pos, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var seg *segment
	for _, sg := range s.segs {
		if sg.readOff < sg.size {
			seg = sg
			break
		}
	}
	if seg == nil || s.closed {
		return dst, Pos{}, nil
	}
	if seg.rf == nil {
		f, err := os.Open(s.segPath(seg.id))
		if err != nil {
			return dst, Pos{}, fmt.Errorf("spool read: %w", err)
		}
		seg.rf = f
	}
	br := bufio.NewReaderSize(io.NewSectionReader(seg.rf, seg.readOff, seg.size-seg.readOff), 64<<10)
	pos := Pos{seg: seg.id, off: seg.readOff}
	var fh [frameHead]byte
	for n := 0; n < max && pos.off < seg.size; n++ {
		if _, err := io.ReadFull(br, fh[:]); err != nil {
			return dst, Pos{}, fmt.Errorf("spool read %s at %d: %w", s.segPath(seg.id), pos.off, err)
		}
		size := binary.LittleEndian.Uint32(fh[:4])
		if cap(s.rbuf) < int(size) {
			s.rbuf = make([]byte, size)
		}
		p := s.rbuf[:size]
		if _, err := io.ReadFull(br, p); err != nil {
			return dst, Pos{}, fmt.Errorf("spool read %s at %d: %w", s.segPath(seg.id), pos.off, err)
		}
		pos.off += frameHead + int64(size)
		pos.recs++
		if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(fh[4:]) {
			s.corrupt += uint64(frameHead + int64(size))
			continue
		}
		e, err := decodeEntry(p)
		if err != nil {
			s.corrupt += uint64(frameHead + int64(size))
			continue
		}
		dst = append(dst, e)
	}
	seg.readOff = pos.off
	seg.readRecs += pos.recs
	return dst, pos, nil
}

// Holds reports whether the records of p are still in the spool: false
// when their segment was dropped by the cap after they were read. A reader
// that cannot get them into the database must then Append them again.
func (s *Spool) Holds(p Pos) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.find(p.seg) != nil
}

func (s *Spool) find(id uint64) *segment {
	for _, sg := range s.segs {
		if sg.id == id {
			return sg
		}
	}
	return nil
}

// Commit records that the database has every record read up to p. Fully
// committed segments are deleted; when nothing is left, the spool is empty
// again.
func (s *Spool) Commit(p Pos) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	seg := s.find(p.seg)
	if seg == nil || p.off <= seg.doneOff || s.closed {
		return nil // dropped meanwhile, or nothing new
	}
	seg.doneOff = p.off
	seg.doneRecs += p.recs
	s.pending -= p.recs
	if s.pending == 0 && s.allRead() {
		if err := s.reset(); err != nil {
			return fmt.Errorf("spool commit: %w", err)
		}
		return nil
	}
	for len(s.segs) > 1 && s.segs[0].doneOff >= s.segs[0].size {
		head := s.segs[0]
		if head.rf != nil {
			head.rf.Close()
		}
		if err := os.Remove(s.segPath(head.id)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("spool commit: %w", err)
		}
		s.bytes -= head.size
		s.segs = s.segs[1:]
	}
	if err := s.writeCursor(seg.id, seg.doneOff); err != nil {
		return fmt.Errorf("spool commit: %w", err)
	}
	return nil
}

func (s *Spool) allRead() bool {
	for _, sg := range s.segs {
		if sg.readOff < sg.size {
			return false
		}
	}
	return true
}

// Rewind makes the next Read start again at the first record not
// committed, for a reader that gave up on what it read.
func (s *Spool) Rewind() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sg := range s.segs {
		sg.readOff, sg.readRecs = sg.doneOff, sg.doneRecs
	}
}

// Empty reports whether every record appended is in the database (none
// waits, none is being read).
func (s *Spool) Empty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending == 0
}

// Stats are the spool's counters.
type Stats struct {
	Records int64  // records not yet in the database
	Bytes   int64  // bytes on disk
	Dropped uint64 // records lost to the size cap
	Corrupt uint64 // bytes of damaged frames skipped
}

// Stats returns the spool's counters.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Records: s.pending, Bytes: s.bytes, Dropped: s.dropped, Corrupt: s.corrupt}
}

// Sync flushes appended records to stable storage.
func (s *Spool) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sync()
}

func (s *Spool) sync() error {
	if !s.dirty || s.tail == nil {
		return nil
	}
	if err := s.tail.Sync(); err != nil {
		return fmt.Errorf("spool sync: %w", err)
	}
	if s.cursor != nil {
		if err := s.cursor.Sync(); err != nil {
			return fmt.Errorf("spool sync: %w", err)
		}
	}
	s.dirty = false
	return nil
}

// Close syncs and closes the spool and releases the folder.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	err := s.sync()
	s.closed = true
	s.closeFiles()
	return err
}

func (s *Spool) closeFiles() {
	for _, sg := range s.segs {
		if sg.rf != nil {
			sg.rf.Close()
			sg.rf = nil
		}
	}
	if s.tail != nil {
		s.tail.Close()
	}
	if s.cursor != nil {
		s.cursor.Close()
	}
	if s.lock != nil {
		unlockFile(s.lock)
		s.lock.Close()
	}
}
