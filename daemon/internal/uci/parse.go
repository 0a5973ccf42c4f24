package uci

import (
	"bytes"
	"fmt"
	"io"
)

// Parse reads one config file. path is used in errors and to name the
// package (its base name). Parsing stops at the first syntax error, as in
// libuci; the error is a *ParseError.
//
// Lexical rules (libuci's file.c):
//   - A line holds commands: the keyword (package, config, option, list, or
//     its first letter) ends at a space or tab; its arguments are separated
//     by any C whitespace (space, \t, \n, \v, \f, \r).
//   - An argument is unquoted text, '…' (literal), or "…" (a backslash
//     takes the next byte literally, so "\n" is "n"); adjacent pieces
//     concatenate. Outside quotes a backslash also takes the next byte
//     literally. Quoted text may span lines and keeps the line breaks.
//   - A backslash at the very end of a line (before \n, \r\n or EOF),
//     outside single quotes, joins the next line in its place. The argument
//     goes on only if the joined text goes on without a blank.
//   - # outside quotes ends the line. A word starting with # in keyword
//     position is a comment.
//   - ; ends a command. Two libuci quirks are kept: if ; directly follows
//     an argument that had no quotes or backslashes, the rest of the line is
//     dropped; and a ; must be followed by a command or a comment on the
//     same line ("option a 'b';" at the end of a line is "invalid command").
//   - A NUL byte is an error (libuci's line reader silently mangles it).
//
// Names of options and sections are [A-Za-z0-9_]+, section types any
// printable ASCII except space, package names [A-Za-z0-9_-]+. Values may hold
// any byte but NUL.
func Parse(path string, r io.Reader) (*File, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	p := &parser{
		path: path,
		data: data,
		src:  string(data),
		f:    &File{Name: packageName(path), Path: path},
	}
	if err := p.run(); err != nil {
		return nil, err
	}
	return p.f, nil
}

type parser struct {
	path string
	data []byte // whole input, never modified
	src  string // the same bytes as a string, to slice arguments from
	next int    // offset in data of the next physical line
	line int    // number of physical lines fetched so far (1-based line of the last one)

	// ln is the current logical line: one or more physical lines, joined
	// as libuci joins them. It is a view of data starting at lnOff, or, once
	// a join needed a copy, the scratch buffer joined (lnOff -1).
	ln        []byte
	lnOff     int
	joined    []byte
	pos       int // scan position in ln
	lineStart int // offset in ln where the last fetched physical line starts

	argLine, argCol int // where the last argument started

	f     *File
	sec   *Section                        // current section
	byID  map[string]*Section             // sections by libuci name (named or generated)
	opts  map[*Section]map[string]*Option // option index, only for big sections
	build []byte                          // scratch for arguments that are not a plain slice of ln
}

// fetch returns the offsets in data of the next physical line, including
// its '\n' if any.
func (p *parser) fetch() (start, end int, ok bool) {
	if p.next >= len(p.data) {
		return 0, 0, false
	}
	start, end = p.next, len(p.data)
	if i := bytes.IndexByte(p.data[start:], '\n'); i >= 0 {
		end = start + i + 1
	}
	p.next = end
	p.line++
	return start, end, true
}

// join replaces ln from offset at with the next physical line (libuci's
// uci_getln(ctx, at)). It reports whether there was a line.
func (p *parser) join(at int) bool {
	start, end, ok := p.fetch()
	switch {
	case !ok:
		p.ln = p.ln[:at]
		return false
	case p.lnOff >= 0 && at == len(p.ln) && p.lnOff+at == start:
		// A quoted string runs on into the next line: extend the view.
		p.ln = p.data[p.lnOff:end]
	case p.lnOff >= 0:
		p.joined = append(append(p.joined[:0], p.ln[:at]...), p.data[start:end]...)
		p.ln, p.lnOff = p.joined, -1
	default:
		p.joined = append(p.ln[:at], p.data[start:end]...)
		p.ln = p.joined
	}
	p.lineStart = at
	return true
}

