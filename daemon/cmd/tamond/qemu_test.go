package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// qemuTarget is a router architecture whose tamond runs under qemu-user.
type qemuTarget struct {
	name string   // for messages and file names
	env  []string // GOARCH and its options
	qemu string   // qemu-user-static binary
}

func qemuTargets() []qemuTarget {
	return []qemuTarget{
		{"mips", []string{"GOARCH=mips", "GOMIPS=softfloat"}, "qemu-mips-static"}, // big-endian: ath79
		{"mipsle", []string{"GOARCH=mipsle", "GOMIPS=softfloat"}, "qemu-mipsel-static"},
		{"arm", []string{"GOARCH=arm", "GOARM=7"}, "qemu-arm-static"},
		{"arm64", []string{"GOARCH=arm64"}, "qemu-aarch64-static"},
	}
}

// qemuCaptures are corpus captures where byte order, word size and
// alignment matter: a 2.3 MB mix with many sessions, DNS over IPv4 and over
// fragmented IPv6, TLS fingerprints (hashes), pipelined HTTP, QUIC and ICMP.
func qemuCaptures() []string {
	return []string{
		"mercury_capture2.pcap", "ndpi_dns.pcap", "zeek_ipv6-fragmented-dns.pcap", "arkime_tls-alpn-h2.pcap",
		"zeek_http_pipelined-requests.pcap", "ndpi_youtube_quic.pcap", "ppp_IcmpPackets.pcap",
	}
}

// findCorpus walks up from the package folder to a folder holding
// shared/corpus (the repository's sibling).
func findCorpus(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		c := filepath.Join(d, "shared", "corpus")
		if fi, err := os.Stat(filepath.Join(c, "pcaps")); err == nil && fi.IsDir() {
			return c
		}
		if filepath.Dir(d) == d {
			t.Fatalf("shared/corpus not found above %s: the corpus must be beside the repository", wd)
		}
	}
}

// buildFor builds tamond from this package for linux with env, CGO off,
// the way release binaries are built.
func buildFor(t *testing.T, dir, name string, env []string) string {
	t.Helper()
	out := filepath.Join(dir, "tamond-"+name)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=qemu-test", "-o", out, ".")
	cmd.Env = append(os.Environ(), append([]string{"CGO_ENABLED=0", "GOOS=linux"}, env...)...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build tamond for %s: %v\n%s", name, err, msg)
	}
	return out
}

// TestQEMU runs the mips (big-endian), mipsle, arm and arm64 builds of
// tamond under qemu-user-static on corpus captures with -r FILE -json and
// requires stdout byte-identical to the amd64 build's.
func TestQEMU(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Fatalf("the cross-architecture test compares with a native amd64 build; run it on linux/amd64, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	targets := qemuTargets()
	var missing []string
	for _, tg := range targets {
		if _, err := exec.LookPath(tg.qemu); err != nil {
			missing = append(missing, tg.qemu)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%s not found: install the Debian package qemu-user-static (make setup)", strings.Join(missing, ", "))
	}
	corpus := findCorpus(t)
	dir := t.TempDir()

	// Build the five binaries, two at a time (the compiler is parallel too).
	bins := make([]string, len(targets))
	var native string
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i := -1; i < len(targets); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if i < 0 {
				native = buildFor(t, dir, "amd64", []string{"GOARCH=amd64"})
			} else {
				bins[i] = buildFor(t, dir, targets[i].name, targets[i].env)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	for _, capName := range qemuCaptures() {
		capture := filepath.Join(corpus, "pcaps", capName)
		if _, err := os.Stat(capture); err != nil {
			t.Fatalf("corpus capture missing: %v", err)
		}
		t.Run(capName, func(t *testing.T) {
			want, _ := runTamond(t, "amd64", nil, native, capture)
			if !bytes.HasPrefix(want, []byte(`{"type":"`)) {
				t.Fatalf("amd64 output has no records:\n%.500s", want)
			}
			for i, tg := range targets {
				t.Run(tg.name, func(t *testing.T) {
					t.Parallel()
					got, stderr := runTamond(t, tg.name, []string{tg.qemu}, bins[i], capture)
					if !bytes.Equal(got, want) {
						t.Errorf("%s output differs from amd64's (%d vs %d bytes) at line %d:\n%s\nstderr: %s",
							tg.name, len(got), len(want), firstDiffLine(got, want), diffLines(got, want), stderr)
					}
				})
			}
		})
	}
}

// runTamond runs bin (under the emulator prefix, if any) on capture and
// returns stdout and stderr; a non-zero exit fails the test.
func runTamond(t *testing.T, name string, prefix []string, bin, capture string) ([]byte, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append(append([]string{}, prefix...), bin, "-r", capture, "-json", "-sensor", "q")
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: tamond -r %s: %v\n%s", name, filepath.Base(capture), err, stderr.String())
	}
	t.Logf("%s: %d bytes of records in %v", name, stdout.Len(), time.Since(start).Round(time.Millisecond))
	return stdout.Bytes(), stderr.Bytes()
}

func firstDiffLine(a, b []byte) int {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(la), len(lb)) {
		if !bytes.Equal(la[i], lb[i]) {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}

// diffLines shows the first differing line of each output.
func diffLines(got, want []byte) string {
	n := firstDiffLine(got, want) - 1
	line := func(b []byte) string {
		l := bytes.Split(b, []byte("\n"))
		if n < len(l) {
			return string(l[n])
		}
		return "(end of output)"
	}
	return fmt.Sprintf(" got: %.400s\nwant: %.400s", line(got), line(want))
}
