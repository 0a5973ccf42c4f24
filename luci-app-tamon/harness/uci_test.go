package harness

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseUCI(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want *Package // Name is ignored
		err  string
	}{
		{"named and options", "config tamon 'main'\n\toption tcp_timeout '300'\n\tlist interface 'br-lan'\n\tlist interface eth1\n",
			&Package{Sections: []*Section{{Name: "main", Type: "tamon", Options: []Option{
				{Name: "tcp_timeout", Values: []string{"300"}}, {Name: "interface", Values: []string{"br-lan", "eth1"}, List: true}}}}}, ""},
		{"comments and abbreviations", "# top\nc storage 'storage' # trailing\n o driver sqlite\n\n",
			&Package{Sections: []*Section{{Name: "storage", Type: "storage", Options: []Option{{Name: "driver", Values: []string{"sqlite"}}}}}}, ""},
		{"semicolons", "config a 'x'; option k v; list l 1; list l 2\n",
			&Package{Sections: []*Section{{Name: "x", Type: "a", Options: []Option{{Name: "k", Values: []string{"v"}}, {Name: "l", Values: []string{"1", "2"}, List: true}}}}}, ""},
		{"quoting", "config a 'x'\n\toption q 'it'\\''s'\n\toption d \"say \\\"hi\\\"\"\n\toption m 'two\nlines'\n",
			&Package{Sections: []*Section{{Name: "x", Type: "a", Options: []Option{
				{Name: "q", Values: []string{"it's"}}, {Name: "d", Values: []string{`say "hi"`}}, {Name: "m", Values: []string{"two\nlines"}}}}}}, ""},
		{"anonymous names", "config alias\n\toption mac 'aa:bb:cc:dd:ee:ff'\nconfig alias\n",
			&Package{Sections: []*Section{
				{Name: anonSectionName(1, "alias"), Type: "alias", Anonymous: true, Options: []Option{{Name: "mac", Values: []string{"aa:bb:cc:dd:ee:ff"}}}},
				{Name: anonSectionName(2, "alias"), Type: "alias", Anonymous: true}}}, ""},
		{"merge named", "config a 'x'\n\toption k 1\nconfig a 'x'\n\toption k 2\n\toption j 3\n",
			&Package{Sections: []*Section{{Name: "x", Type: "a", Options: []Option{{Name: "k", Values: []string{"2"}}, {Name: "j", Values: []string{"3"}}}}}}, ""},
		{"empty value ignored", "config a 'x'\n\toption k 1\n\toption k ''\n",
			&Package{Sections: []*Section{{Name: "x", Type: "a", Options: []Option{{Name: "k", Values: []string{"1"}}}}}}, ""},
		{"option then list", "config a 'x'\n\toption k 1\n\tlist k 2\n",
			&Package{Sections: []*Section{{Name: "x", Type: "a", Options: []Option{{Name: "k", Values: []string{"1", "2"}, List: true}}}}}, ""},
		{"continuation", "config a 'x'\n\toption k \\\n one\n",
			&Package{Sections: []*Section{{Name: "x", Type: "a", Options: []Option{{Name: "k", Values: []string{"one"}}}}}}, ""},
		{"option outside", "option k v\n", nil, "outside of a section"},
		{"bad type change", "config a 'x'\nconfig b 'x'\n", nil, "redefined"},
		{"bad name", "config a 'x-y'\n", nil, "not [A-Za-z0-9_]+"},
		{"unterminated", "config a 'x\n", nil, "unterminated"},
		{"unknown command", "config a 'x'\n\tvalue k v\n", nil, "unknown command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseUCI("test", strings.NewReader(tc.src))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.Name = ""
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", dump(got), dump(tc.want))
			}
		})
	}
}

func dump(p *Package) string {
	var b strings.Builder
	WritePackage(&b, p)
	return b.String()
}

