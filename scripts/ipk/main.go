// Command ipk builds tamon's OpenWrt packages without the OpenWrt SDK:
// tamon_<version>_<arch>.ipk for each architecture,
// luci-app-tamon_<version>_all.ipk and, for each translation in
// luci-app-tamon/po, luci-i18n-tamon-<lang>_<version>_all.ipk with the
// compiled .lmo catalogue (zh_Hans: luci-i18n-tamon-zh-cn), in the format OpenWrt's own
// scripts/ipkg-build writes (see Package.Write), with the package fields of
// openwrt/Makefile and luci-app-tamon/Makefile. tamond is built with
// CGO_ENABLED=0, -trimpath and -ldflags "-s -w", stamped with the git
// version, and checked (architecture, soft float on MIPS, no symbols).
//
// Usage, from anywhere in the repository (mk/openwrt.mk has the targets):
//
//	go run ./scripts/ipk [-out dist/ipk] [-arch "x86_64 mips_24kc"] [-describe VERSION] [-format tgz|ar]
//	go run ./scripts/ipk -size [-arch ...]
//
// -describe is the version tamond -version prints (default: git describe
// --always --dirty); the package version is made from it by
// scripts/pkg-version.sh, plus "-r<PKG_RELEASE>". Archive times are
// SOURCE_DATE_EPOCH, else the last commit's time, so the same commit gives
// the same bytes. -size builds the binaries only and prints their sizes; it
// fails if a MIPS binary reaches MaxMIPSSize.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// MaxMIPSSize is the ceiling for a stripped MIPS tamond: 10 MB, what
// 16 MB-flash ath79 and ramips routers have room for (issue 7). The
// binary holds the database store (database/sql, the MySQL driver and the
// TLS stack it pulls in) and the API (net/http, WebSocket); it fits
// because tamon decodes packets and reads capture files with its own code
// rather than gopacket's layers and pcapgo packages (whose initialisation
// tables were a tenth of the binary), and because of the flags in
// GoFlagsFile (no HTTP/2, no inlining outside the per-packet path).
// BENCHMARKS.md has the figures.
const MaxMIPSSize = 10_000_000

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("ipk", flag.ContinueOnError)
	fl.SetOutput(stderr)
	repoDir := fl.String("repo", "", "repository `root` (default: the folder holding go.mod, above the working folder)")
	out := fl.String("out", "", "output `folder` (default: <repo>/dist/ipk)")
	archs := fl.String("arch", DefaultArchs, "OpenWrt `architectures`, separated by blanks or commas")
	describe := fl.String("describe", "", "`version` stamped into tamond (default: git describe --always --dirty)")
	format := fl.String("format", string(TarGz), "outer `container`: tgz (as OpenWrt's SDK) or ar (Debian style)")
	size := fl.Bool("size", false, "build the binaries only and print their stripped sizes")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "ipk: unexpected argument %q\n", fl.Arg(0))
		return 2
	}
	if err := build(options{repo: *repoDir, out: *out, archs: *archs, describe: *describe, format: Container(*format), size: *size}, stdout); err != nil {
		fmt.Fprintln(stderr, "ipk:", err)
		return 1
	}
	return 0
}

type options struct {
	repo, out, archs, describe string
	format                     Container
	size                       bool
}

func build(o options, stdout io.Writer) error {
	if o.format != TarGz && o.format != Ar {
		return fmt.Errorf("-format %q: want tgz or ar", o.format)
	}
	if o.repo == "" {
		var err error
		if o.repo, err = findRepo(); err != nil {
			return err
		}
	}
	if o.out == "" {
		o.out = filepath.Join(o.repo, "dist", "ipk")
	}
	var targets []Target
	for a := range strings.FieldsFuncSeq(o.archs, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		t, err := LookupTarget(a)
		if err != nil {
			return err
		}
		targets = append(targets, t)
	}
	if len(targets) == 0 {
		return errors.New("-arch: no architecture given")
	}
	if o.describe == "" {
		o.describe = gitOutput(o.repo, "describe", "--always", "--dirty")
		if o.describe == "" {
			o.describe = "dev"
		}
	}
	repo := Repo{Root: o.repo}
	if o.size {
		return sizes(repo, o, targets, stdout)
	}
	version, err := PackageVersion(o.repo, o.describe)
	if err != nil {
		return err
	}
	mk, err := ReadMakefile(filepath.Join(o.repo, "openwrt", "Makefile"))
	if err != nil {
		return err
	}
	release, err := mk.Var("PKG_RELEASE")
	if err != nil {
		return err
	}
	version += "-r" + release
	epoch := sourceDateEpoch(o.repo)
	for _, t := range targets {
		bin := filepath.Join(o.out, "build", t.Arch, "tamond")
		if err := BuildTamond(o.repo, bin, t, o.describe); err != nil {
			return err
		}
		p, err := repo.TamonPackage(t, bin, version, epoch)
		if err != nil {
			return err
		}
		if err := writePackage(p, o.out, o.format, stdout); err != nil {
			return err
		}
	}
	p, err := repo.LuciPackage(version, epoch)
	if err != nil {
		return err
	}
	if err := writePackage(p, o.out, o.format, stdout); err != nil {
		return err
	}
	i18n, err := repo.I18nPackages(version, epoch)
	if err != nil {
		return err
	}
	for _, p := range i18n {
		if err := writePackage(p, o.out, o.format, stdout); err != nil {
			return err
		}
	}
	return nil
}

