package api

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseList(t *testing.T) {
	const now = 1_800_000_000_000
	cases := []struct {
		raw     string
		check   func(p listParams) bool
		errName string
	}{
		{"", func(p listParams) bool {
			return p.f.From == now-86400_000 && p.f.To == 0 && p.f.Limit == 100 && p.desc && !p.cursor.set
		}, ""},
		{"from=0&to=5000&limit=1000&sort=-ts", func(p listParams) bool {
			return p.f.From == 0 && p.f.To == 5000 && p.f.Limit == 1000 && !p.desc
		}, ""},
		{"to=1700000000000", func(p listParams) bool { return p.f.From == 1700000000000-86400_000 }, ""},
		{"from=2026-11-29T10:00:00Z&to=2026-11-29T11:00:00.5%2B01:00", func(p listParams) bool {
			return p.f.From == time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC).UnixMilli() &&
				p.f.To == time.Date(2026, 11, 29, 10, 0, 0, 500e6, time.UTC).UnixMilli()
		}, ""},
		{"mac=AA:BB:CC:DD:EE:FF,aa:bb:*&ip=+192.0.2.1+%3B%3B+198.51.100.*&port=53,443&host=*.example&app=Steam&q=a%25b_c&sensor=r1", func(p listParams) bool {
			return slices.Equal(p.f.MAC, []string{"aa:bb:cc:dd:ee:ff", "aa:bb:*"}) &&
				slices.Equal(p.f.IP, []string{"192.0.2.1", "198.51.100.*"}) && slices.Equal(p.f.Port, []int{53, 443}) &&
				slices.Equal(p.f.Host, []string{"*.example"}) && slices.Equal(p.f.App, []string{"Steam"}) &&
				slices.Equal(p.f.Q, []string{"a%b_c"}) && slices.Equal(p.f.Sensor, []string{"r1"})
		}, ""},
		{"before=dAbc-_9", func(p listParams) bool { return p.cursor.desc && p.older && p.cursor.storeCursor == "Abc-_9" }, ""},
		{"after=aXYZ", func(p listParams) bool { return !p.cursor.desc && !p.older && p.cursor.storeCursor == "XYZ" }, ""},
		{"limit=0", nil, "limit"},
		{"limit=1001", nil, "limit"},
		{"limit=1e3", nil, "limit"},
		{"sort=time", nil, "sort"},
		{"from=abc", nil, "from"},
		{"from=-1", nil, "from"},
		{"from=1969-12-31T23:59:59Z", nil, "from"},
		{"from=10&to=10", nil, "to"},
		{"before=x", nil, "before"},
		{"before=qAAAA", nil, "before"},
		{"after=a%2F%2F", nil, "after"},
		{"before=dA&after=dA", nil, "before"},
		{"port=80-90", nil, "port"},
		{"port=70000", nil, "port"},
		{"mac=a&mac=b", nil, "mac"},
		{"limits=5", nil, `"limits"`},
		{"q=%FF", nil, "q"},
		{"q=a%00b", nil, "q"},
		{"host=" + strings.Repeat("h", 1025), nil, "host"},
		{"q=" + strings.Repeat("a%3B", 33), nil, "q"},
		{"%zz=1", nil, "query"},
		{"q=a;b", nil, "query"}, // a bare semicolon: encode it as %3B
		{strings.Repeat("q=a&", 2100), nil, "query"},
	}
	for _, c := range cases {
		p, err := parseList(c.raw, now, maxJSONLimit)
		if c.errName != "" {
			var pe *paramError
			if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), c.errName) {
				t.Errorf("parseList(%.60q): %v, want an error naming %s", c.raw, err, c.errName)
			}
			continue
		}
		if err != nil || !c.check(p) {
			t.Errorf("parseList(%.60q) = %+v, %v", c.raw, p, err)
		}
	}
	if p, err := parseList("limit=100000", now, maxCSVLimit); err != nil || p.f.Limit != 100000 {
		t.Errorf("CSV limit: %+v %v", p.f.Limit, err)
	}
}

func TestCursorText(t *testing.T) {
	for _, c := range []cursor{{storeCursor: "AQFfdGltZQAC", desc: true, set: true}, {storeCursor: "x_-9", set: true}} {
		got, err := parseCursor("after", c.String())
		if err != nil || got != c {
			t.Errorf("cursor %q came back as %+v, %v", c.String(), got, err)
		}
	}
	if (cursor{}).String() != "" {
		t.Error("an unset cursor must print as empty")
	}
}

func TestParseStepAndMAC(t *testing.T) {
	for v, want := range map[string]time.Duration{"60s": time.Minute, "1h": time.Hour, "1.5s": 1500 * time.Millisecond} {
		if d, err := parseStep(v); err != nil || d != want {
			t.Errorf("parseStep(%q) = %v, %v", v, d, err)
		}
	}
	for _, v := range []string{"", "60", "0s", "999ms", "-1m", "1.0001s", "soon"} {
		if _, err := parseStep(v); err == nil {
			t.Errorf("parseStep(%q) accepted", v)
		}
	}
	for v, want := range map[string]string{"AA:BB:CC:DD:EE:FF": "aa:bb:cc:dd:ee:ff", "aa-bb-cc-dd-ee-ff": "aa:bb:cc:dd:ee:ff"} {
		if m, err := parseMAC(v); err != nil || m != want {
			t.Errorf("parseMAC(%q) = %q, %v", v, m, err)
		}
	}
	for _, v := range []string{"", "aa:bb:cc:dd:ee", "00:00:00:00:00:00:00:e0", "zz:bb:cc:dd:ee:ff"} {
		if _, err := parseMAC(v); err == nil {
			t.Errorf("parseMAC(%q) accepted", v)
		}
	}
}

func TestParseSeries(t *testing.T) {
	const now = 1_800_000_000_000
	p, err := parseSeries("", now)
	if err != nil || p.by != "total" || p.step != time.Minute || p.f.To != now || p.f.From != now-86400_000 || p.steps != 1440 {
		t.Errorf("defaults: %+v %v", p, err)
	}
	p, err = parseSeries("by=device&key=AA:BB:CC:DD:EE:FF&step=1h&from=0&to=7200001", now)
	if err != nil || p.key != "aa:bb:cc:dd:ee:ff" || !slices.Equal(p.f.MAC, []string{p.key}) || p.steps != 3 || p.first != 0 {
		t.Errorf("device key: %+v %v", p, err)
	}
	p, err = parseSeries("from=90000&to=0&step=60s", 200000)
	if err != nil || p.f.To != 200000 || p.first != 60000 || p.steps != 3 {
		t.Errorf("to=0: %+v %v", p, err)
	}
	for raw, name := range map[string]string{
		"by=host": "by", "by=app&key=x&app=y": "key", "by=device&key=x&mac=y": "key", "by=app&key=": "key",
		"n=51": "n", "from=0&to=1000000000": "step", "key=a": "key",
	} {
		if _, err := parseSeries(raw, now); err == nil || !strings.HasPrefix(err.Error(), name) {
			t.Errorf("parseSeries(%q): %v, want an error naming %s", raw, err, name)
		}
	}
}