// substr returns ln[lo:hi] as a string, without a copy if ln is a view.
func (p *parser) substr(lo, hi int) string {
	if p.lnOff >= 0 {
		return p.src[p.lnOff+lo : p.lnOff+hi]
	}
	return string(p.ln[lo:hi])
}

func (p *parser) errAt(line, col int, format string, args ...any) error {
	return &ParseError{Path: p.path, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// argErr reports an error about the last argument: at the current line, as
// libuci does, and at the argument's column if it started on that line.
func (p *parser) argErr(line, col int, format string, args ...any) error {
	if line != p.line {
		return p.errf(format, args...)
	}
	return p.errAt(line, col, format, args...)
}

// errf reports an error at the current scan position.
func (p *parser) errf(format string, args ...any) error {
	col := p.pos - p.lineStart + 1
	if col < 1 {
		col = 1
	}
	return p.errAt(p.line, col, format, args...)
}

func (p *parser) run() error {
	if i := bytes.IndexByte(p.data, 0); i >= 0 {
		line := 1 + bytes.Count(p.data[:i], []byte("\n"))
		col := i - bytes.LastIndexByte(p.data[:i], '\n')
		return p.errAt(line, col, "NUL byte in input")
	}
	for {
		start, end, ok := p.fetch()
		if !ok {
			return nil
		}
		p.ln, p.lnOff, p.pos, p.lineStart = p.data[start:end], start, 0, 0
		if err := p.parseLine(); err != nil {
			return err
		}
	}
}

// isSpace is C's isspace in the C locale.
func isSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

func (p *parser) skipSpace() {
	for p.pos < len(p.ln) && isSpace(p.ln[p.pos]) {
		p.pos++
	}
}

// parseLine parses the commands of one logical line.
func (p *parser) parseLine() error {
	p.skipSpace()
	for {
		// The keyword is split off at spaces and tabs only (libuci uses
		// strtok(" \t")), so "config\n" is a word of its own.
		for p.pos < len(p.ln) && (p.ln[p.pos] == ' ' || p.ln[p.pos] == '\t') {
			p.pos++
		}
		if p.pos >= len(p.ln) {
			return nil
		}
		start, line := p.pos, p.line
		end := start
		for end < len(p.ln) && p.ln[end] != ' ' && p.ln[end] != '\t' {
			end++
		}
		word := p.ln[start:end]
		// hasArgs is false when the keyword ends the input: libuci then
		// reports "<keyword> without name".
		hasArgs := end < len(p.ln)
		if hasArgs {
			p.pos = end + 1
		} else {
			p.pos = end
		}
		var err error
		switch {
		case word[0] == '#':
			return nil
		case keyword(word, "package"):
			err = p.parsePackage(hasArgs)
		case keyword(word, "config"):
			err = p.parseConfig(hasArgs, line)
		case keyword(word, "option"):
			err = p.parseOption(false, hasArgs, line)
		case keyword(word, "list"):
			err = p.parseOption(true, hasArgs, line)
		default:
			p.pos = start
			err = p.errf("invalid command %q", word)
		}
		if err != nil {
			return err
		}
	}
}

// keyword reports whether w is kw or its first letter.
func keyword(w []byte, kw string) bool {
	return string(w) == kw || (len(w) == 1 && w[0] == kw[0])
}

func (p *parser) parsePackage(hasArgs bool) error {
	if !hasArgs {
		return p.errf("package without name")
	}
	name, err := p.arg()
	if err != nil {
		return err
	}
	if name == "" {
		return p.errf("insufficient arguments")
	}
	if !validPackage(name) {
		return p.argErr(p.argLine, p.argCol, "invalid character in name field %q", name)
	}
	// uci_load ignores the statement: the file name names the package.
	return p.eol()
}

func (p *parser) parseConfig(hasArgs bool, line int) error {
	if !hasArgs {
		return p.errf("config without name")
	}
	typ, err := p.arg()
	if err != nil {
		return err
	}
	if typ == "" {
		return p.errf("insufficient arguments")
	}
	if !validType(typ) {
		return p.argErr(p.argLine, p.argCol, "invalid character in type field %q", typ)
	}
	name, err := p.arg()
	if err != nil {
		return err
	}
	nameLine, nameCol := p.argLine, p.argCol
	if name != "" && !validName(name) {
		return p.argErr(nameLine, nameCol, "invalid character in name field %q", name)
	}
	if err := p.eol(); err != nil {
		return err
	}
	if name != "" {
		// libuci looks the name up among all sections, so a generated
		// name ("cfg017389") reopens that anonymous section.
		if s, ok := p.byID[name]; ok {
			if s.Type != typ {
				return p.argErr(nameLine, nameCol, "section of different type overwrites prior section with same name %q", name)
			}
			p.sec = s
			return nil
		}
	}
	s := &Section{
		Type:      typ,
		Name:      name,
		Anonymous: name == "",
		Index:     len(p.f.Sections),
		Line:      line,
		path:      p.path,
	}
	p.f.Sections = append(p.f.Sections, s)
	if p.byID == nil {
		p.byID = make(map[string]*Section)
	}
	if id := s.ID(); p.byID[id] == nil { // first one wins, like libuci's list lookup
		p.byID[id] = s
	}
	p.sec = s
	return nil
}

func (p *parser) parseOption(list, hasArgs bool, line int) error {
	kw := "option"
	if list {
		kw = "list"
	}
	if p.sec == nil {
		return p.errf("%s outside of a section", kw)
	}
	if !hasArgs {
		return p.errf("%s without name", kw)
	}
	name, err := p.arg()
	if err != nil {
		return err
	}
	if name == "" {
		return p.errf("insufficient arguments")
	}
	if !validName(name) {
		return p.argErr(p.argLine, p.argCol, "invalid character in name field %q", name)
	}
	value, err := p.arg()
	if err != nil {
		return err
	}
	if err := p.eol(); err != nil {
		return err
	}
	o := p.option(name)
	switch {
	case list && o == nil:
		p.addOption(newOption(name, value, true, line))
	case list:
		o.Values = append(o.Values, value)
		o.IsList = true
		o.Line = line
	case value == "":
		// libuci's file parser neither stores nor deletes on an empty value.
	case o == nil:
		p.addOption(newOption(name, value, false, line))
	default:
		o.Values = append(o.Values[:0], value)
		o.IsList = false
		o.Line = line
	}
	return nil
}

// newOption allocates an option together with room for its first value.
func newOption(name, value string, list bool, line int) *Option {
	x := &struct {
		o Option
		v [1]string
	}{o: Option{Name: name, IsList: list, Line: line}, v: [1]string{value}}
	x.o.Values = x.v[:]
	return &x.o
}

// indexFrom is the option count from which a section gets an index, so that
// huge sections do not make parsing quadratic.
const indexFrom = 16

// option returns the current section's option called name, or nil.
func (p *parser) option(name string) *Option {
	s := p.sec
	if len(s.Options) < indexFrom {
		o, _ := s.Get(name)
		return o
	}
	idx := p.opts[s]
	if idx == nil {
		idx = make(map[string]*Option, 2*len(s.Options))
		for _, o := range s.Options {
			idx[o.Name] = o
		}
		if p.opts == nil {
			p.opts = make(map[*Section]map[string]*Option)
		}
		p.opts[s] = idx
	}
	return idx[name]
}

func (p *parser) addOption(o *Option) {
	p.sec.Options = append(p.sec.Options, o)
	if idx := p.opts[p.sec]; idx != nil {
		idx[o.Name] = o
	}
}

// eol checks that the command has no further argument.
func (p *parser) eol() error {
	v, err := p.arg()
	if err != nil {
		return err
	}
	if v != "" {
		return p.argErr(p.argLine, p.argCol, "too many arguments")
	}
	return nil
}

// arg scans the next argument; "" means none (end of line, comment or ;).
func (p *parser) arg() (string, error) {
	p.skipSpace()
	p.argLine, p.argCol = p.line, p.pos-p.lineStart+1
	if p.pos < len(p.ln) && p.ln[p.pos] == ';' {
		p.pos++
		return "", nil
	}
	return p.word()
}

// argBuf accumulates an argument's bytes. While they are one contiguous run
// of ln it only records the bounds, so most arguments cost no copy.
type argBuf struct {
	lo, hi int
	copied bool
	b      []byte
}

func (p *parser) add(a *argBuf) {
	c := p.ln[p.pos]
	switch {
	case a.copied:
		a.b = append(a.b, c)
	case a.lo == a.hi:
		a.lo, a.hi = p.pos, p.pos+1
	case a.hi == p.pos:
		a.hi++
	default:
		a.b = append(append(a.b[:0], p.ln[a.lo:a.hi]...), c)
		a.copied = true
	}
	p.pos++
}

func (p *parser) result(a *argBuf) (string, int) {
	if a.copied {
		return string(a.b), len(a.b)
	}
	return p.substr(a.lo, a.hi), a.hi - a.lo
}

// word scans one argument starting at a non-blank byte.
func (p *parser) word() (string, error) {
	start := p.pos
	a := argBuf{b: p.build[:0]}
	semicolon := false
scan:
	for p.pos < len(p.ln) {
		switch p.ln[p.pos] {
		case '\'':
			if err := p.singleQuoted(&a); err != nil {
				return "", err
			}
		case '"':
			if err := p.doubleQuoted(&a); err != nil {
				return "", err
			}
		case '#':
			p.ln = p.ln[:p.pos]
			break scan
		case ';':
			semicolon = true
			break scan
		case '\\':
			if p.backslash() {
				p.add(&a)
			}
		default:
			p.add(&a)
		}
		if p.pos >= len(p.ln) || isSpace(p.ln[p.pos]) {
			break
		}
	}
	if !semicolon && p.pos < len(p.ln) {
		p.pos++ // the blank that ended the argument
	}
	s, n := p.result(&a)
	if a.copied {
		p.build = a.b
	}
	if semicolon && p.pos-start == n {
		// libuci decodes in place and terminates the argument with a NUL
		// at the write position; with nothing removed that overwrites the
		// ';' and so ends the line.
		p.ln = p.ln[:p.pos]
	}
	return s, nil
}

// backslash handles a backslash at p.pos outside single quotes. At the end
// of a line it joins the next line and returns false; otherwise it leaves
// p.pos on the escaped byte and returns true.
func (p *parser) backslash() bool {
	p.pos++
	n := len(p.ln) - p.pos
	if n == 0 || p.ln[p.pos] == '\n' || (n == 2 && p.ln[p.pos] == '\r' && p.ln[p.pos+1] == '\n') {
		p.join(p.pos)
		return false
	}
	return true
}

func (p *parser) singleQuoted(a *argBuf) error {
	line, col := p.line, p.pos-p.lineStart+1
	p.pos++
	for {
		if p.pos >= len(p.ln) {
			if !p.join(p.pos) {
				return p.errAt(line, col, "EOF with unterminated '")
			}
			continue
		}
		if p.ln[p.pos] == '\'' {
			p.pos++
			return nil
		}
		p.add(a)
	}
}

func (p *parser) doubleQuoted(a *argBuf) error {
	line, col := p.line, p.pos-p.lineStart+1
	p.pos++
	for {
		if p.pos >= len(p.ln) {
			if !p.join(p.pos) {
				return p.errAt(line, col, "EOF with unterminated \"")
			}
			continue
		}
		switch p.ln[p.pos] {
		case '"':
			p.pos++
			return nil
		case '\\':
			if !p.backslash() {
				continue
			}
		}
		p.add(a)
	}
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// validName reports whether s is a valid section or option name.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' {
			return false
		}
	}
	return true
}

// validPackage reports whether s is a valid name in a package statement.
func validPackage(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// validType reports whether s is a valid section type: printable ASCII
// without space.
func validType(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 33 || c > 126 {
			return false
		}
	}
	return true
}
