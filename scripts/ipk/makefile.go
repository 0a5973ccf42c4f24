package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// Makefile holds the plain assignments and define blocks of an OpenWrt
// package Makefile, so that "make ipk" takes the same package fields as an
// SDK build. It is not make: values are not expanded, and a value that uses
// $(...) is kept as written.
type Makefile struct {
	Path    string
	Vars    map[string]string // NAME:=value, NAME=value, NAME?=value at top level
	Defines map[string]string // define NAME ... endef, body without the first and last line
}

// ReadMakefile reads path.
func ReadMakefile(path string) (*Makefile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read package Makefile: %w", err)
	}
	defer f.Close()
	m := &Makefile{Path: path, Vars: map[string]string{}, Defines: map[string]string{}}
	sc := bufio.NewScanner(f)
	define := ""
	var body []string
	line := 0
	for sc.Scan() {
		line++
		l := sc.Text()
		if define != "" {
			if strings.TrimSpace(l) == "endef" {
				m.Defines[define] = strings.Join(body, "\n")
				define, body = "", nil
				continue
			}
			body = append(body, l)
			continue
		}
		t := strings.TrimSpace(l)
		if rest, ok := strings.CutPrefix(t, "define "); ok {
			define = strings.TrimSpace(rest)
			continue
		}
		if strings.HasPrefix(t, "#") || strings.HasPrefix(l, "\t") {
			continue
		}
		if name, value, ok := assignment(t); ok {
			m.Vars[name] = value
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read package Makefile %s: %w", path, err)
	}
	if define != "" {
		return nil, fmt.Errorf("read package Makefile %s: define %s has no endef", path, define)
	}
	return m, nil
}

// assignment splits "NAME:=value" (or = or ?=) into name and value.
func assignment(s string) (name, value string, ok bool) {
	i := strings.IndexByte(s, '=')
	if i <= 0 {
		return "", "", false
	}
	name = strings.TrimRight(s[:i], ":?+ \t")
	if name == "" || strings.ContainsAny(name, " \t$()") {
		return "", "", false
	}
	return name, strings.TrimSpace(s[i+1:]), true
}

// Var returns a top-level variable, or an error naming the file if it is
// missing, empty or not plain text.
func (m *Makefile) Var(name string) (string, error) {
	v, ok := m.Vars[name]
	if !ok || v == "" {
		return "", fmt.Errorf("%s: %s is not set", m.Path, name)
	}
	if strings.Contains(v, "$(") {
		return "", fmt.Errorf("%s: %s=%q is not plain text", m.Path, name, v)
	}
	return v, nil
}

// DefineVars returns the assignments inside a define block such as
// "Package/tamon" (SECTION:=net, TITLE:=...).
func (m *Makefile) DefineVars(name string) map[string]string {
	vars := map[string]string{}
	for l := range strings.SplitSeq(m.Defines[name], "\n") {
		if n, v, ok := assignment(strings.TrimSpace(l)); ok {
			vars[n] = v
		}
	}
	return vars
}

// Lines returns the non-blank lines of a define block, trimmed.
func (m *Makefile) Lines(name string) []string {
	var out []string
	for l := range strings.SplitSeq(m.Defines[name], "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// Depends turns an OpenWrt DEPENDS value into control-file dependencies:
// "+foo" and "foo" become foo, while $(...) references and @CONDITIONS
// (build-time only) are dropped. libc comes first, as in SDK packages.
func Depends(value string) []string {
	deps := []string{"libc"}
	for w := range strings.FieldsSeq(value) {
		if strings.Contains(w, "$(") || strings.HasPrefix(w, "@") || strings.Contains(w, ":") {
			continue
		}
		w = strings.TrimPrefix(w, "+")
		if w != "" && w != "libc" {
			deps = append(deps, w)
		}
	}
	return deps
}
