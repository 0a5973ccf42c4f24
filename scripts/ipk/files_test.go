package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// procdHarness sources the init script after stand-ins for the rc.common,
// functions.sh and procd.sh functions it calls, which print their
// arguments; then it runs start_service and service_triggers as procd's
// rc.common does on start and reload.
const procdHarness = `
config_load() { echo "config_load $*"; }
config_get_bool() { eval "$1=\${TEST_ENABLED:-$4}"; }
config_get() { eval "$1=\${TEST_FEATURES:-$4}"; }
procd_open_instance() { echo "open $*"; }
procd_set_param() { echo "param $*"; }
procd_close_instance() { echo "close"; }
procd_add_reload_trigger() { echo "reload_trigger $*"; }
. "$INIT"
echo "USE_PROCD=$USE_PROCD START=$START STOP=$STOP"
start_service
service_triggers
`

func TestInitScript(t *testing.T) {
	init := filepath.Join(repoRoot(t), "openwrt", "files", "tamon.init")
	text, err := os.ReadFile(init)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(text, []byte("#!/bin/sh /etc/rc.common\n")) {
		t.Error("tamon.init does not start with #!/bin/sh /etc/rc.common")
	}
	if regexp.MustCompile(`(?m)^\s*reload_service\s*\(\)`).Match(text) {
		t.Error("tamon.init defines reload_service: procd's own reload (file + reload_signal) must decide")
	}
	const running = `config_load tamon
open tamond
param command /usr/sbin/tamond -c /etc/config/tamon
param file /etc/config/tamon %s
param reload_signal HUP
param respawn 3600 5 5
param stdout 1
param stderr 1
param term_timeout 15
close
`
	cases := []struct {
		name string
		env  []string
		want string
	}{
		{"enabled by default", nil, strings.Replace(running, "%s", "/etc/tamon/features.txt", 1)},
		{"enabled", []string{"TEST_ENABLED=1"}, strings.Replace(running, "%s", "/etc/tamon/features.txt", 1)},
		{"other features file", []string{"TEST_FEATURES=/mnt/usb/features.txt"}, strings.Replace(running, "%s", "/mnt/usb/features.txt", 1)},
		{"disabled: no instance", []string{"TEST_ENABLED=0"}, "config_load tamon\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command("/bin/sh", "-c", procdHarness)
			cmd.Env = append([]string{"INIT=" + init, "PATH=/usr/bin:/bin"}, c.env...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			want := "USE_PROCD=1 START=99 STOP=05\n" + c.want + "reload_trigger tamon\n"
			if string(out) != want {
				t.Errorf("procd calls:\n%s\nwant:\n%s", out, want)
			}
		})
	}
}

// TestShellcheck checks the init script, the version script and the
// package scripts with ShellCheck (installed by make setup).
func TestShellcheck(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Fatal("shellcheck not found: install the Debian package shellcheck (make setup)")
	}
	repo := repoRoot(t)
	dir := t.TempDir()
	files := []string{filepath.Join(repo, "openwrt", "files", "tamon.init"), filepath.Join(repo, "scripts", "pkg-version.sh")}
	for name, text := range map[string]string{"postinst": postinst, "prerm": prerm, "postinst-pkg": luciPostinstPkg} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	for _, f := range files {
		// SC1091: functions.sh, which the package scripts source, exists
		// only on the router.
		if out, err := exec.Command(sc, "--severity=style", "--exclude=SC1091", f).CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", filepath.Base(f), err, out)
		}
	}
}

// TestDefaultConfig reads the key values of the packaged UCI file.
// TestPackages also runs the packaged tamond -check on it, once installed.
func TestDefaultConfig(t *testing.T) {
	path := filepath.Join(repoRoot(t), "openwrt", "files", "tamon.config")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	option := func(section, name string) string {
		re := regexp.MustCompile(`(?ms)^config \S+ '` + section + `'\n(.*?)(?:\n\n|\z)`)
		m := re.FindSubmatch(text)
		if m == nil {
			t.Fatalf("no named section '%s' (uci set tamon.%s.x=y would fail)", section, section)
		}
		o := regexp.MustCompile(`(?m)^\t(?:option|list) ` + name + ` '([^']*)'`).FindSubmatch(m[1])
		if o == nil {
			return ""
		}
		return string(o[1])
	}
	for _, c := range []struct{ section, name, want string }{
		{"main", "enabled", "1"}, {"main", "interface", "br-lan"}, {"storage", "driver", "sqlite"},
		{"api", "listen", "lan:8321"},
	} {
		if got := option(c.section, c.name); got != c.want {
			t.Errorf("%s.%s = %q, want %q", c.section, c.name, got, c.want)
		}
	}
	if p := option("storage", "path"); !strings.HasPrefix(p, "/tmp/tamon/") {
		t.Errorf("storage.path %q: want it under /tmp/tamon (RAM, no flash wear)", p)
	}
	host, _, err := net.SplitHostPort(option("api", "listen"))
	if ip := net.ParseIP(host); err != nil || host == "" || ip != nil && ip.IsUnspecified() {
		t.Errorf("api.listen %q listens on every address, WAN included", option("api", "listen"))
	}
}

