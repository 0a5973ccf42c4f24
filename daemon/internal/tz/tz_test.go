package tz

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // reference zones for the comparisons, whatever the machine has
)

func TestParseFixed(t *testing.T) {
	at := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	winter := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		tz   string
		east int // seconds, in July
	}{
		{"CST-8", 8 * 3600},
		{"HKT-8", 8 * 3600},
		{"IST-5:30", 5*3600 + 1800},
		{"<+0545>-5:45", 5*3600 + 45*60},
		{"<-03>3", -3 * 3600},
		{"JST-9", 9 * 3600},
		{"UTC", 0},
		{"UTC0", 0},
		{"GMT0", 0},
		{"HST10", -10 * 3600},
		{"<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45", 12*3600 + 45*60}, // Chatham: standard time in July
	}
	for _, c := range cases {
		loc, err := Parse(c.tz)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.tz, err)
			continue
		}
		if _, off := at.In(loc).Zone(); off != c.east {
			t.Errorf("Parse(%q): offset %d s in July, want %d", c.tz, off, c.east)
		}
		if !strings.Contains(c.tz, ",") {
			if _, off := winter.In(loc).Zone(); off != c.east {
				t.Errorf("Parse(%q): offset %d s in January, want %d (no daylight saving)", c.tz, off, c.east)
			}
		}
	}
}

// Zones with daylight saving agree with the tz database, hour by hour
// through two years and around every change.
func TestParseDaylightSaving(t *testing.T) {
	cases := []struct{ tz, name string }{
		{"CET-1CEST,M3.5.0,M10.5.0/3", "Europe/Berlin"},
		{"GMT0BST,M3.5.0/1,M10.5.0", "Europe/London"},
		{"EST5EDT,M3.2.0,M11.1.0", "America/New_York"},
		{"PST8PDT,M3.2.0,M11.1.0", "America/Los_Angeles"},
		{"NZST-12NZDT,M9.5.0,M4.1.0/3", "Pacific/Auckland"},
		{"<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45", "Pacific/Chatham"},
		{"AEST-10AEDT,M10.1.0,M4.1.0/3", "Australia/Sydney"},
	}
	for _, c := range cases {
		loc, err := Parse(c.tz)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.tz, err)
			continue
		}
		ref, err := time.LoadLocation(c.name)
		if err != nil {
			t.Fatal(err)
		}
		for ts := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC); ts.Year() < 2027; ts = ts.Add(15 * time.Minute) {
			_, got := ts.In(loc).Zone()
			_, want := ts.In(ref).Zone()
			if got != want {
				t.Errorf("%q at %s: offset %d s, %s has %d", c.tz, ts.Format(time.RFC3339), got, c.name, want)
				break
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{"", "Asia/Shanghai", "CST", "C-8", "CST-25", "CST-8:xx", "<+08-8",
		"CET-1CEST,M13.5.0,M10.5.0", "CET-1CEST,M3.5.0", "CET-1CEST,M3.5.0,Q", "CET-1CEST,J0,J300",
		"CET-1CEST,M3.5.0/x,M10.5.0", "CET-1C"} {
		if loc, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", s, loc)
		} else if !strings.Contains(err.Error(), "time zone") {
			t.Errorf("Parse(%q): error %q does not say what it was reading", s, err)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "TZ")
	if err := os.WriteFile(p, []byte("CST-8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	loc, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	// Local midnight in China is 16:00 UTC the day before.
	if got := time.Date(2026, 11, 30, 0, 0, 0, 0, loc).UTC(); got != time.Date(2026, 11, 29, 16, 0, 0, 0, time.UTC) {
		t.Errorf("midnight in CST-8 is %s UTC", got)
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Load of a missing file: %v", err)
	}
	os.WriteFile(p, []byte("Asia/Shanghai\n"), 0o644)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("Load of a zone name: %v, want an error naming %s", err, p)
	}
}

// FuzzParse: Parse never panics, and a location it returns has a sane
// offset at any time.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"CST-8", "UTC", "<+0545>-5:45", "CET-1CEST,M3.5.0,M10.5.0/3", "EST5EDT", "NZST-12NZDT,J60/2,300/3",
		"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", "Asia/Shanghai", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		loc, err := Parse(s)
		if err != nil {
			return
		}
		for _, ts := range []int64{0, 1_700_000_000, 1_750_000_000, 4_000_000_000} {
			if _, off := time.Unix(ts, 0).In(loc).Zone(); off < -26*3600 || off > 26*3600 {
				t.Fatalf("Parse(%q): offset %d s at %d", s, off, ts)
			}
		}
	})
}

// BenchmarkParse reads a zone with daylight saving rules (once per start
// of tamond; for completeness of the parsers' benchmarks).
func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("CET-1CEST,M3.5.0,M10.5.0/3"); err != nil {
			b.Fatal(err)
		}
	}
}
