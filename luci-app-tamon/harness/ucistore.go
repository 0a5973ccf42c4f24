package harness

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Package is an editable UCI package: what rpcd's uci object works on. Its
// anonymous sections carry the names libuci gives them at load time
// (cfgNNHHHH), or for sections added in a session the name the session got
// back from "uci add".
type Package struct {
	Name     string
	Sections []*Section
}

// Section is a config section of a Package.
type Section struct {
	Name      string
	Type      string
	Anonymous bool
	Options   []Option
}

// Option is an option (one value) or a list.
type Option struct {
	Name   string
	Values []string
	List   bool
}

// Section returns the section called name, or nil.
func (p *Package) Section(name string) *Section {
	for _, s := range p.Sections {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Get returns the option called name.
func (s *Section) Get(name string) (Option, bool) {
	for _, o := range s.Options {
		if o.Name == name {
			return o, true
		}
	}
	return Option{}, false
}

// Set replaces or adds an option; an empty value list removes it.
func (s *Section) Set(o Option) {
	if len(o.Values) == 0 || (!o.List && o.Values[0] == "") {
		s.Unset(o.Name)
		return
	}
	for i := range s.Options {
		if s.Options[i].Name == o.Name {
			s.Options[i] = o
			return
		}
	}
	s.Options = append(s.Options, o)
}

// Unset removes the option called name.
func (s *Section) Unset(name string) {
	s.Options = slices.DeleteFunc(s.Options, func(o Option) bool { return o.Name == name })
}

// WritePackage writes p in the form "uci commit" writes: a blank line, then
// each section as config TYPE ['NAME'] with its options and list items, all
// values single-quoted ('\” for a quote). Anonymous sections are written
// without a name. It refuses names, types and values that libuci would not
// read back, naming the bad input.
func WritePackage(w io.Writer, p *Package) error {
	var b strings.Builder
	for _, s := range p.Sections {
		if !validType(s.Type) {
			return fmt.Errorf("write uci package %s: section type %q is not printable ASCII without quotes", p.Name, s.Type)
		}
		b.WriteString("\nconfig ")
		b.WriteString(s.Type)
		if !s.Anonymous {
			if !validName(s.Name) {
				return fmt.Errorf("write uci package %s: section name %q is not [A-Za-z0-9_]+", p.Name, s.Name)
			}
			b.WriteString(" ")
			b.WriteString(quote(s.Name))
		}
		b.WriteString("\n")
		for _, o := range s.Options {
			if !validName(o.Name) {
				return fmt.Errorf("write uci package %s: option name %q in section %s is not [A-Za-z0-9_]+", p.Name, o.Name, s.Name)
			}
			for _, v := range o.Values {
				if !validValue(v) {
					return fmt.Errorf("write uci package %s: value %q of %s.%s has a control character", p.Name, v, s.Name, o.Name)
				}
			}
			if o.List {
				for _, v := range o.Values {
					fmt.Fprintf(&b, "\tlist %s %s\n", o.Name, quote(v))
				}
				continue
			}
			if len(o.Values) == 0 || o.Values[0] == "" {
				continue
			}
			fmt.Fprintf(&b, "\toption %s %s\n", o.Name, quote(o.Values[0]))
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func validType(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 33 || s[i] > 126 || s[i] == '\'' || s[i] == '"' || s[i] == '#' || s[i] == ';' || s[i] == '\\' {
			return false
		}
	}
	return true
}

func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 32 && c != '\t' && c != '\n' && c != '\r' || c == 127 {
			return false
		}
	}
	return true
}

// change is one staged edit of a session, replayed over the committed file.
type change struct {
	op      string // "set", "add", "delete"
	section string
	typ     string   // add
	named   bool     // add: a named section
	values  []Option // set, add
	options []string // delete: these options only; nil: the whole section
}

// UCI is a folder of UCI files (like /etc/config) with per-session staging,
// as rpcd keeps it in /var/run/rpcd/uci-<sid>/. All methods are safe for
// concurrent use; a file is only written by Commit (or WriteAlias), through a
// temporary file and rename.
type UCI struct {
	Dir string

	mu     sync.Mutex
	staged map[string]map[string][]change // sid -> config -> changes
}

// NewUCI returns a store over dir.
func NewUCI(dir string) *UCI {
	return &UCI{Dir: dir, staged: map[string]map[string][]change{}}
}

// ErrNoConfig reports a configuration file that does not exist.
var ErrNoConfig = errors.New("no such configuration")

func (u *UCI) path(config string) (string, error) {
	if !validPackage(config) {
		return "", fmt.Errorf("uci: config name %q is not [A-Za-z0-9_-]+", config)
	}
	return filepath.Join(u.Dir, config), nil
}

func validPackage(s string) bool {
	return s != "" && validName(strings.ReplaceAll(s, "-", "_"))
}

// load reads the committed file.
func (u *UCI) load(config string) (*Package, error) {
	p, err := u.path(config)
	if err != nil {
		return nil, err
	}
	pkg, err := ParseUCIFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("uci: load %s: %w", config, ErrNoConfig)
	}
	if err != nil {
		return nil, fmt.Errorf("uci: load %s: %w", config, err)
	}
	pkg.Name = config
	return pkg, nil
}

// Committed returns the committed package.
func (u *UCI) Committed(config string) (*Package, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.load(config)
}

// View returns the package as session sid sees it: committed plus staged.
func (u *UCI) View(sid, config string) (*Package, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.view(sid, config)
}

func (u *UCI) view(sid, config string) (*Package, error) {
	p, err := u.load(config)
	if err != nil {
		return nil, err
	}
	for _, c := range u.staged[sid][config] {
		apply(p, c)
	}
	return p, nil
}

func apply(p *Package, c change) {
	switch c.op {
	case "add":
		if s := p.Section(c.section); s != nil && c.named {
			for _, o := range c.values {
				s.Set(o)
			}
			return
		}
		s := &Section{Name: c.section, Type: c.typ, Anonymous: !c.named}
		for _, o := range c.values {
			s.Set(o)
		}
		p.Sections = append(p.Sections, s)
	case "set":
		if s := p.Section(c.section); s != nil {
			for _, o := range c.values {
				s.Set(o)
			}
		}
	case "delete":
		if c.options == nil {
			p.Sections = slices.DeleteFunc(p.Sections, func(s *Section) bool { return s.Name == c.section })
			return
		}
		if s := p.Section(c.section); s != nil {
			for _, o := range c.options {
				s.Unset(o)
			}
		}
	}
}

func (u *UCI) stage(sid, config string, c change) {
	if u.staged[sid] == nil {
		u.staged[sid] = map[string][]change{}
	}
	u.staged[sid][config] = append(u.staged[sid][config], c)
}

// Set stages option values on an existing section.
func (u *UCI) Set(sid, config, section string, values []Option) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	p, err := u.view(sid, config)
	if err != nil {
		return err
	}
	if p.Section(section) == nil {
		return fmt.Errorf("uci: set %s.%s: %w", config, section, ErrNoSection)
	}
	for _, o := range values {
		if !validName(o.Name) {
			return fmt.Errorf("uci: set %s.%s: option name %q is not [A-Za-z0-9_]+", config, section, o.Name)
		}
	}
	u.stage(sid, config, change{op: "set", section: section, values: values})
	return nil
}

