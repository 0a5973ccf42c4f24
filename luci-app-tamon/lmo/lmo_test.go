package lmo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// reader looks strings up in an .lmo file the way LuCI does: the index
// offset from the last 4 bytes, then a binary search on the key hash.
type reader struct {
	data  []byte
	index []byte
}

func open(t *testing.T, b []byte) *reader {
	t.Helper()
	if len(b) < 4 || len(b)%4 != 0 {
		t.Fatalf("lmo of %d bytes: not a whole number of 32-bit words", len(b))
	}
	off := binary.BigEndian.Uint32(b[len(b)-4:])
	if int(off) > len(b)-4 || (len(b)-4-int(off))%16 != 0 {
		t.Fatalf("index offset %d does not fit a file of %d bytes", off, len(b))
	}
	return &reader{data: b[:off], index: b[off : len(b)-4]}
}

func (r *reader) entry(i int) (key, val, off, n uint32) {
	e := r.index[16*i:]
	return binary.BigEndian.Uint32(e), binary.BigEndian.Uint32(e[4:]), binary.BigEndian.Uint32(e[8:]), binary.BigEndian.Uint32(e[12:])
}

func (r *reader) lookup(t *testing.T, hash uint32) (string, uint32, bool) {
	t.Helper()
	lo, hi := 0, len(r.index)/16-1
	for lo <= hi {
		m := (lo + hi) / 2
		k, v, off, n := r.entry(m)
		switch {
		case k == hash:
			if int(off+n) > len(r.data) || off%4 != 0 {
				t.Fatalf("entry %08x: string at %d+%d outside the %d bytes of strings", k, off, n, len(r.data))
			}
			return string(r.data[off : off+n]), v, true
		case k < hash:
			lo = m + 1
		default:
			hi = m - 1
		}
	}
	return "", 0, false
}

func TestHash(t *testing.T) {
	// The page's _() hashes with the same function: the harness checks
	// Hash against it in a browser (harness.TestTranslationHash). Here:
	// the empty string is 0 (the key of the Plural-Forms entry), and
	// nothing else of the strings below collides.
	if h := Hash(nil); h != 0 {
		t.Errorf("Hash of nothing = %08x, want 0", h)
	}
	// Tail bytes are signed chars: a high byte in the tail differs from
	// the same byte read unsigned.
	a, b := Hash([]byte{'a', 0x80}), Hash([]byte{'a', 0x7f})
	if a == b {
		t.Error("0x80 and 0x7f tails hash alike")
	}
	seen := map[uint32]string{}
	for _, s := range []string{"a", "ab", "abc", "abcd", "abcde", "Save", "Save & Apply", "设备", "儿子的平板"} {
		h := Hash([]byte(s))
		if o, dup := seen[h]; dup {
			t.Errorf("%q and %q hash alike", s, o)
		}
		seen[h] = s
	}
}

func TestKey(t *testing.T) {
	for _, c := range []struct {
		ctx, id string
		form    int
		want    string
	}{
		{"", "Save", -1, "Save"},
		{"", "  Save \n  & Apply ", -1, "Save & Apply"},
		{"menu", "Live", -1, "menu\x01Live"},
		{"", "%d record", 1, "%d record\x021"},
		{" a  b ", "x", 0, "a b\x01x\x020"},
	} {
		if got := Key(c.ctx, c.id, c.form); got != c.want {
			t.Errorf("Key(%q, %q, %d) = %q, want %q", c.ctx, c.id, c.form, got, c.want)
		}
	}
}

