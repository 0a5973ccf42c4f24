package harness

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ParseUCI reads a UCI file with libuci's grammar: package/config/option/list
// (or their first letters), ';' between commands, '#' comments outside
// quotes, '...' literal, "..." with backslash keeping the next character,
// adjacent pieces joined, backslash-newline continuing a line, quoted
// strings across lines. A repeated named section merges into the first; an
// empty option value is not stored; anonymous sections are named cfgNNHHHH
// as libuci names them.
//
// The daemon reads with tamon/daemon/internal/uci, which Go's internal rule
// keeps out of this package; tests check that the files written here pass
// "tamond -check".
func ParseUCI(name string, r io.Reader) (*Package, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("uci %s: read: %w", name, err)
	}
	p := &Package{Name: filepath.Base(name)}
	lx := &uciLexer{src: string(b), line: 1}
	var cur *Section
	for {
		words, line, err := lx.command()
		if err != nil {
			return nil, fmt.Errorf("uci %s:%d: %w", name, lx.line, err)
		}
		if words == nil {
			break
		}
		if len(words) == 0 {
			continue
		}
		bad := func(format string, a ...any) error {
			return fmt.Errorf("uci %s:%d: %s", name, line, fmt.Sprintf(format, a...))
		}
		switch kw := words[0]; {
		case kw == "package" || kw == "p":
			if len(words) != 2 || !validPackage(words[1]) {
				return nil, bad("package needs one valid name")
			}
		case kw == "config" || kw == "c":
			if len(words) < 2 || len(words) > 3 {
				return nil, bad("config needs a type and at most a name")
			}
			if !validType(words[1]) {
				return nil, bad("section type %q is not valid", words[1])
			}
			if len(words) == 3 && words[2] != "" {
				if !validName(words[2]) {
					return nil, bad("section name %q is not [A-Za-z0-9_]+", words[2])
				}
				if s := p.Section(words[2]); s != nil {
					if s.Type != words[1] {
						return nil, bad("section %s redefined with type %s, was %s", words[2], words[1], s.Type)
					}
					cur = s
					continue
				}
				cur = &Section{Name: words[2], Type: words[1]}
			} else {
				cur = &Section{Type: words[1], Anonymous: true}
				cur.Name = anonSectionName(len(p.Sections)+1, words[1])
			}
			p.Sections = append(p.Sections, cur)
		case kw == "option" || kw == "o" || kw == "list" || kw == "l":
			if cur == nil {
				return nil, bad("option outside of a section")
			}
			if len(words) < 2 || len(words) > 3 || !validName(words[1]) {
				return nil, bad("%s needs a valid name and one value", kw)
			}
			val := ""
			if len(words) == 3 {
				val = words[2]
			}
			if !validValue(val) {
				return nil, bad("value of %s has a control character", words[1])
			}
			if kw[0] == 'o' {
				if val == "" {
					continue
				}
				cur.Set(Option{Name: words[1], Values: []string{val}})
				continue
			}
			o, ok := cur.Get(words[1])
			switch {
			case !ok:
				cur.Options = append(cur.Options, Option{Name: words[1], Values: []string{val}, List: true})
			default:
				o.Values = append(o.Values, val)
				o.List = true
				cur.Set(o)
			}
		default:
			return nil, bad("unknown command %q", kw)
		}
	}
	return p, nil
}

// ParseUCIFile reads the UCI file at path.
func ParseUCIFile(path string) (*Package, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseUCI(path, f)
}

// anonSectionName is libuci's name for the n-th section (1-based) when it is
// anonymous: "cfg", n as two hex digits, and a DJB hash of the type.
func anonSectionName(n int, typ string) string {
	h := uint32(5381)
	for i := 0; i < len(typ); i++ {
		h = h*33 + uint32(typ[i])
	}
	h &= 0x7fffffff
	return fmt.Sprintf("cfg%02x%04x", n, h%(1<<16))
}

type uciLexer struct {
	src  string
	pos  int
	line int
}

// command returns the words of the next command (nil at the end of input,
// empty for a blank line) and the line it starts on.
func (lx *uciLexer) command() ([]string, int, error) {
	if lx.pos >= len(lx.src) {
		return nil, lx.line, nil
	}
	start := lx.line
	words := []string{}
	for {
		// skip blanks and line continuations
		for lx.pos < len(lx.src) {
			c := lx.src[lx.pos]
			if c == ' ' || c == '\t' || c == '\r' {
				lx.pos++
			} else if c == '\\' && lx.pos+1 < len(lx.src) && lx.src[lx.pos+1] == '\n' {
				lx.pos += 2
				lx.line++
			} else {
				break
			}
		}
		if lx.pos >= len(lx.src) {
			return words, start, nil
		}
		switch c := lx.src[lx.pos]; c {
		case '\n':
			lx.pos++
			lx.line++
			return words, start, nil
		case ';':
			lx.pos++
			return words, start, nil
		case '#':
			for lx.pos < len(lx.src) && lx.src[lx.pos] != '\n' {
				lx.pos++
			}
			continue
		}
		w, err := lx.word()
		if err != nil {
			return nil, start, err
		}
		words = append(words, w)
	}
}

func (lx *uciLexer) word() (string, error) {
	var b strings.Builder
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';':
			return b.String(), nil
		case c == '#' && b.Len() == 0:
			return b.String(), nil
		case c == '\'':
			end := strings.IndexByte(lx.src[lx.pos+1:], '\'')
			if end < 0 {
				return "", fmt.Errorf("unterminated '")
			}
			seg := lx.src[lx.pos+1 : lx.pos+1+end]
			lx.line += strings.Count(seg, "\n")
			b.WriteString(seg)
			lx.pos += end + 2
		case c == '"':
			lx.pos++
			for {
				if lx.pos >= len(lx.src) {
					return "", fmt.Errorf("unterminated \"")
				}
				d := lx.src[lx.pos]
				if d == '"' {
					lx.pos++
					break
				}
				if d == '\\' && lx.pos+1 < len(lx.src) {
					if lx.src[lx.pos+1] == '\n' {
						lx.line++
						lx.pos += 2
						continue
					}
					b.WriteByte(lx.src[lx.pos+1])
					lx.pos += 2
					continue
				}
				if d == '\n' {
					lx.line++
				}
				b.WriteByte(d)
				lx.pos++
			}
		case c == '\\':
			if lx.pos+1 < len(lx.src) && lx.src[lx.pos+1] == '\n' {
				lx.pos += 2
				lx.line++
				continue
			}
			if lx.pos+1 < len(lx.src) {
				b.WriteByte(lx.src[lx.pos+1])
				lx.pos += 2
				continue
			}
			lx.pos++
		default:
			b.WriteByte(c)
			lx.pos++
		}
	}
	return b.String(), nil
}
