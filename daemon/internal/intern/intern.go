// Package intern keeps one private copy of strings that repeat (host
// names, app names), so that long-lived tables neither allocate a new copy
// for every occurrence nor keep alive the large buffers that the engine's
// records are carved from.
//
// A Table is not safe for concurrent use.
package intern

import "strings"

// Table is a bounded set of strings: when it holds Max strings it starts
// afresh (strings handed out stay valid: they are ordinary strings).
type Table struct {
	m   map[string]string
	Max int
}

// String returns a private copy of s, the same copy for equal strings.
func (t *Table) String(s string) string {
	if s == "" {
		return ""
	}
	if c, ok := t.m[s]; ok {
		return c
	}
	if t.m == nil || (t.Max > 0 && len(t.m) >= t.Max) {
		t.m = make(map[string]string, 256)
	}
	c := strings.Clone(s)
	t.m[c] = c
	return c
}

// Len returns the number of strings held.
func (t *Table) Len() int { return len(t.m) }
