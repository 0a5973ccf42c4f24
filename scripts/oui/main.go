// Command oui generates the compact MAC vendor table that package devices
// embeds (daemon/internal/devices/oui.dat) from the IEEE registry files of
// Debian's ieee-data package.
//
// Usage, from the repository root:
//
//	apt-get install -y ieee-data
//	go run ./scripts/oui [-src /usr/share/ieee-data] [-out daemon/internal/devices/oui.dat]
//
// It reads oui.csv (MA-L, 24-bit prefixes), mam.csv (MA-M, 28-bit) and
// oui36.csv (MA-S, 36-bit). Only the organisation names are kept, with runs
// of white space folded to one space, and each distinct name is stored once.
// Assignments named "Private" and the MA-L blocks of the "IEEE Registration
// Authority" (which are split into MA-M and MA-S blocks) are left out, so that
// a lookup of such a block finds no vendor. When the registry lists one
// assignment twice, the first row wins.
//
// The output is deterministic: the same source files give the same bytes.
//
// # File format (version 1)
//
// A text header of "key: value" lines after the first line "tamon-oui 1",
// ended by an empty line, records where the table came from (the source
// files' dates). The binary part that follows is, with all integers
// big-endian:
//
//	u32 N                 size of the name block
//	N bytes               names, each one length byte and that many UTF-8 bytes, sorted
//	u32 count, count × 6  MA-L: 3-byte prefix, 3-byte offset of the name in the name block
//	u32 count, count × 7  MA-M: 4-byte 28-bit prefix, 3-byte name offset
//	u32 count, count × 8  MA-S: 5-byte 36-bit prefix, 3-byte name offset
//
// Each table is sorted by prefix, so a lookup is a binary search in place.
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// registry describes one source file: its name, the registry label in its
// first column and the number of hex digits in an assignment.
type registry struct {
	file   string
	label  string
	digits int
}

// registries lists the source files, most general first: the order of the
// tables in the output.
func registries() [3]registry {
	return [3]registry{
		{"oui.csv", "MA-L", 6},
		{"mam.csv", "MA-M", 7},
		{"oui36.csv", "MA-S", 9},
	}
}

// entry is one assignment: a prefix of 24, 28 or 36 bits and its vendor.
type entry struct {
	prefix uint64
	name   string
}

func main() {
	src := flag.String("src", "/usr/share/ieee-data", "folder with the ieee-data CSV files")
	out := flag.String("out", filepath.Join("daemon", "internal", "devices", "oui.dat"), "file to write")
	flag.Parse()
	if err := run(*src, *out); err != nil {
		fmt.Fprintln(os.Stderr, "oui:", err)
		os.Exit(1)
	}
}

func run(src, out string) error {
	regs := registries()
	var tables [len(regs)][]entry
	var dates [len(regs)]string
	for i, r := range regs {
		path := filepath.Join(src, r.file)
		st, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("reading the registry: %w (install Debian's ieee-data package)", err)
		}
		dates[i] = st.ModTime().UTC().Format(time.DateOnly)
		if tables[i], err = readRegistry(path, r); err != nil {
			return err
		}
	}
	header := []string{
		"tamon-oui 1",
		"source: Debian ieee-data, " + src,
	}
	if b, err := os.ReadFile(filepath.Join(src, ".lastupdate")); err == nil {
		if sec, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil {
			header = append(header, "registry-updated: "+time.Unix(sec, 0).UTC().Format(time.RFC3339))
		}
	}
	for i, r := range regs {
		header = append(header, fmt.Sprintf("file: %s %s %s %d assignments", r.file, r.label, dates[i], len(tables[i])))
	}
	header = append(header, "generated-by: go run ./scripts/oui")

	data, err := encode(header, tables[:])
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return fmt.Errorf("writing the table: %w", err)
	}
	fmt.Printf("%s: %d bytes; MA-L %d, MA-M %d, MA-S %d assignments\n", out, len(data), len(tables[0]), len(tables[1]), len(tables[2]))
	return nil
}

// readRegistry reads one CSV file: Registry, Assignment, Organization Name,
// Organization Address.
func readRegistry(path string, r registry) ([]entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the registry: %w", err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	seen := make(map[uint64]bool)
	var out []entry
	for line := 1; ; line++ {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		if line == 1 {
			continue // column names
		}
		if len(row) < 3 {
			return nil, fmt.Errorf("%s line %d: %d columns, want at least 3", path, line, len(row))
		}
		if row[0] != r.label {
			return nil, fmt.Errorf("%s line %d: registry %q, want %q", path, line, row[0], r.label)
		}
		if len(row[1]) != r.digits {
			return nil, fmt.Errorf("%s line %d: assignment %q is not %d hex digits", path, line, row[1], r.digits)
		}
		prefix, err := strconv.ParseUint(row[1], 16, 64)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: assignment %q: %w", path, line, row[1], err)
		}
		name := strings.Join(strings.Fields(row[2]), " ")
		if name == "" || strings.EqualFold(name, "Private") ||
			(r.label == "MA-L" && strings.EqualFold(name, "IEEE Registration Authority")) {
			continue
		}
		if len(name) > 255 {
			return nil, fmt.Errorf("%s line %d: name of %d bytes is longer than 255", path, line, len(name))
		}
		if seen[prefix] {
			continue // listed twice: the first row wins
		}
		seen[prefix] = true
		out = append(out, entry{prefix, name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].prefix < out[j].prefix })
	return out, nil
}

// encode writes the header and the three tables in the format of the
// package comment.
func encode(header []string, tables [][]entry) ([]byte, error) {
	var names []string
	offset := make(map[string]int)
	for _, t := range tables {
		for _, e := range t {
			if _, ok := offset[e.name]; !ok {
				offset[e.name] = 0
				names = append(names, e.name)
			}
		}
	}
	sort.Strings(names)
	var blob bytes.Buffer
	for _, n := range names {
		offset[n] = blob.Len()
		blob.WriteByte(byte(len(n)))
		blob.WriteString(n)
	}
	if blob.Len() >= 1<<24 {
		return nil, fmt.Errorf("name block of %d bytes does not fit 3-byte offsets", blob.Len())
	}

	var b bytes.Buffer
	for _, h := range header {
		b.WriteString(h)
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "names: %d\n\n", len(names))
	b.Write(binary.BigEndian.AppendUint32(nil, uint32(blob.Len())))
	b.Write(blob.Bytes())
	for i, t := range tables {
		width := []int{3, 4, 5}[i]
		b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(t))))
		for _, e := range t {
			var p [8]byte
			binary.BigEndian.PutUint64(p[:], e.prefix)
			b.Write(p[8-width:])
			o := offset[e.name]
			b.Write([]byte{byte(o >> 16), byte(o >> 8), byte(o)})
		}
	}
	return b.Bytes(), nil
}
