package harness

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite po/templates/tamon.pot from the sources")

// TestCatalogue extracts every _() string of the JS and every menu title and
// compares them with po/templates/tamon.pot and po/zh_Hans/tamon.po: the
// template lists exactly these strings, and the translation has a non-empty,
// non-fuzzy msgstr for each, and nothing else.
func TestCatalogue(t *testing.T) {
	dir := appDir(t)
	msgs, err := ExtractApp(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) < 50 {
		t.Fatalf("only %d strings extracted; the extractor is broken", len(msgs))
	}
	var pot bytes.Buffer
	if err := WritePOT(&pot, msgs); err != nil {
		t.Fatal(err)
	}
	potPath := filepath.Join(dir, "po/templates/tamon.pot")
	if *update {
		if err := os.WriteFile(potPath, pot.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]bool{}
	for _, m := range msgs {
		want[m.Key()] = true
	}
	for _, tc := range []struct {
		file      string
		translate bool
	}{{"po/templates/tamon.pot", false}, {"po/zh_Hans/tamon.po", true}} {
		t.Run(tc.file, func(t *testing.T) {
			entries, err := ParsePOFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			header := false
			for _, e := range entries {
				if e.ID == "" {
					header = true
					if tc.translate && (len(e.Str) == 0 || !strings.Contains(e.Str[0], "Language: zh_Hans") || !strings.Contains(e.Str[0], "Plural-Forms: nplurals=1; plural=0;")) {
						t.Errorf("%s: header lacks Language: zh_Hans or Plural-Forms", tc.file)
					}
					continue
				}
				k := e.Key()
				if have[k] {
					t.Errorf("%s:%d: %q is listed twice", tc.file, e.Line, e.ID)
				}
				have[k] = true
				if !want[k] {
					t.Errorf("%s:%d: %q is not used by the app any more", tc.file, e.Line, e.ID)
				}
				if tc.translate {
					if e.Fuzzy {
						t.Errorf("%s:%d: %q is fuzzy", tc.file, e.Line, e.ID)
					}
					if len(e.Str) == 0 || strings.TrimSpace(e.Str[0]) == "" {
						t.Errorf("%s:%d: %q has an empty msgstr", tc.file, e.Line, e.ID)
					}
					if n, m := strings.Count(e.ID, "%"), strings.Count(e.Str[0], "%"); n != m {
						t.Errorf("%s:%d: %q has %d format directives, its translation %q has %d", tc.file, e.Line, e.ID, n, e.Str[0], m)
					}
				}
			}
			if !header {
				t.Errorf("%s has no header entry", tc.file)
			}
			for _, m := range msgs {
				if !have[m.Key()] {
					t.Errorf("%s lacks %q (%s)", tc.file, m.ID, strings.Join(m.Refs, " "))
				}
			}
		})
	}
	cur, err := os.ReadFile(potPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cur, pot.Bytes()) {
		t.Errorf("po/templates/tamon.pot is not what the sources give; run go test ./luci-app-tamon/harness -run TestCatalogue -update")
	}
}

func TestExtractJS(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
		err       bool
	}{
		{"plain", `x = _('Hello');`, []string{"Hello"}, false},
		{"double", `E('p', {}, [_("Say \"hi\"")])`, []string{`Say "hi"`}, false},
		{"escaped", `_('it\'s %d').format(1)`, []string{"it's %d"}, false},
		{"context", `_('Open', 'verb')`, []string{"verb\x01Open"}, false},
		{"two", `[_('a'), _('b')]`, []string{"a", "b"}, false},
		{"not N_", `N_(2, 'one', 'many')`, nil, false},
		{"member", `obj._('x')`, nil, false},
		{"variable", `_(name)`, nil, true},
		{"comment", "// _(name)\n_('ok')", []string{"ok"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := ExtractJS("t.js", tc.src)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.Key())
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
