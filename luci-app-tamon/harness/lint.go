package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Shim lint: the views must not use a LuCI module or member that the
// clean-room shim lacks, or the browser tests would pass on pages that break
// on a router (or fail for the wrong reason).

// shimBuiltins are the modules luci.js defines itself, with the name of the
// class variable that holds each.
var shimBuiltins = map[string]string{"baseclass": "baseclass", "dom": "dom", "poll": "poll", "request": "request", "view": "view"}

// Require is one 'require NAME [as ALIAS]' directive.
type Require struct {
	Name, As string
}

var directiveRE = regexp.MustCompile(`^\s*(?:/\*[\s\S]*?\*/\s*|//[^\n]*\n\s*)*(['"])([^'"\n]*)['"]\s*;?`)

// Requires reads the leading string directives of a LuCI module, as the
// loader does: 'use strict' and 'require x[.y] [as z]'. A dotted name
// without "as" is an error: the binding would be a guess.
func Requires(src string) ([]Require, error) {
	var out []Require
	rest := src
	for {
		m := directiveRE.FindStringSubmatchIndex(rest)
		if m == nil {
			break
		}
		d := strings.TrimSpace(rest[m[4]:m[5]])
		rest = rest[m[1]:]
		if d == "use strict" {
			continue
		}
		f := strings.Fields(d)
		if len(f) == 0 || f[0] != "require" {
			break
		}
		switch {
		case len(f) == 2 && !strings.ContainsAny(f[1], "./"):
			out = append(out, Require{f[1], f[1]})
		case len(f) == 4 && f[2] == "as":
			out = append(out, Require{f[1], f[3]})
		default:
			return nil, fmt.Errorf("directive %q: want 'require NAME' or 'require a.b as NAME'", d)
		}
	}
	return out, nil
}

// objectLiteralAt returns the text of the balanced {...} that starts at or
// after i, skipping strings, template literals and comments.
func objectLiteralAt(src string, i int) string {
	start := strings.IndexByte(src[i:], '{')
	if start < 0 {
		return ""
	}
	start += i
	depth := 0
	for j := start; j < len(src); j++ {
		c := src[j]
		switch {
		case c == '\'' || c == '"' || c == '`':
			for j++; j < len(src) && src[j] != c; j++ {
				if src[j] == '\\' {
					j++
				}
			}
		case c == '/' && j+1 < len(src) && src[j+1] == '/':
			for j < len(src) && src[j] != '\n' {
				j++
			}
		case c == '/' && j+1 < len(src) && src[j+1] == '*':
			end := strings.Index(src[j+2:], "*/")
			if end < 0 {
				return src[start:]
			}
			j += end + 3
		case c == '{':
			depth++
		case c == '}':
			depth--
			if depth == 0 {
				return src[start : j+1]
			}
		}
	}
	return src[start:]
}

var (
	memberDefRE = regexp.MustCompile(`(?m)^\t{1,2}(?:async\s+)?([A-Za-z_$][\w$]*)\s*(?:\([^)]*\)\s*\{|:)`)
	thisPropRE  = regexp.MustCompile(`this\.([A-Za-z_$][\w$]*)\s*=[^=]`)
	windowRE    = regexp.MustCompile(`window\.([A-Za-z_$][\w$]*)\s*=[^=]`)
)

// members lists the method and property names defined in a class body:
// keys of the object literal, and this.x = ... assignments.
func members(body string) map[string]bool {
	m := map[string]bool{}
	for _, x := range memberDefRE.FindAllStringSubmatch(body, -1) {
		m[x[1]] = true
	}
	for _, x := range thisPropRE.FindAllStringSubmatch(body, -1) {
		m[x[1]] = true
	}
	return m
}

// shimModel is what the shim offers.
type shimModel struct {
	modules map[string]map[string]bool // module -> members
	luci    map[string]bool            // members of L
	globals map[string]bool            // window.X
	form    map[string]bool            // every member of every form class
}

func loadShim(dir string) (*shimModel, error) {
	read := func(n string) (string, error) {
		b, err := os.ReadFile(filepath.Join(dir, n))
		return string(b), err
	}
	luci, err := read("luci.js")
	if err != nil {
		return nil, err
	}
	base := members(objectLiteralAt(luci, strings.Index(luci, "ClassBase.prototype = {")))
	base["extend"], base["singleton"], base["instantiate"], base["isSubclass"] = true, true, true, true
	withBase := func(m map[string]bool) map[string]bool {
		for k := range base {
			m[k] = true
		}
		return m
	}
	sm := &shimModel{modules: map[string]map[string]bool{}, globals: map[string]bool{}}
	for mod, v := range shimBuiltins {
		at := strings.Index(luci, "const "+v+" = extend(")
		if at < 0 {
			return nil, fmt.Errorf("shim luci.js: builtin %s not found", mod)
		}
		sm.modules[mod] = withBase(members(objectLiteralAt(luci, at)))
	}
	at := strings.Index(luci, "const LuCI = extend(")
	sm.luci = withBase(members(objectLiteralAt(luci, at)))
	for _, x := range windowRE.FindAllStringSubmatch(luci, -1) {
		sm.globals[x[1]] = true
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.js"))
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".js")
		if name == "luci" {
			continue
		}
		src, err := read(filepath.Base(f))
		if err != nil {
			return nil, err
		}
		ret := strings.LastIndex(src, "return baseclass.extend(")
		if ret < 0 {
			return nil, fmt.Errorf("shim %s.js does not end in return baseclass.extend({...})", name)
		}
		sm.modules[name] = withBase(members(objectLiteralAt(src, ret)))
		// L.ui and friends set by modules
		for _, x := range regexp.MustCompile(`L\.(\w+)\s*=[^=]`).FindAllStringSubmatch(src, -1) {
			sm.luci[x[1]] = true
		}
		if name == "form" {
			sm.form = withBase(members(src))
		}
	}
	return sm, nil
}

