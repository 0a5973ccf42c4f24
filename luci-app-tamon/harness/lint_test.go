package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShimCoversViews fails when a view uses a LuCI module or member that
// the shim lacks.
func TestShimCoversViews(t *testing.T) {
	dir := appDir(t)
	problems, err := LintApp(dir, filepath.Join(dir, "harness", "shim"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestLintCatches runs the lint on small views, good and bad, against the
// real shim.
func TestLintCatches(t *testing.T) {
	dir := appDir(t)
	sm, err := loadShim(filepath.Join(dir, "harness", "shim"))
	if err != nil {
		t.Fatal(err)
	}
	res := filepath.Join(dir, "htdocs/luci-static/resources")
	tests := []struct {
		name, src string
		want      string // substring of the one problem; "" for none
	}{
		{"good", "'use strict';\n'require view';\n'require ui';\nreturn view.extend({ render() { ui.addNotification(null, E('p', {}, [_('x')])); poll; } });", ""},
		{"unknown module", "'use strict';\n'require network';\nreturn null;", `requires module "network"`},
		{"app module", "'use strict';\n'require tamon.api as api';\nreturn api.bytes(1);", ""},
		{"dotted without as", "'use strict';\n'require tamon.api';\n", "want 'require NAME'"},
		{"missing member", "'use strict';\n'require ui';\nui.showIndicator('x');", "ui.showIndicator"},
		{"missing L member", "'use strict';\nL.hasSystemFeature('x');", "L.hasSystemFeature"},
		{"form property", "'use strict';\n'require form';\nlet o; o.retain = true; o.widget = 'select';", "o.widget"},
		{"form class", "'use strict';\n'require form';\nnew form.GridSection();", "form.GridSection"},
		{"comment ignored", "'use strict';\n'require ui';\n// ui.nothing()\nui.hideModal();", ""},
		{"string ignored", "'use strict';\n'require ui';\nconst s = 'ui.nothing()';", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := lintFile("t.js", tc.src, res, sm)
			switch {
			case tc.want == "" && len(got) > 0:
				t.Errorf("unexpected problems: %q", got)
			case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0], tc.want)):
				t.Errorf("problems %q, want one containing %q", got, tc.want)
			}
		})
	}
}

func TestRequires(t *testing.T) {
	src := "/* header */\n'use strict';\n'require view';\n\"require tamon.chart as chart\";\n'require rpc';\n\nconst x = 'require ui';\n"
	got, err := Requires(src)
	if err != nil {
		t.Fatal(err)
	}
	want := []Require{{"view", "view"}, {"tamon.chart", "chart"}, {"rpc", "rpc"}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("require %d = %v, want %v", i, got[i], want[i])
		}
	}
}

// TestShimFilesAreEmbedded checks that the built-in copy of the shim is the
// one on disk.
func TestShimFilesAreEmbedded(t *testing.T) {
	dir := filepath.Join(appDir(t), "harness", "shim")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		disk, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		emb, err := shimFS.ReadFile("shim/" + e.Name())
		if err != nil || string(disk) != string(emb) {
			t.Errorf("embedded shim/%s differs from the file", e.Name())
		}
	}
}
