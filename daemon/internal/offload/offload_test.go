package offload

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fw4Flowtable is "nft list flowtables" on an OpenWrt 23.05 router with
// software and hardware offloading on (fw4's ruleset).
const fw4Flowtable = `table inet fw4 {
	flowtable ft {
		hook ingress priority filter
		devices = { lan1, lan2, wan }
		flags offload
	}
}
`

// fw4SoftwareOnly is the same with software offloading only.
const fw4SoftwareOnly = `table inet fw4 {
	flowtable ft {
		hook ingress priority filter
		devices = { br-lan, eth1 }
	}
}
`

const firewallDefaults = `config defaults
	option syn_flood	1
	option input		REJECT
	option output		ACCEPT
	option forward		REJECT
%s
config zone
	option name		lan
	list   network		'lan'
	option input		ACCEPT
`

// fakeRoot makes a root folder holding files (path → content; a path
// ending in "/" is a folder).
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func firewall(opts ...string) string {
	var b strings.Builder
	for _, o := range opts {
		b.WriteString("\toption " + o + "\n")
	}
	return strings.Replace(firewallDefaults, "%s", b.String(), 1)
}

// fakeNft answers "nft list flowtables" with out (or err), and records calls.
type fakeNft struct {
	out   string
	err   error
	calls []string
}

func (f *fakeNft) run(path string, args ...string) ([]byte, error) {
	f.calls = append(f.calls, filepath.Base(path)+" "+strings.Join(args, " "))
	return []byte(f.out), f.err
}

