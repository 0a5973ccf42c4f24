package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Row is one record as the API serves it: field name -> value (string,
// int64, float64, bool, []any or map[string]any).
type Row map[string]any

// Dataset is a set of records by kind ("session", "dns", ...), each kind
// with its field order (the order of the JSON Lines objects).
type Dataset struct {
	Rows   map[string][]Row
	Fields map[string][]string
}

// ReadJSONL reads JSON Lines as tamond -r -json prints them. Each object's
// "type" names its kind and is dropped from the row.
func ReadJSONL(r io.Reader) (*Dataset, error) {
	ds := &Dataset{Rows: map[string][]Row{}, Fields: map[string][]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		row, keys, err := decodeRow(line)
		if err != nil {
			return nil, fmt.Errorf("json lines: line %d: %w", n, err)
		}
		kind, _ := row["type"].(string)
		if kind == "" {
			return nil, fmt.Errorf("json lines: line %d: no \"type\"", n)
		}
		delete(row, "type")
		if _, ok := ds.Fields[kind]; !ok {
			ds.Fields[kind] = keys[1:]
		}
		ds.Rows[kind] = append(ds.Rows[kind], row)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("json lines: read: %w", err)
	}
	return ds, nil
}

// decodeRow decodes one JSON object, numbers as int64 where they are
// integers, and returns its top-level keys in order.
func decodeRow(b []byte) (Row, []string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, nil, err
	}
	keys, err := objectKeys(b)
	if err != nil {
		return nil, nil, err
	}
	if len(keys) == 0 || keys[0] != "type" {
		keys = append([]string{"type"}, keys...)
	}
	row := Row{}
	for k, v := range raw {
		row[k] = normalize(v)
	}
	return row, keys, nil
}

func objectKeys(b []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	t, err := dec.Token()
	if err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := t.(string)
		keys = append(keys, k)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = normalize(x[k])
		}
		return x
	}
	return v
}

