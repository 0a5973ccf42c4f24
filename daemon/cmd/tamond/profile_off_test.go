//go:build !pprof

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Without -tags pprof, -cpuprofile is refused with a message that says how
// to get a profiling build, and no profile file is created.
func TestCPUProfileNeedsTag(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	var out, errb bytes.Buffer
	code := run([]string{"-r", "testdata/" + goldenCapture(t), "-json", "-cpuprofile", prof}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "-tags pprof") {
		t.Fatalf("exit %d, stderr %q; want exit 1 naming -tags pprof", code, errb.String())
	}
	if _, err := os.Stat(prof); !os.IsNotExist(err) {
		t.Errorf("profile file created: %v", err)
	}
}
