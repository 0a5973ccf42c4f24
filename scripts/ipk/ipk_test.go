package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"tamon/luci-app-tamon/harness"
	"tamon/luci-app-tamon/lmo"
)

// lmoLookup finds a key hash in an .lmo catalogue as LuCI does: the index
// offset in the last 4 bytes, then a binary search of the 16-byte entries
// (key hash, value id, offset, length; big-endian).
func lmoLookup(t *testing.T, b []byte, hash uint32) (string, bool) {
	t.Helper()
	if len(b) < 4 {
		t.Fatalf("catalogue of %d bytes", len(b))
	}
	be := func(i int) uint32 { return uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3]) }
	idx := int(be(len(b) - 4))
	if idx > len(b)-4 || (len(b)-4-idx)%16 != 0 {
		t.Fatalf("index offset %d in a catalogue of %d bytes", idx, len(b))
	}
	lo, hi := 0, (len(b)-4-idx)/16-1
	for lo <= hi {
		m := (lo + hi) / 2
		e := idx + 16*m
		switch k := be(e); {
		case k == hash:
			off, n := int(be(e+8)), int(be(e+12))
			if off+n > idx {
				t.Fatalf("entry %08x points past the strings", k)
			}
			return string(b[off : off+n]), true
		case k < hash:
			lo = m + 1
		default:
			hi = m - 1
		}
	}
	return "", false
}

// member is one entry of an ar or tar archive.
type member struct {
	name     string
	mode     int64
	dir      bool
	uid, gid int
	data     []byte
}

// readAr reads a System V / GNU ar archive (names may end in "/").
func readAr(b []byte) ([]member, error) {
	if !bytes.HasPrefix(b, []byte("!<arch>\n")) {
		return nil, errors.New("no ar magic")
	}
	var out []member
	for off := 8; off < len(b); {
		if len(b)-off < 60 {
			return nil, fmt.Errorf("short ar header at %d", off)
		}
		h := b[off : off+60]
		if string(h[58:60]) != "`\n" {
			return nil, fmt.Errorf("bad ar header end at %d", off)
		}
		field := func(i, j int) string { return strings.TrimSpace(string(h[i:j])) }
		size, err := strconv.Atoi(field(48, 58))
		if err != nil || size < 0 || off+60+size > len(b) {
			return nil, fmt.Errorf("bad ar member size %q at %d", field(48, 58), off)
		}
		mode, _ := strconv.ParseInt(field(40, 48), 8, 64)
		uid, _ := strconv.Atoi(field(28, 34))
		gid, _ := strconv.Atoi(field(34, 40))
		out = append(out, member{name: strings.TrimSuffix(field(0, 16), "/"), mode: mode & 0o7777, uid: uid, gid: gid,
			data: b[off+60 : off+60+size]})
		off += 60 + size + size%2
	}
	return out, nil
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header has name %q, time %v; want none (gzip -n)", zr.Name, zr.ModTime)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return raw
}

func readTar(t *testing.T, raw []byte) []member {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(raw))
	var out []member
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		if h.Format != tar.FormatGNU && h.Format != tar.FormatUnknown {
			// archive/tar reports what it recognised; GNU is what ipkg-build writes.
			t.Errorf("%s: tar format %v", h.Name, h.Format)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, member{name: h.Name, mode: h.Mode, dir: h.Typeflag == tar.TypeDir, uid: h.Uid, gid: h.Gid, data: data})
	}
}

// ipk is an unpacked package.
type ipk struct {
	outer    []string // member names of the outer container, in order
	control  map[string]member
	data     []member
	dataRaw  []byte // uncompressed data tar
	dataGz   []byte
	ctrlGz   []byte
	fields   map[string]string
	descLine []string
}

