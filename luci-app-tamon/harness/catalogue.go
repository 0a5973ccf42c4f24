package harness

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Msg is one translatable string found in the app's sources.
type Msg struct {
	ID   string
	Ctx  string
	Refs []string // "path:line", path relative to the app folder
}

// Key is the catalogue key of m (see POEntry.Key).
func (m *Msg) Key() string {
	e := POEntry{ID: m.ID, Ctx: m.Ctx}
	return e.Key()
}

var (
	// _('...') or _("..."), with an optional literal context argument.
	trCall = regexp.MustCompile(`(?:^|[^\w$.])_\(\s*('(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")\s*(?:,\s*('(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")\s*)?\)`)
	// any _( call, to find those whose argument is not a literal
	anyTrCall = regexp.MustCompile(`(?:^|[^\w$.])_\(`)
)

// ExtractJS returns the _() strings of one JavaScript source, and an error
// for a _() call whose argument is not a string literal (an extractor cannot
// see it, so it would never be translated).
func ExtractJS(name, src string) ([]Msg, error) {
	var out []Msg
	lineAt := func(off int) int { return 1 + strings.Count(src[:off], "\n") }
	found := map[int]bool{}
	for _, m := range trCall.FindAllStringSubmatchIndex(src, -1) {
		id, err := unquoteJS(src[m[2]:m[3]])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, lineAt(m[2]), err)
		}
		ctx := ""
		if m[4] >= 0 {
			if ctx, err = unquoteJS(src[m[4]:m[5]]); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, lineAt(m[4]), err)
			}
		}
		found[strings.Index(src[m[0]:], "_(")+m[0]] = true
		out = append(out, Msg{ID: id, Ctx: ctx, Refs: []string{fmt.Sprintf("%s:%d", name, lineAt(m[2]))}})
	}
	for _, m := range anyTrCall.FindAllStringIndex(src, -1) {
		at := strings.Index(src[m[0]:], "_(") + m[0]
		if !found[at] && !inComment(src, at) {
			return nil, fmt.Errorf("%s:%d: _() needs a string literal, so that the catalogue can list it", name, lineAt(at))
		}
	}
	return out, nil
}

// inComment reports whether offset at is inside a // or /* */ comment (a
// rough check that is enough for our sources).
func inComment(src string, at int) bool {
	lineStart := strings.LastIndexByte(src[:at], '\n') + 1
	if strings.Contains(src[lineStart:at], "//") {
		return true
	}
	open := strings.LastIndex(src[:at], "/*")
	return open >= 0 && !strings.Contains(src[open:at], "*/")
}

func unquoteJS(q string) (string, error) {
	body := q[1 : len(q)-1]
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(body) {
			return "", fmt.Errorf("string %s ends in a backslash", q)
		}
		switch body[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'u':
			if i+4 >= len(body) {
				return "", fmt.Errorf("string %s has a short \\u escape", q)
			}
			r, err := strconv.ParseUint(body[i+1:i+5], 16, 32)
			if err != nil {
				return "", fmt.Errorf("string %s has a bad \\u escape", q)
			}
			b.WriteRune(rune(r))
			i += 4
		default:
			b.WriteByte(body[i])
		}
	}
	return b.String(), nil
}

// ExtractApp collects every translatable string of the app at dir: _()
// calls in htdocs/**/*.js and the titles of the menu.d files, merged by key
// with their references, in order of first appearance (files by path).
func ExtractApp(dir string) ([]Msg, error) {
	var files []string
	err := filepath.WalkDir(filepath.Join(dir, "htdocs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".js") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var all []Msg
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		rel, _ := filepath.Rel(dir, f)
		ms, err := ExtractJS(filepath.ToSlash(rel), string(b))
		if err != nil {
			return nil, err
		}
		all = append(all, ms...)
	}
	menus, _ := filepath.Glob(filepath.Join(dir, "root/usr/share/luci/menu.d/*.json"))
	sort.Strings(menus)
	for _, f := range menus {
		m, err := LoadMenu(f)
		if err != nil {
			return nil, err
		}
		rel, _ := filepath.Rel(dir, f)
		paths := make([]string, 0, len(m))
		for p := range m {
			paths = append(paths, p)
		}
		sort.Slice(paths, func(i, j int) bool {
			if m[paths[i]].Order != m[paths[j]].Order {
				return m[paths[i]].Order < m[paths[j]].Order
			}
			return paths[i] < paths[j]
		})
		for _, p := range paths {
			if t := m[p].Title; t != "" {
				all = append(all, Msg{ID: t, Refs: []string{filepath.ToSlash(rel) + ":" + p}})
			}
		}
	}
	var out []Msg
	idx := map[string]int{}
	for _, m := range all {
		k := m.Key()
		if i, ok := idx[k]; ok {
			out[i].Refs = append(out[i].Refs, m.Refs...)
			continue
		}
		idx[k] = len(out)
		out = append(out, m)
	}
	return out, nil
}

func poQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

// WritePOT writes msgs as a gettext template for the domain "tamon".
func WritePOT(w io.Writer, msgs []Msg) error {
	var b strings.Builder
	b.WriteString("msgid \"\"\nmsgstr \"Content-Type: text/plain; charset=UTF-8\\n\"\n")
	for _, m := range msgs {
		b.WriteString("\n#: " + strings.Join(m.Refs, " ") + "\n")
		if m.Ctx != "" {
			b.WriteString("msgctxt " + poQuote(m.Ctx) + "\n")
		}
		b.WriteString("msgid " + poQuote(m.ID) + "\nmsgstr \"\"\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
