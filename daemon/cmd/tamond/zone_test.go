package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The visited-sites days follow Go's local zone when it names one, else
// OpenWrt's /etc/TZ.
func TestLocalZone(t *testing.T) {
	dir := t.TempDir()
	china := filepath.Join(dir, "TZ")
	os.WriteFile(china, []byte("CST-8\n"), 0o644)
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("Asia/Shanghai\n"), 0o644)
	berlin := time.FixedZone("CET", 3600) // a zone that /etc/localtime named
	utc := time.UTC                       // what Go falls back to without zoneinfo, as on OpenWrt
	cases := []struct {
		name    string
		local   *time.Location
		tzSet   bool
		path    string
		east    int // offset at noon UTC on 2026-11-30
		wantLog string
	}{
		{"OpenWrt: /etc/TZ", utc, false, china, 8 * 3600, ""},
		{"a zone from /etc/localtime wins", berlin, false, china, 3600, ""},
		{"TZ in the environment wins", utc, true, china, 0, ""},
		{"no /etc/TZ", utc, false, filepath.Join(dir, "none"), 0, ""},
		{"unreadable /etc/TZ is reported", utc, false, bad, 0, "UTC days"},
	}
	for _, c := range cases {
		var log strings.Builder
		loc := localZone(c.local, c.tzSet, c.path, &log)
		if _, off := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC).In(loc).Zone(); off != c.east {
			t.Errorf("%s: offset %d s, want %d", c.name, off, c.east)
		}
		if (c.wantLog == "") != (log.Len() == 0) || !strings.Contains(log.String(), c.wantLog) {
			t.Errorf("%s: log %q, want %q", c.name, log.String(), c.wantLog)
		}
	}
}