// opkgCompare compares two versions the way opkg (and dpkg) do:
// epoch:upstream-revision, each compared by alternating runs of non-digits
// (letters before other characters, "~" before everything, even the end)
// and numbers.
func opkgCompare(a, b string) int {
	split := func(v string) (string, string) {
		if i := strings.LastIndexByte(v, '-'); i >= 0 {
			return v[:i], v[i+1:]
		}
		return v, ""
	}
	au, ar := split(a)
	bu, br := split(b)
	if c := verrevcmp(au, bu); c != 0 {
		return c
	}
	return verrevcmp(ar, br)
}

func verrevcmp(a, b string) int {
	order := func(s string, i int) int {
		if i >= len(s) {
			return 0
		}
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			return 0
		case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
			return int(c)
		case c == '~':
			return -1
		}
		return int(c) + 256
	}
	digit := func(s string, i int) bool { return i < len(s) && s[i] >= '0' && s[i] <= '9' }
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for i < len(a) && !digit(a, i) || j < len(b) && !digit(b, j) {
			if oa, ob := order(a, i), order(b, j); oa != ob {
				return oa - ob
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		first := 0
		for digit(a, i) && digit(b, j) {
			if first == 0 {
				first = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if digit(a, i) {
			return 1
		}
		if digit(b, j) {
			return -1
		}
		if first != 0 {
			return first
		}
	}
	return 0
}

func TestPackageVersion(t *testing.T) {
	repo := repoRoot(t)
	script := filepath.Join(repo, "scripts", "pkg-version.sh")
	cases := []struct{ describe, count, want string }{
		{"v1.2.3", "", "1.2.3"},
		{"1.2.3", "", "1.2.3"},
		{"v1.2.3-4-g0abc123", "", "1.2.3.4~0abc123"},
		{"v1.2.3-4-g0abc123-dirty", "", "1.2.3.4~0abc123.dirty"},
		{"v1.3.0-rc1", "", "1.3.0~rc1"},
		{"v1.3.0-rc1-2-gdeadbee", "", "1.3.0~rc1.2~deadbee"},
		{"v1.2.3-dirty", "", "1.2.3.dirty"},
		{"0abc123", "42", "0.0.42~0abc123"},
		{"0abc123-dirty", "42", "0.0.42~0abc123.dirty"},
		{"release-x-3-gabc1234", "7", "0.0.7~abc1234"},
		{"v2.0_beta/x", "", "2.0.beta.x"},
		{"dev", "", "0.0.0"},
		{"unknown", "", "0.0.0"},
	}
	for _, c := range cases {
		out, err := exec.Command("/bin/sh", script, c.describe, c.count).Output()
		got := strings.TrimSpace(string(out))
		if err != nil || got != c.want {
			t.Errorf("pkg-version.sh %q %q = %q, %v; want %q", c.describe, c.count, got, err, c.want)
		}
		if strings.Trim(got, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.~") != "" {
			t.Errorf("%q has characters opkg or apk may refuse", got)
		}
	}
	// PackageVersion runs the same script.
	if v, err := PackageVersion(repo, "v1.2.3-4-g0abc123"); err != nil || v != "1.2.3.4~0abc123" {
		t.Errorf("PackageVersion = %q, %v", v, err)
	}
	// Later commits give versions opkg sees as newer.
	var seq []string
	for _, d := range []struct{ describe, count string }{
		{"0abc123", "9"}, {"1bcd234", "10"}, {"v0.1.0-rc1", ""}, {"v0.1.0", ""}, {"v0.1.0-1-g2cde345", ""},
		{"v0.1.0-12-g3def456", ""}, {"v0.2.0", ""}, {"v1.0.0", ""},
	} {
		out, err := exec.Command("/bin/sh", script, d.describe, d.count).Output()
		if err != nil {
			t.Fatal(err)
		}
		seq = append(seq, strings.TrimSpace(string(out))+"-r1")
	}
	for i := 1; i < len(seq); i++ {
		if opkgCompare(seq[i-1], seq[i]) >= 0 {
			t.Errorf("opkg does not see %s as newer than %s", seq[i], seq[i-1])
		}
	}
	// No arguments: the repository's own version.
	out, err := exec.Command("/bin/sh", script).Output()
	if v := strings.TrimSpace(string(out)); err != nil || v == "" || v == "0.0.0" {
		t.Errorf("pkg-version.sh in the repository = %q, %v", v, err)
	}
}

func TestOpkgCompare(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"1.0-r1", "1.0-r1", 0}, {"1.0-r1", "1.0-r2", -1}, {"1.0~rc1-r1", "1.0-r1", -1}, {"1.10-r1", "1.9-r1", 1},
		{"1.0.1-r1", "1.0-r1", 1}, {"1.0a-r1", "1.0-r1", 1}, {"1.0+x-r1", "1.0a-r1", 1}, {"01.0-r1", "1.0-r1", 0},
	} {
		if got := opkgCompare(c.a, c.b); got < 0 != (c.want < 0) || got > 0 != (c.want > 0) {
			t.Errorf("opkgCompare(%q, %q) = %d, want sign of %d", c.a, c.b, got, c.want)
		}
	}
}