// unpack reads an .ipk in either container, as opkg does.
func unpack(t *testing.T, b []byte) *ipk {
	t.Helper()
	var outer []member
	switch {
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
		outer = readTar(t, gunzip(t, b))
	case bytes.HasPrefix(b, []byte("!<arch>\n")):
		var err error
		if outer, err = readAr(b); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("neither gzip nor ar: % x", b[:min(8, len(b))])
	}
	p := &ipk{control: map[string]member{}, fields: map[string]string{}}
	for _, m := range outer {
		p.outer = append(p.outer, m.name)
		if m.uid != 0 || m.gid != 0 {
			t.Errorf("outer member %s owned by %d:%d", m.name, m.uid, m.gid)
		}
		switch strings.TrimPrefix(m.name, "./") {
		case "debian-binary":
			if string(m.data) != "2.0\n" {
				t.Errorf("debian-binary = %q", m.data)
			}
		case "data.tar.gz":
			p.dataGz = m.data
		case "control.tar.gz":
			p.ctrlGz = m.data
		default:
			t.Errorf("unexpected outer member %q", m.name)
		}
	}
	p.dataRaw = gunzip(t, p.dataGz)
	p.data = readTar(t, p.dataRaw)
	for _, m := range readTar(t, gunzip(t, p.ctrlGz)) {
		p.control[m.name] = m
	}
	c, ok := p.control["./control"]
	if !ok {
		t.Fatalf("no ./control in control.tar.gz: %v", p.control)
	}
	key := ""
	for l := range strings.Lines(string(c.data)) {
		l = strings.TrimSuffix(l, "\n")
		if strings.HasPrefix(l, " ") && key != "" {
			p.descLine = append(p.descLine, l)
			continue
		}
		k, v, ok := strings.Cut(l, ": ")
		if !ok {
			t.Errorf("control line %q is not 'Field: value'", l)
			continue
		}
		if _, dup := p.fields[k]; dup {
			t.Errorf("control field %s twice", k)
		}
		p.fields[k], key = v, k
	}
	return p
}

func (p *ipk) file(name string) (member, bool) {
	for _, m := range p.data {
		if m.name == name {
			return m, true
		}
	}
	return member{}, false
}

// repoRoot is the repository holding this package (two folders up).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(root, "go.mod")); err != nil || !bytes.HasPrefix(data, []byte("module tamon\n")) {
		t.Fatalf("%s is not the tamon repository: %v", root, err)
	}
	return root
}

// makeVar reads NAME:=value from an OpenWrt Makefile with a regexp, apart
// from the code under test.
func makeVar(t *testing.T, path, name string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `:=(.*)$`).FindSubmatch(data)
	if m == nil {
		t.Fatalf("%s: no %s:=", path, name)
	}
	return strings.TrimSpace(string(m[1]))
}

// hostTarget is the package architecture whose binary runs on this machine.
func hostTarget(t *testing.T) string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64_generic"
	}
	t.Fatalf("no package architecture runs natively on %s; run the tests on amd64 or arm64", runtime.GOARCH)
	return ""
}

const testDescribe = "v9.8.7-6-gabcdef0"

