// Package uci reads OpenWrt UCI configuration files (/etc/config/*) following libuci's grammar.
//
// The parser accepts what libuci's file parser (uci_import as used by
// uci_load) accepts and builds the same package tree; it was checked against
// libuci on generated inputs. Differences: a NUL byte is an error; error
// messages may add the offending word, and say "option outside of a
// section" where libuci says "option/list command found before the first
// section"; an unterminated quote is reported at the line it opens on; a last
// line without a newline is counted. The rules for repeated definitions:
//
//   - A repeated named section (config TYPE 'NAME') merges into the first
//     one; a different TYPE is an error.
//   - option NAME VALUE sets or replaces a value; a list of that name turns
//     back into a single string, keeping its place among the options.
//   - list NAME VALUE appends; an existing string option of that name
//     becomes the list's first item.
//   - An empty value (option x "" or a bare "option x") is not stored and does
//     not delete an earlier value: libuci's file parser ignores it.
//   - An empty list item (list x "") is stored.
//   - package NAME is checked and otherwise ignored; File.Name comes from
//     the file name, as for uci_load.
//
// Anonymous sections are addressed like libuci addresses them: "@type[i]"
// (negative i counts from the end, "@[i]" ignores the type) or by their
// generated name "cfgNNHHHH" (see Section.ID).
package uci

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// File is one parsed configuration package.
type File struct {
	Name     string // config (package) name, e.g. "tamon"
	Path     string
	Sections []*Section
}

// Section is a config section. Repeated definitions of a named section are
// merged into one Section, as libuci does.
type Section struct {
	Type      string
	Name      string // "" for anonymous in the file
	Anonymous bool
	Index     int // position among sections, 0-based
	Line      int // line of the first config statement that defined it
	Options   []*Option

	path string // file path, for error messages
}

// Option is an option or a list. Each name occurs once per section.
type Option struct {
	Name   string
	Values []string // one value for an option, the items for a list
	IsList bool
	Line   int // line of the last option/list statement that changed it
}

// ParseError reports a syntax error, or a value that a typed helper could
// not convert.
type ParseError struct {
	Path string
	Line int // 1-based
	Col  int // 1-based byte column in Line where the parser stopped; 0 if unknown
	Msg  string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
}

// ParseFile reads and parses the configuration file at path.
func ParseFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(path, f)
}

// String returns the value of an option, or a list's items joined by single
// spaces (what OpenWrt's config_get returns for a list).
func (o *Option) String() string {
	switch len(o.Values) {
	case 0:
		return ""
	case 1:
		return o.Values[0]
	}
	return strings.Join(o.Values, " ")
}

// Get returns the option called name. The parser has already applied
// libuci's rules, so the option holds the last definition's value, or the
// accumulated items for a list.
func (s *Section) Get(name string) (*Option, bool) {
	for _, o := range s.Options {
		if o.Name == name {
			return o, true
		}
	}
	return nil, false
}

// ID returns the name libuci uses for the section: Name for a named section
// and, for an anonymous one, the generated "cfgNNHHHH" (NN the section's
// 1-based position in hex, HHHH a hash of its type).
func (s *Section) ID() string {
	if !s.Anonymous {
		return s.Name
	}
	return anonName(s.Index+1, s.Type)
}

// anonName builds libuci's name for the n-th section (1-based) of an
// anonymous section of type typ. libuci names a section as soon as it is
// created, before it has options, so only the type enters the hash (DJB,
// truncated to 31 bits, then to 16).
func anonName(n int, typ string) string {
	h := uint32(5381)
	for i := 0; i < len(typ); i++ {
		h = h*33 + uint32(typ[i])
	}
	h &= 0x7fffffff
	return fmt.Sprintf("cfg%02x%04x", n, h%(1<<16))
}

