package main

import (
	"bytes"
	"strings"
	"testing"
)

func samplePackage(bin []byte) *Package {
	return &Package{
		Name: "demo", Version: "1:2.0-r1", Arch: "mips_24kc", Depends: []string{"libc", "x"},
		Source: "feeds/t/demo", SourceName: "demo", License: "MIT", Section: "net",
		Description: "first line\nsecond line\n\nafter a blank", Epoch: 1700000000,
		Conffiles: []string{"/etc/z", "/etc/config/demo"},
		Scripts:   []File{{Path: "postinst", Data: []byte(postinst)}},
		Files: []File{
			{Path: "/usr/sbin/demo", Mode: 0o755, Data: bin},
			{Path: "/etc/config/demo", Mode: 0o600, Data: []byte("config demo 'main'\n")},
			{Path: "/etc/z", Mode: 0o644, Data: []byte("z\n")},
			{Path: "/etc/config-x", Mode: 0o644, Data: nil},
		},
	}
}

func TestWrite(t *testing.T) {
	p := samplePackage([]byte("\x7fELF binary"))
	if got := p.FileName(); got != "demo_2.0-r1_mips_24kc.ipk" {
		t.Errorf("FileName = %q (no epoch in file names)", got)
	}
	for _, c := range []Container{TarGz, Ar} {
		var buf bytes.Buffer
		if err := p.Write(&buf, c); err != nil {
			t.Fatal(err)
		}
		u := unpack(t, buf.Bytes())
		var names []string
		for _, m := range u.data {
			names = append(names, m.name)
		}
		want := "./ ./etc/ ./etc/config/ ./etc/config/demo ./etc/config-x ./etc/z ./usr/ ./usr/sbin/ ./usr/sbin/demo"
		if strings.Join(names, " ") != want {
			t.Errorf("%s: data members\n%s\nwant (folders first, then by name)\n%s", c, strings.Join(names, " "), want)
		}
		if got := string(u.control["./conffiles"].data); got != "/etc/config/demo\n/etc/z\n" {
			t.Errorf("%s: conffiles %q (want sorted)", c, got)
		}
		ctl := string(u.control["./control"].data)
		if !strings.Contains(ctl, "Depends: libc, x\n") || !strings.Contains(ctl, "Description: first line\n second line\n .\n after a blank\n") ||
			!strings.Contains(ctl, "SourceDateEpoch: 1700000000\n") {
			t.Errorf("%s: control\n%s", c, ctl)
		}
		var again bytes.Buffer
		p.Write(&again, c)
		if !bytes.Equal(buf.Bytes(), again.Bytes()) {
			t.Errorf("%s: two writes differ", c)
		}
	}
	for _, bad := range []string{"etc/x", "/etc/../x", "/", "/etc/x/"} {
		q := samplePackage(nil)
		q.Files = append(q.Files, File{Path: bad, Mode: 0o644})
		if err := q.Write(&bytes.Buffer{}, TarGz); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("path %q: error %v", bad, err)
		}
	}
	if err := p.Write(&bytes.Buffer{}, "zip"); err == nil || !strings.Contains(err.Error(), "zip") {
		t.Errorf("unknown container: %v", err)
	}
}

func TestReadAr(t *testing.T) {
	for _, bad := range []string{"", "!<arch>\nshort", "!<arch>\n" + strings.Repeat(" ", 58) + "x\n", "not ar"} {
		if _, err := readAr([]byte(bad)); err == nil {
			t.Errorf("readAr(%q): no error", bad)
		}
	}
}

func BenchmarkWrite(b *testing.B) {
	bin := bytes.Repeat([]byte("tamond binary-ish bytes 0123456789"), 1<<17) // 4.25 MB
	p := samplePackage(bin)
	b.ReportAllocs()
	b.SetBytes(int64(len(bin)))
	for b.Loop() {
		if err := p.Write(&bytes.Buffer{}, TarGz); err != nil {
			b.Fatal(err)
		}
	}
}