func TestDetect(t *testing.T) {
	cases := []struct {
		name        string
		files       map[string]string
		nft         *fakeNft // nil: Detect gets a nil Runner
		sw, hw, hn  bool
		sources     []string // substrings, one per expected source, in order
		problems    []string // substrings, one per expected problem
		nftCalls    int
		adviceHas   []string
		adviceLacks []string
	}{
		{
			name:  "nothing",
			files: map[string]string{"etc/config/firewall": firewall()},
			nft:   &fakeNft{},
		},
		{
			name: "empty root",
			nft:  &fakeNft{},
		},
		{
			name:        "software offloading in fw4 UCI",
			files:       map[string]string{"etc/config/firewall": firewall("flow_offloading\t1")},
			nft:         &fakeNft{},
			sw:          true,
			sources:     []string{"@defaults[0].flow_offloading=1"},
			adviceHas:   []string{"Software flow offloading is on", "Network → Firewall", "flow_offloading='0'", "counted only at their start"},
			adviceLacks: []string{"Hardware flow offloading is on", "vendor"},
		},
		{
			name:      "software and hardware in UCI",
			files:     map[string]string{"etc/config/firewall": firewall("flow_offloading '1'", "flow_offloading_hw 'on'")},
			nft:       &fakeNft{},
			sw:        true,
			hw:        true,
			sources:   []string{"flow_offloading=1", "flow_offloading_hw=1"},
			adviceHas: []string{"Hardware flow offloading is on", "flow_offloading_hw='0'", "counted only at their start"},
		},
		{
			name:  "hardware option alone is ignored by fw4",
			files: map[string]string{"etc/config/firewall": firewall("flow_offloading '0'", "flow_offloading_hw '1'")},
			nft:   &fakeNft{},
		},
		{
			name: "second defaults section",
			files: map[string]string{"etc/config/firewall": firewall() +
				"\nconfig defaults\n\toption flow_offloading 'yes'\n"},
			nft:     &fakeNft{},
			sw:      true,
			sources: []string{"@defaults[1].flow_offloading=1"},
		},
		{
			name:     "bad boolean is a problem, not a finding",
			files:    map[string]string{"etc/config/firewall": firewall("flow_offloading 'maybe'")},
			nft:      &fakeNft{},
			problems: []string{"flow_offloading", "maybe"},
		},
		{
			name:     "broken firewall file",
			files:    map[string]string{"etc/config/firewall": "config defaults\n\toption flow_offloading '1\n"},
			nft:      &fakeNft{},
			problems: []string{"firewall"},
		},
		{
			name: "flowtable with offload flag from nft",
			files: map[string]string{
				"etc/config/firewall": firewall(),
				"usr/sbin/nft":        "#!/bin/false\n",
			},
			nft:       &fakeNft{out: fw4Flowtable},
			sw:        true,
			hw:        true,
			sources:   []string{"flowtable ft in table inet fw4 (flags offload)"},
			nftCalls:  1,
			adviceHas: []string{"Hardware flow offloading is on"},
		},
		{
			name: "software flowtable from nft in sbin",
			files: map[string]string{
				"sbin/nft": "#!/bin/false\n",
			},
			nft:      &fakeNft{out: fw4SoftwareOnly},
			sw:       true,
			sources:  []string{"flowtable ft in table inet fw4"},
			nftCalls: 1,
		},
		{
			name: "UCI and nft agree: both listed",
			files: map[string]string{
				"etc/config/firewall": firewall("flow_offloading 1"),
				"usr/sbin/nft":        "#!/bin/false\n",
			},
			nft:      &fakeNft{out: fw4SoftwareOnly},
			sw:       true,
			sources:  []string{"flow_offloading=1", "flowtable ft"},
			nftCalls: 1,
		},
		{
			name: "nft without flowtables",
			files: map[string]string{
				"usr/sbin/nft": "#!/bin/false\n",
			},
			nft:      &fakeNft{out: ""},
			nftCalls: 1,
		},
		{
			name:     "no nft binary: nft not run (fw3 router)",
			files:    map[string]string{"etc/config/firewall": firewall()},
			nft:      &fakeNft{out: fw4Flowtable},
			nftCalls: 0,
		},
		{
			name: "nft fails",
			files: map[string]string{
				"usr/sbin/nft": "#!/bin/false\n",
			},
			nft:      &fakeNft{err: errors.New("exit status 1: Operation not permitted")},
			problems: []string{"list nftables flowtables", "Operation not permitted"},
			nftCalls: 1,
		},
		{
			name: "nil runner skips nft",
			files: map[string]string{
				"etc/config/firewall": firewall("flow_offloading 1"),
				"usr/sbin/nft":        "#!/bin/false\n",
			},
			sw:      true,
			sources: []string{"flow_offloading=1"},
		},
		{
			name:        "MediaTek HNAT debugfs",
			files:       map[string]string{"sys/kernel/debug/hnat/": ""},
			nft:         &fakeNft{},
			hn:          true,
			sources:     []string{"MediaTek HNAT (debugfs)"},
			adviceHas:   []string{"vendor hardware NAT engine", "HNAT", "counted only at their start"},
			adviceLacks: []string{"Software flow offloading is on"},
		},
		{
			name:    "mtkhnat module and mtketh",
			files:   map[string]string{"sys/module/mtkhnat/": "", "proc/mtketh/": ""},
			nft:     &fakeNft{},
			hn:      true,
			sources: []string{"mtkhnat", "mtketh"},
		},
		{
			name:    "Qualcomm shortcut_fe",
			files:   map[string]string{"sys/module/shortcut_fe/": ""},
			nft:     &fakeNft{},
			hn:      true,
			sources: []string{"Shortcut Forwarding Engine"},
		},
		{
			name: "everything at once",
			files: map[string]string{
				"etc/config/firewall":     firewall("flow_offloading 1", "flow_offloading_hw 1"),
				"usr/sbin/nft":            "#!/bin/false\n",
				"sys/module/qca_nss_drv/": "",
			},
			nft:       &fakeNft{out: fw4Flowtable},
			sw:        true,
			hw:        true,
			hn:        true,
			sources:   []string{"flow_offloading=1", "flow_offloading_hw=1", "flags offload", "qca_nss_drv"},
			nftCalls:  1,
			adviceHas: []string{"Hardware flow offloading is on", "vendor hardware NAT engine"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := fakeRoot(t, c.files)
			var run Runner
			if c.nft != nil {
				run = c.nft.run
			}
			r := Detect(root, run)
			if r.Software != c.sw || r.Hardware != c.hw || r.VendorHNAT != c.hn {
				t.Errorf("Software %v Hardware %v VendorHNAT %v, want %v %v %v (sources %q, problems %q)",
					r.Software, r.Hardware, r.VendorHNAT, c.sw, c.hw, c.hn, r.Sources, r.Problems)
			}
			if r.Active() != (c.sw || c.hw || c.hn) {
				t.Errorf("Active() = %v", r.Active())
			}
			if len(r.Sources) != len(c.sources) {
				t.Fatalf("sources %q, want %d matching %q", r.Sources, len(c.sources), c.sources)
			}
			for i, want := range c.sources {
				if !strings.Contains(r.Sources[i], want) {
					t.Errorf("source %d = %q, want it to contain %q", i, r.Sources[i], want)
				}
				if !strings.HasPrefix(r.Sources[i], root) {
					t.Errorf("source %q does not name the file or command under the root", r.Sources[i])
				}
			}
			if (len(c.problems) == 0) != (len(r.Problems) == 0) {
				t.Fatalf("problems %q, want %q", r.Problems, c.problems)
			}
			all := strings.Join(r.Problems, "\n")
			for _, want := range c.problems {
				if !strings.Contains(all, want) {
					t.Errorf("problems %q do not mention %q", r.Problems, want)
				}
			}
			if c.nft != nil && len(c.nft.calls) != c.nftCalls {
				t.Errorf("nft run %d times (%q), want %d", len(c.nft.calls), c.nft.calls, c.nftCalls)
			}
			for _, call := range c.nft.callsOrNil() {
				if call != "nft list flowtables" {
					t.Errorf("ran %q, want \"nft list flowtables\"", call)
				}
			}
			if r.Active() == (r.Advice == "") {
				t.Errorf("Active %v but advice %q", r.Active(), r.Advice)
			}
			for _, want := range c.adviceHas {
				if !strings.Contains(r.Advice, want) {
					t.Errorf("advice does not say %q:\n%s", want, r.Advice)
				}
			}
			for _, no := range c.adviceLacks {
				if strings.Contains(r.Advice, no) {
					t.Errorf("advice should not say %q:\n%s", no, r.Advice)
				}
			}
		})
	}
}

