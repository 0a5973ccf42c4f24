package harness

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestESLint runs eslint (pinned in package.json) over the app's JS. It
// installs the packages with "npm ci" when node_modules is missing.
func TestESLint(t *testing.T) {
	dir := appDir(t)
	if _, err := exec.LookPath("npm"); err != nil {
		t.Fatal("npm is needed for the JS lint (apt-get install -y npm, or Node.js with npm)")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", "eslint")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	// Some npm packages carry Go files; a go.mod makes node_modules a
	// module of its own, outside "go test ./...".
	if err := os.WriteFile(filepath.Join(dir, "node_modules", "go.mod"), []byte("module luci-app-tamon/node_modules\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(dir, "node_modules", ".bin", "eslint"), "--max-warnings", "0", "htdocs")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("eslint htdocs: %v\n%s", err, out)
	}
}

// TestRPCDPlugin runs root/usr/libexec/rpcd/luci.tamon with stand-ins for
// uci and pidof on PATH and checks its answers; it must pass shellcheck.
func TestRPCDPlugin(t *testing.T) {
	plugin := filepath.Join(appDir(t), "root/usr/libexec/rpcd/luci.tamon")
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Fatal("shellcheck is needed (make setup installs it)")
	}
	if out, err := exec.Command("shellcheck", "-s", "sh", plugin).CombinedOutput(); err != nil {
		t.Errorf("shellcheck %s: %v\n%s", plugin, err, out)
	}
	tests := []struct {
		name    string
		uci     map[string]string
		running bool
		want    map[string]any
	}{
		{"defaults", map[string]string{}, false,
			map[string]any{"port": 8321.0, "tls": false, "tls_mode": "auto", "running": false, "enabled": true}},
		{"lan listen, auto with https", map[string]string{"tamon.api.listen": "lan:9000", "uhttpd.main.listen_https": "0.0.0.0:443"}, true,
			map[string]any{"port": 9000.0, "tls": true, "tls_mode": "auto", "running": true, "enabled": true}},
		{"ipv6 listen, tls off", map[string]string{"tamon.api.listen": "[::]:8443", "tamon.api.tls": "off", "uhttpd.main.listen_https": "0.0.0.0:443"}, true,
			map[string]any{"port": 8443.0, "tls": false, "tls_mode": "off", "running": true, "enabled": true}},
		{"tls on, disabled", map[string]string{"tamon.api.tls": "on", "tamon.main.enabled": "0"}, false,
			map[string]any{"port": 8321.0, "tls": true, "tls_mode": "on", "running": false, "enabled": false}},
		{"garbage", map[string]string{"tamon.api.listen": "lan:http", "tamon.api.tls": "maybe"}, false,
			map[string]any{"port": 8321.0, "tls": false, "tls_mode": "auto", "running": false, "enabled": true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bin := t.TempDir()
			var cases strings.Builder
			for k, v := range tc.uci {
				cases.WriteString("\t" + k + ") echo '" + v + "' ;;\n")
			}
			uci := "#!/bin/sh\n[ \"$1\" = -q ] && shift\n[ \"$1\" = get ] || exit 1\ncase \"$2\" in\n" + cases.String() + "\t*) exit 1 ;;\nesac\n"
			pidof := "#!/bin/sh\nexit 1\n"
			if tc.running {
				pidof = "#!/bin/sh\n[ \"$1\" = tamond ] && echo 1234\n"
			}
			os.WriteFile(filepath.Join(bin, "uci"), []byte(uci), 0o755)
			os.WriteFile(filepath.Join(bin, "pidof"), []byte(pidof), 0o755)
			run := func(args ...string) []byte {
				cmd := exec.Command("sh", append([]string{plugin}, args...)...)
				cmd.Env = append(os.Environ(), "PATH="+bin+":/usr/bin:/bin")
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("luci.tamon %v: %v", args, err)
				}
				return out
			}
			var sig map[string]any
			if err := json.Unmarshal(run("list"), &sig); err != nil || sig["info"] == nil {
				t.Errorf("list = %v (%v), want an info method", sig, err)
			}
			var got map[string]any
			if err := json.Unmarshal(run("call", "info"), &got); err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("info.%s = %v, want %v (all: %v)", k, got[k], v, got)
				}
			}
		})
	}
}