// TestPackages builds real packages for this machine's architecture and
// mips_24kc with the command itself, unpacks them with archive/tar,
// compress/gzip and readAr, checks them, and installs them into scratch
// roots the way opkg does.
func TestPackages(t *testing.T) {
	repo := repoRoot(t)
	out := t.TempDir()
	host := hostTarget(t)
	archs := []string{host, "mips_24kc"}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-repo", repo, "-out", out, "-arch", strings.Join(archs, ","), "-describe", testDescribe}, &stdout, &stderr); code != 0 {
		t.Fatalf("ipk exit %d: %s", code, stderr.String())
	}
	release := makeVar(t, filepath.Join(repo, "openwrt", "Makefile"), "PKG_RELEASE")
	license := makeVar(t, filepath.Join(repo, "openwrt", "Makefile"), "PKG_LICENSE")
	version := "9.8.7.6~abcdef0-r" + release
	_, featErr := os.Stat(filepath.Join(repo, "features.txt"))
	haveFeatures := featErr == nil
	initScript, _ := os.ReadFile(filepath.Join(repo, "openwrt", "files", "tamon.init"))
	uciConfig, _ := os.ReadFile(filepath.Join(repo, "openwrt", "files", "tamon.config"))

	pkgs := map[string]*ipk{}
	for _, arch := range archs {
		t.Run("tamon "+arch, func(t *testing.T) {
			name := fmt.Sprintf("tamon_%s_%s.ipk", version, arch)
			b, err := os.ReadFile(filepath.Join(out, name))
			if err != nil {
				t.Fatalf("%v (wrote: %s)", err, stdout.String())
			}
			p := unpack(t, b)
			pkgs[arch] = p
			if want := []string{"./debian-binary", "./data.tar.gz", "./control.tar.gz"}; !slices.Equal(p.outer, want) {
				t.Errorf("outer members %q, want %q (ipkg-build's order)", p.outer, want)
			}
			want := map[string]string{
				"Package": "tamon", "Version": version, "Architecture": arch, "Depends": "libc",
				"Source": "feeds/tamon/openwrt", "SourceName": "tamon", "License": license, "Section": "net",
				"Installed-Size": strconv.Itoa(len(p.dataRaw)),
			}
			for k, v := range want {
				if p.fields[k] != v {
					t.Errorf("control %s = %q, want %q", k, p.fields[k], v)
				}
			}
			if p.fields["Description"] == "" || len(p.descLine) == 0 {
				t.Errorf("description %q %q: want a summary and continuation lines", p.fields["Description"], p.descLine)
			}
			for name, mode := range map[string]int64{"./control": 0o644, "./conffiles": 0o644, "./postinst": 0o755, "./prerm": 0o755} {
				m, ok := p.control[name]
				if !ok || m.mode != mode {
					t.Errorf("control.tar.gz %s: present %v mode %o, want %o", name, ok, m.mode, mode)
				}
			}
			conf := strings.Split(strings.TrimSpace(string(p.control["./conffiles"].data)), "\n")
			wantConf := []string{"/etc/config/tamon"}
			if haveFeatures {
				wantConf = append(wantConf, "/etc/tamon/features.txt")
			}
			if !slices.Equal(conf, wantConf) {
				t.Errorf("conffiles %q, want %q", conf, wantConf)
			}
			for _, c := range conf {
				if m, ok := p.file("." + c); !ok || m.dir {
					t.Errorf("conffile %s is not in the data", c)
				}
			}
			if keep, ok := p.file("./lib/upgrade/keep.d/tamon"); ok == haveFeatures {
				t.Errorf("keep.d/tamon present %v with features.txt present %v", ok, haveFeatures)
			} else if ok && string(keep.data) != "/etc/tamon/features.txt\n" {
				t.Errorf("keep.d/tamon = %q", keep.data)
			}
			modes := map[string]int64{"./usr/sbin/tamond": 0o755, "./etc/init.d/tamon": 0o755, "./etc/config/tamon": 0o600}
			if haveFeatures {
				modes["./etc/tamon/features.txt"] = 0o644
			}
			for name, mode := range modes {
				m, ok := p.file(name)
				if !ok || m.dir || m.mode != mode {
					t.Errorf("data %s: present %v mode %o, want a file of mode %o", name, ok, m.mode, mode)
				}
			}
			for _, m := range p.data {
				if !strings.HasPrefix(m.name, "./") || strings.Contains(m.name, "..") || m.uid != 0 || m.gid != 0 {
					t.Errorf("data member %q owned by %d:%d", m.name, m.uid, m.gid)
				}
				if m.dir && m.mode != 0o755 {
					t.Errorf("folder %s mode %o", m.name, m.mode)
				}
			}
			if m, _ := p.file("./etc/init.d/tamon"); !bytes.Equal(m.data, initScript) {
				t.Error("etc/init.d/tamon differs from openwrt/files/tamon.init")
			}
			if m, _ := p.file("./etc/config/tamon"); !bytes.Equal(m.data, uciConfig) {
				t.Error("etc/config/tamon differs from openwrt/files/tamon.config")
			}
			bin, _ := p.file("./usr/sbin/tamond")
			binPath := filepath.Join(t.TempDir(), "tamond")
			os.WriteFile(binPath, bin.data, 0o755)
			tg, err := LookupTarget(arch)
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckELF(binPath, tg); err != nil {
				t.Error(err)
			}
			ef, err := elf.Open(binPath)
			if err != nil {
				t.Fatal(err)
			}
			defer ef.Close()
			if ef.Section(".symtab") != nil {
				t.Error("tamond has a symbol table: not stripped")
			}
			if arch == "mips_24kc" {
				if ef.Machine != elf.EM_MIPS || ef.ByteOrder.String() != "BigEndian" {
					t.Errorf("mips_24kc binary is %v %v", ef.Machine, ef.ByteOrder)
				}
				if len(bin.data) >= MaxMIPSSize {
					t.Errorf("stripped mips tamond is %d bytes, over the %d budget", len(bin.data), MaxMIPSSize)
				}
				t.Logf("stripped mips tamond: %d bytes", len(bin.data))
			}
		})
	}

	t.Run("install into an offline root", func(t *testing.T) {
		p := pkgs[host]
		if p == nil {
			t.Fatal("no host package")
		}
		root := t.TempDir()
		installed := opkgInstall(t, root, p)
		before := tree(t, root)
		trapLog := filepath.Join(t.TempDir(), "trap.log")
		env := trapEnv(t, trapLog)
		runScript(t, root, "tamon", "postinst", env, "configure")
		if got := tree(t, root); !slices.Equal(got, before) {
			t.Errorf("postinst changed the root without base-files:\nbefore %q\nafter  %q", before, got)
		}
		if data, err := os.ReadFile(trapLog); err == nil {
			t.Errorf("postinst ran service commands: %s", data)
		}
		// The installed daemon runs, prints the stamped version and accepts
		// the installed configuration.
		tamond := filepath.Join(root, "usr", "sbin", "tamond")
		outB, err := exec.Command(tamond, "-version").Output()
		if err != nil || string(outB) != "tamond "+testDescribe+"\n" {
			t.Errorf("tamond -version = %q, %v; want %q", outB, err, "tamond "+testDescribe)
		}
		// The configuration names /etc/tamon/features.txt: check it as the
		// router would see it, with that path inside the scratch root.
		conf, err := os.ReadFile(filepath.Join(root, "etc", "config", "tamon"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(conf), "/etc/tamon/features.txt") {
			t.Errorf("installed configuration does not name /etc/tamon/features.txt:\n%s", conf)
		}
		if _, err := os.Stat(filepath.Join(root, "etc", "tamon", "features.txt")); err != nil {
			t.Errorf("features.txt not installed: %v", err)
		}
		rooted := filepath.Join(t.TempDir(), "tamon")
		os.WriteFile(rooted, []byte(strings.ReplaceAll(string(conf), "/etc/tamon/features.txt",
			filepath.Join(root, "etc", "tamon", "features.txt"))), 0o600)
		outB, err = exec.Command(tamond, "-check", "-c", rooted).CombinedOutput()
		if err != nil {
			t.Errorf("tamond -check of the installed configuration: %v: %s", err, outB)
		}
		if !slices.Contains(installed, "/etc/init.d/tamon") {
			t.Errorf("package list %q lacks the init script", installed)
		}
	})

	t.Run("install with base-files", func(t *testing.T) {
		p := pkgs[host]
		root := t.TempDir()
		opkgInstall(t, root, p)
		writeBaseFiles(t, root)
		calls := filepath.Join(root, "calls.log")
		env := trapEnv(t, filepath.Join(t.TempDir(), "trap.log"))

		runScript(t, root, "tamon", "postinst", append(env, "IPKG_NO_SCRIPT=1"), "configure")
		if _, err := os.Stat(calls); err == nil {
			t.Error("postinst ran default_postinst with IPKG_NO_SCRIPT=1")
		}

		runScript(t, root, "tamon", "postinst", env, "configure")
		log, _ := os.ReadFile(calls)
		info := filepath.Join(root, "usr", "lib", "opkg", "info")
		if want := "default_postinst " + filepath.Join(info, "tamon.postinst") + " configure\n"; !strings.HasPrefix(string(log), want) {
			t.Errorf("calls %q, want them to start with %q", log, want)
		}
		if strings.Contains(string(log), "start") {
			t.Errorf("services started in an offline root: %q", log)
		}
		for link, target := range map[string]string{"S99tamon": "../init.d/tamon", "K05tamon": "../init.d/tamon"} {
			got, err := os.Readlink(filepath.Join(root, "etc", "rc.d", link))
			if err != nil || got != target {
				t.Errorf("etc/rc.d/%s -> %q (%v), want %q", link, got, err, target)
			}
		}
		runScript(t, root, "tamon", "prerm", env, "remove")
		log, _ = os.ReadFile(calls)
		if !strings.Contains(string(log), "default_prerm "+filepath.Join(info, "tamon.prerm")+" remove\n") {
			t.Errorf("prerm did not call default_prerm: %q", log)
		}
		if links, _ := filepath.Glob(filepath.Join(root, "etc", "rc.d", "*")); len(links) > 0 {
			t.Errorf("prerm left %q", links)
		}
	})

	t.Run("luci-app-tamon", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(out, fmt.Sprintf("luci-app-tamon_%s_all.ipk", version)))
		if err != nil {
			t.Fatal(err)
		}
		p := unpack(t, b)
		luciMk := filepath.Join(repo, "luci-app-tamon", "Makefile")
		want := map[string]string{
			"Package": "luci-app-tamon", "Version": version, "Architecture": "all",
			"Depends": "libc, luci-base, tamon", "Section": "luci",
			"License": makeVar(t, luciMk, "PKG_LICENSE"), "Installed-Size": strconv.Itoa(len(p.dataRaw)),
		}
		for k, v := range want {
			if p.fields[k] != v {
				t.Errorf("control %s = %q, want %q", k, p.fields[k], v)
			}
		}
		if _, ok := p.control["./conffiles"]; ok {
			t.Error("luci-app-tamon has conffiles")
		}
		for _, s := range []string{"./postinst", "./postinst-pkg", "./prerm"} {
			if m, ok := p.control[s]; !ok || m.mode != 0o755 {
				t.Errorf("control %s: present %v mode %o", s, ok, m.mode)
			}
		}
		// Every file of htdocs/ and root/ is in the package, where luci.mk
		// puts it, with its mode.
		src := filepath.Join(repo, "luci-app-tamon")
		for _, tr := range []struct{ dir, dst string }{{"htdocs", "./www"}, {"root", "."}} {
			filepath.WalkDir(filepath.Join(src, tr.dir), func(path string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return nil
				}
				rel, _ := filepath.Rel(filepath.Join(src, tr.dir), path)
				m, ok := p.file(tr.dst + "/" + filepath.ToSlash(rel))
				data, _ := os.ReadFile(path)
				if !ok || !bytes.Equal(m.data, data) {
					t.Errorf("%s is not packaged as %s", path, tr.dst+"/"+rel)
				}
				return nil
			})
		}
		acl, ok := p.file("./usr/share/rpcd/acl.d/luci-app-tamon.json")
		if !ok || !bytes.Contains(acl.data, []byte(`"luci-app-tamon"`)) || !bytes.Contains(acl.data, []byte(`"tamon"`)) {
			t.Errorf("no ACL granting the luci-app-tamon group the tamon UCI package: %q", acl.data)
		}
		for _, m := range p.data {
			if strings.HasPrefix(m.name, "./po/") || strings.HasSuffix(m.name, ".po") {
				t.Errorf("translation source %s packaged", m.name)
			}
		}
		// Installed into an offline root, its own postinst step does nothing.
		root := t.TempDir()
		opkgInstall(t, root, p)
		trapLog := filepath.Join(t.TempDir(), "trap.log")
		env := trapEnv(t, trapLog)
		runScript(t, root, "luci-app-tamon", "postinst-pkg", env)
		runScript(t, root, "luci-app-tamon", "postinst", env, "configure")
		if data, err := os.ReadFile(trapLog); err == nil {
			t.Errorf("luci postinst ran %s in an offline root", data)
		}
	})

	t.Run("luci-i18n-tamon-zh-cn", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(out, fmt.Sprintf("luci-i18n-tamon-zh-cn_%s_all.ipk", version)))
		if err != nil {
			t.Fatal(err)
		}
		p := unpack(t, b)
		want := map[string]string{
			"Package": "luci-i18n-tamon-zh-cn", "Version": version, "Architecture": "all",
			"Depends": "libc, luci-app-tamon", "Section": "luci", "Installed-Size": strconv.Itoa(len(p.dataRaw)),
		}
		for k, v := range want {
			if p.fields[k] != v {
				t.Errorf("control %s = %q, want %q", k, p.fields[k], v)
			}
		}
		m, ok := p.file("./usr/lib/lua/luci/i18n/tamon.zh-cn.lmo")
		if !ok {
			t.Fatal("no ./usr/lib/lua/luci/i18n/tamon.zh-cn.lmo in the package")
		}
		// Every translated message of the .po is found in the catalogue
		// by LuCI's lookup (binary search on the key hash).
		entries, err := harness.ParsePOFile(filepath.Join(repo, "luci-app-tamon", "po", "zh_Hans", "tamon.po"))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range entries {
			if e.ID == "" || e.Fuzzy || len(e.Str) == 0 || e.Str[0] == "" || e.Str[0] == e.ID {
				continue
			}
			n++
			got, ok := lmoLookup(t, m.data, lmo.Hash([]byte(lmo.Key(e.Ctx, e.ID, -1))))
			if !ok || got != e.Str[0] {
				t.Errorf("catalogue lookup of %q = %q, %v; want %q", e.ID, got, ok, e.Str[0])
			}
		}
		if n < 100 {
			t.Errorf("only %d translated messages in the zh_Hans catalogue", n)
		}
	})

	t.Run("ar container has the same content", func(t *testing.T) {
		out2 := t.TempDir()
		var so, se bytes.Buffer
		if code := run([]string{"-repo", repo, "-out", out2, "-arch", host, "-describe", testDescribe, "-format", "ar"}, &so, &se); code != 0 {
			t.Fatalf("ipk -format ar exit %d: %s", code, se.String())
		}
		b, err := os.ReadFile(filepath.Join(out2, fmt.Sprintf("tamon_%s_%s.ipk", version, host)))
		if err != nil {
			t.Fatal(err)
		}
		p := unpack(t, b)
		if want := []string{"debian-binary", "control.tar.gz", "data.tar.gz"}; !slices.Equal(p.outer, want) {
			t.Errorf("ar members %q, want %q", p.outer, want)
		}
		// The same content as the tgz package. tamond is left out of the
		// comparison: other work in the tree may change it between the two
		// builds (TestWrite checks that writing is deterministic).
		q := pkgs[host]
		if q == nil {
			t.Fatal("no tgz package to compare with")
		}
		if len(p.data) != len(q.data) {
			t.Fatalf("ar package has %d data members, tgz %d", len(p.data), len(q.data))
		}
		for i, m := range p.data {
			n := q.data[i]
			if m.name != n.name || m.mode != n.mode || m.dir != n.dir || m.name != "./usr/sbin/tamond" && !bytes.Equal(m.data, n.data) {
				t.Errorf("data member %d: ar %s %o, tgz %s %o, or different content", i, m.name, m.mode, n.name, n.mode)
			}
		}
		for name, m := range q.control {
			a, b := string(p.control[name].data), string(m.data)
			if name == "./control" {
				drop := regexp.MustCompile(`(?m)^Installed-Size: .*\n`)
				a, b = drop.ReplaceAllString(a, ""), drop.ReplaceAllString(b, "")
			}
			if a != b || p.control[name].mode != m.mode {
				t.Errorf("control file %s differs between the ar and tgz packages", name)
			}
		}
	})
}