func (f *fakeNft) callsOrNil() []string {
	if f == nil {
		return nil
	}
	return f.calls
}

func TestParseFlowtables(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []flowtable
	}{
		{"empty", "", nil},
		{"fw4 hardware", fw4Flowtable, []flowtable{{"inet", "fw4", "ft", true}}},
		{"fw4 software", fw4SoftwareOnly, []flowtable{{"inet", "fw4", "ft", false}}},
		{"default family", "table filter {\n\tflowtable f {\n\t\thook ingress priority 0\n\t}\n}\n",
			[]flowtable{{"ip", "filter", "f", false}}},
		{"two tables", fw4SoftwareOnly + "table ip6 x {\n\tflowtable y {\n\t\tflags offload,counter\n\t}\n\tflowtable z {\n\t}\n}\n",
			[]flowtable{{"inet", "fw4", "ft", false}, {"ip6", "x", "y", true}, {"ip6", "x", "z", false}}},
		{"flags outside a flowtable", "table inet t {\n\tflags offload\n\tflowtable a {\n\t}\n\tflags offload\n}\n",
			[]flowtable{{"inet", "t", "a", false}}},
		{"one-line flowtable with semicolons", "table inet t { flowtable a { hook ingress priority 0; flags offload; } }\n",
			nil}, // nft never prints this; the line starts with "table" and is taken as a table header only
		{"unclosed at end", "table inet t {\n\tflowtable a {\n\t\tflags offload\n",
			[]flowtable{{"inet", "t", "a", true}}},
		{"CRLF and blank lines", "table inet t {\r\n\r\n\tflowtable a {\r\n\t\tflags offload\r\n\t}\r\n}\r\n",
			[]flowtable{{"inet", "t", "a", true}}},
		{"error text", "Error: Could not process rule: Operation not permitted\n", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := parseFlowtables([]byte(c.in))
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestExec(t *testing.T) {
	out, err := Exec("/bin/sh", "-c", "echo flowtable; echo noise >&2")
	if err != nil || string(out) != "flowtable\n" {
		t.Errorf("Exec = %q, %v; want \"flowtable\\n\", nil", out, err)
	}
	_, err = Exec("/bin/sh", "-c", "echo 'Operation not permitted' >&2; exit 1")
	if err == nil || !strings.Contains(err.Error(), "Operation not permitted") || !strings.Contains(err.Error(), "/bin/sh") {
		t.Errorf("Exec of a failing command: error %v, want one naming the command and quoting stderr", err)
	}
	_, err = Exec(filepath.Join(t.TempDir(), "no-such-nft"), "list", "flowtables")
	if err == nil || !strings.Contains(err.Error(), "no-such-nft") {
		t.Errorf("Exec of a missing program: error %v", err)
	}
}

// TestDetectRealExec runs Detect with Exec against a fake root whose nft is
// a shell script, the way tamond runs it on the router.
func TestDetectRealExec(t *testing.T) {
	root := fakeRoot(t, map[string]string{
		"usr/sbin/nft": "#!/bin/sh\n[ \"$1 $2\" = 'list flowtables' ] || exit 2\ncat <<'X'\n" + fw4Flowtable + "X\n",
	})
	r := Detect(root, Exec)
	if !r.Software || !r.Hardware || len(r.Problems) > 0 {
		t.Errorf("Detect with Exec: %+v", r)
	}
}

func FuzzParseFlowtables(f *testing.F) {
	f.Add([]byte(fw4Flowtable))
	f.Add([]byte(fw4SoftwareOnly))
	f.Add([]byte("table t {\nflowtable {\n}\nflowtable x\nflags offload\n"))
	f.Add([]byte("flowtable a {\n\tflags offload\n}\n"))
	f.Add([]byte("}\n}\ntable\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		fts := parseFlowtables(in)
		if len(fts) > strings.Count(string(in), "flowtable") {
			t.Fatalf("%d flowtables from %d occurrences of the word", len(fts), strings.Count(string(in), "flowtable"))
		}
		for _, ft := range fts {
			if ft.name == "" || ft.name == "{" {
				t.Fatalf("flowtable with no name: %+v", ft)
			}
			if ft.offload && !strings.Contains(string(in), "offload") {
				t.Fatalf("offload flag without the word: %+v", ft)
			}
		}
	})
}

func BenchmarkParseFlowtables(b *testing.B) {
	in := []byte(strings.Repeat(fw4Flowtable, 4))
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if len(parseFlowtables(in)) != 4 {
			b.Fatal("wrong count")
		}
	}
}

func BenchmarkDetect(b *testing.B) {
	root := b.TempDir()
	os.MkdirAll(filepath.Join(root, "etc/config"), 0o755)
	os.WriteFile(filepath.Join(root, FirewallFile), []byte(firewall("flow_offloading 1")), 0o644)
	b.ReportAllocs()
	for b.Loop() {
		if !Detect(root, nil).Software {
			b.Fatal("not detected")
		}
	}
}
