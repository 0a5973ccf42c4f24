package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
)

// MenuNode is one node of a LuCI menu.d file.
type MenuNode struct {
	Path   string `json:"-"`
	Title  string `json:"title"`
	Order  int    `json:"order"`
	Action struct {
		Type string `json:"type"`
		Path string `json:"path"`
	} `json:"action"`
	Depends struct {
		ACL []string        `json:"acl"`
		UCI map[string]bool `json:"uci"`
	} `json:"depends"`
}

// Menu is a parsed menu.d file, keyed by node path ("admin/status/tamon").
type Menu map[string]*MenuNode

// LoadMenu reads a menu.d JSON file. Unknown action types and view nodes
// without a view path are errors.
func LoadMenu(file string) (Menu, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var m Menu
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("menu %s: %w", file, err)
	}
	for p, n := range m {
		if n == nil {
			return nil, fmt.Errorf("menu %s: node %q is null", file, p)
		}
		n.Path = p
		switch n.Action.Type {
		case "firstchild", "alias":
		case "view":
			if n.Action.Path == "" {
				return nil, fmt.Errorf("menu %s: view node %q has no action.path", file, p)
			}
		default:
			return nil, fmt.Errorf("menu %s: node %q: action type %q is not supported", file, p, n.Action.Type)
		}
	}
	return m, nil
}

// Children returns the titled children of p, by order then path: the tabs
// LuCI's theme shows.
func (m Menu) Children(p string) []*MenuNode {
	var out []*MenuNode
	for k, n := range m {
		if path.Dir(k) == p && n.Title != "" {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Order != out[j].Order {
			return out[i].Order < out[j].Order
		}
		return out[i].Path < out[j].Path
	})
	return out
}

// Resolve follows firstchild actions from p to a view node.
func (m Menu) Resolve(p string) (*MenuNode, bool) {
	p = strings.Trim(p, "/")
	for range 8 {
		n, ok := m[p]
		if !ok {
			return nil, false
		}
		if n.Action.Type == "view" {
			return n, true
		}
		ch := m.Children(p)
		if len(ch) == 0 {
			return nil, false
		}
		p = ch[0].Path
	}
	return nil, false
}

// Roots returns the top nodes of the app (nodes whose parent is not in m).
func (m Menu) Roots() []*MenuNode {
	var out []*MenuNode
	for k, n := range m {
		if _, ok := m[path.Dir(k)]; !ok {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
