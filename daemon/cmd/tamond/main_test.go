package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGolden runs tamond -r FILE -json on each capture in testdata and
// compares stdout with testdata/golden/FILE.jsonl, byte for byte.
func TestGolden(t *testing.T) {
	pcaps, _ := filepath.Glob("testdata/*.pcap")
	if len(pcaps) < 5 {
		t.Fatalf("expected golden captures in testdata, found %d", len(pcaps))
	}
	for _, p := range pcaps {
		name := filepath.Base(p)
		t.Run(name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run([]string{"-r", p, "-json", "-sensor", "golden"}, &out, &errb); code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			if !strings.Contains(errb.String(), "frames ") {
				t.Errorf("no counter summary on stderr: %q", errb.String())
			}
			golden := filepath.Join("testdata", "golden", strings.TrimSuffix(name, ".pcap")+".jsonl")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("output differs from %s:\n got: %s\nwant: %s", golden, out.String(), want)
			}
			// Same input, same bytes: a second run with another worker count.
			var again bytes.Buffer
			if code := run([]string{"-r", p, "-json", "-sensor", "golden", "-workers", "3"}, &again, &errb); code != 0 {
				t.Fatalf("second run exit %d", code)
			}
			if !bytes.Equal(out.Bytes(), again.Bytes()) {
				t.Errorf("output with 3 workers differs from the output with the default workers")
			}
		})
	}
}

func TestCLIErrors(t *testing.T) {
	dir := t.TempDir()
	notCap := filepath.Join(dir, "notes.txt")
	os.WriteFile(notCap, []byte("hello, this is not a capture\n"), 0o644)
	cut := filepath.Join(dir, "cut.pcap")
	full, err := os.ReadFile("testdata/tcpdump_dns_tcp.pcap")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(cut, full[:len(full)-30], 0o644)
	badCfg := filepath.Join(dir, "tamon")
	os.WriteFile(badCfg, []byte("config tamon 'main'\n\toption tcp_timeout 'soon'\n\toption udp_timeout '0'\n"), 0o644)
	cases := []struct {
		name      string
		args      []string
		code      int
		stderr    string
		stdoutHas string
	}{
		{"not a capture", []string{"-r", notCap, "-json"}, 1, "not a pcap or pcapng file", ""},
		{"missing file", []string{"-r", filepath.Join(dir, "nope.pcap"), "-json"}, 1, "nope.pcap", ""},
		{"truncated file", []string{"-r", cut, "-json", "-sensor", "x"}, 1, "cut.pcap", `"type":"session"`},
		{"bad flag", []string{"-nope"}, 2, "flag provided but not defined", ""},
		{"check bad config", []string{"-check", "-c", badCfg}, 1, "tcp_timeout", ""},
		{"check reports all", []string{"-check", "-c", badCfg}, 1, "udp_timeout", ""},
		{"version", []string{"-version"}, 0, "", "tamond"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(c.args, &out, &errb)
			if code != c.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, c.code, errb.String())
			}
			if !strings.Contains(errb.String(), c.stderr) {
				t.Errorf("stderr %q does not mention %q", errb.String(), c.stderr)
			}
			if !strings.Contains(out.String(), c.stdoutHas) {
				t.Errorf("stdout %q does not contain %q", out.String(), c.stdoutHas)
			}
		})
	}
}

// TestReadIntoSQLite: tamond -r with a configured SQLite store loads the
// capture and exits when every record is written: the row counts equal
// the records of -json.
func TestReadIntoSQLite(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tamon")
	os.WriteFile(cfg, []byte("config tamon 'main'\n\toption features '../../../features.txt'\n"+
		"config storage 'storage'\n\toption driver 'sqlite'\n\toption path '"+dir+"/t.db'\n\toption spool_path '"+dir+"/spool'\n"), 0o644)
	var jsonOut, errb bytes.Buffer
	if code := run([]string{"-r", "testdata/arkime_http-simple-get.pcap", "-json", "-c", cfg, "-sensor", "s"}, &jsonOut, &errb); code != 0 {
		t.Fatalf("-json: exit %d: %s", code, errb.String())
	}
	want := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(jsonOut.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		want[m["type"].(string)]++
	}
	errb.Reset()
	if code := run([]string{"-r", "testdata/arkime_http-simple-get.pcap", "-c", cfg, "-sensor", "s"}, io.Discard, &errb); code != 0 {
		t.Fatalf("store: exit %d: %s", code, errb.String())
	}
	tables := map[string]string{"session": "sessions", "http": "http", "device": "devices", "app": "apps"}
	for kind, n := range want {
		table := tables[kind]
		if table == "" {
			table = kind
		}
		line := fmt.Sprintf("store_rows_%s %d\n", table, n)
		if !strings.Contains(errb.String(), line) {
			t.Errorf("store summary lacks %q:\n%s", line, errb.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "t.db")); err != nil {
		t.Fatal(err)
	}
}

// goldenCapture returns the name of one capture in testdata.
func goldenCapture(t *testing.T) string {
	t.Helper()
	pcaps, _ := filepath.Glob("testdata/*.pcap")
	if len(pcaps) == 0 {
		t.Fatal("no captures in testdata")
	}
	return filepath.Base(pcaps[0])
}