// opkgInstall installs p into root as opkg does: the data archive is
// extracted, each control file is kept as usr/lib/opkg/info/<pkg>.<file>,
// and <pkg>.list names the installed files. It returns that list.
func opkgInstall(t *testing.T, root string, p *ipk) []string {
	t.Helper()
	name := p.fields["Package"]
	var list []string
	for _, m := range p.data {
		dst := filepath.Join(root, filepath.FromSlash(m.name))
		if m.dir {
			if err := os.MkdirAll(dst, os.FileMode(m.mode)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(dst, m.data, os.FileMode(m.mode)); err != nil {
			t.Fatal(err)
		}
		os.Chmod(dst, os.FileMode(m.mode))
		list = append(list, strings.TrimPrefix(m.name, "."))
	}
	info := filepath.Join(root, "usr", "lib", "opkg", "info")
	if err := os.MkdirAll(info, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, m := range p.control {
		if err := os.WriteFile(filepath.Join(info, name+"."+strings.TrimPrefix(n, "./")), m.data, os.FileMode(m.mode)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(info, name+".list"), []byte(strings.Join(list, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return list
}

// runScript runs usr/lib/opkg/info/<pkg>.<script> with /bin/sh and
// IPKG_INSTROOT set to root, as opkg does for an offline root.
func runScript(t *testing.T, root, pkg, script string, env []string, args ...string) {
	t.Helper()
	path := filepath.Join(root, "usr", "lib", "opkg", "info", pkg+"."+script)
	cmd := exec.Command("/bin/sh", append([]string{path}, args...)...)
	cmd.Env = append(env, "IPKG_INSTROOT="+root)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", pkg, script, err, out)
	}
}

// trapEnv is an environment whose PATH starts with stand-ins for the
// commands that start, stop or signal services on a router; each records
// its call in log.
func trapEnv(t *testing.T, log string) []string {
	t.Helper()
	dir := t.TempDir()
	for _, c := range []string{"service", "killall", "ubus", "procd", "reload_config", "uci", "kill"} {
		script := fmt.Sprintf("#!/bin/sh\necho \"%s $*\" >> '%s'\n", c, log)
		if err := os.WriteFile(filepath.Join(dir, c), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return []string{"PATH=" + dir + ":/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + dir}
}

// writeBaseFiles puts into root a stand-in for the parts of OpenWrt's
// base-files that the package scripts use, written for this test:
// lib/functions.sh with default_postinst and default_prerm, which record
// their call and, in an offline root, enable or disable the package's init
// scripts through the root's etc/rc.common (and would start or stop them
// otherwise); and an etc/rc.common whose enable and disable make and remove
// the etc/rc.d links from the script's START and STOP.
func writeBaseFiles(t *testing.T, root string) {
	t.Helper()
	functions := `# test stand-in for base-files' /lib/functions.sh
initscripts() {
	grep -s '^/etc/init.d/' "${IPKG_INSTROOT}/usr/lib/opkg/info/$(basename "${1%.*}").list"
}
default_postinst() {
	echo "default_postinst $*" >> "${IPKG_INSTROOT}/calls.log"
	for i in $(initscripts "$1"); do
		if [ -n "${IPKG_INSTROOT}" ]; then
			/bin/sh "${IPKG_INSTROOT}/etc/rc.common" "${IPKG_INSTROOT}$i" enable
		else
			"$i" enable; "$i" start
		fi
	done
}
default_prerm() {
	echo "default_prerm $*" >> "${IPKG_INSTROOT}/calls.log"
	for i in $(initscripts "$1"); do
		if [ -n "${IPKG_INSTROOT}" ]; then
			/bin/sh "${IPKG_INSTROOT}/etc/rc.common" "${IPKG_INSTROOT}$i" disable
		else
			"$i" stop; "$i" disable
		fi
	done
}
`
	rc := `# test stand-in for base-files' /etc/rc.common
initscript=$1
action=$2
. "$initscript"
name=$(basename "$initscript")
case $action in
enable)
	mkdir -p "${IPKG_INSTROOT}/etc/rc.d"
	[ -n "$START" ] && ln -s "../init.d/$name" "${IPKG_INSTROOT}/etc/rc.d/S$START$name"
	[ -n "$STOP" ] && ln -s "../init.d/$name" "${IPKG_INSTROOT}/etc/rc.d/K$STOP$name"
	;;
disable)
	rm -f "${IPKG_INSTROOT}/etc/rc.d/"[SK][0-9][0-9]"$name"
	;;
*)
	echo "$action $name" >> "${IPKG_INSTROOT}/calls.log"
	;;
esac
`
	for p, data := range map[string]string{"lib/functions.sh": functions, "etc/rc.common": rc} {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// tree lists every path under root with its mode.
func tree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		info, _ := d.Info()
		rel, _ := filepath.Rel(root, path)
		out = append(out, fmt.Sprintf("%s %v %d", rel, info.Mode(), info.Size()))
		return nil
	})
	return out
}
