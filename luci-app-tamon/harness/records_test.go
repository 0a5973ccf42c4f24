package harness

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestReadJSONL(t *testing.T) {
	ds, err := ReadJSONL(strings.NewReader(`{"type":"dns","sensor":"s","ts":1,"answers":[{"ttl":60}],"rtt_ms":-1}` + "\n\n" +
		`{"type":"session","sensor":"s","start_ts":5,"end_ts":9,"bytes_up":10,"timeline":[[0,1,60,2]]}` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Rows["dns"]) != 1 || len(ds.Rows["session"]) != 1 {
		t.Fatalf("rows = %v", ds.Rows)
	}
	d := ds.Rows["dns"][0]
	if _, ok := d["type"]; ok {
		t.Error("type kept in the row")
	}
	if v, ok := d["rtt_ms"].(int64); !ok || v != -1 {
		t.Errorf("rtt_ms = %#v, want int64 -1", d["rtt_ms"])
	}
	if strings.Join(ds.Fields["dns"], ",") != "sensor,ts,answers,rtt_ms" {
		t.Errorf("field order %v", ds.Fields["dns"])
	}
	for _, bad := range []string{`{"sensor":"s"}`, `[1,2]`, `{"type":"dns",`} {
		if _, err := ReadJSONL(strings.NewReader(bad + "\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("ReadJSONL(%q) = %v, want an error naming line 1", bad, err)
		}
	}
}

func TestRebase(t *testing.T) {
	ds := &Dataset{Rows: map[string][]Row{
		"session": {{"start_ts": int64(1_000), "end_ts": int64(5_000)}, {"start_ts": int64(1_000_000_000), "end_ts": int64(1_000_010_000)}},
		"dns":     {{"ts": int64(2_000)}},
	}, Fields: map[string][]string{}}
	now := time.Now().UnixMilli()
	ds.Rebase(now, 60_000, 1_000)
	s0, s1, d := ds.Rows["session"][0], ds.Rows["session"][1], ds.Rows["dns"][0]
	if got := i64(s1, "end_ts"); got != now-1_000 {
		t.Errorf("newest time %d, want now-1000 = %d", got, now-1_000)
	}
	if i64(s0, "end_ts")-i64(s0, "start_ts") != 4_000 || i64(s1, "end_ts")-i64(s1, "start_ts") != 10_000 {
		t.Error("session lengths changed")
	}
	if i64(d, "ts")-i64(s0, "start_ts") != 1_000 {
		t.Error("short gap changed")
	}
	if gap := i64(s1, "start_ts") - i64(s0, "end_ts"); gap != 60_000 {
		t.Errorf("long gap is %d, want squeezed to 60000", gap)
	}
}

// TestEngineRecords serves the real engine's records of a corpus capture:
// every record tamond printed is in the API, with its kind's fields.
func TestEngineRecords(t *testing.T) {
	f := testFixture(t)
	lines := map[string]int{}
	for _, l := range bytes.Split(bytes.TrimSpace(f.jsonl), []byte("\n")) {
		row, _, err := decodeRow(l)
		if err != nil {
			t.Fatal(err)
		}
		lines[row["type"].(string)]++
	}
	if lines["session"] == 0 || lines["dns"] == 0 {
		t.Fatalf("tamond gave %v over %s", lines, demoCapture)
	}
	api := NewFakeAPI(f.dataset(t))
	for kind, n := range lines {
		if kind == "device" || kind == "app" {
			continue // the fake adds derived ones when the engine has none
		}
		if got := api.Count(kind); got != n {
			t.Errorf("%s: the API holds %d records, tamond printed %d", kind, got, n)
		}
	}
	if api.Count("device") == 0 {
		t.Error("no devices")
	}
}

func TestDerive(t *testing.T) {
	ds := &Dataset{Rows: map[string][]Row{"session": {
		{"client_mac": "02:00:5e:00:53:01", "client_ip": "192.0.2.5", "start_ts": int64(1000), "end_ts": int64(2000), "bytes_up": int64(10), "bytes_down": int64(20), "host": "www.youtube.com"},
		{"client_mac": "02:00:5e:00:53:01", "client_ip": "2001:db8::5", "start_ts": int64(3000), "end_ts": int64(4000), "bytes_up": int64(1), "bytes_down": int64(2), "host": "i.ytimg.com", "app": "YouTube"},
		{"client_mac": "02:00:5e:00:53:01", "client_ip": "192.0.2.5", "start_ts": int64(900_000), "end_ts": int64(901_000), "bytes_up": int64(1), "bytes_down": int64(1), "host": "m.youtube.com"},
		{"client_mac": "06:00:5e:00:53:02", "client_ip": "192.0.2.6", "start_ts": int64(1500), "end_ts": int64(1600), "host": "example.org"},
	}}, Fields: map[string][]string{}}
	ds.Derive("t", 300_000)
	devs := ds.Rows["device"]
	if len(devs) != 2 {
		t.Fatalf("devices = %v", devs)
	}
	d := devs[0]
	if i64(d, "bytes_up") != 12 || i64(d, "bytes_down") != 23 || i64(d, "first_seen") != 1000 || i64(d, "last_seen") != 901_000 {
		t.Errorf("device = %v", d)
	}
	if len(d["ipv4"].([]any)) != 1 || len(d["ipv6"].([]any)) != 1 {
		t.Errorf("addresses = %v %v", d["ipv4"], d["ipv6"])
	}
	if devs[1]["randomized"] != true {
		t.Errorf("06:... is a locally administered MAC: %v", devs[1])
	}
	apps := ds.Rows["app"]
	if len(apps) != 2 || i64(apps[0], "sessions") != 2 || i64(apps[0], "bytes") != 33 || s(apps[0], "app") != "YouTube" {
		t.Errorf("apps = %v (two periods: the gap is over the app timeout)", apps)
	}
}
