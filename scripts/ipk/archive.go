package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// File is one file of a package's data or control archive.
type File struct {
	Path string // absolute on the router ("/etc/config/tamon"), or a control file name ("postinst")
	Mode int64  // permission bits, e.g. 0o755
	Data []byte
}

// Package is one .ipk: its control fields, scripts and files. Write does
// not change it; the same Package may be written many times.
type Package struct {
	Name        string
	Version     string // with release, e.g. "1.2.3-r1"
	Arch        string // opkg architecture, or "all"
	Depends     []string
	Source      string // SDK's package path, e.g. "feeds/tamon/openwrt"
	SourceName  string
	License     string
	Section     string
	Description string // may hold several lines
	Epoch       int64  // SOURCE_DATE_EPOCH: mtime of every archive member
	Conffiles   []string
	Scripts     []File // control scripts: postinst, prerm, postinst-pkg, ...
	Files       []File
}

// Container is the outer format of an .ipk.
type Container string

const (
	// TarGz is what OpenWrt's scripts/ipkg-build writes: a gzip'd tar of
	// ./debian-binary, ./data.tar.gz and ./control.tar.gz, in that order.
	TarGz Container = "tgz"
	// Ar is the Debian-style ar archive (debian-binary, control.tar.gz,
	// data.tar.gz), which opkg also reads.
	Ar Container = "ar"
)

// FileName is the package's file name as ipkg-build makes it.
func (p *Package) FileName() string {
	v := p.Version
	if i := strings.IndexByte(v, ':'); i >= 0 { // no epoch in file names
		v = v[i+1:]
	}
	return p.Name + "_" + v + "_" + p.Arch + ".ipk"
}

// Write writes the package to w in container c. The output depends only on
// the Package: members are sorted, owned by 0:0 and dated Epoch, and gzip
// headers carry no name or time.
func (p *Package) Write(w io.Writer, c Container) error {
	data, size, err := p.dataTar()
	if err != nil {
		return fmt.Errorf("package %s: data archive: %w", p.Name, err)
	}
	control, err := p.controlTar(size)
	if err != nil {
		return fmt.Errorf("package %s: control archive: %w", p.Name, err)
	}
	members := []File{
		{Path: "debian-binary", Mode: 0o644, Data: []byte("2.0\n")},
		{Path: "data.tar.gz", Mode: 0o644, Data: data},
		{Path: "control.tar.gz", Mode: 0o644, Data: control},
	}
	switch c {
	case TarGz:
		for i := range members {
			members[i].Path = "./" + members[i].Path
		}
		out, err := gzipTar(members, p.Epoch)
		if err != nil {
			return fmt.Errorf("package %s: %w", p.Name, err)
		}
		_, err = w.Write(out)
		return err
	case Ar:
		members[1], members[2] = members[2], members[1]
		return writeAr(w, members, p.Epoch)
	}
	return fmt.Errorf("package %s: unknown container %q (want %q or %q)", p.Name, c, TarGz, Ar)
}

// Control returns the control file.
func (p *Package) Control(installedSize int) string {
	var b strings.Builder
	field := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	field("Package", p.Name)
	field("Version", p.Version)
	field("Depends", strings.Join(p.Depends, ", "))
	field("Source", p.Source)
	field("SourceName", p.SourceName)
	field("License", p.License)
	field("Section", p.Section)
	if p.Epoch > 0 {
		field("SourceDateEpoch", strconv.FormatInt(p.Epoch, 10))
	}
	field("Architecture", p.Arch)
	field("Installed-Size", strconv.Itoa(installedSize))
	lines := strings.Split(strings.TrimSpace(p.Description), "\n")
	b.WriteString("Description: " + strings.TrimSpace(lines[0]) + "\n")
	for _, l := range lines[1:] {
		if l = strings.TrimSpace(l); l == "" {
			l = "."
		}
		b.WriteString(" " + l + "\n")
	}
	return b.String()
}