// Section returns the named section called name, or nil.
func (f *File) Section(name string) *Section {
	if name == "" {
		return nil
	}
	for _, s := range f.Sections {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// ByType returns the sections of type typ in file order.
func (f *File) ByType(typ string) []*Section {
	var out []*Section
	for _, s := range f.Sections {
		if s.Type == typ {
			out = append(out, s)
		}
	}
	return out
}

// Lookup resolves a libuci section reference: a section name ("main"), an
// anonymous section's generated name ("cfg027389"), or "@type[i]" where i
// counts sections of that type from 0 and a negative i counts from the end
// (-1 is the last). "@[i]" counts sections of any type.
func (f *File) Lookup(ref string) (*Section, bool) {
	if ref == "" {
		return nil, false
	}
	if ref[0] != '@' {
		for _, s := range f.Sections {
			if s.ID() == ref {
				return s, true
			}
		}
		return nil, false
	}
	open := strings.IndexByte(ref, '[')
	if open < 0 || !strings.HasSuffix(ref, "]") || strings.IndexByte(ref[open:], ']') != len(ref)-1-open {
		return nil, false
	}
	typ := ref[1:open]
	if typ != "" && !validType(typ) {
		return nil, false
	}
	idx, err := strconv.Atoi(ref[open+1 : len(ref)-1])
	if err != nil {
		return nil, false
	}
	if idx < 0 {
		n := 0
		for _, s := range f.Sections {
			if typ == "" || s.Type == typ {
				n++
			}
		}
		idx += n
		if idx < 0 {
			return nil, false
		}
	}
	for _, s := range f.Sections {
		if typ != "" && s.Type != typ {
			continue
		}
		if idx == 0 {
			return s, true
		}
		idx--
	}
	return nil, false
}

// String returns the option's value (a list's items joined by spaces), or
// def if the section has no such option.
func (s *Section) String(name, def string) string {
	if o, ok := s.Get(name); ok {
		return o.String()
	}
	return def
}

// Int returns the option's value as a decimal integer, or def if the option
// is not set. Surrounding blanks are ignored.
func (s *Section) Int(name string, def int) (int, error) {
	o, ok := s.Get(name)
	if !ok {
		return def, nil
	}
	v := strings.TrimSpace(o.String())
	n, err := strconv.Atoi(v)
	if err != nil {
		why := "not an integer"
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			why = "integer out of range"
		}
		return def, s.valueError(o, fmt.Sprintf("option %s: %q: %s", name, o.String(), why))
	}
	return n, nil
}

// Bool returns the option's value as a boolean, or def if the option is not
// set. It accepts the words OpenWrt's config_get_bool accepts, in any case:
// 1/0, yes/no, on/off, true/false, enabled/disabled.
func (s *Section) Bool(name string, def bool) (bool, error) {
	o, ok := s.Get(name)
	if !ok {
		return def, nil
	}
	switch strings.ToLower(strings.TrimSpace(o.String())) {
	case "1", "yes", "on", "true", "enabled":
		return true, nil
	case "0", "no", "off", "false", "disabled":
		return false, nil
	}
	return def, s.valueError(o, fmt.Sprintf("option %s: %q: not a boolean (use 1/0, yes/no, on/off, true/false or enabled/disabled)", name, o.String()))
}

// List returns a list's items, or for a plain option the words of its value
// split at blanks (as a shell loop over config_get's result would), or nil
// if the option is not set.
func (s *Section) List(name string) []string {
	o, ok := s.Get(name)
	if !ok {
		return nil
	}
	if o.IsList {
		return append([]string(nil), o.Values...)
	}
	return strings.FieldsFunc(o.String(), func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n'
	})
}

func (s *Section) valueError(o *Option, msg string) error {
	return &ParseError{Path: s.path, Line: o.Line, Msg: msg}
}

// packageName derives the config name from a path, like uci_load does for a
// file outside /etc/config.
func packageName(path string) string {
	if path == "" {
		return ""
	}
	return filepath.Base(path)
}