// ErrNoSection reports a section that does not exist.
var ErrNoSection = errors.New("no such section")

// Add stages a new section and returns its name: name for a named section
// (merging into an existing one of the same type), a generated cfgXXXXXX for
// an anonymous one.
func (u *UCI) Add(sid, config, typ, name string, values []Option) (string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	p, err := u.view(sid, config)
	if err != nil {
		return "", err
	}
	if !validType(typ) {
		return "", fmt.Errorf("uci: add to %s: type %q is not valid", config, typ)
	}
	named := name != ""
	if named {
		if !validName(name) {
			return "", fmt.Errorf("uci: add to %s: section name %q is not [A-Za-z0-9_]+", config, name)
		}
		if s := p.Section(name); s != nil && s.Type != typ {
			return "", fmt.Errorf("uci: add %s.%s: exists with type %s, not %s", config, name, s.Type, typ)
		}
	} else {
		for {
			var b [3]byte
			_, _ = rand.Read(b[:])
			name = "cfg" + hex.EncodeToString(b[:])
			if p.Section(name) == nil {
				break
			}
		}
	}
	u.stage(sid, config, change{op: "add", section: name, typ: typ, named: named, values: values})
	return name, nil
}

// Delete stages the removal of a section (options nil) or of some options.
func (u *UCI) Delete(sid, config, section string, options []string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	p, err := u.view(sid, config)
	if err != nil {
		return err
	}
	if p.Section(section) == nil {
		return fmt.Errorf("uci: delete %s.%s: %w", config, section, ErrNoSection)
	}
	u.stage(sid, config, change{op: "delete", section: section, options: options})
	return nil
}

