package spool

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"tamon/daemon/internal/capture"
	"tamon/daemon/internal/pipeline"
	"tamon/daemon/internal/record"
	"tamon/daemon/internal/store/sqldb"
)

// fill sets every field of the struct v points to, recursively, to a value
// derived from n, so that a codec that forgets a field fails.
func fill(v reflect.Value, n int) {
	switch v.Kind() {
	case reflect.Pointer:
		fill(v.Elem(), n)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fill(v.Field(i), n+i*7)
		}
	case reflect.String:
		v.SetString(fmt.Sprintf("v%d-文字", n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(-int64(n) - 1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(n%200) + 1)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 3, 3)
		for i := 0; i < 3; i++ {
			fill(s.Index(i), n+i)
		}
		v.Set(s)
	default:
		panic("fill: " + v.Kind().String())
	}
}

// fullRecords returns one record of each kind with every field set.
func fullRecords() []record.Record {
	recs := []record.Record{&record.Session{}, &record.DNS{}, &record.HTTP{}, &record.TLS{}, &record.ICMP{}, &record.App{}, &record.Device{}}
	for i, r := range recs {
		fill(reflect.ValueOf(r), i*100)
	}
	return recs
}

func entries(recs []record.Record, run int64, seq0 int64) []sqldb.Entry {
	out := make([]sqldb.Entry, len(recs))
	for i, r := range recs {
		out[i] = sqldb.Entry{Run: run, Seq: seq0 + int64(i), Rec: r}
	}
	return out
}

func TestCodecRoundTrip(t *testing.T) {
	recs := append(fullRecords(), &record.Session{}, &record.DNS{}, &record.Device{}) // zero values too
	for i, e := range entries(recs, -5, 1<<40) {
		b := appendEntry(nil, &e)
		got, err := decodeEntry(b)
		if err != nil {
			t.Fatalf("%s: %v", e.Rec.Kind(), err)
		}
		if !reflect.DeepEqual(normalise(got), normalise(e)) {
			t.Errorf("record %d (%s):\n got  %#v\n want %#v", i, e.Rec.Kind(), got.Rec, e.Rec)
		}
		// Every prefix is malformed, never a panic or a different record.
		for n := 0; n < len(b); n++ {
			if _, err := decodeEntry(b[:n]); err == nil {
				t.Fatalf("%s: prefix of %d bytes decoded", e.Rec.Kind(), n)
			}
		}
		if _, err := decodeEntry(append(slices.Clone(b), 0)); err == nil {
			t.Errorf("%s: trailing byte accepted", e.Rec.Kind())
		}
	}
}

// normalise makes empty slices nil (the codec does not keep the
// difference, JSON does not show it).
func normalise(e sqldb.Entry) sqldb.Entry {
	v := reflect.ValueOf(e.Rec).Elem()
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Slice && f.Len() == 0 {
			f.Set(reflect.Zero(f.Type()))
		}
	}
	return e
}

func TestCodecRejects(t *testing.T) {
	valid := appendEntry(nil, &sqldb.Entry{Run: 1, Seq: 2, Rec: &record.TLS{ECH: true}}) // ends with ech
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"unknown kind", []byte{99, 2, 4}},
		{"kind zero", []byte{0, 2, 4}},
		{"port out of range", func() []byte {
			b := []byte{byte(record.KindHTTP), 2, 4}
			b = putStr(b, "s")
			b = binary.AppendVarint(b, 1)
			b = putStr(b, "m")
			b = putStr(b, "ip")
			return binary.AppendUvarint(b, 70000)
		}()},
		{"string longer than record", []byte{byte(record.KindApp), 2, 4, 0x80, 0x01}},
		{"huge list count", func() []byte {
			b := []byte{byte(record.KindDevice), 2, 4}
			for i := 0; i < 5; i++ {
				b = putStr(b, "x")
			}
			return binary.AppendUvarint(b, 1<<40)
		}()},
		{"bad bool", func() []byte { b := slices.Clone(valid); b[len(b)-1] = 7; return b }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeEntry(tt.b); !errors.Is(err, errMalformed) {
				t.Errorf("err %v, want errMalformed", err)
			}
		})
	}
}

// corpusRecords runs the engine over a few corpus captures, for seeds.
func corpusRecords(t testing.TB) []record.Record {
	t.Helper()
	dir := "../../../../../shared/corpus"
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("shared/corpus not found at %s: %v", dir, err)
	}
	var recs []record.Record
	for _, name := range []string{"arkime_dns-udp.pcap", "arkime_tls-alpn-h2.pcap", "ppp_IcmpPackets.pcap", "zeek_http_methods.pcap"} {
		src, err := capture.OpenFile(filepath.Join(dir, "pcaps", name))
		if err != nil {
			t.Fatal(err)
		}
		e := pipeline.New(pipeline.Config{Sensor: "seed", Workers: 1}, pipeline.SinkFunc(func(rs []record.Record) error {
			recs = append(recs, rs...)
			return nil
		}))
		err = e.Run(context.Background(), src)
		src.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return recs
}