var memberUseRE = regexp.MustCompile(`(?:^|[^\w$.])([A-Za-z_$][\w$]*)\.([A-Za-z_$][\w$]*)`)

// knownJS are names a view may use on any object without the shim's help:
// built-in members of JS values (arrays, strings, promises, DOM nodes).
func isBuiltinMember(name string) bool {
	switch name {
	case "call", "apply", "bind", "length", "prototype", "then", "catch", "finally", "format":
		return true
	}
	return false
}

// LintApp checks every JS file of the app against the shim in shimDir and
// returns the problems: a required module that neither the shim nor the app
// has, a member of a shim module or of L that the shim does not define, a
// LuCI global the shim lacks, and form options or properties it ignores.
func LintApp(appDir, shimDir string) ([]string, error) {
	sm, err := loadShim(shimDir)
	if err != nil {
		return nil, err
	}
	res := filepath.Join(appDir, "htdocs/luci-static/resources")
	var files []string
	filepath.WalkDir(res, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".js") {
			files = append(files, p)
		}
		return err
	})
	sort.Strings(files)
	var problems []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		rel, _ := filepath.Rel(appDir, f)
		problems = append(problems, lintFile(rel, string(b), res, sm)...)
	}
	return problems, nil
}

var luciGlobals = []string{"E", "_", "N_", "cbi_update_table", "cbi_init", "cbi_validate_field", "cbi_submit", "L"}

func lintFile(name, src, resDir string, sm *shimModel) []string {
	var out []string
	bad := func(format string, a ...any) { out = append(out, name+": "+fmt.Sprintf(format, a...)) }
	reqs, err := Requires(src)
	if err != nil {
		bad("%v", err)
		return out
	}
	// strip comments and strings' contents so that words in them do not count
	code := stripJS(src)
	aliases := map[string]string{}
	for _, r := range reqs {
		aliases[r.As] = r.Name
		_, builtin := shimBuiltins[r.Name]
		_, shim := sm.modules[r.Name]
		_, appErr := os.Stat(filepath.Join(resDir, filepath.FromSlash(strings.ReplaceAll(r.Name, ".", "/"))+".js"))
		if !builtin && !shim && appErr != nil {
			bad("requires module %q, which neither the shim nor the app provides", r.Name)
		}
	}
	for _, m := range memberUseRE.FindAllStringSubmatch(code, -1) {
		obj, mem := m[1], m[2]
		switch {
		case obj == "L":
			if !sm.luci[mem] {
				bad("uses L.%s, which the shim lacks", mem)
			}
		case aliases[obj] != "":
			mod := aliases[obj]
			if mm, ok := sm.modules[mod]; ok && !mm[mem] && !isBuiltinMember(mem) {
				bad("uses %s.%s (module %s), which the shim lacks", obj, mem, mod)
			}
		}
	}
	if aliases["form"] == "form" {
		// form objects in views are named m, s and o by convention
		for _, m := range regexp.MustCompile(`(?:^|[^\w$.])([mso])\.([A-Za-z_$][\w$]*)`).FindAllStringSubmatch(code, -1) {
			if !sm.form[m[2]] && !isBuiltinMember(m[2]) {
				bad("uses %s.%s on a form object, which the shim's form does not implement", m[1], m[2])
			}
		}
	}
	for _, g := range luciGlobals {
		if regexp.MustCompile(`(?:^|[^\w$.])`+regexp.QuoteMeta(g)+`\(`).MatchString(code) && !sm.globals[g] {
			bad("calls the LuCI global %s(), which the shim lacks", g)
		}
	}
	return out
}

// stripJS blanks comments and the contents of string literals, keeping the
// quotes and the line structure.
func stripJS(src string) string {
	b := []byte(src)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '\'' || c == '"' || c == '`':
			for i++; i < len(b) && b[i] != c; i++ {
				if b[i] == '\\' && i+1 < len(b) {
					b[i] = ' '
					i++
				}
				if b[i] != '\n' {
					b[i] = ' '
				}
			}
		case c == '/' && i+1 < len(b) && b[i+1] == '/':
			for ; i < len(b) && b[i] != '\n'; i++ {
				b[i] = ' '
			}
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			for ; i+1 < len(b) && !(b[i] == '*' && b[i+1] == '/'); i++ {
				if b[i] != '\n' {
					b[i] = ' '
				}
			}
			if i+1 < len(b) {
				b[i], b[i+1] = ' ', ' '
			}
		}
	}
	return string(b)
}
