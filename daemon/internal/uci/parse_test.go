package uci

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Helpers that build expected trees.

func opt(name string, line int, v string) *Option {
	return &Option{Name: name, Values: []string{v}, Line: line}
}

func lst(name string, line int, vs ...string) *Option {
	return &Option{Name: name, Values: vs, IsList: true, Line: line}
}

func sec(typ, name string, line int, opts ...*Option) *Section {
	return &Section{Type: typ, Name: name, Anonymous: name == "", Line: line, Options: opts}
}

// file builds the expected tree for testdata/NAME, filling in Index and the
// unexported path.
func file(name string, secs ...*Section) *File {
	f := &File{Name: name, Path: filepath.Join("testdata", name), Sections: secs}
	for i, s := range secs {
		s.Index = i
		s.path = f.Path
	}
	return f
}

// dump renders a tree for readable failure messages.
func dump(f *File) string {
	var b strings.Builder
	fmt.Fprintf(&b, "file %q path %q\n", f.Name, f.Path)
	for _, s := range f.Sections {
		fmt.Fprintf(&b, "  [%d] line %d config %q %q anon=%v\n", s.Index, s.Line, s.Type, s.Name, s.Anonymous)
		for _, o := range s.Options {
			fmt.Fprintf(&b, "      line %d %q list=%v %q\n", o.Line, o.Name, o.IsList, o.Values)
		}
	}
	return b.String()
}