// FuzzDecodeEntry: any bytes decode to a record or an error; a record
// decoded encodes back to the same bytes.
func FuzzDecodeEntry(f *testing.F) {
	for i, r := range append(fullRecords(), corpusRecords(f)...) {
		f.Add(appendEntry(nil, &sqldb.Entry{Run: int64(i), Seq: int64(i * 3), Rec: r}))
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEntry(b)
		if err != nil {
			return
		}
		again := appendEntry(nil, &e)
		e2, err := decodeEntry(again)
		if err != nil || !reflect.DeepEqual(normalise(e), normalise(e2)) {
			t.Fatalf("re-encoded record differs: %v", err)
		}
	})
}

func BenchmarkCodec(b *testing.B) {
	recs := corpusRecords(b)
	es := entries(recs, 1, 1)
	var buf []byte
	for i := range es {
		buf = appendEntry(buf[:0], &es[i])
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := &es[i%len(es)]
		buf = appendEntry(buf[:0], e)
		if _, err := decodeEntry(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func openSpool(t testing.TB, dir string, max int64) *Spool {
	t.Helper()
	s, err := Open(dir, max)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// readAll reads and commits everything, returning the sequence numbers.
func readAll(t testing.TB, s *Spool, batch int) []int64 {
	t.Helper()
	var seqs []int64
	for {
		es, pos, err := s.Read(batch, nil)
		if err != nil {
			t.Fatal(err)
		}
		if pos.Records() == 0 {
			return seqs
		}
		for _, e := range es {
			seqs = append(seqs, e.Seq)
		}
		if err := s.Commit(pos); err != nil {
			t.Fatal(err)
		}
	}
}

func seqRange(from, to int64) []int64 {
	var out []int64
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func manyRecords(n int) []record.Record {
	base := fullRecords()
	out := make([]record.Record, n)
	for i := range out {
		out[i] = base[i%len(base)]
	}
	return out
}

func TestAppendReadCommit(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, 1<<20) // 128 KiB segments
	if !s.Empty() {
		t.Fatal("new spool not empty")
	}
	if _, err := s.Append(entries(manyRecords(3000), 1, 0)); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Records != 3000 || s.Empty() || len(s.segs) < 3 {
		t.Fatalf("after append: %+v, %d segments", st, len(s.segs))
	}
	got := readAll(t, s, 250)
	if !slices.Equal(got, seqRange(0, 3000)) {
		t.Fatalf("read %d records out of order", len(got))
	}
	if !s.Empty() || s.Stats().Bytes != 0 {
		t.Errorf("after commit of everything: %+v", s.Stats())
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(names) != 0 {
		t.Errorf("segments left: %v", names)
	}
}

// TestReopen: records not committed are read again by the next process,
// from the cursor on; committed ones are not.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	s.Append(entries(manyRecords(2000), 7, 0))
	es, pos, err := s.Read(600, nil)
	if err != nil || len(es) == 0 {
		t.Fatal(err)
	}
	s.Commit(pos)
	committed := int64(len(es))
	es, _, _ = s.Read(100, nil) // read, not committed: comes back
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openSpool(t, dir, 1<<20)
	if st := s2.Stats(); st.Records != 2000-committed {
		t.Errorf("reopened spool holds %d records, want %d", st.Records, 2000-committed)
	}
	got := readAll(t, s2, 333)
	if !slices.Equal(got, seqRange(committed, 2000)) {
		t.Errorf("reopened: read %d records, first %v", len(got), got[:min(3, len(got))])
	}
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	openSpool(t, dir, 1<<20)
	if s, err := Open(dir, 1<<20); err == nil {
		s.Close()
		t.Fatal("a second Open of the same folder succeeded")
	}
}

// TestTornTail: a crash in the middle of a frame leaves a partial frame;
// Open cuts it, counts it, and appending goes on.
func TestTornTail(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, 1<<20)
	s.Append(entries(manyRecords(10), 1, 0))
	path := s.segPath(s.segs[len(s.segs)-1].id)
	s.Close()
	fi, _ := os.Stat(path)
	if err := os.Truncate(path, fi.Size()-5); err != nil {
		t.Fatal(err)
	}
	s2 := openSpool(t, dir, 1<<20)
	if st := s2.Stats(); st.Records != 9 || st.Corrupt == 0 {
		t.Fatalf("after a torn tail: %+v", st)
	}
	s2.Append(entries(manyRecords(3), 1, 100))
	if got := readAll(t, s2, 100); !slices.Equal(got, append(seqRange(0, 9), 100, 101, 102)) {
		t.Errorf("read %v", got)
	}
}

// TestFlippedBit: a damaged frame in an older segment ends that segment;
// the rest of the spool is read.
func TestFlippedBit(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, 1<<20)
	s.Append(entries(manyRecords(3000), 1, 0))
	first := s.segs[0]
	path, recs := s.segPath(first.id), first.recs
	s.Close()
	b, _ := os.ReadFile(path)
	b[len(b)/2] ^= 0x40
	os.WriteFile(path, b, 0o600)
	s2 := openSpool(t, dir, 1<<20)
	got := readAll(t, s2, 500)
	if st := s2.Stats(); st.Corrupt == 0 || len(got) >= 3000 || len(got) < 3000-int(recs) {
		t.Errorf("read %d of 3000 after a flipped bit in a segment of %d: %+v", len(got), recs, st)
	}
	if !slices.IsSorted(got) || got[len(got)-1] != 2999 {
		t.Errorf("records out of order or the newest missing")
	}
}

// TestCap: past the cap the oldest segments go, counted; the newest stay.
func TestCap(t *testing.T) {
	s := openSpool(t, t.TempDir(), 256<<10) // 64 KiB segments
	var total int64
	for i := 0; i < 50; i++ {
		n, err := s.Append(entries(manyRecords(100), 1, total))
		if err != nil || n != 100 {
			t.Fatal(n, err)
		}
		total += 100
		if st := s.Stats(); st.Bytes > 256<<10+64<<10 {
			t.Fatalf("spool of %d bytes, cap %d", st.Bytes, 256<<10)
		}
	}
	st := s.Stats()
	if st.Dropped == 0 || st.Records+int64(st.Dropped) != total {
		t.Fatalf("%d records kept + %d dropped != %d written", st.Records, st.Dropped, total)
	}
	got := readAll(t, s, 1000)
	if !slices.Equal(got, seqRange(total-int64(len(got)), total)) {
		t.Errorf("kept records are not the newest: %d records from %d", len(got), got[0])
	}
}

// TestDropWhileReading: the cap drops a segment whose records are being
// written to the database; Holds tells the reader to append them again.
func TestDropWhileReading(t *testing.T) {
	s := openSpool(t, t.TempDir(), 256<<10)
	s.Append(entries(manyRecords(100), 1, 0))
	es, pos, _ := s.Read(50, nil)
	if !s.Holds(pos) {
		t.Fatal("fresh read not held")
	}
	for i := 0; i < 40; i++ {
		s.Append(entries(manyRecords(100), 1, int64(1000+i*100)))
	}
	if s.Holds(pos) {
		t.Fatal("segment still held past the cap")
	}
	if err := s.Commit(pos); err != nil {
		t.Fatal(err)
	}
	before := s.Stats().Records
	s.Append(es)
	if s.Stats().Records != before+int64(len(es)) {
		t.Errorf("append of the orphans not counted")
	}
}

func TestRewind(t *testing.T) {
	s := openSpool(t, t.TempDir(), 1<<20)
	s.Append(entries(manyRecords(10), 1, 0))
	a, _, _ := s.Read(4, nil)
	s.Rewind()
	b, _, _ := s.Read(4, nil)
	if len(a) != 4 || a[0].Seq != b[0].Seq {
		t.Errorf("rewind: %d then %d", a[0].Seq, b[0].Seq)
	}
}

func TestCursorDamaged(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, 1<<20)
	s.Append(entries(manyRecords(10), 1, 0))
	_, pos, _ := s.Read(5, nil)
	s.Commit(pos)
	s.Close()
	b, _ := os.ReadFile(filepath.Join(dir, cursorName))
	b[3] ^= 1
	os.WriteFile(filepath.Join(dir, cursorName), b, 0o600)
	s2 := openSpool(t, dir, 1<<20)
	// A damaged cursor replays everything (the database skips duplicates).
	if got := readAll(t, s2, 100); !slices.Equal(got, seqRange(0, 10)) {
		t.Errorf("read %v", got)
	}
}

func TestForeignFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "0000000000000001.seg"), []byte("not a spool segment"), 0o600)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o600)
	s := openSpool(t, dir, 1<<20)
	if st := s.Stats(); st.Records != 0 || st.Corrupt == 0 {
		t.Errorf("foreign segment: %+v", st)
	}
	s.Append(entries(manyRecords(2), 1, 0))
	if got := readAll(t, s, 10); len(got) != 2 {
		t.Errorf("read %v", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "notes.txt")); !bytes.Equal(b, []byte("hello")) {
		t.Error("a file that is not ours was touched")
	}
}

func BenchmarkAppendRead(b *testing.B) {
	s := openSpool(b, b.TempDir(), 64<<20)
	es := entries(manyRecords(1000), 1, 0)
	var buf []sqldb.Entry
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Append(es); err != nil {
			b.Fatal(err)
		}
		for {
			var pos Pos
			var err error
			buf, pos, err = s.Read(1000, buf[:0])
			if err != nil {
				b.Fatal(err)
			}
			if pos.Records() == 0 {
				break
			}
			s.Commit(pos)
		}
	}
	b.ReportMetric(float64(b.N*len(es))/b.Elapsed().Seconds(), "records/s")
}