// TestMakefiles checks the SDK Makefiles against the repository: module
// path, build target, install paths, conffiles, dependencies.
func TestMakefiles(t *testing.T) {
	repo := repoRoot(t)
	mk, err := ReadMakefile(filepath.Join(repo, "openwrt", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	gomod, _ := os.ReadFile(filepath.Join(repo, "go.mod"))
	module := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(string(gomod), "\n", 2)[0], "module"))
	for k, v := range map[string]string{
		"PKG_NAME": "tamon", "GO_PKG": module, "GO_PKG_BUILD_PKG": module + "/daemon/cmd/tamond",
		"GO_PKG_INSTALL_BIN_PATH": "/usr/sbin", "PKG_BUILD_DEPENDS": "golang/host",
	} {
		if mk.Vars[k] != v {
			t.Errorf("openwrt/Makefile %s = %q, want %q", k, mk.Vars[k], v)
		}
	}
	if _, err := os.Stat(filepath.Join(repo, strings.TrimPrefix(mk.Vars["GO_PKG_BUILD_PKG"], module+"/"), "main.go")); err != nil {
		t.Errorf("GO_PKG_BUILD_PKG does not name tamond's folder: %v", err)
	}
	if !slices.Equal(mk.Lines("Package/tamon/conffiles"), []string{"/etc/config/tamon", "/etc/tamon/features.txt"}) {
		t.Errorf("conffiles %q", mk.Lines("Package/tamon/conffiles"))
	}
	install := mk.Defines["Package/tamon/install"]
	for _, want := range []string{
		"GoPackage/Package/Install/Bin", "$(INSTALL_CONF) ./files/tamon.config $(1)/etc/config/tamon",
		"$(INSTALL_BIN) ./files/tamon.init $(1)/etc/init.d/tamon", "features.txt $(1)/etc/tamon/features.txt",
	} {
		if !strings.Contains(install, want) {
			t.Errorf("Package/tamon/install lacks %q", want)
		}
	}
	text, _ := os.ReadFile(mk.Path)
	for _, want := range []string{"include $(TOPDIR)/feeds/packages/lang/golang/golang-package.mk", "$(eval $(call GoBinPackage,tamon))", "$(eval $(call BuildPackage,tamon))"} {
		if !bytes.Contains(text, []byte(want)) {
			t.Errorf("openwrt/Makefile lacks %q", want)
		}
	}
	if d := Depends(mk.DefineVars("Package/tamon")["DEPENDS"]); !slices.Equal(d, []string{"libc"}) {
		t.Errorf("tamon depends on %q; a static Go binary needs nothing but libc's package", d)
	}

	luci, err := ReadMakefile(filepath.Join(repo, "luci-app-tamon", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(Depends(luci.Vars["LUCI_DEPENDS"]), "tamon") || luci.Vars["LUCI_TITLE"] == "" || luci.Vars["PKG_LICENSE"] != mk.Vars["PKG_LICENSE"] {
		t.Errorf("luci-app-tamon/Makefile: LUCI_DEPENDS %q, LUCI_TITLE %q, PKG_LICENSE %q (tamon's: %q)",
			luci.Vars["LUCI_DEPENDS"], luci.Vars["LUCI_TITLE"], luci.Vars["PKG_LICENSE"], mk.Vars["PKG_LICENSE"])
	}
	ltext, _ := os.ReadFile(luci.Path)
	for _, want := range []string{"include $(TOPDIR)/feeds/luci/luci.mk", "# call BuildPackage - OpenWrt buildroot signature"} {
		if !bytes.Contains(ltext, []byte(want)) {
			t.Errorf("luci-app-tamon/Makefile lacks %q", want)
		}
	}
}

func TestReadMakefile(t *testing.T) {
	dir := t.TempDir()
	write := func(text string) string {
		p := filepath.Join(dir, "Makefile")
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	m, err := ReadMakefile(write("include $(TOPDIR)/rules.mk\nA:=1\nB = two words \nC?=$(shell date)\n# D:=no\n\tE:=recipe\n" +
		"define Package/x\n  SECTION:=net\n  DEPENDS:=+a $(X) @Y +b\nendef\ndefine Package/x/conffiles\n/etc/a\n\n/etc/b\nendef\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Vars["A"] != "1" || m.Vars["B"] != "two words" || m.Vars["C"] != "$(shell date)" || m.Vars["D"] != "" || m.Vars["E"] != "" {
		t.Errorf("vars %q", m.Vars)
	}
	if _, err := m.Var("C"); err == nil || !strings.Contains(err.Error(), "not plain text") {
		t.Errorf("Var of a $(...) value: %v", err)
	}
	if _, err := m.Var("Z"); err == nil || !strings.Contains(err.Error(), "Z is not set") {
		t.Errorf("Var of a missing value: %v", err)
	}
	if v := m.DefineVars("Package/x"); v["SECTION"] != "net" || !slices.Equal(Depends(v["DEPENDS"]), []string{"libc", "a", "b"}) {
		t.Errorf("define vars %q", v)
	}
	if l := m.Lines("Package/x/conffiles"); !slices.Equal(l, []string{"/etc/a", "/etc/b"}) {
		t.Errorf("lines %q", l)
	}
	if _, err := ReadMakefile(write("define X\nA:=1\n")); err == nil || !strings.Contains(err.Error(), "no endef") {
		t.Errorf("unterminated define: %v", err)
	}
	if _, err := ReadMakefile(filepath.Join(dir, "none")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestDepends(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", []string{"libc"}},
		{"$(GO_ARCH_DEPENDS)", []string{"libc"}},
		{"+luci-base +tamon", []string{"libc", "luci-base", "tamon"}},
		{"+libc +PACKAGE_x:kmod-y @!SMALL_FLASH +z", []string{"libc", "z"}},
	} {
		if got := Depends(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Depends(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestTargets(t *testing.T) {
	for _, a := range strings.Fields(DefaultArchs) {
		tg, err := LookupTarget(a)
		if err != nil {
			t.Fatal(err)
		}
		env := strings.Join(tg.Env(), " ")
		if !strings.Contains(env, "CGO_ENABLED=0") || !strings.Contains(env, "GOOS=linux") {
			t.Errorf("%s: env %q", a, env)
		}
		if strings.HasPrefix(a, "mips") && !strings.Contains(env, "GOMIPS=softfloat") {
			t.Errorf("%s: env %q lacks GOMIPS=softfloat (no FPU on the 24Kc)", a, env)
		}
		if strings.HasPrefix(a, "arm_") && !strings.Contains(env, "GOARM=7") {
			t.Errorf("%s: env %q lacks GOARM=7", a, env)
		}
	}
	if _, err := LookupTarget("sparc_v8"); err == nil || !strings.Contains(err.Error(), "sparc_v8") {
		t.Errorf("unknown arch: %v", err)
	}
}

func TestRunErrors(t *testing.T) {
	repo := repoRoot(t)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"-format", "zip", "-repo", repo}, 1, `-format "zip"`},
		{[]string{"-arch", "sparc_v8", "-repo", repo}, 1, "sparc_v8"},
		{[]string{"-arch", " , ", "-repo", repo}, 1, "no architecture"},
		{[]string{"extra"}, 2, "unexpected argument"},
		{[]string{"-nope"}, 2, "flag provided but not defined"},
		{[]string{"-repo", t.TempDir(), "-arch", "x86_64", "-describe", "v1"}, 1, "pkg-version.sh"},
	} {
		var so, se bytes.Buffer
		if code := run(c.args, &so, &se); code != c.code || !strings.Contains(se.String(), c.msg) {
			t.Errorf("ipk %q: exit %d, stderr %q; want %d and %q", c.args, code, se.String(), c.code, c.msg)
		}
	}
}