func TestFixtures(t *testing.T) {
	tests := []struct {
		name string
		want *File
	}{
		{name: "network", want: file("network",
			sec("interface", "loopback", 2,
				opt("device", 3, "lo"),
				opt("proto", 4, "static"),
				opt("ipaddr", 5, "127.0.0.1"),
				opt("netmask", 6, "255.0.0.0"),
			),
			sec("globals", "globals", 8,
				opt("ula_prefix", 9, "fd3c:9a41:7e20::/48"),
				opt("packet_steering", 10, "1"),
			),
			sec("device", "", 12,
				opt("name", 13, "br-lan"),
				opt("type", 14, "bridge"),
				lst("ports", 18, "lan1", "lan2", "lan3", "lan4"),
			),
			sec("interface", "lan", 20,
				opt("device", 21, "br-lan"),
				opt("proto", 22, "static"),
				opt("ipaddr", 23, "192.168.1.1"),
				opt("netmask", 24, "255.255.255.0"),
				opt("ip6assign", 25, "60"),
			),
			sec("device", "", 27,
				opt("name", 28, "wan"),
				opt("macaddr", 29, "a4:83:e7:00:00:02"),
			),
			sec("interface", "wan", 31,
				opt("device", 32, "wan"),
				opt("proto", 33, "dhcp"),
			),
			sec("interface", "wan6", 35,
				opt("device", 36, "wan"),
				opt("proto", 37, "dhcpv6"),
			),
		)},
		{name: "firewall", want: file("firewall",
			sec("defaults", "", 1,
				opt("syn_flood", 2, "1"),
				opt("input", 3, "REJECT"),
				opt("output", 4, "ACCEPT"),
				opt("forward", 5, "REJECT"),
			),
			sec("zone", "", 9,
				opt("name", 10, "lan"),
				lst("network", 11, "lan"),
				opt("input", 12, "ACCEPT"),
				opt("output", 13, "ACCEPT"),
				opt("forward", 14, "ACCEPT"),
			),
			sec("zone", "", 16,
				opt("name", 17, "wan"),
				lst("network", 19, "wan", "wan6"),
				opt("input", 20, "REJECT"),
				opt("output", 21, "ACCEPT"),
				opt("forward", 22, "REJECT"),
				opt("masq", 23, "1"),
				opt("mtu_fix", 24, "1"),
			),
			sec("forwarding", "", 26,
				opt("src", 27, "lan"),
				opt("dest", 28, "wan"),
			),
			sec("rule", "", 32,
				opt("name", 33, "Allow-DHCP-Renew"),
				opt("src", 34, "wan"),
				opt("proto", 35, "udp"),
				opt("dest_port", 36, "68"),
				opt("target", 37, "ACCEPT"),
				opt("family", 38, "ipv4"),
			),
			sec("rule", "", 41,
				opt("name", 42, "Allow-Ping"),
				opt("src", 43, "wan"),
				opt("proto", 44, "icmp"),
				opt("icmp_type", 45, "echo-request"),
				opt("family", 46, "ipv4"),
				opt("target", 47, "ACCEPT"),
			),
			sec("rule", "", 49,
				opt("name", 50, "Allow-IGMP"),
				opt("src", 51, "wan"),
				opt("proto", 52, "igmp"),
				opt("family", 53, "ipv4"),
				opt("target", 54, "ACCEPT"),
			),
			sec("rule", "", 57,
				opt("name", 58, "Allow-ICMPv6-Input"),
				opt("src", 59, "wan"),
				opt("proto", 60, "icmp"),
				lst("icmp_type", 71, "echo-request", "echo-reply", "destination-unreachable", "packet-too-big", "time-exceeded", "bad-header", "unknown-header-type", "router-solicitation", "neighbour-solicitation", "router-advertisement", "neighbour-advertisement"),
				opt("limit", 72, "1000/sec"),
				opt("family", 73, "ipv6"),
				opt("target", 74, "ACCEPT"),
			),
			sec("rule", "", 76,
				opt("name", 77, "Block guest to LAN"),
				opt("src", 78, "lan"),
				lst("src_ip", 80, "192.168.1.128/25", "fd3c:9a41:7e20::80/121"),
				opt("dest", 81, "wan"),
				lst("proto", 83, "tcp", "udp"),
				opt("dest_port", 84, "25 465 587"),
				opt("target", 85, "REJECT"),
			),
			sec("redirect", "", 87,
				opt("name", 88, "NAS web"),
				opt("src", 89, "wan"),
				opt("src_dport", 90, "8443"),
				opt("dest", 91, "lan"),
				opt("dest_ip", 92, "192.168.1.10"),
				opt("dest_port", 93, "443"),
				opt("proto", 94, "tcp"),
				opt("target", 95, "DNAT"),
			),
			sec("include", "", 97,
				opt("path", 98, "/etc/firewall.user"),
			),
		)},
		{name: "dhcp", want: file("dhcp",
			sec("dnsmasq", "", 2,
				opt("domainneeded", 3, "1"),
				opt("boguspriv", 4, "1"),
				opt("localise_queries", 5, "1"),
				opt("rebind_protection", 6, "1"),
				opt("rebind_localhost", 7, "1"),
				opt("local", 8, "/lan/"),
				opt("domain", 9, "lan"),
				opt("expandhosts", 10, "1"),
				opt("authoritative", 11, "1"),
				opt("readethers", 12, "1"),
				opt("leasefile", 13, "/tmp/dhcp.leases"),
				opt("resolvfile", 14, "/tmp/resolv.conf.d/resolv.conf.auto"),
				opt("localservice", 15, "1"),
				opt("ednspacket_max", 16, "1232"),
				lst("server", 19, "1.1.1.1", "9.9.9.9", "/corp.example/10.0.0.53"),
			),
			sec("dhcp", "lan", 21,
				opt("interface", 22, "lan"),
				opt("start", 23, "100"),
				opt("limit", 24, "150"),
				opt("leasetime", 25, "12h"),
				opt("dhcpv4", 26, "server"),
				opt("dhcpv6", 27, "server"),
				opt("ra", 28, "server"),
				lst("ra_flags", 30, "managed-config", "other-config"),
			),
			sec("dhcp", "wan", 32,
				opt("interface", 33, "wan"),
				opt("ignore", 34, "1"),
			),
			sec("odhcpd", "odhcpd", 36,
				opt("maindhcp", 37, "0"),
				opt("leasefile", 38, "/tmp/hosts/odhcpd"),
				opt("leasetrigger", 39, "/usr/sbin/odhcpd-update"),
				opt("loglevel", 40, "4"),
			),
			sec("host", "", 42,
				opt("name", 43, "nas"),
				opt("mac", 44, "00:11:32:aa:bb:cc"),
				opt("ip", 45, "192.168.1.10"),
				opt("dns", 46, "1"),
			),
			sec("host", "", 48,
				opt("name", 49, "printer"),
				lst("mac", 51, "f4:81:39:00:00:01", "f4:81:39:00:00:02"),
				opt("ip", 52, "192.168.1.11"),
				opt("leasetime", 53, "infinite"),
			),
		)},
		{name: "system", want: file("system",
			sec("system", "", 2,
				opt("hostname", 3, "OpenWrt"),
				opt("timezone", 4, "CST-8"),
				opt("zonename", 5, "Asia/Shanghai"),
				opt("ttylogin", 6, "0"),
				opt("log_size", 7, "64"),
				opt("urandom_seed", 8, "0"),
			),
			sec("timeserver", "ntp", 10,
				opt("enabled", 11, "1"),
				opt("enable_server", 12, "0"),
				lst("server", 16, "0.openwrt.pool.ntp.org", "1.openwrt.pool.ntp.org", "2.openwrt.pool.ntp.org", "3.openwrt.pool.ntp.org"),
			),
			sec("led", "led_wan", 18,
				opt("name", 19, "WAN"),
				opt("sysfs", 20, "green:wan"),
				opt("trigger", 21, "netdev"),
				opt("dev", 22, "wan"),
				lst("mode", 25, "link", "tx", "rx"),
			),
		)},
		{name: "tamon", want: file("tamon",
			sec("tamon", "main", 3,
				opt("enabled", 4, "1"),
				opt("interface", 5, "br-lan"),
				opt("tcp_timeout", 6, "300"),
				opt("udp_timeout", 7, "60"),
				opt("app_timeout", 8, "600"),
			),
			sec("storage", "storage", 10,
				opt("path", 11, "/var/lib/tamon"),
				opt("retention_days", 12, "30"),
				opt("max_size_mb", 13, "16"),
			),
			sec("api", "api", 15,
				opt("listen", 16, "0.0.0.0"),
				opt("port", 17, "8443"),
				opt("tls", 18, "1"),
			),
			sec("alias", "", 20,
				opt("mac", 21, "a4:83:e7:12:34:56"),
				opt("name", 22, "Dad's laptop"),
			),
			sec("alias", "", 24,
				opt("mac", 25, "3c:22:fb:ab:cd:ef"),
				opt("name", 26, "儿子的平板"),
			),
		)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseFile(filepath.Join("testdata", tc.name))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parsed tree differs\ngot:\n%s\nwant:\n%s", dump(got), dump(tc.want))
			}
		})
	}
}

