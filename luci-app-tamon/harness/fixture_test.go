package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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

// The real daemon: tamond replays a corpus capture into its SQLite store
// and serves its API behind the pages (StartBenchDaemon).

// realOptions are the DaemonOptions of a test: the fixture's tamond, the
// capture from the corpus, the repository's features.txt.
func realOptions(t testing.TB, capture string, speed float64, dataDir string) DaemonOptions {
	t.Helper()
	f := testFixture(t)
	return DaemonOptions{
		Tamond: f.tamond, Capture: filepath.Join(corpusDir(t), "pcaps", capture), Speed: speed,
		DataDir: dataDir, Features: filepath.Join(repoDir(t), "features.txt"), Sensor: "demo",
	}
}

// realBench starts a bench with its own tamond replaying capture at speed;
// with wait it returns once the whole capture is in the store. The daemon
// must exit cleanly when the test ends.
func realBench(t *testing.T, capture string, speed float64, wait bool) *Bench {
	t.Helper()
	b, err := StartBenchDaemon(BenchOptions{AppDir: appDir(t), ConfigDir: configDir(t), Lang: "en", LuCIAddr: "127.0.0.1:0"},
		realOptions(t, capture, speed, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("stop the bench: %v; tamond's log:\n%s", err, b.Daemon.Log())
		}
	})
	if wait {
		waitReplayed(t, b)
	}
	return b
}

func waitReplayed(t testing.TB, b *Bench) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := b.Daemon.WaitReplayed(ctx); err != nil {
		t.Fatal(err)
	}
}

// sharedSpeed replays the demo capture (370 s of traffic once its idle gaps
// are cut to 1 s) in about 12 s.
const sharedSpeed = 30

var sharedOnce struct {
	sync.Once
	b   *Bench
	err error
}

// sharedBench is one real bench for the tests that only read: tamond has
// replayed the whole demo capture. TestMain stops it.
func sharedBench(t testing.TB) *Bench {
	t.Helper()
	opts := realOptions(t, demoCapture, sharedSpeed, "")
	app := appDir(t)
	repo := repoDir(t)
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp(fixtureOnce.dir, "shared")
		if err != nil {
			sharedOnce.err = err
			return
		}
		conf := filepath.Join(dir, "config")
		b, err := os.ReadFile(filepath.Join(repo, "openwrt", "files", "tamon.config"))
		if err == nil {
			err = os.MkdirAll(conf, 0o755)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(conf, "tamon"), b, 0o644)
		}
		if err != nil {
			sharedOnce.err = err
			return
		}
		opts.DataDir = filepath.Join(dir, "data")
		bench, err := StartBenchDaemon(BenchOptions{AppDir: app, ConfigDir: conf, Lang: "en", LuCIAddr: "127.0.0.1:0"}, opts)
		if err != nil {
			sharedOnce.err = err
			return
		}
		sharedOnce.b = bench
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		sharedOnce.err = bench.Daemon.WaitReplayed(ctx)
	})
	if sharedOnce.err != nil {
		t.Fatalf("the shared bench: %v", sharedOnce.err)
	}
	return sharedOnce.b
}

// apiJSON GETs path from the bench's daemon (real or fake) with the pages'
// LuCI session as Bearer token and decodes the answer into out.
func apiJSON(t testing.TB, b *Bench, path string, out any) {
	t.Helper()
	req, err := http.NewRequest("GET", b.APIURL+"/api/v1/"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+b.Server.SessionID())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", path, resp.Status, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v: %.200s", path, err, body)
	}
}

// apiRows fetches every row of a list from the daemon, page by page.
func apiRows(t testing.TB, b *Bench, kind, query string) []Row {
	t.Helper()
	var all []Row
	cursor := ""
	for range 1000 {
		var page struct {
			Rows []Row  `json:"rows"`
			Next string `json:"next"`
		}
		path := fmt.Sprintf("%s?from=0&limit=1000%s", kind, query)
		if cursor != "" {
			path += "&before=" + cursor
		}
		apiJSON(t, b, path, &page)
		all = append(all, page.Rows...)
		if page.Next == "" || len(page.Rows) == 0 {
			return all
		}
		cursor = page.Next
	}
	t.Fatalf("%s: more than 1000 pages", kind)
	return nil
}
