package capture

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// corpusDir finds the shared test corpus: $TAMON_CORPUS, else shared/corpus
// beside the repository (as on developer machines and in CI).
func corpusDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("TAMON_CORPUS"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			c := filepath.Join(filepath.Dir(d), "shared", "corpus")
			if _, err := os.Stat(filepath.Join(c, "expected", "capinfos.tsv")); err != nil {
				t.Fatalf("test corpus not found at %s (set TAMON_CORPUS): %v", c, err)
			}
			return c
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.mod above %s; set TAMON_CORPUS to the test corpus", wd)
		}
	}
}

// capinfosRow is what the test checks of one row of capinfos.tsv.
type capinfosRow struct {
	packets    int
	start, end string // first and last packet time, seconds with a fraction
}

func readCapinfos(t *testing.T, path string) map[string]capinfosRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		t.Fatalf("%s: no header", path)
	}
	col := map[string]int{}
	for i, h := range strings.Split(sc.Text(), "\t") {
		col[h] = i
	}
	for _, h := range []string{"File name", "Number of packets", "Start time", "End time"} {
		if _, ok := col[h]; !ok {
			t.Fatalf("%s: no column %q", path, h)
		}
	}
	rows := map[string]capinfosRow{}
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		n, err := strconv.Atoi(f[col["Number of packets"]])
		if err != nil {
			t.Fatalf("%s: %s: packet count: %v", path, f[0], err)
		}
		rows[f[col["File name"]]] = capinfosRow{n, f[col["Start time"]], f[col["End time"]]}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// parseEpoch turns capinfos's "1394587409.097683" into Unix nanoseconds.
func parseEpoch(t *testing.T, s string) int64 {
	t.Helper()
	sec, frac, _ := strings.Cut(s, ".")
	secs, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || len(frac) > 9 {
		t.Fatalf("bad time %q", s)
	}
	frac += strings.Repeat("0", 9-len(frac))
	ns, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		t.Fatalf("bad time %q", s)
	}
	return secs*1e9 + ns
}

// TestCorpus reads every capture of the shared corpus: the packet count and
// the first and last times must be capinfos's, every frame must have a
// supported link type, and nothing may be skipped.
func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	want := readCapinfos(t, filepath.Join(dir, "expected", "capinfos.tsv"))
	files, err := filepath.Glob(filepath.Join(dir, "pcaps", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 || len(files) != len(want) {
		t.Fatalf("%d files in pcaps/, %d rows in capinfos.tsv", len(files), len(want))
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("%s missing from capinfos.tsv", name)
			}
			src, err := OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			var (
				f          Frame
				n          int
				first, end int64
				bytes      uint64
			)
			for {
				err = src.Next(&f)
				if err != nil {
					break
				}
				if f.Link == 0 {
					t.Fatalf("frame %d: no link type", n+1)
				}
				if len(f.Data) > f.WireLen {
					t.Fatalf("frame %d: %d bytes captured, %d on the wire", n+1, len(f.Data), f.WireLen)
				}
				if n == 0 {
					first = f.TS
				}
				first, end = min(first, f.TS), max(end, f.TS)
				bytes += uint64(f.WireLen)
				n++
			}
			if !errors.Is(err, io.EOF) {
				t.Fatalf("after %d frames: %v", n, err)
			}
			if n != w.packets {
				t.Errorf("read %d packets, capinfos says %d", n, w.packets)
			}
			st := src.Stats()
			if st.Packets != uint64(n) || st.Bytes != bytes || st.Skipped != 0 {
				t.Errorf("Stats() = %+v, want %d packets, %d bytes, none skipped", st, n, bytes)
			}
			if n > 0 {
				if s := parseEpoch(t, w.start); first != s {
					t.Errorf("first time %d, capinfos says %s", first, w.start)
				}
				if e := parseEpoch(t, w.end); end != e {
					t.Errorf("last time %d, capinfos says %s", end, w.end)
				}
			}
		})
	}
}