// TestFixtureAccess exercises the lookup and typed helpers the daemon uses
// on the fixtures.
func TestFixtureAccess(t *testing.T) {
	f, err := ParseFile("testdata/tamon")
	if err != nil {
		t.Fatal(err)
	}
	main := f.Section("main")
	if main == nil || main.Type != "tamon" {
		t.Fatalf("Section(main) = %+v", main)
	}
	if got := main.String("interface", "eth0"); got != "br-lan" {
		t.Errorf("interface = %q", got)
	}
	if got := main.String("missing", "dflt"); got != "dflt" {
		t.Errorf("missing = %q", got)
	}
	for name, want := range map[string]int{"tcp_timeout": 300, "udp_timeout": 60, "app_timeout": 600, "nope": -1} {
		if got, err := main.Int(name, -1); err != nil || got != want {
			t.Errorf("Int(%s) = %d, %v; want %d", name, got, err, want)
		}
	}
	if on, err := main.Bool("enabled", false); err != nil || !on {
		t.Errorf("Bool(enabled) = %v, %v", on, err)
	}
	if s, ok := f.Lookup("storage"); !ok || s.String("path", "") != "/var/lib/tamon" {
		t.Errorf("Lookup(storage) = %+v, %v", s, ok)
	}
	aliases := f.ByType("alias")
	if len(aliases) != 2 {
		t.Fatalf("ByType(alias) = %d sections", len(aliases))
	}
	for ref, want := range map[string]*Section{
		"@alias[0]":  aliases[0],
		"@alias[1]":  aliases[1],
		"@alias[-1]": aliases[1],
		"@alias[-2]": aliases[0],
		"@tamon[0]":  main,
		"@[3]":       aliases[0],
		"@[-1]":      aliases[1],
		"cfg044d8f":  aliases[0], // names libuci generates (checked against libuci)
		"cfg054d8f":  aliases[1],
		"main":       main,
	} {
		if got, ok := f.Lookup(ref); !ok || got != want {
			t.Errorf("Lookup(%q) = %+v, %v; want section %d", ref, got, ok, want.Index)
		}
	}
	for _, ref := range []string{"", "@alias[2]", "@alias[-3]", "@alias", "@alias[x]", "@alias[]", "@alias[0]x", "@alias[0]]", "@al ias[0]", "@none[0]", "nope", "cfg064d8f"} {
		if got, ok := f.Lookup(ref); ok {
			t.Errorf("Lookup(%q) = section %d, want none", ref, got.Index)
		}
	}
	if got := aliases[1].String("name", ""); got != "儿子的平板" {
		t.Errorf("alias name = %q", got)
	}
	if got := aliases[0].ID(); got != "cfg044d8f" {
		t.Errorf("ID = %q", got)
	}
	if got := main.ID(); got != "main" {
		t.Errorf("ID = %q", got)
	}

	fw, err := ParseFile("testdata/firewall")
	if err != nil {
		t.Fatal(err)
	}
	if got := fw.ByType("rule"); len(got) != 5 {
		t.Errorf("firewall rules = %d", len(got))
	}
	if got := fw.ByType("nope"); got != nil {
		t.Errorf("ByType(nope) = %v", got)
	}
	block, _ := fw.Lookup("@rule[-1]")
	if got := block.List("dest_port"); !reflect.DeepEqual(got, []string{"25", "465", "587"}) {
		t.Errorf("List(dest_port) = %q", got)
	}
	if got := block.List("proto"); !reflect.DeepEqual(got, []string{"tcp", "udp"}) {
		t.Errorf("List(proto) = %q", got)
	}
	if got := block.String("proto", ""); got != "tcp udp" {
		t.Errorf("String(proto) = %q", got)
	}
	if got := block.List("missing"); got != nil {
		t.Errorf("List(missing) = %q", got)
	}
	if got, _ := block.Int("dest_port", 0); got != 0 {
		t.Errorf("Int on a list of words = %d", got)
	}
	if o, ok := block.Get("src_ip"); !ok || o.String() != "192.168.1.128/25 fd3c:9a41:7e20::80/121" || !o.IsList {
		t.Errorf("Get(src_ip) = %+v", o)
	}
	if _, ok := block.Get("nope"); ok {
		t.Error("Get(nope) found something")
	}
	if fw.Section("") != nil || fw.Section("nope") != nil {
		t.Error("Section found an unnamed section")
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"option before config", "# c\noption a 'b'\n", "t:2: option outside of a section"},
		{"list before config", "list a 'b'\n", "t:1: list outside of a section"},
		{"unterminated single", "config a\n\toption x 'abc\n\n\toption y z\n", "t:2: EOF with unterminated '"},
		{"unterminated double", "config a\n\toption x \"abc\\\"\n", "t:2: EOF with unterminated \""},
		{"backslash before EOF in double", "config a\n\toption x \"abc\\", "t:2: EOF with unterminated \""},
		{"too many option args", "config a\n\toption x 'y' z\n", "t:2: too many arguments"},
		{"too many config args", "config a b c\n", "t:1: too many arguments"},
		{"too many package args", "package a b\n", "t:1: too many arguments"},
		{"value then comment-less junk", "config a\n\tlist x y'z' w\n", "t:2: too many arguments"},
		{"bad option name", "config a\n\toption my-opt 1\n", `t:2: invalid character in name field "my-opt"`},
		{"bad list name", "config a\n\tlist 'a.b' 1\n", `t:2: invalid character in name field "a.b"`},
		{"bad section name", "config a 'my-sec'\n", `t:1: invalid character in name field "my-sec"`},
		{"bad type", "config 'my type'\n", `t:1: invalid character in type field "my type"`},
		{"non-ASCII type", "config 'é'\n", `t:1: invalid character in type field "é"`},
		{"bad package name", "package x.y\n", `t:1: invalid character in name field "x.y"`},
		{"unknown command", "config a\n\tconf x y\n", `t:2: invalid command "conf"`},
		{"keyword glued to newline", "config a\nconfig\n", `t:2: invalid command "config\n"`},
		{"quoted keyword", "'config' a\n", `t:1: invalid command "'config'"`},
		{"config at EOF", "config", "t:1: config without name"},
		{"option at EOF", "config a\noption", "t:2: option without name"},
		{"package at EOF", "package", "t:1: package without name"},
		{"config without type", "config ''\n", "t:1: insufficient arguments"},
		{"option without name", "config a\noption \n", "t:2: insufficient arguments"},
		{"option name is ;", "config a\noption ;\n", "t:2: insufficient arguments"},
		{"type clash", "config a 'x'\nconfig b 'x'\n", `t:2: section of different type overwrites prior section with same name "x"`},
		{"type clash with generated name", "config a\nconfig b 'cfg01b606'\n", `t:2: section of different type overwrites prior section with same name "cfg01b606"`},
		{"semicolon at end of line", "config a\n\toption b 'c';\n", `t:2: invalid command "\n"`},
		{"config;", "config 'a';option b c\n", "t:1: too many arguments"},
		{"continuation before blank", "config a\n\toption b \\\n\t\t'c'\n", "t:3: too many arguments"},
		{"error after multi-line value", "config a\n\toption b 'x\ny' z\n", "t:3: too many arguments"},
		{"error after first error is not reached", "config a\n\tbogus\n\tbogus2\n", `t:2: invalid command "bogus\n"`},
		{"NUL byte", "config a\n\toption b 'x\x00'\n", "t:2: NUL byte in input"},
		{"CRLF keyword", "config a\r\nconfig\r\n", `t:2: invalid command "config\r\n"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("t", strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("no error; parsed:\n%s", dump(f))
			}
			if f != nil {
				t.Errorf("got a File with the error")
			}
			if err.Error() != tc.want {
				t.Errorf("error %q\nwant  %q", err, tc.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Path != "t" || pe.Line < 1 || pe.Col < 1 {
				t.Errorf("error %#v is not a complete *ParseError", err)
			}
		})
	}
}

func TestErrorColumn(t *testing.T) {
	for _, tc := range []struct {
		in        string
		line, col int
	}{
		{"config a\n\toption x 'y' z\n", 2, 15},
		{"config a\n  option x 'abc\n", 2, 12},
		{"config a\n\tfoo\n", 2, 2},
		{"config a\nb\x00", 2, 2},
		{"config a 'b-c'\n", 1, 10},
		{"config a\n\toption x 'y\nz' w\n", 3, 4},
		{"config a\n\toption 'x\ny' w\n", 3, 4}, // bad name spans lines: libuci's line, where the parser stopped
	} {
		_, err := Parse("t", strings.NewReader(tc.in))
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != tc.line || pe.Col != tc.col {
			t.Errorf("Parse(%q) = %#v; want line %d col %d", tc.in, err, tc.line, tc.col)
		}
	}
}

// TestQuoting parses "config t 's'\n" + in and checks options of section s.
// A nil value in want means the option must be absent.
func TestQuoting(t *testing.T) {
	type want map[string][]string
	tests := []struct {
		name string
		in   string
		want want
	}{
		{"unquoted", "option v abc\n", want{"v": {"abc"}}},
		{"single", "option v 'a b'\n", want{"v": {"a b"}}},
		{"double", "option v \"a b\"\n", want{"v": {"a b"}}},
		{"concatenation", "option v 'x'\"y\"z\n", want{"v": {"xyz"}}},
		{"quote in single via concatenation", "option v 'it'\\''s'\n", want{"v": {"it's"}}},
		{"double escapes", `option v "a\"b\\c\n\'"` + "\n", want{"v": {`a"b\cn'`}}},
		{"single has no escapes", `option v 'a\nb\'` + "\n", want{"v": {`a\nb\`}}},
		{"unquoted escapes", `option v a\ b\#c\;d\'` + "\n", want{"v": {"a b#c;d'"}}},
		{"hash in single", "option v 'a#b'\n", want{"v": {"a#b"}}},
		{"hash in double", "option v \"a#b\"\n", want{"v": {"a#b"}}},
		{"semicolon in quotes", "option v 'a;b'\n", want{"v": {"a;b"}}},
		{"comment after value", "option v 'x' # a comment 'unterminated\n", want{"v": {"x"}}},
		{"comment glued to value", "option v x#y z\n", want{"v": {"x"}}},
		{"comment glued to quote", "option v 'x'#y\n", want{"v": {"x"}}},
		{"comment replaces value", "option v #x\noption w y\n", want{"v": nil, "w": {"y"}}},
		{"comment lines", "# one\n  # two\n\t#three\noption v x\n", want{"v": {"x"}}},
		{"blank lines", "\n\n   \n\t\noption v x\n\n", want{"v": {"x"}}},
		{"continuation joins quoted parts", "option v 'abc'\\\n'def'\n", want{"v": {"abcdef"}}},
		{"continuation joins unquoted parts", "option v abc\\\ndef\n", want{"v": {"abcdef"}}},
		{"continuation after keyword", "option \\\nv x\n", want{"v": {"x"}}},
		{"continuation in double", "option v \"ab\\\ncd\"\n", want{"v": {"abcd"}}},
		{"continuation after value", "option v x \\\n\toption w y\n", want{"v": {"x"}, "w": {"y"}}},
		{"continuation at EOF", "option v x\\", want{"v": {"x"}}},
		{"backslash in single does not continue", "option v 'a\\\nb'\n", want{"v": {"a\\\nb"}}},
		{"multi-line single", "option v 'a\nb'\n", want{"v": {"a\nb"}}},
		{"multi-line double", "option v \"a\n\nb\"\n", want{"v": {"a\n\nb"}}},
		{"tabs", "\toption\tv\t'x'\t\n", want{"v": {"x"}}},
		{"vertical tab and form feed separate arguments", "option v\v'x'\f\n", want{"v": {"x"}}},
		{"CRLF", "\toption v 'x'\r\n\toption w y\r\n\r\n", want{"v": {"x"}, "w": {"y"}}},
		{"CRLF continuation", "option v 'a'\\\r\n'b'\r\n", want{"v": {"ab"}}},
		{"CRLF multi-line", "option v 'a\r\nb'\r\n", want{"v": {"a\r\nb"}}},
		{"escaped CR", "option v a\\\rb\n", want{"v": {"a\rb"}}},
		{"no final newline", "option v 'x'", want{"v": {"x"}}},
		{"semicolons", "option v 'x' ; option w 'y';list l 'a'; list l b\n", want{"v": {"x"}, "w": {"y"}, "l": {"a", "b"}}},
		{"semicolon after unquoted drops the rest (libuci)", "option v x;option w y\n", want{"v": {"x"}, "w": nil}},
		{"semicolon then comment", "option v 'x'; # c\n", want{"v": {"x"}}},
		{"abbreviated keywords", "o v x\nl w y\nl w z\n", want{"v": {"x"}, "w": {"y", "z"}}},
		{"package is ignored", "package other\noption v x\n", want{"v": {"x"}}},
		{"UTF-8 unquoted", "option v 儿子的平板\n", want{"v": {"儿子的平板"}}},
		{"control bytes in values", "option v 'a\x01\x7fb'\n", want{"v": {"a\x01\x7fb"}}},
		{"empty option ignored", "option v ''\n", want{"v": nil}},
		{"bare option ignored", "option v\n", want{"v": nil}},
		{"empty option keeps value", "option v 'x'\noption v \"\"\n", want{"v": {"x"}}},
		{"last option wins", "option v a\noption v b\n", want{"v": {"b"}}},
		{"empty list item kept", "list v ''\nlist v\n", want{"v": {"", ""}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("t", strings.NewReader("config t 's'\n"+tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Sections) != 1 {
				t.Fatalf("sections:\n%s", dump(f))
			}
			s := f.Sections[0]
			for name, vals := range tc.want {
				o, ok := s.Get(name)
				if vals == nil {
					if ok {
						t.Errorf("option %s = %q, want absent", name, o.Values)
					}
					continue
				}
				if !ok || !reflect.DeepEqual(o.Values, vals) {
					t.Errorf("option %s: got\n%s\nwant %q", name, dump(f), vals)
				}
			}
		})
	}
}

// TestSemantics covers libuci's rules for repeated definitions.
func TestSemantics(t *testing.T) {
	in := `config zone 'lan'
	option name lan
	list network a
	option mtu 1500

config rule
	option name r1

config zone 'lan'
	list network b
	option name LAN
	option input ACCEPT

config zone 'x'
	option net a
	list net b
	list net c
	option mtu 1400
	list opt o1
	option opt o2
	option mtu 1500
	option mtu ''

config rule 'cfg0292bd'
	option dest wan

config zone
`
	f, err := Parse("/etc/config/firewall", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := &File{Name: "firewall", Path: "/etc/config/firewall", Sections: []*Section{
		sec("zone", "lan", 1,
			opt("name", 11, "LAN"),
			lst("network", 10, "a", "b"),
			opt("mtu", 4, "1500"),
			opt("input", 12, "ACCEPT"),
		),
		sec("rule", "", 6,
			opt("name", 7, "r1"),
			opt("dest", 25, "wan"),
		),
		sec("zone", "x", 14,
			lst("net", 17, "a", "b", "c"),
			opt("mtu", 21, "1500"),
			opt("opt", 20, "o2"),
		),
		sec("zone", "", 27),
	}}
	for i, s := range want.Sections {
		s.Index = i
		s.path = want.Path
	}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("got:\n%s\nwant:\n%s", dump(f), dump(want))
	}
	// Generated names checked against libuci.
	if got := f.Sections[1].ID(); got != "cfg0292bd" {
		t.Errorf("generated name = %q", got)
	}
	if got := f.Sections[3].ID(); got != "cfg04dc81" {
		t.Errorf("generated name = %q", got)
	}
}

// TestBigSection checks the option index the parser uses for sections with
// many options against the plain rules.
func TestBigSection(t *testing.T) {
	var in strings.Builder
	in.WriteString("config t 's'\n")
	type state struct {
		vals []string
		list bool
		line int
	}
	want := map[string]*state{}
	var order []string
	line := 1
	for i := 0; i < 200; i++ {
		name := fmt.Sprintf("o%d", i%37)
		line++
		st := want[name]
		if st == nil {
			st = &state{}
			want[name] = st
			order = append(order, name)
		}
		if i%3 == 0 {
			fmt.Fprintf(&in, "\tlist %s 'v%d'\n", name, i)
			st.vals = append(st.vals, fmt.Sprint("v", i))
			st.list = true
		} else {
			fmt.Fprintf(&in, "\toption %s 'v%d'\n", name, i)
			st.vals = []string{fmt.Sprint("v", i)}
			st.list = false
		}
		st.line = line
	}
	f, err := Parse("t", strings.NewReader(in.String()))
	if err != nil {
		t.Fatal(err)
	}
	s := f.Sections[0]
	if len(s.Options) != len(order) {
		t.Fatalf("%d options, want %d", len(s.Options), len(order))
	}
	for i, name := range order {
		o, st := s.Options[i], want[name]
		if o.Name != name || o.IsList != st.list || o.Line != st.line || !reflect.DeepEqual(o.Values, st.vals) {
			t.Errorf("option %d = %+v, want %s %+v", i, o, name, st)
		}
	}
}

func TestAnonName(t *testing.T) {
	// Values produced by libuci for the n-th section of each type.
	for _, tc := range []struct {
		n    int
		typ  string
		want string
	}{
		{1, "foo", "cfg017389"},
		{1, "defaults", "cfg01e63d"},
		{1, "dnsmasq", "cfg01411c"},
		{1, "system", "cfg01e48a"},
		{4, "alias", "cfg044d8f"},
		{300, "alias", "cfg12c4d8f"},
	} {
		if got := anonName(tc.n, tc.typ); got != tc.want {
			t.Errorf("anonName(%d, %q) = %q, want %q", tc.n, tc.typ, got, tc.want)
		}
	}
}

func TestTypedHelpers(t *testing.T) {
	in := `config t 's'
	option n ' 42 '
	option neg -7
	option big 99999999999999999999
	option bad 12abc
	list two 1
	list two 2
	option y yes
	option on ON
	option en enabled
	option t1 1
	option f0 0
	option off off
	option no No
	option dis disabled
	option fls false
	option maybe maybe
	option words ' a  b	c '
`
	f, err := Parse("/etc/config/tamon", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	s := f.Sections[0]
	for _, tc := range []struct {
		name    string
		want    int
		wantErr string
	}{
		{"n", 42, ""},
		{"neg", -7, ""},
		{"missing", 5, ""},
		{"big", 5, `/etc/config/tamon:4: option big: "99999999999999999999": integer out of range`},
		{"bad", 5, `/etc/config/tamon:5: option bad: "12abc": not an integer`},
		{"two", 5, `/etc/config/tamon:7: option two: "1 2": not an integer`},
	} {
		got, err := s.Int(tc.name, 5)
		if got != tc.want || (err == nil) != (tc.wantErr == "") || (err != nil && err.Error() != tc.wantErr) {
			t.Errorf("Int(%s) = %d, %v; want %d, %q", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
	for _, tc := range []struct {
		name string
		def  bool
		want bool
		bad  bool
	}{
		{"y", false, true, false},
		{"on", false, true, false},
		{"en", false, true, false},
		{"t1", false, true, false},
		{"f0", true, false, false},
		{"off", true, false, false},
		{"no", true, false, false},
		{"dis", true, false, false},
		{"fls", true, false, false},
		{"missing", true, true, false},
		{"missing", false, false, false},
		{"maybe", true, true, true},
		{"n", false, false, true},
	} {
		got, err := s.Bool(tc.name, tc.def)
		if got != tc.want || (err != nil) != tc.bad {
			t.Errorf("Bool(%s, %v) = %v, %v; want %v (error %v)", tc.name, tc.def, got, err, tc.want, tc.bad)
		}
	}
	if _, err := s.Bool("maybe", false); err == nil || !strings.HasPrefix(err.Error(), `/etc/config/tamon:17: option maybe: "maybe": not a boolean`) {
		t.Errorf("Bool error = %v", err)
	}
	if got := s.List("words"); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("List(words) = %q", got)
	}
	if got := s.List("n"); !reflect.DeepEqual(got, []string{"42"}) {
		t.Errorf("List(n) = %q", got)
	}
	l := s.List("two")
	l[0] = "changed"
	if o, _ := s.Get("two"); o.Values[0] != "1" {
		t.Error("List returned the section's own slice")
	}
	if got := (&Option{}).String(); got != "" {
		t.Errorf("empty Option.String() = %q", got)
	}
}

func TestParseFileErrors(t *testing.T) {
	if _, err := ParseFile("testdata/does-not-exist"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ParseFile(missing) = %v", err)
	}
	if _, err := Parse("x", errReader{}); err == nil || err.Error() != "read failed" {
		t.Errorf("Parse(failing reader) = %v", err)
	}
	f, err := Parse("", strings.NewReader(""))
	if err != nil || f.Name != "" || len(f.Sections) != 0 {
		t.Errorf("Parse(empty) = %+v, %v", f, err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("read failed") }