// Changes lists the configs session sid has staged changes for, with the
// number of changes of each.
func (u *UCI) Changes(sid string) map[string]int {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := map[string]int{}
	for c, l := range u.staged[sid] {
		if len(l) > 0 {
			out[c] = len(l)
		}
	}
	return out
}

// Revert drops the staged changes of sid for config.
func (u *UCI) Revert(sid, config string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.staged[sid], config)
}

// Commit writes the staged changes of sid for config to its file. It
// reports whether there was anything to write.
func (u *UCI) Commit(sid, config string) (bool, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.staged[sid][config]) == 0 {
		return false, nil
	}
	p, err := u.view(sid, config)
	if err != nil {
		return false, err
	}
	if err := u.write(p); err != nil {
		return false, err
	}
	delete(u.staged[sid], config)
	return true, nil
}

// CommitAll commits every config sid has changed and returns their names.
func (u *UCI) CommitAll(sid string) ([]string, error) {
	var done []string
	for c := range u.Changes(sid) {
		ok, err := u.Commit(sid, c)
		if err != nil {
			return done, err
		}
		if ok {
			done = append(done, c)
		}
	}
	slices.Sort(done)
	return done, nil
}

// Edit changes a committed file directly, as a daemon that writes its own
// configuration does (the API's alias route). fn may change p.
func (u *UCI) Edit(config string, fn func(p *Package) error) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	p, err := u.load(config)
	if err != nil {
		return err
	}
	if err := fn(p); err != nil {
		return err
	}
	return u.write(p)
}

func (u *UCI) write(p *Package) error {
	path, err := u.path(p.Name)
	if err != nil {
		return err
	}
	var b strings.Builder
	if err := WritePackage(&b, p); err != nil {
		return err
	}
	// Refuse to write what the parser would not read back.
	if _, err := ParseUCI(path, strings.NewReader(b.String())); err != nil {
		return fmt.Errorf("uci: write %s: result does not parse: %w", p.Name, err)
	}
	tmp, err := os.CreateTemp(u.Dir, "."+p.Name+".tmp*")
	if err != nil {
		return fmt.Errorf("uci: write %s: %w", p.Name, err)
	}
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("uci: write %s: %w", p.Name, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("uci: write %s: %w", p.Name, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("uci: write %s: %w", p.Name, err)
	}
	return nil
}

// SetAlias writes (or with an empty name removes) the alias section of mac in
// the tamon package, the way tamond's alias route does.
func (u *UCI) SetAlias(mac, name string) error {
	return u.Edit("tamon", func(p *Package) error {
		for _, s := range p.Sections {
			if s.Type != "alias" {
				continue
			}
			if o, ok := s.Get("mac"); ok && strings.EqualFold(o.Values[0], mac) {
				if name == "" {
					p.Sections = slices.DeleteFunc(p.Sections, func(x *Section) bool { return x == s })
					return nil
				}
				s.Set(Option{Name: "name", Values: []string{name}})
				return nil
			}
		}
		if name == "" {
			return nil
		}
		p.Sections = append(p.Sections, &Section{Type: "alias", Anonymous: true, Options: []Option{
			{Name: "mac", Values: []string{strings.ToLower(mac)}},
			{Name: "name", Values: []string{name}},
		}})
		return nil
	})
}

// Aliases returns the committed alias sections of the tamon package as
// lower-case MAC -> name.
func (u *UCI) Aliases() (map[string]string, error) {
	p, err := u.Committed("tamon")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, s := range p.Sections {
		if s.Type != "alias" {
			continue
		}
		m, ok1 := s.Get("mac")
		n, ok2 := s.Get("name")
		if ok1 && ok2 && len(m.Values) > 0 && len(n.Values) > 0 {
			out[strings.ToLower(m.Values[0])] = n.Values[0]
		}
	}
	return out, nil
}
