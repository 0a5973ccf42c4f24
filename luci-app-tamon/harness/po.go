package harness

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"tamon/luci-app-tamon/lmo"
)

// POEntry is one message of a gettext catalogue.
type POEntry struct {
	Ctx    string   // msgctxt, "" if none
	ID     string   // msgid ("" for the header)
	Plural string   // msgid_plural, "" if none
	Str    []string // msgstr, or msgstr[0..n]
	Fuzzy  bool
	Refs   []string // "#:" source references
	Line   int      // line of the msgid
}

// Key returns the lookup key LuCI hashes: msgid, or ctx "\x01" msgid, with
// runs of white space collapsed to one space and the ends trimmed.
func (e *POEntry) Key() string {
	k := e.ID
	if e.Ctx != "" {
		k = e.Ctx + "\x01" + e.ID
	}
	return NormalizeKey(k)
}

// NormalizeKey collapses white space as LuCI does before hashing a msgid.
func NormalizeKey(s string) string { return strings.Join(strings.Fields(s), " ") }

// ParsePOFile reads a .po or .pot file.
func ParsePOFile(path string) ([]POEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParsePO(path, f)
}

// ParsePO reads a gettext catalogue: msgctxt, msgid, msgid_plural, msgstr and
// msgstr[N] with continuation strings, "#," flags (fuzzy) and "#:"
// references. Obsolete "#~" entries are skipped. Errors name the file, line
// and problem.
func ParsePO(name string, r io.Reader) ([]POEntry, error) {
	var (
		out   []POEntry
		cur   POEntry
		field *string // string being continued
		have  bool    // cur has a msgid
		flags []string
		refs  []string
	)
	flush := func() {
		if have {
			cur.Refs = refs
			for _, f := range flags {
				if f == "fuzzy" {
					cur.Fuzzy = true
				}
			}
			out = append(out, cur)
		}
		cur, field, have, flags, refs = POEntry{}, nil, false, nil, nil
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		bad := func(format string, a ...any) error {
			return fmt.Errorf("%s:%d: %s", name, line, fmt.Sprintf(format, a...))
		}
		switch {
		case s == "":
			field = nil
			continue
		case strings.HasPrefix(s, "#~"):
			continue
		case strings.HasPrefix(s, "#,"):
			if have {
				flush()
			}
			for _, f := range strings.Split(s[2:], ",") {
				flags = append(flags, strings.TrimSpace(f))
			}
			continue
		case strings.HasPrefix(s, "#:"):
			if have {
				flush()
			}
			refs = append(refs, strings.Fields(s[2:])...)
			continue
		case strings.HasPrefix(s, "#"):
			continue
		case strings.HasPrefix(s, `"`):
			if field == nil {
				return nil, bad("string without a keyword before it")
			}
			v, err := unquotePO(s)
			if err != nil {
				return nil, bad("%v", err)
			}
			*field += v
			continue
		}
		kw, rest, _ := strings.Cut(s, " ")
		v, err := unquotePO(strings.TrimSpace(rest))
		if err != nil {
			return nil, bad("%s: %v", kw, err)
		}
		switch {
		case kw == "msgctxt":
			if have {
				flush()
			}
			cur.Ctx = v
			field = &cur.Ctx
		case kw == "msgid":
			if have {
				flush()
			}
			have = true
			cur.ID, cur.Line = v, line
			field = &cur.ID
		case kw == "msgid_plural":
			if !have {
				return nil, bad("msgid_plural without msgid")
			}
			cur.Plural = v
			field = &cur.Plural
		case kw == "msgstr":
			if !have {
				return nil, bad("msgstr without msgid")
			}
			cur.Str = append(cur.Str, v)
			field = &cur.Str[len(cur.Str)-1]
		case strings.HasPrefix(kw, "msgstr[") && strings.HasSuffix(kw, "]"):
			if !have {
				return nil, bad("%s without msgid", kw)
			}
			var n int
			if _, err := fmt.Sscanf(kw, "msgstr[%d]", &n); err != nil || n != len(cur.Str) {
				return nil, bad("%s out of order", kw)
			}
			cur.Str = append(cur.Str, v)
			field = &cur.Str[len(cur.Str)-1]
		default:
			return nil, bad("unknown keyword %q", kw)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: read: %w", name, err)
	}
	flush()
	return out, nil
}

// unquotePO decodes one C-style quoted PO string.
func unquotePO(s string) (string, error) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", fmt.Errorf("%q is not a quoted string", s)
	}
	s = s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' {
			return "", fmt.Errorf("unescaped quote in %q", s)
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			return "", fmt.Errorf("backslash at end of %q", s)
		}
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '"', '\\':
			b.WriteByte(s[i])
		default:
			return "", fmt.Errorf("unknown escape \\%c in %q", s[i], s)
		}
	}
	return b.String(), nil
}

// Catalogue builds the window.TR object LuCI's translation endpoint serves:
// the SuperFastHash of each entry's Key, as 8 lower-case hex digits, mapped
// to the first msgstr. Fuzzy, untranslated and header entries are left out.
func Catalogue(entries []POEntry) map[string]string {
	tr := map[string]string{}
	for i := range entries {
		e := &entries[i]
		if e.ID == "" || e.Fuzzy || len(e.Str) == 0 || e.Str[0] == "" {
			continue
		}
		tr[fmt.Sprintf("%08x", SFH([]byte(e.Key())))] = e.Str[0]
	}
	return tr
}

// SFH is Paul Hsieh's SuperFastHash as LuCI uses it for translation keys
// (lmo.Hash: seeded with the length, 16-bit reads little-endian, trailing
// bytes sign-extended as C signed chars).
func SFH(b []byte) uint32 { return lmo.Hash(b) }
