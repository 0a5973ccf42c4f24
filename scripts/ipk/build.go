package main

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Target is an OpenWrt package architecture and the Go settings that build
// for it (from the packages feed's golang-values.mk).
type Target struct {
	Arch   string // opkg architecture, e.g. "mips_24kc"
	GOARCH string
	GOARM  string // arm only
	GOMIPS string // mips and mipsle only

	machine elf.Machine
	order   string // "le" or "be"
	class   elf.Class
}

// Targets lists the architectures "make ipk" knows, the default five first.
func Targets() []Target {
	return []Target{
		{Arch: "x86_64", GOARCH: "amd64", machine: elf.EM_X86_64, order: "le", class: elf.ELFCLASS64},
		{Arch: "aarch64_generic", GOARCH: "arm64", machine: elf.EM_AARCH64, order: "le", class: elf.ELFCLASS64},
		{Arch: "arm_cortex-a7_neon-vfpv4", GOARCH: "arm", GOARM: "7", machine: elf.EM_ARM, order: "le", class: elf.ELFCLASS32},
		{Arch: "mipsel_24kc", GOARCH: "mipsle", GOMIPS: "softfloat", machine: elf.EM_MIPS, order: "le", class: elf.ELFCLASS32},
		{Arch: "mips_24kc", GOARCH: "mips", GOMIPS: "softfloat", machine: elf.EM_MIPS, order: "be", class: elf.ELFCLASS32},
		// The same binaries under the names other common targets use:
		// mediatek/filogic, mediatek/mt7622 and qualcommax (ipq807x) ...
		{Arch: "aarch64_cortex-a53", GOARCH: "arm64", machine: elf.EM_AARCH64, order: "le", class: elf.ELFCLASS64},
		// ... ipq40xx/ipq806x/bcm27xx-bcm2709 ...
		{Arch: "arm_cortex-a15_neon-vfpv4", GOARCH: "arm", GOARM: "7", machine: elf.EM_ARM, order: "le", class: elf.ELFCLASS32},
		// ... and mvebu/cortexa9.
		{Arch: "arm_cortex-a9_vfpv3-d16", GOARCH: "arm", GOARM: "7", machine: elf.EM_ARM, order: "le", class: elf.ELFCLASS32},
	}
}

// DefaultArchs are the architectures built when -arch is not given.
const DefaultArchs = "x86_64 aarch64_generic arm_cortex-a7_neon-vfpv4 mipsel_24kc mips_24kc"

// LookupTarget finds arch in Targets.
func LookupTarget(arch string) (Target, error) {
	var known []string
	for _, t := range Targets() {
		if t.Arch == arch {
			return t, nil
		}
		known = append(known, t.Arch)
	}
	return Target{}, fmt.Errorf("unknown architecture %q (known: %s)", arch, strings.Join(known, ", "))
}

// Env returns the environment that cross-builds for t: CGO off, GOOS linux.
func (t Target) Env() []string {
	env := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + t.GOARCH}
	if t.GOARM != "" {
		env = append(env, "GOARM="+t.GOARM)
	}
	if t.GOMIPS != "" {
		env = append(env, "GOMIPS="+t.GOMIPS)
	}
	return env
}

// GoFlagsFile holds the Go flags of the tamond binaries that ship (build
// tags, per-package compiler flags), relative to the repository root; the
// Makefile and openwrt/Makefile read it too.
const GoFlagsFile = "mk/tamond.goflags"

// GoFlags returns the flags of GoFlagsFile: one per line, without blank
// lines and # comments.
func GoFlags(repo string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(repo, GoFlagsFile))
	if err != nil {
		return nil, fmt.Errorf("read the Go flags of tamond: %w", err)
	}
	var flags []string
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.ContainsAny(line, " \t") || !strings.HasPrefix(line, "-") {
			return nil, fmt.Errorf("%s:%d: %q is not one flag without spaces", GoFlagsFile, i+1, line)
		}
		flags = append(flags, line)
	}
	return flags, nil
}

// BuildTamond builds a stripped, path-trimmed tamond for t at out with the
// flags of GoFlagsFile, stamped with version (what tamond -version prints),
// then checks the result with CheckELF.
func BuildTamond(repo, out string, t Target, version string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("build tamond for %s: %w", t.Arch, err)
	}
	flags, err := GoFlags(repo)
	if err != nil {
		return fmt.Errorf("build tamond for %s: %w", t.Arch, err)
	}
	args := append([]string{"build", "-trimpath", "-ldflags", "-s -w -X main.version=" + version}, flags...)
	cmd := exec.Command("go", append(args, "-o", out, "./daemon/cmd/tamond")...)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), t.Env()...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build tamond for %s (%s): %w\n%s", t.Arch, strings.Join(t.Env(), " "), err, stderr.String())
	}
	return CheckELF(out, t)
}

// CheckELF verifies that the file at path is a Linux executable for t with
// no symbol table and no debug sections.
func CheckELF(path string, t Target) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	defer f.Close()
	order := "le"
	if f.ByteOrder.String() == "BigEndian" {
		order = "be"
	}
	if f.Machine != t.machine || f.Class != t.class || order != t.order || f.Type != elf.ET_EXEC {
		return fmt.Errorf("check %s: %v %v %s-endian %v, want %v %v %s-endian ET_EXEC for %s",
			path, f.Machine, f.Class, order, f.Type, t.machine, t.class, t.order, t.Arch)
	}
	if t.GOMIPS == "softfloat" {
		// The 24Kc has no FPU: the binary must use the soft-float ABI
		// (fp_abi, byte 7 of .MIPS.abiflags, is 3 = MIPS_FP_ABI_SOFT).
		sec := f.Section(".MIPS.abiflags")
		if sec == nil {
			return fmt.Errorf("check %s: no .MIPS.abiflags section", path)
		}
		flags, err := sec.Data()
		if err != nil || len(flags) < 8 {
			return fmt.Errorf("check %s: read .MIPS.abiflags: %v", path, err)
		}
		if flags[7] != 3 {
			return fmt.Errorf("check %s: floating-point ABI %d, want 3 (soft float)", path, flags[7])
		}
	}
	for _, s := range f.Sections {
		if s.Name == ".symtab" || strings.HasPrefix(s.Name, ".debug_") || strings.HasPrefix(s.Name, ".zdebug_") {
			return fmt.Errorf("check %s: not stripped (has %s)", path, s.Name)
		}
	}
	return nil
}
