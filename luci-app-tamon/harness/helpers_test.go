package harness

import (
	"os"
	"path/filepath"
	"testing"
)

// appDir is the luci-app-tamon folder (the parent of this package).
func appDir(t testing.TB) string {
	t.Helper()
	d, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d, "htdocs")); err != nil {
		t.Fatalf("luci-app-tamon folder not found at %s: %v", d, err)
	}
	return d
}

// repoDir is the module root.
func repoDir(t testing.TB) string {
	t.Helper()
	d, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", d, err)
	}
	return d
}

// corpusDir finds shared/corpus: ../../../../shared/corpus from the package
// or in a parent folder. It fails the test when the corpus is missing.
func corpusDir(t testing.TB) string {
	t.Helper()
	if d, err := filepath.Abs("../../../shared/corpus"); err == nil {
		if _, err := os.Stat(filepath.Join(d, "pcaps")); err == nil {
			return d
		}
	}
	dir, _ := filepath.Abs(".")
	for {
		c := filepath.Join(dir, "shared", "corpus")
		if _, err := os.Stat(filepath.Join(c, "pcaps")); err == nil {
			return c
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("shared/corpus not found beside the checkout or in any parent folder: the corpus tests need it")
		}
		dir = parent
	}
}