func writePackage(p *Package, dir string, c Container, stdout io.Writer) error {
	var buf bytes.Buffer
	if err := p.Write(&buf, c); err != nil {
		return err
	}
	path := filepath.Join(dir, p.FileName())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	fmt.Fprintf(stdout, "%s\t%d bytes\n", path, buf.Len())
	return nil
}

// sizes builds tamond for each target and prints the stripped size and the
// gzipped size (about what the .ipk adds to a download); MIPS binaries must
// stay under MaxMIPSSize.
func sizes(repo Repo, o options, targets []Target, stdout io.Writer) error {
	fmt.Fprintf(stdout, "%-26s %-16s %10s %8s %10s\n", "architecture", "GOARCH", "bytes", "MiB", "gzipped")
	var over []string
	for _, t := range targets {
		bin := filepath.Join(o.out, "build", t.Arch, "tamond")
		if err := BuildTamond(repo.Root, bin, t, o.describe); err != nil {
			return err
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			return err
		}
		gz, err := gzipBytes(data)
		if err != nil {
			return err
		}
		goarch := t.GOARCH
		if t.GOARM != "" {
			goarch += " GOARM=" + t.GOARM
		}
		if t.GOMIPS != "" {
			goarch += " " + t.GOMIPS
		}
		fmt.Fprintf(stdout, "%-26s %-16s %10d %8.2f %10d\n", t.Arch, goarch, len(data), float64(len(data))/(1<<20), len(gz))
		if (t.GOARCH == "mips" || t.GOARCH == "mipsle") && len(data) >= MaxMIPSSize {
			over = append(over, fmt.Sprintf("%s: %d bytes", t.Arch, len(data)))
		}
	}
	if len(over) > 0 {
		return fmt.Errorf("stripped MIPS tamond over the %d-byte budget: %s", MaxMIPSSize, strings.Join(over, ", "))
	}
	return nil
}

// PackageVersion turns a git describe string into the package version (no
// release) with scripts/pkg-version.sh, the same script the SDK Makefiles
// run, so both builds name packages alike.
func PackageVersion(repo, describe string) (string, error) {
	cmd := exec.Command("/bin/sh", filepath.Join(repo, "scripts", "pkg-version.sh"), describe)
	cmd.Dir = repo
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	v := strings.TrimSpace(string(out))
	if err != nil || v == "" {
		return "", fmt.Errorf("package version for %q: scripts/pkg-version.sh: %v %s", describe, err, stderr.String())
	}
	return v, nil
}

// sourceDateEpoch is $SOURCE_DATE_EPOCH, else the last commit's time, else 0.
func sourceDateEpoch(repo string) int64 {
	if v, err := strconv.ParseInt(os.Getenv("SOURCE_DATE_EPOCH"), 10, 64); err == nil && v >= 0 {
		return v
	}
	if v, err := strconv.ParseInt(gitOutput(repo, "log", "-1", "--format=%ct"), 10, 64); err == nil && v >= 0 {
		return v
	}
	return 0
}

// gitOutput runs git in repo and returns its trimmed output, or "" on error.
func gitOutput(repo string, args ...string) string {
	cmd := exec.Command("git", args...)
	cmd.Dir = repo
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// findRepo walks up from the working folder to the one whose go.mod
// declares module tamon.
func findRepo() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && bytes.HasPrefix(data, []byte("module tamon\n")) {
			return d, nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("find the repository: %w", err)
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("find the repository: no go.mod of module tamon above %s (use -repo)", dir)
		}
	}
}