// TestShippedConfigRoundTrip reads the package's default configuration,
// writes it and reads it back: same tree.
func TestShippedConfigRoundTrip(t *testing.T) {
	p, err := ParseUCIFile(filepath.Join(repoDir(t), "openwrt", "files", "tamon.config"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Section("main") == nil || p.Section("storage") == nil || p.Section("api") == nil {
		t.Fatalf("sections main, storage, api missing: %s", dump(p))
	}
	var b strings.Builder
	if err := WritePackage(&b, p); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "#") {
		t.Errorf("comments survived the write:\n%s", b.String())
	}
	back, err := ParseUCI("tamon", strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("written file does not parse: %v\n%s", err, b.String())
	}
	back.Name = p.Name
	if !reflect.DeepEqual(back, p) {
		t.Errorf("round trip changed the tree:\n%s\nvs\n%s", dump(back), dump(p))
	}
}

func TestWritePackage(t *testing.T) {
	p := &Package{Name: "t", Sections: []*Section{
		{Name: "main", Type: "tamon", Options: []Option{{Name: "q", Values: []string{"it's"}}, {Name: "l", Values: []string{"a b", ""}, List: true}}},
		{Name: "cfg01abcd", Type: "alias", Anonymous: true, Options: []Option{{Name: "name", Values: []string{"儿子的平板"}}}},
	}}
	var b strings.Builder
	if err := WritePackage(&b, p); err != nil {
		t.Fatal(err)
	}
	want := "\nconfig tamon 'main'\n\toption q 'it'\\''s'\n\tlist l 'a b'\n\tlist l ''\n\nconfig alias\n\toption name '儿子的平板'\n\n"
	if b.String() != want {
		t.Errorf("got %q\nwant %q", b.String(), want)
	}
	for _, bad := range []*Package{
		{Sections: []*Section{{Name: "a-b", Type: "x"}}},
		{Sections: []*Section{{Name: "a", Type: "x y"}}},
		{Sections: []*Section{{Name: "a", Type: "x", Options: []Option{{Name: "o.p", Values: []string{"v"}}}}}},
		{Sections: []*Section{{Name: "a", Type: "x", Options: []Option{{Name: "o", Values: []string{"v\x00"}}}}}},
	} {
		if err := WritePackage(&strings.Builder{}, bad); err == nil {
			t.Errorf("WritePackage(%+v) accepted bad input", bad.Sections[0])
		}
	}
}

// TestUCIStaging checks the per-session staging: a session sees its own
// changes, others do not, and commit writes them.
func TestUCIStaging(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tamon"), []byte("config tamon 'main'\n\toption tcp_timeout '300'\n\tlist interface 'br-lan'\n"), 0o644)
	u := NewUCI(dir)
	if err := u.Set("s1", "tamon", "main", []Option{{Name: "tcp_timeout", Values: []string{"120"}}}); err != nil {
		t.Fatal(err)
	}
	name, err := u.Add("s1", "tamon", "alias", "", []Option{{Name: "mac", Values: []string{"02:00:5e:00:53:01"}}})
	if err != nil || !strings.HasPrefix(name, "cfg") {
		t.Fatalf("Add = %q, %v", name, err)
	}
	if err := u.Set("s1", "tamon", name, []Option{{Name: "name", Values: []string{"Printer"}}}); err != nil {
		t.Fatal(err)
	}
	if err := u.Delete("s1", "tamon", "main", []string{"interface"}); err != nil {
		t.Fatal(err)
	}
	if err := u.Set("s1", "tamon", "nosuch", nil); !errors.Is(err, ErrNoSection) {
		t.Errorf("Set on a missing section: %v", err)
	}
	if _, err := u.View("s1", "nosuch"); !errors.Is(err, ErrNoConfig) {
		t.Errorf("View of a missing config: %v", err)
	}
	v1, _ := u.View("s1", "tamon")
	v2, _ := u.View("s2", "tamon")
	if o, _ := v1.Section("main").Get("tcp_timeout"); o.Values[0] != "120" {
		t.Errorf("s1 sees tcp_timeout %v", o.Values)
	}
	if o, _ := v2.Section("main").Get("tcp_timeout"); o.Values[0] != "300" {
		t.Errorf("s2 sees s1's change: %v", o.Values)
	}
	if got := u.Changes("s1"); got["tamon"] != 4 {
		t.Errorf("changes = %v", got)
	}
	done, err := u.CommitAll("s1")
	if err != nil || len(done) != 1 {
		t.Fatalf("commit: %v %v", done, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "tamon"))
	want := "\nconfig tamon 'main'\n\toption tcp_timeout '120'\n\nconfig alias\n\toption mac '02:00:5e:00:53:01'\n\toption name 'Printer'\n\n"
	if string(b) != want {
		t.Errorf("file after commit:\n%q\nwant\n%q", b, want)
	}
	if len(u.Changes("s1")) != 0 {
		t.Error("changes left after commit")
	}
	al, err := u.Aliases()
	if err != nil || al["02:00:5e:00:53:01"] != "Printer" {
		t.Errorf("Aliases = %v, %v", al, err)
	}
	if err := u.SetAlias("02:00:5E:00:53:01", ""); err != nil {
		t.Fatal(err)
	}
	if al, _ := u.Aliases(); len(al) != 0 {
		t.Errorf("alias not removed: %v", al)
	}
	if err := u.SetAlias("02:00:5e:00:53:02", "It's"); err != nil {
		t.Fatal(err)
	}
	if al, _ := u.Aliases(); al["02:00:5e:00:53:02"] != "It's" {
		t.Errorf("alias not written: %v", al)
	}
}

func FuzzParseUCI(f *testing.F) {
	f.Add("config tamon 'main'\n\toption tcp_timeout '300'\n\tlist interface 'br-lan'\n")
	f.Add("c a 'x'; o k \"v\\\"w\"; l l 'it'\\''s'\n# c\nconfig alias\n")
	f.Add("config a\n\toption m 'multi\nline'\\\n")
	if b, err := os.ReadFile("../../openwrt/files/tamon.config"); err == nil {
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := ParseUCI("fuzz", strings.NewReader(src))
		if err != nil {
			return
		}
		// Whatever parses must write, and read back to the same tree
		// (anonymous names are recomputed, so compare by content).
		var b strings.Builder
		if err := WritePackage(&b, p); err != nil {
			return // e.g. a type with a quote: readable, but not writable
		}
		back, err := ParseUCI("fuzz", strings.NewReader(b.String()))
		if err != nil {
			t.Fatalf("written text does not parse: %v\n%q", err, b.String())
		}
		if dump(back) != b.String() {
			t.Fatalf("round trip differs:\n%q\n%q", dump(back), b.String())
		}
	})
}

func BenchmarkParseUCI(b *testing.B) {
	src, err := os.ReadFile("../../openwrt/files/tamon.config")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := ParseUCI("tamon", strings.NewReader(string(src))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWritePackage(b *testing.B) {
	p, err := ParseUCIFile("../../openwrt/files/tamon.config")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var sb strings.Builder
	for b.Loop() {
		sb.Reset()
		if err := WritePackage(&sb, p); err != nil {
			b.Fatal(err)
		}
	}
}
