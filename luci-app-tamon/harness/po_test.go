package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParsePO(t *testing.T) {
	src := `# comment
msgid ""
msgstr ""
"Language: zh_Hans\n"
"Plural-Forms: nplurals=1; plural=0;\n"

#: a.js:1 b.js:2
msgid "Save"
msgstr "保存"

#, fuzzy
msgid "Old"
msgstr "旧"

msgctxt "verb"
msgid "Open"
msgstr "打开"

msgid "Long "
"text with \"quotes\"\n"
msgstr ""
"长文本"

msgid "%d file"
msgid_plural "%d files"
msgstr[0] "%d 个文件"

#~ msgid "Obsolete"
#~ msgstr "过时"
`
	got, err := ParsePO("t.po", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		key, str string
		fuzzy    bool
		refs     int
	}{
		{"", "Language: zh_Hans\nPlural-Forms: nplurals=1; plural=0;\n", false, 0},
		{"Save", "保存", false, 2},
		{"Old", "旧", true, 0},
		{"verb\x01Open", "打开", false, 0},
		{`Long text with "quotes"`, "长文本", false, 0},
		{"%d file", "%d 个文件", false, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Key() != w.key || g.Str[0] != w.str || g.Fuzzy != w.fuzzy || len(g.Refs) != w.refs {
			t.Errorf("entry %d = {%q %q fuzzy %v refs %v}, want %+v", i, g.Key(), g.Str[0], g.Fuzzy, g.Refs, w)
		}
	}
	if got[5].Plural != "%d files" {
		t.Errorf("plural = %q", got[5].Plural)
	}
	tr := Catalogue(got)
	if len(tr) != 4 {
		t.Errorf("catalogue has %d entries, want 4 (no header, no fuzzy): %v", len(tr), tr)
	}
	if tr[fmt.Sprintf("%08x", SFH([]byte("Save")))] != "保存" {
		t.Errorf("catalogue lacks Save: %v", tr)
	}

	for _, bad := range []string{
		"msgstr \"x\"\n",
		"msgid \"a\"\nmsgstr \"b\n",
		"msgid \"a\\q\"\n",
		"\"floating\"\n",
		"msgid \"a\"\nmsgstr[1] \"b\"\n",
		"msgid \"a\"\nbogus \"b\"\n",
	} {
		if _, err := ParsePO("bad.po", strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "bad.po:") {
			t.Errorf("ParsePO(%q) = %v, want an error naming file and line", bad, err)
		}
	}
}

// TestSFH checks properties of the key hash that LuCI's catalogue relies
// on; TestTranslationHash compares it with the page's own.
func TestSFH(t *testing.T) {
	if SFH(nil) != 0 {
		t.Errorf("SFH(empty) = %08x, want 0 (seed 0, no rounds, mixing of 0)", SFH(nil))
	}
	seen := map[uint32]string{}
	for _, s := range []string{"a", "b", "ab", "ba", "abc", "abd", "Save", "Save & Apply", "保存", "设备", "\xff", "\x7f"} {
		h := SFH([]byte(s))
		if o, ok := seen[h]; ok {
			t.Errorf("SFH(%q) = SFH(%q) = %08x", s, o, h)
		}
		seen[h] = s
	}
	// Sign extension of tail bytes: a high tail byte must not hash like
	// its unsigned value would. "\xff" is one byte: hash += -1.
	h := uint32(1)  // the seed: the length
	h += 0xffffffff // plus the tail byte as signed char -1
	h ^= h << 10
	h += h >> 1
	h ^= h << 3
	h += h >> 5
	h ^= h << 4
	h += h >> 17
	h ^= h << 25
	h += h >> 6
	if SFH([]byte{0xff}) != h {
		t.Errorf("SFH(0xff) = %08x, want %08x (tail byte read as signed)", SFH([]byte{0xff}), h)
	}
}

func FuzzParsePO(f *testing.F) {
	f.Add("msgid \"a\"\nmsgstr \"b\"\n")
	f.Add("#, fuzzy\nmsgctxt \"c\"\nmsgid \"\"\n\"x\\n\"\nmsgstr[0] \"y\"\n")
	if b, err := os.ReadFile(filepath.Join("..", "po", "zh_Hans", "tamon.po")); err == nil {
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, src string) {
		entries, err := ParsePO("fuzz.po", strings.NewReader(src))
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.Line < 1 {
				t.Fatalf("entry %q without a line", e.ID)
			}
		}
		Catalogue(entries)
	})
}

func BenchmarkParsePO(b *testing.B) {
	src, err := os.ReadFile(filepath.Join("..", "po", "zh_Hans", "tamon.po"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := ParsePO("tamon.po", strings.NewReader(string(src))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSFH(b *testing.B) {
	key := []byte("Cannot reach the tamon daemon at %s.")
	b.ReportAllocs()
	b.SetBytes(int64(len(key)))
	for b.Loop() {
		SFH(key)
	}
}