// CaptureJSONL runs tamon's engine over a capture file (pcap or pcapng) as
// "tamond -r FILE -json -sensor SENSOR" and returns what it prints. tamond
// is the binary at path tamond (see BuildTamond). Go's internal rule keeps
// the engine's packages out of this one, so the daemon runs as a process,
// as it will on the router.
func CaptureJSONL(ctx context.Context, tamond, file, sensor string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, tamond, "-r", file, "-json", "-sensor", sensor)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("run %s -r %s: %w: %s", tamond, file, err, lastLine(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// CaptureRecords is CaptureJSONL read into a Dataset.
func CaptureRecords(ctx context.Context, tamond, file, sensor string) (*Dataset, error) {
	b, err := CaptureJSONL(ctx, tamond, file, sensor)
	if err != nil {
		return nil, err
	}
	return ReadJSONL(bytes.NewReader(b))
}

// BuildTamond builds daemon/cmd/tamond from the module at repo into dir and
// returns the binary's path.
func BuildTamond(ctx context.Context, repo, dir string) (string, error) {
	out := filepath.Join(dir, "tamond")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./daemon/cmd/tamond")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build tamond in %s: %w: %s", repo, err, b)
	}
	return out, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// timeFields are the fields that hold Unix ms times.
var timeFields = []string{"ts", "start_ts", "end_ts", "first_seen", "last_seen"}

// Rebase moves every time so that the newest is now-lead and squeezes any
// quiet gap longer than gap to gap, keeping the order of all records and the
// shape of each session. Corpus captures span months or years; rebased they
// fit the pages' default "last 24 hours".
func (ds *Dataset) Rebase(nowMS, gapMS, leadMS int64) {
	var all []int64
	for _, rows := range ds.Rows {
		for _, r := range rows {
			for _, f := range timeFields {
				if v, ok := r[f].(int64); ok && v > 0 {
					all = append(all, v)
				}
			}
		}
	}
	if len(all) == 0 {
		return
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	uniq := all[:1]
	for _, v := range all[1:] {
		if v != uniq[len(uniq)-1] {
			uniq = append(uniq, v)
		}
	}
	mapped := make([]int64, len(uniq))
	for i := 1; i < len(uniq); i++ {
		mapped[i] = mapped[i-1] + min(uniq[i]-uniq[i-1], gapMS)
	}
	off := nowMS - leadMS - mapped[len(mapped)-1]
	for _, rows := range ds.Rows {
		for _, r := range rows {
			for _, f := range timeFields {
				if v, ok := r[f].(int64); ok && v > 0 {
					i := sort.Search(len(uniq), func(i int) bool { return uniq[i] >= v })
					r[f] = mapped[i] + off
				}
			}
		}
	}
}

// appRules names the app of a host for derived app records, by a label of
// its name (a stand-in for appid until the engine writes app records).
var appRules = []struct{ label, app string }{
	{"youtube", "YouTube"}, {"googlevideo", "YouTube"}, {"google", "Google"}, {"gstatic", "Google"},
	{"facebook", "Facebook"}, {"fbcdn", "Facebook"}, {"instagram", "Instagram"}, {"whatsapp", "WhatsApp"},
	{"netflix", "Netflix"}, {"nflxvideo", "Netflix"}, {"spotify", "Spotify"}, {"dropbox", "Dropbox"},
	{"apple", "Apple"}, {"icloud", "Apple"}, {"microsoft", "Microsoft"}, {"windowsupdate", "Microsoft"},
	{"msn", "Microsoft"}, {"live", "Microsoft"}, {"skype", "Microsoft"}, {"teams", "Microsoft"},
	{"twitter", "Twitter"}, {"amazon", "Amazon"}, {"github", "GitHub"}, {"yahoo", "Yahoo"},
	{"wikipedia", "Wikipedia"}, {"bittorrent", "BitTorrent"}, {"baidu", "Baidu"}, {"qq", "QQ"},
}

func appOfHost(host string) string {
	host = strings.ToLower(host)
	labels := strings.Split(host, ".")
	for _, rule := range appRules {
		for _, l := range labels {
			if l == rule.label {
				return rule.app
			}
		}
	}
	return ""
}

func i64(r Row, k string) int64 {
	switch v := r[k].(type) {
	case int64:
		return v
	case float64:
		return int64(v)
	}
	return 0
}

func s(r Row, k string) string {
	v, _ := r[k].(string)
	return v
}

// Derive fills in device and app records when the engine wrote none: one
// device per client MAC seen (addresses, first and last seen, traffic), and
// app-usage records from the sessions' hosts (sessions of one device and app
// less than appTimeoutMS apart join). Sessions get their app field.
func (ds *Dataset) Derive(sensor string, appTimeoutMS int64) {
	sessions := ds.Rows["session"]
	sort.SliceStable(sessions, func(i, j int) bool { return i64(sessions[i], "start_ts") < i64(sessions[j], "start_ts") })
	if len(ds.Rows["device"]) == 0 {
		type dev struct {
			row  Row
			ip4  []string
			ip6  []string
			seen map[string]bool
		}
		devs := map[string]*dev{}
		var order []string
		for _, r := range sessions {
			mac := s(r, "client_mac")
			if mac == "" || mac == "00:00:00:00:00:00" {
				continue
			}
			d := devs[mac]
			if d == nil {
				d = &dev{row: Row{"sensor": sensor, "mac": mac, "alias": "", "hostname": "", "vendor": "", "os": "",
					"dhcp_fingerprint": "", "randomized": macRandomized(mac), "first_seen": i64(r, "start_ts"),
					"last_seen": int64(0), "bytes_up": int64(0), "bytes_down": int64(0)}, seen: map[string]bool{}}
				devs[mac] = d
				order = append(order, mac)
			}
			if ip := s(r, "client_ip"); ip != "" && !d.seen[ip] {
				d.seen[ip] = true
				if strings.Contains(ip, ":") {
					d.ip6 = append(d.ip6, ip)
				} else {
					d.ip4 = append(d.ip4, ip)
				}
			}
			d.row["last_seen"] = max(i64(d.row, "last_seen"), i64(r, "end_ts"))
			d.row["bytes_up"] = i64(d.row, "bytes_up") + i64(r, "bytes_up")
			d.row["bytes_down"] = i64(d.row, "bytes_down") + i64(r, "bytes_down")
		}
		for _, r := range ds.Rows["http"] {
			if d := devs[s(r, "client_mac")]; d != nil && s(r, "user_agent") != "" && s(d.row, "os") == "" {
				d.row["os"] = osHint(s(r, "user_agent"))
			}
		}
		for _, mac := range order {
			d := devs[mac]
			d.row["ipv4"] = toAny(d.ip4)
			d.row["ipv6"] = toAny(d.ip6)
			ds.Rows["device"] = append(ds.Rows["device"], d.row)
		}
		ds.Fields["device"] = []string{"sensor", "mac", "alias", "hostname", "vendor", "ipv4", "ipv6", "os", "dhcp_fingerprint",
			"randomized", "first_seen", "last_seen", "bytes_up", "bytes_down"}
	}
	if len(ds.Rows["app"]) == 0 {
		type key struct{ mac, app string }
		open := map[key]Row{}
		hosts := map[key]map[string]int{}
		var out []Row
		for _, r := range sessions {
			app := s(r, "app")
			if app == "" {
				app = appOfHost(s(r, "host"))
				if app != "" {
					r["app"] = app
				}
			}
			if app == "" {
				continue
			}
			k := key{s(r, "client_mac"), app}
			cur := open[k]
			if cur != nil && i64(r, "start_ts")-i64(cur, "end_ts") > appTimeoutMS {
				cur = nil
			}
			if cur == nil {
				cur = Row{"sensor": sensor, "client_mac": k.mac, "app": app, "start_ts": i64(r, "start_ts"), "end_ts": i64(r, "end_ts"),
					"host": "", "sessions": int64(0), "bytes": int64(0)}
				open[k] = cur
				hosts[k] = map[string]int{}
				out = append(out, cur)
			}
			cur["end_ts"] = max(i64(cur, "end_ts"), i64(r, "end_ts"))
			cur["sessions"] = i64(cur, "sessions") + 1
			cur["bytes"] = i64(cur, "bytes") + i64(r, "bytes_up") + i64(r, "bytes_down")
			if h := s(r, "host"); h != "" {
				hosts[k][h]++
				best, n := "", 0
				for hh, c := range hosts[k] {
					if c > n || c == n && hh < best {
						best, n = hh, c
					}
				}
				cur["host"] = best
			}
		}
		ds.Rows["app"] = out
		ds.Fields["app"] = []string{"sensor", "client_mac", "app", "start_ts", "end_ts", "host", "sessions", "bytes"}
	}
}

func toAny(l []string) []any {
	out := make([]any, len(l))
	for i, v := range l {
		out[i] = v
	}
	return out
}

func macRandomized(mac string) bool {
	if len(mac) < 2 {
		return false
	}
	var b byte
	fmt.Sscanf(mac[:2], "%02x", &b)
	return b&0x02 != 0
}

func osHint(ua string) string {
	switch {
	case strings.Contains(ua, "Windows"):
		return "Windows"
	case strings.Contains(ua, "iPhone"), strings.Contains(ua, "iPad"):
		return "iOS"
	case strings.Contains(ua, "Android"):
		return "Android"
	case strings.Contains(ua, "Mac OS X"), strings.Contains(ua, "Macintosh"):
		return "macOS"
	case strings.Contains(ua, "Linux"):
		return "Linux"
	}
	return ""
}