// dataTar returns the gzip'd data archive and the size of the tar itself
// (Installed-Size, as ipkg-build counts it).
func (p *Package) dataTar() ([]byte, int, error) {
	var files []File
	for _, f := range p.Files {
		if !strings.HasPrefix(f.Path, "/") || path.Clean(f.Path) != f.Path || f.Path == "/" {
			return nil, 0, fmt.Errorf("file path %q is not a clean absolute path", f.Path)
		}
		files = append(files, File{Path: "." + f.Path, Mode: f.Mode, Data: f.Data})
	}
	raw, err := tarBytes(withDirs(files), p.Epoch)
	if err != nil {
		return nil, 0, err
	}
	gz, err := gzipBytes(raw)
	return gz, len(raw), err
}

func (p *Package) controlTar(installedSize int) ([]byte, error) {
	files := []File{{Path: "./control", Mode: 0o644, Data: []byte(p.Control(installedSize))}}
	if len(p.Conffiles) > 0 {
		cf := slices.Clone(p.Conffiles)
		slices.Sort(cf)
		files = append(files, File{Path: "./conffiles", Mode: 0o644, Data: []byte(strings.Join(cf, "\n") + "\n")})
	}
	for _, s := range p.Scripts {
		if strings.Contains(s.Path, "/") {
			return nil, fmt.Errorf("control script name %q has a slash", s.Path)
		}
		files = append(files, File{Path: "./" + s.Path, Mode: 0o755, Data: s.Data})
	}
	return gzipTar(withDirs(files), p.Epoch)
}

// withDirs adds a 0755 entry for "./" and every parent folder, and sorts
// the whole like GNU tar --sort=name does for a tree: a folder, then its
// entries by name, each folder's contents right after it.
func withDirs(files []File) []File {
	seen := map[string]bool{}
	out := slices.Clone(files)
	for _, f := range files {
		// Paths start with "./"; path.Dir would drop that prefix.
		for d := path.Dir(strings.TrimPrefix(f.Path, "./")); ; d = path.Dir(d) {
			name := "./" + d + "/"
			if d == "." {
				name = "./"
			}
			if !seen[name] {
				seen[name] = true
				out = append(out, File{Path: name, Mode: 0o755})
			}
			if d == "." || d == "/" {
				break
			}
		}
	}
	slices.SortFunc(out, func(a, b File) int {
		return slices.Compare(strings.Split(strings.TrimSuffix(a.Path, "/"), "/"),
			strings.Split(strings.TrimSuffix(b.Path, "/"), "/"))
	})
	return out
}

// tarBytes writes files as a GNU tar owned by 0:0 (numeric), dated epoch.
// A path ending in "/" is a folder.
func tarBytes(files []File, epoch int64) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(epoch, 0)
	for _, f := range files {
		h := &tar.Header{Name: f.Path, Mode: f.Mode, ModTime: mtime, Format: tar.FormatGNU}
		if strings.HasSuffix(f.Path, "/") {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(f.Data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("write %s: %w", f.Path, err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, fmt.Errorf("write %s: %w", f.Path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func gzipTar(files []File, epoch int64) ([]byte, error) {
	raw, err := tarBytes(files, epoch)
	if err != nil {
		return nil, err
	}
	return gzipBytes(raw)
}

// gzipBytes compresses like ipkg-build's "gzip -n": default level, no name
// and no time in the header.
func gzipBytes(raw []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeAr writes a System V ar archive as dpkg-deb does: names padded with
// blanks (no trailing slash), owner 0:0, members padded to even length.
func writeAr(w io.Writer, members []File, epoch int64) error {
	var buf bytes.Buffer
	buf.WriteString("!<arch>\n")
	for _, m := range members {
		if len(m.Path) > 16 {
			return fmt.Errorf("ar member name %q is longer than 16 bytes", m.Path)
		}
		fmt.Fprintf(&buf, "%-16s%-12d%-6d%-6d%-8o%-10d`\n", m.Path, epoch, 0, 0, 0o100000|m.Mode, len(m.Data))
		buf.Write(m.Data)
		if len(m.Data)%2 == 1 {
			buf.WriteByte('\n')
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}