// TestWriteRoundTrip writes a catalogue and finds every translated message
// in it again, with LuCI's lookup; what is left out is not there.
func TestWriteRoundTrip(t *testing.T) {
	msgs := []Message{
		{ID: "Save", Str: []string{"保存"}},
		{ID: "Devices", Str: []string{"设备"}},
		{ID: "Live", Ctx: "menu", Str: []string{"实时"}},
		{ID: "Live", Str: []string{"实况"}},
		{ID: "Search: * wildcard, ; or , for alternatives", Str: []string{"搜索：* 为通配符，用 ; 或 , 分隔多个条件"}},
		{ID: "%d record", Plural: "%d records", Str: []string{"%d 条记录", "%d 条记录 (复数)"}},
		{ID: "abc", Str: []string{"abcd"}},      // 4 bytes: no padding
		{ID: "Untranslated", Str: []string{""}}, // left out
		{ID: "DNS", Str: []string{"DNS"}},       // same text: left out
		{ID: "", Str: []string{"Content-Type: text/plain; charset=UTF-8\n"}},
	}
	var buf bytes.Buffer
	if err := Write(&buf, msgs, "nplurals=1; plural=0;"); err != nil {
		t.Fatal(err)
	}
	r := open(t, buf.Bytes())
	n := len(r.index) / 16
	if n != 9 { // 7 messages with 8 strings, and the Plural-Forms entry
		t.Errorf("%d index entries, want 9", n)
	}
	for i := 1; i < n; i++ {
		if a, _, _, _ := r.entry(i - 1); func() bool { b, _, _, _ := r.entry(i); return a >= b }() {
			t.Fatalf("index not sorted by key hash at entry %d", i)
		}
	}
	for _, m := range msgs {
		if m.ID == "" {
			continue // the header: key hash 0 is the Plural-Forms entry, below
		}
		for form, want := range m.Str {
			f := -1
			if m.Plural != "" {
				f = form
			}
			got, val, ok := r.lookup(t, Hash([]byte(Key(m.Ctx, m.ID, f))))
			keep := want != "" && want != m.ID
			if ok != keep || ok && got != want {
				t.Errorf("lookup %q (ctx %q, form %d) = %q, %v; want %q, %v", m.ID, m.Ctx, f, got, ok, want, keep)
			}
			if ok && val != uint32(len(m.Str)) {
				t.Errorf("%q: value id %d, want %d forms", m.ID, val, len(m.Str))
			}
		}
	}
	// LuCI looks keys up with white space collapsed.
	if got, _, ok := r.lookup(t, Hash([]byte(Key("", "Search:  * wildcard,\n ; or , for alternatives", -1)))); !ok || !strings.HasPrefix(got, "搜索") {
		t.Errorf("lookup with other white space = %q, %v", got, ok)
	}
	if got, val, ok := r.lookup(t, 0); !ok || got != "nplurals=1; plural=0;" || val != 0 {
		t.Errorf("Plural-Forms entry = %q, %d, %v", got, val, ok)
	}
}

func TestWriteErrors(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, []Message{{ID: "x", Str: []string{""}}}, ""); !errors.Is(err, ErrEmpty) {
		t.Errorf("nothing translated: %v, want ErrEmpty", err)
	}
	if err := Write(&buf, []Message{{ID: "x", Str: []string{"a", "b"}}}, ""); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("msgstr[1] without msgid_plural: %v", err)
	}
	// The same message twice is the same key twice.
	err := Write(&buf, []Message{{ID: "Save", Str: []string{"保存"}}, {ID: "Save", Str: []string{"存"}}}, "")
	if err == nil || !strings.Contains(err.Error(), "same key hash") {
		t.Errorf("duplicate key: %v", err)
	}
}

func TestPluralForms(t *testing.T) {
	h := "Project-Id-Version: tamon\nContent-Type: text/plain; charset=UTF-8\nplural-forms: nplurals=2; plural=(n != 1);\n"
	if got := PluralForms(h); got != "nplurals=2; plural=(n != 1);" {
		t.Errorf("PluralForms = %q", got)
	}
	if got := PluralForms("Language: zh_Hans\n"); got != "" {
		t.Errorf("PluralForms without one = %q", got)
	}
}

// FuzzWrite: whatever the messages, a written catalogue reads back.
func FuzzWrite(f *testing.F) {
	f.Add("Save", "保存", "", "ctx")
	f.Add("a  b", "c", "%d x", "")
	f.Fuzz(func(t *testing.T, id, str, plural, ctx string) {
		if !utf8.ValidString(id) || !utf8.ValidString(str) {
			return
		}
		msgs := []Message{{ID: id, Ctx: ctx, Plural: plural, Str: []string{str}}}
		var buf bytes.Buffer
		err := Write(&buf, msgs, "")
		if errors.Is(err, ErrEmpty) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		r := open(t, buf.Bytes())
		f := -1
		if plural != "" {
			f = 0
		}
		got, _, ok := r.lookup(t, Hash([]byte(Key(ctx, id, f))))
		if !ok || got != str {
			t.Fatalf("%s: lookup = %q, %v", fmt.Sprintf("%q", id), got, ok)
		}
	})
}
