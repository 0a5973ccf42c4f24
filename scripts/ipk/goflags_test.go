package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// goList lists the import paths of the packages that pkg depends on (pkg
// included), for linux/mips.
func goList(t *testing.T, repo, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=mips", "GOMIPS=softfloat")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// matches reports whether a go package pattern (a path, or a path ending
// in /... for it and everything below) names the import path p.
func matches(pattern, p string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return p == base || strings.HasPrefix(p, base+"/")
	}
	return p == pattern
}

// TestGoFlags checks mk/tamond.goflags: inlining is turned off for all
// packages first, then back on for patterns that each name packages tamond
// links (so a renamed package cannot silently lose its inlining), among
// them every tamon package of the per-packet path (the engine and all it
// imports).
func TestGoFlags(t *testing.T) {
	repo := repoRoot(t)
	flags, err := GoFlags(repo)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(flags, "-tags=nethttpomithttp2") {
		t.Error("no -tags=nethttpomithttp2")
	}
	deps := goList(t, repo, "./daemon/cmd/tamond")
	var hot []string
	allOff := false
	for _, f := range flags {
		v, ok := strings.CutPrefix(f, "-gcflags=")
		if !ok {
			continue
		}
		pattern, args, _ := strings.Cut(v, "=")
		switch {
		case pattern == "all" && args == "-l":
			if len(hot) > 0 {
				t.Errorf("%s comes after per-package flags: it would override them", f)
			}
			allOff = true
		case args == "":
			if !slices.ContainsFunc(deps, func(p string) bool { return matches(pattern, p) }) {
				t.Errorf("%s names no package that tamond links", f)
			}
			hot = append(hot, pattern)
		default:
			t.Errorf("unexpected flag %s", f)
		}
	}
	if !allOff {
		t.Fatal("no -gcflags=all=-l")
	}
	var engine int
	for _, p := range goList(t, repo, "./daemon/internal/pipeline") {
		if !strings.HasPrefix(p, "tamon/") {
			continue
		}
		engine++
		if !slices.ContainsFunc(hot, func(h string) bool { return matches(h, p) }) {
			t.Errorf("%s is on the per-packet path but compiled without inlining: add -gcflags=%s= to %s", p, p, GoFlagsFile)
		}
	}
	if engine < 10 {
		t.Fatalf("only %d tamon packages under the engine", engine)
	}
	// The runtime and the packet capture keep their inlining.
	for _, p := range []string{"runtime", "internal/runtime/maps", "github.com/gopacket/gopacket/afpacket", "encoding/binary", "crypto/internal/fips140/aes/gcm"} {
		if !slices.ContainsFunc(hot, func(h string) bool { return matches(h, p) }) {
			t.Errorf("%s compiled without inlining", p)
		}
	}
}
