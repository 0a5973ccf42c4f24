package appid

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzParse parses arbitrary features files. Parse must not panic; every
// error must name a line of the input; the good lines must give the same
// rules as a file of only those lines; and matching with the result must
// not panic and must return only payload signatures.
func FuzzParse(f *testing.F) {
	lib, err := os.ReadFile(filepath.Join(filepath.Dir(findUp(f, "go.mod")), "features.txt"))
	if err != nil {
		f.Fatal(err)
	}
	lines := strings.Split(string(lib), "\n")
	for i := 0; i < len(lines); i += 8 {
		f.Add(strings.Join(lines[i:min(i+8, len(lines))], "\n"))
	}
	for _, s := range []string{
		"QQ:[udp;;;;00:02|-1:03,tcp;;;;02:02|-1:03,tcp;;14000;;,tcp;;8080;;00:ca|01:3c]",
		"炉石传说:[tcp;;3724;;00:73:01:00:02:00]",
		"#class game 2 游戏\n2041 光遇:[udp;;10000-15000;;;00:8f|01:ff,tcp;;;ma75.update.netease.com;;]",
		"4001 淘宝:[tcp;;;taobao;;,,tcp;;;;;00:d4|01:00]\n10022 搜狗拼音:[tcp;;;pinyin.sogou.com;;]:5:1",
		"X:[udp;;!53|!5353|100-200;^a.b$;-1:ff;]",
		"9 S:[tcp;;443;;;00:16;sogou;1]",
		"A:[;;;;]\n:[x]\nB:[tcp;;;a b;]\n#class\n",
		"\ufeffA:[tcp;;;a;]\r\nB:[udp;;;b;]\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, errs := Parse("f", strings.NewReader(in))
		n := strings.Count(in, "\n") + 1
		bad := map[int]bool{}
		for _, e := range errs {
			if e.Line < 1 || e.Line > n || e.Path != "f" || e.Reason == "" {
				t.Fatalf("error %+v outside the %d lines of the input", e, n)
			}
			bad[e.Line] = true
		}
		if r.Len() > MaxRules {
			t.Fatalf("Len %d > %d", r.Len(), MaxRules)
		}
		// The same file without its bad lines parses without errors into
		// the same rules (when no line hit the size limits).
		if len(in) < 1<<16 && !strings.Contains(in, "\r") {
			src := strings.Split(in, "\n")
			for i := range src {
				if bad[i+1] {
					src[i] = ""
				}
			}
			r2, errs2 := Parse("f", strings.NewReader(strings.Join(src, "\n")))
			if len(errs2) != 0 || r2.Len() != r.Len() {
				t.Fatalf("without its bad lines: Len %d (was %d), errors %v", r2.Len(), r.Len(), errs2)
			}
		}
		payloads := [][]byte{nil, {0}, {0x13, 'B', 'i', 't'}, []byte(in)}
		host := in[:min(len(in), 512)]
		for _, p := range payloads {
			for _, proto := range []uint8{6, 17, 1} {
				hits := r.PayloadHits(nil, proto, 40000, 443, 1, p)
				for _, h := range hits {
					if int(h) >= r.Len() || !r.rules[h].hasPayload() {
						t.Fatalf("hit %d is not a payload signature", h)
					}
				}
				if len(slices.Compact(slices.Sorted(slices.Values(hits)))) != len(hits) {
					t.Fatalf("repeated hits %v", hits)
				}
				r.Match(proto, 40000, 443, host, hits)
				r.Match(proto, 40000, 443, "", hits)
			}
		}
	})
}
