package harness

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fixture holds what the tests share: the tamond binary and the JSON Lines
// it wrote for the demo capture.
type fixture struct {
	tamond string
	jsonl  []byte
}

var fixtureOnce struct {
	sync.Once
	f   fixture
	err error
	dir string
}

const demoCapture = "mercury_capture2.pcap"

// testFixture builds tamond and runs it over the demo capture, once.
func testFixture(t testing.TB) fixture {
	t.Helper()
	corpus := corpusDir(t)
	repo := repoDir(t)
	fixtureOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tamon-harness")
		if err != nil {
			fixtureOnce.err = err
			return
		}
		fixtureOnce.dir = dir
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		bin, err := BuildTamond(ctx, repo, dir)
		if err != nil {
			fixtureOnce.err = err
			return
		}
		out, err := CaptureJSONL(ctx, bin, filepath.Join(corpus, "pcaps", demoCapture), "demo")
		if err != nil {
			fixtureOnce.err = err
			return
		}
		fixtureOnce.f = fixture{tamond: bin, jsonl: out}
	})
	if fixtureOnce.err != nil {
		t.Fatalf("make the test records with tamond over %s: %v", demoCapture, fixtureOnce.err)
	}
	return fixtureOnce.f
}

// dataset returns a fresh copy of the demo records, rebased to now, with
// devices and apps derived.
func (f fixture) dataset(t testing.TB) *Dataset {
	t.Helper()
	ds, err := ReadJSONL(bytes.NewReader(f.jsonl))
	if err != nil {
		t.Fatal(err)
	}
	ds.Rebase(time.Now().UnixMilli(), 60_000, 60_000)
	ds.Derive("demo", 300_000)
	return ds
}

// configDir makes a folder playing /etc/config with the package's default
// tamon file.
func configDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(repoDir(t), "openwrt", "files", "tamon.config"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tamon"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startBench starts a harness with the demo records behind a fake API.
func startBench(t testing.TB, noWS bool) *Bench {
	t.Helper()
	f := testFixture(t)
	b, err := StartBench(BenchOptions{
		AppDir: appDir(t), ConfigDir: configDir(t), Lang: "en",
		LuCIAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0",
		Data: f.dataset(t), NoWebSocket: noWS,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}
