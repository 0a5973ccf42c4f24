// Package corpus is the shared test corpus as the tests of other packages
// read it: real captures (shared/corpus/pcaps) and what TShark and other
// tools decoded from them (shared/corpus/expected, see its MANIFEST.md).
// It finds the corpus, reads the expected TSV files, and gives the UDP
// datagrams of a capture, read with the daemon's own capture and decode
// packages. Only tests use it; the corpus is never written.
package corpus

import (
	"bufio"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tamon/daemon/internal/capture"
	"tamon/daemon/internal/decode"
)

// Find returns the corpus directory: $TAMON_CORPUS when set, else the first
// shared/corpus (holding MANIFEST.md) in the working directory or one of
// its parents (the repository sits beside shared/ on developer machines
// and in CI).
func Find() (string, bool) {
	if d := os.Getenv("TAMON_CORPUS"); d != "" {
		return d, true
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		c := filepath.Join(dir, "shared", "corpus")
		if _, err := os.Stat(filepath.Join(c, "MANIFEST.md")); err == nil {
			return c, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// Dir is Find for a test: the test fails when there is no corpus.
func Dir(t testing.TB) string {
	t.Helper()
	d, ok := Find()
	if !ok {
		t.Fatal("test corpus not found: no shared/corpus beside the repository; set TAMON_CORPUS")
	}
	return d
}

// ReadTable reads a tab-separated file whose first line names the columns
// (TShark's -T fields output with a header): the header, and each further
// line's fields.
func ReadTable(t testing.TB, path string) (header []string, rows [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if header == nil {
			header = fields
			continue
		}
		rows = append(rows, fields)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return header, rows
}

// ReadTSV is ReadTable with each row keyed by column.
func ReadTSV(t testing.TB, path string) []map[string]string {
	t.Helper()
	cols, lines := ReadTable(t, path)
	rows := make([]map[string]string, 0, len(lines))
	for _, fields := range lines {
		row := make(map[string]string, len(cols))
		for i, c := range cols {
			if i < len(fields) {
				row[c] = fields[i]
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// Datagram is one UDP datagram of a capture.
type Datagram struct {
	Frame            int   // 1-based, as TShark numbers frames
	TS               int64 // Unix ms
	SrcMAC           [6]byte
	HasMAC           bool
	Src              netip.Addr
	SrcPort, DstPort uint16
	Payload          []byte // owned by the caller
}

// UDP returns the UDP datagrams of a pcap or pcapng file in capture order,
// decoded as the engine decodes them (innermost addresses and ports;
// fragments reassembled, on the frame that completes them).
func UDP(t testing.TB, path string) []Datagram {
	t.Helper()
	src, err := capture.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dec := decode.NewDecoder(64)
	var (
		f   capture.Frame
		p   decode.Packet
		out []Datagram
	)
	for n := 1; ; n++ {
		err := src.Next(&f)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("read %s frame %d: %v", path, n, err)
		}
		if dec.Decode(f.Data, f.Link, f.WireLen, f.TS, &p) != decode.ReasonOK || p.Proto != 17 {
			continue
		}
		d := Datagram{Frame: n, TS: p.TS / 1e6, SrcMAC: p.SrcMAC, HasMAC: p.HasMAC, SrcPort: p.SrcPort, DstPort: p.DstPort,
			Payload: append([]byte(nil), p.Payload...)}
		if p.Family == 4 {
			d.Src = netip.AddrFrom4([4]byte(p.Src[:4]))
		} else {
			d.Src = netip.AddrFrom16(p.Src)
		}
		out = append(out, d)
	}
}
