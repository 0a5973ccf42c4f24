//go:build pprof

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// With -tags pprof, -cpuprofile writes a gzip-compressed pprof profile.
func TestCPUProfile(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	var out, errb bytes.Buffer
	if code := run([]string{"-r", "testdata/" + goldenCapture(t), "-json", "-cpuprofile", prof}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	b, err := os.ReadFile(prof)
	if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("profile %d bytes (%v), want a gzip stream", len(b), err)
	}
}
