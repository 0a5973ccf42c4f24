package uci

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var fixtures = []string{"network", "firewall", "dhcp", "system", "tamon"}

// export writes f the way uci export does: every value in single quotes, a
// quote inside it written as quote, backslash, quote, quote. Types and names
// are quoted the same way.
func export(f *File) string {
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	var b strings.Builder
	for _, s := range f.Sections {
		b.WriteString("\nconfig " + q(s.Type))
		if !s.Anonymous {
			b.WriteString(" " + q(s.Name))
		}
		b.WriteString("\n")
		for _, o := range s.Options {
			kw := "option"
			if o.IsList {
				kw = "list"
			}
			for _, v := range o.Values {
				b.WriteString("\t" + kw + " " + o.Name + " " + q(v) + "\n")
			}
		}
	}
	b.WriteString("\n")
	return b.String()
}

// withoutLines returns a copy of f's tree with all line numbers zeroed.
func withoutLines(f *File) *File {
	g := *f
	g.Sections = nil
	for _, s := range f.Sections {
		t := *s
		t.Line = 0
		t.Options = nil
		for _, o := range s.Options {
			p := *o
			p.Line = 0
			t.Options = append(t.Options, &p)
		}
		g.Sections = append(g.Sections, &t)
	}
	return &g
}

// checkInvariants verifies what every successful parse must satisfy.
func checkInvariants(t *testing.T, f *File) {
	t.Helper()
	for i, s := range f.Sections {
		if s.Index != i || !validType(s.Type) || s.Anonymous != (s.Name == "") || (!s.Anonymous && !validName(s.Name)) {
			t.Fatalf("bad section %d: %+v", i, s)
		}
		seen := map[string]bool{}
		for _, o := range s.Options {
			if seen[o.Name] || !validName(o.Name) {
				t.Fatalf("section %d: bad or repeated option %q", i, o.Name)
			}
			seen[o.Name] = true
			if !o.IsList && (len(o.Values) != 1 || o.Values[0] == "") {
				t.Fatalf("section %d: option %q has values %q", i, o.Name, o.Values)
			}
			if o.IsList && len(o.Values) == 0 {
				t.Fatalf("section %d: empty list %q", i, o.Name)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range fixtures {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"config t 's'\n\toption a 'x'\"y\"z\\\n'w' # c\n\tlist l ''\n\tlist l 'it'\\''s'\n",
		"config t\n option a 'multi\nline' ; list b \"q\\\"\" ; o c d\nconfig t 'cfg027389'\n",
		"config t\r\n\toption a b\r\n\toption a ''\r\n\tlist a c\r\n\toption a d;option x y\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Parse("fuzz", bytes.NewReader(data))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Path != "fuzz" || pe.Line < 1 || pe.Col < 1 || pe.Msg == "" {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		checkInvariants(t, got)
		out := export(got)
		again, err := Parse("fuzz", strings.NewReader(out))
		if err != nil {
			t.Fatalf("re-parse of export failed: %v\nexport:\n%s", err, out)
		}
		if !reflect.DeepEqual(withoutLines(got), withoutLines(again)) {
			t.Fatalf("round trip differs\nfirst:\n%s\nagain:\n%s", dump(got), dump(again))
		}
	})
}

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("testdata/firewall")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("firewall", bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
