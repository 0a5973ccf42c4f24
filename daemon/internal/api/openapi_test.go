package api

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// openAPIRoutes reads the "METHOD /path" pairs of docs/openapi.yaml: path
// keys two spaces deep under "paths:", methods four spaces deep.
func openAPIRoutes(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "..", "docs", "openapi.yaml"))
	if err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	defer f.Close()
	var out []string
	inPaths, path := false, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "paths:":
			inPaths = true
		case inPaths && line != "" && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "#"):
			inPaths = false
		case inPaths && strings.HasPrefix(line, "  /") && strings.HasSuffix(line, ":"):
			path = strings.TrimSuffix(strings.TrimSpace(line), ":")
		case inPaths && path != "" && len(line) > 4 && strings.HasPrefix(line, "    ") && line[4] != ' ':
			m := strings.TrimSuffix(strings.TrimSpace(line), ":")
			switch m {
			case "get", "put", "post", "delete", "patch", "head", "options":
				out = append(out, strings.ToUpper(m)+" "+path)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestOpenAPIRoutes: every route the server registers is in
// docs/openapi.yaml, and every path there is a route.
func TestOpenAPIRoutes(t *testing.T) {
	doc := openAPIRoutes(t)
	s := New(Options{})
	var reg []string
	for _, rt := range s.routes {
		reg = append(reg, rt.method+" "+rt.path)
	}
	sort.Strings(reg)
	if len(doc) < 20 {
		t.Fatalf("only %d routes read from docs/openapi.yaml: %v", len(doc), doc)
	}
	in := func(list []string, v string) bool {
		i := sort.SearchStrings(list, v)
		return i < len(list) && list[i] == v
	}
	for _, r := range reg {
		if !in(doc, r) {
			t.Errorf("route %s is not in docs/openapi.yaml", r)
		}
	}
	for _, r := range doc {
		if !in(reg, r) {
			t.Errorf("docs/openapi.yaml has %s, which the server does not register", r)
		}
	}
	// And every registered route answers (not the catch-all 404).
	for _, r := range reg {
		method, path, _ := strings.Cut(r, " ")
		req := httptestRequest(method, apiPrefix+strings.ReplaceAll(path, "{mac}", "aa:bb:cc:dd:ee:ff"))
		if _, pat := s.mux.Handler(req); pat != method+" "+apiPrefix+path {
			t.Errorf("%s is served by pattern %q", r, pat)
		}
	}
}

func httptestRequest(method, path string) *http.Request {
	return httptest.NewRequest(method, path, nil)
}
