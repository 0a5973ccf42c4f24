package appid

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// parseString parses s as the features file "t.txt".
func parseString(t testing.TB, s string) (*Rules, []LineError) {
	t.Helper()
	return Parse("t.txt", strings.NewReader(s))
}

// ruleView is a comparable summary of one parsed signature.
type ruleView struct {
	App      App
	Proto    uint8
	Sport    string
	Dport    string
	Host     string
	Request  string
	Payload  string
	Search   string
	HasStart bool
	HasEnd   bool
}

func portString(p portSet) string {
	var b strings.Builder
	for i, r := range p.ranges {
		if i > 0 {
			b.WriteByte('|')
		}
		if r.not {
			b.WriteByte('!')
		}
		b.WriteString(strconv.Itoa(int(r.lo)))
		if r.hi != r.lo {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(int(r.hi)))
		}
	}
	return b.String()
}

func payloadString(pay []payByte) string {
	const hex = "0123456789abcdef"
	var parts []string
	for _, p := range pay {
		parts = append(parts, strconv.Itoa(int(p.off))+":"+string([]byte{hex[p.val>>4], hex[p.val&15]}))
	}
	return strings.Join(parts, "|")
}

func views(r *Rules) []ruleView {
	var out []ruleView
	for _, rl := range r.rules {
		out = append(out, ruleView{
			App: r.apps[rl.app], Proto: rl.proto, Sport: portString(rl.sport), Dport: portString(rl.dport),
			Host: rl.host.lit, HasStart: rl.host.start, HasEnd: rl.host.end, Request: rl.request,
			Payload: payloadString(rl.pay), Search: string(rl.search),
		})
	}
	return out
}

func TestParseConstructs(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []ruleView
	}{
		{
			name: "prototype line, alternatives in order",
			in:   "QQ:[udp;;;;00:02|-1:03,tcp;;14000;;,tcp;;8080;;00:ca|01:3c]\n",
			want: []ruleView{
				{App: App{Name: "QQ"}, Proto: 17, Payload: "0:02|-1:03"},
				{App: App{Name: "QQ"}, Proto: 6, Dport: "14000"},
				{App: App{Name: "QQ"}, Proto: 6, Dport: "8080", Payload: "0:ca|1:3c"},
			},
		},
		{
			name: "empty fields and upper-case protocol and host",
			in:   "公众号:[TCP;;443;MP.Weixin.QQ.com;]\nX:[;;;example;]",
			want: []ruleView{
				{App: App{Name: "公众号"}, Proto: 6, Dport: "443", Host: "mp.weixin.qq.com"},
				{App: App{Name: "X"}, Host: "example"},
			},
		},
		{
			name: "negative offsets, trailing and doubled pipes",
			in:   "斗鱼直播:[tcp;;;douyu;-2:2f|-1:00||]\n",
			want: []ruleView{{App: App{Name: "斗鱼直播"}, Proto: 6, Host: "douyu", Payload: "-2:2f|-1:00"}},
		},
		{
			name: "source port, port list, range and exclusion",
			in:   "迅雷:[udp;12345;;;,tcp;;80|443|8000-8010;;,udp;;!53|!5353;;]",
			want: []ruleView{
				{App: App{Name: "迅雷"}, Proto: 17, Sport: "12345"},
				{App: App{Name: "迅雷"}, Proto: 6, Dport: "80|443|8000-8010"},
				{App: App{Name: "迅雷"}, Proto: 17, Dport: "!53|!5353"},
			},
		},
		{
			name: "host anchors",
			in:   "Telegram:[;;;^t.me$;,;;;^telegram.;,;;;.t.me$;]",
			want: []ruleView{
				{App: App{Name: "Telegram"}, Host: "t.me", HasStart: true, HasEnd: true},
				{App: App{Name: "Telegram"}, Host: "telegram.", HasStart: true},
				{App: App{Name: "Telegram"}, Host: ".t.me", HasEnd: true},
			},
		},
		{
			name: "comments, blank lines, CRLF, BOM, spaces around fields",
			in: "\ufeff# a comment\r\n\r\n   # indented comment\r\n" +
				"  Zoom : [ tcp ; ; 8801 - 8802 ; zoom.us ; ]  \r\n#app:[tcp;;;;]\r\n",
			want: []ruleView{{App: App{Name: "Zoom"}, Proto: 6, Dport: "8801-8802", Host: "zoom.us"}},
		},
		{
			name: "#class sets the category until the next one",
			in:   "A:[;;;a.example;]\n#class video 视频\nB:[;;;b.example;]\n# plain comment\nC:[;;;c.example;]\n#class 游戏\nD:[;;;d.example;]",
			want: []ruleView{
				{App: App{Name: "A"}, Host: "a.example"},
				{App: App{Name: "B", Category: "video"}, Host: "b.example"},
				{App: App{Name: "C", Category: "video"}, Host: "c.example"},
				{App: App{Name: "D", Category: "游戏"}, Host: "d.example"},
			},
		},
		{
			name: "#classroom is a comment, not a class",
			in:   "#class chat\n#classroom notes\nA:[;;;a;]",
			want: []ruleView{{App: App{Name: "A", Category: "chat"}, Host: "a"}},
		},
		{
			name: "OpenAppFilter lines: id dropped, class from #class, request and dict",
			in: "#version v22.3.24\n#id name:[proto;sport;dport;host url;request;dict]\n#class chat 1 聊天\n" +
				"1004 陌陌:[tcp;;;momo;;,tcp;;;;;04:2f|05:66|06:65|07:65]\n" +
				"1006 钉钉:[tcp;;;dingtalk;;,tcp;;;;d?host=;]  \n" +
				"2041 光遇:[udp;;10000-15000;;;00:8f|01:ff]\n",
			want: []ruleView{
				{App: App{Name: "陌陌", Category: "chat"}, Proto: 6, Host: "momo"},
				{App: App{Name: "陌陌", Category: "chat"}, Proto: 6, Payload: "4:2f|5:66|6:65|7:65"},
				{App: App{Name: "钉钉", Category: "chat"}, Proto: 6, Host: "dingtalk"},
				{App: App{Name: "钉钉", Category: "chat"}, Proto: 6, Request: "d?host="},
				{App: App{Name: "光遇", Category: "chat"}, Proto: 17, Dport: "10000-15000", Payload: "0:8f|1:ff"},
			},
		},
		{
			name: "OAF empty alternatives, trailing flags, search and ignore fields",
			in: "4001 淘宝:[tcp;;;taobao;;,,tcp;;;;;00:d4|01:00]\n" +
				"10022 搜狗拼音:[tcp;;;pinyin.sogou.com;;]:5:1\n" +
				"9 S:[tcp;;443;;;00:16;sogou;1]\n",
			want: []ruleView{
				{App: App{Name: "淘宝"}, Proto: 6, Host: "taobao"},
				{App: App{Name: "淘宝"}, Proto: 6, Payload: "0:d4|1:00"},
				{App: App{Name: "搜狗拼音"}, Proto: 6, Host: "pinyin.sogou.com"},
				{App: App{Name: "S"}, Proto: 6, Dport: "443", Payload: "0:16", Search: "sogou"},
			},
		},
		{
			name: "prototype names that start with digits keep them",
			in:   "12306:[tcp;;;12306.cn;]\n4399游戏:[tcp;;;4399.com;]\n360 安全:[tcp;;;360.cn;]",
			want: []ruleView{
				{App: App{Name: "12306"}, Proto: 6, Host: "12306.cn"},
				{App: App{Name: "4399游戏"}, Proto: 6, Host: "4399.com"},
				{App: App{Name: "360 安全"}, Proto: 6, Host: "360.cn"},
			},
		},
		{
			name: "names with spaces, parentheses and non-ASCII",
			in:   "X (Twitter):[;;;^x.com$;]\nPokémon GO:[;;;pokemongolive.com;]\n崩坏：星穹铁道:[;;;sr.mihoyo.com;]",
			want: []ruleView{
				{App: App{Name: "X (Twitter)"}, Host: "x.com", HasStart: true, HasEnd: true},
				{App: App{Name: "Pokémon GO"}, Host: "pokemongolive.com"},
				{App: App{Name: "崩坏：星穹铁道"}, Host: "sr.mihoyo.com"},
			},
		},
		{
			name: "last line without newline",
			in:   "A:[;;;a;]",
			want: []ruleView{{App: App{Name: "A"}, Host: "a"}},
		},
		{name: "empty file", in: "", want: nil},
		{name: "only comments", in: "# x\n#class y\n\n", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, errs := parseString(t, tc.in)
			if len(errs) != 0 {
				t.Fatalf("errors: %v", errs)
			}
			if got := views(r); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("rules\n got %+v\nwant %+v", got, tc.want)
			}
			if r.Len() != len(tc.want) {
				t.Errorf("Len() = %d, want %d", r.Len(), len(tc.want))
			}
		})
	}
}

func TestParseMalformedLines(t *testing.T) {
	tests := []struct {
		line   string
		reason string // a part of the reason
	}{
		{"no colon here", "no ':' after the app name"},
		{":[tcp;;;a;]", "no app name"},
		{"A:tcp;;;a;", "must be in [...]"},
		{"A:[tcp;;;a;", "no closing ']'"},
		{"A:[tcp;;;a;] junk", `unexpected text "junk" after ']'`},
		{"A:[]", "has no signature"},
		{"A:[ , ,]", "has no signature"},
		{"A:[tcp;;;a]", "4 fields; want 5"},
		{"A:[tcp;;;a;;;;;]", "9 fields; want 5"},
		{"A:[icmp;;;a;]", `protocol "icmp" is not tcp, udp or empty`},
		{"A:[tcp;;70000;;]", `dport: "70000" is not a port number`},
		{"A:[tcp;x;;;]", `sport: "x" is not a port number`},
		{"A:[tcp;;90-80;;]", `range "90-80" ends before it starts`},
		{"A:[tcp;;80||81;;]", "empty item"},
		{"A:[tcp;;!;;]", "empty item"},
		{"A:[tcp;;;;00:73:01:00:02:00]", `"00:73:01:00:02:00" is not N:xx`},
		{"A:[tcp;;;;0:123]", `value "123" in "0:123" is not one hex byte`},
		{"A:[tcp;;;;0:zz]", `value "zz"`},
		{"A:[tcp;;;;x:01]", `offset "x" in "x:01" is not a decimal number`},
		{"A:[tcp;;;;0]", `"0" is not N:xx`},
		{"A:[tcp;;;;99999999:01]", "is not a decimal number within"},
		{"A:[;;;;]", "every field is empty"},
		{"A:[;;;^$;]", "pattern is empty"},
		{"A:[;;;a b;]", "contains a space"},
		{"A:[tcp;;;ok;,bad]", "signature 2"},
		{"#class", "#class line names no category"},
		{"A\xff:[tcp;;;a;]", "not valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			// A good line before and after: the bad one is line 3, and the
			// others still load.
			in := "# header\nGood1:[tcp;;;good1;]\n" + tc.line + "\nGood2:[udp;;;good2;]\n"
			r, errs := parseString(t, in)
			if len(errs) != 1 {
				t.Fatalf("got %d errors %v, want 1", len(errs), errs)
			}
			e := errs[0]
			if e.Path != "t.txt" || e.Line != 3 {
				t.Errorf("error at %s:%d, want t.txt:3", e.Path, e.Line)
			}
			if !strings.Contains(e.Reason, tc.reason) {
				t.Errorf("reason %q does not contain %q", e.Reason, tc.reason)
			}
			if want := "t.txt:3: " + e.Reason; e.Error() != want {
				t.Errorf("Error() = %q, want %q", e.Error(), want)
			}
			var names []string
			for _, v := range views(r) {
				names = append(names, v.App.Name)
			}
			if !reflect.DeepEqual(names, []string{"Good1", "Good2"}) {
				t.Errorf("loaded %v, want [Good1 Good2]", names)
			}
		})
	}
}

func TestParseReportsEveryBadLine(t *testing.T) {
	in := strings.Join([]string{
		"A:[tcp;;;a;]",     // 1
		"bad one",          // 2
		"",                 // 3
		"B:[tcp;;;;0:1:2]", // 4
		"#class x",         // 5
		"C:[udp;;;c;]",     // 6
		"D:[tcp;;99999;;]", // 7
	}, "\n")
	r, errs := parseString(t, in)
	var lines []int
	for _, e := range errs {
		lines = append(lines, e.Line)
	}
	if !reflect.DeepEqual(lines, []int{2, 4, 7}) {
		t.Errorf("bad lines %v, want [2 4 7] (%v)", lines, errs)
	}
	if r.Len() != 2 {
		t.Errorf("Len() = %d, want 2", r.Len())
	}
}

func TestParseLongLine(t *testing.T) {
	long := "A:[;;;" + strings.Repeat("a", maxLine+10) + ";]"
	r, errs := parseString(t, "X:[;;;x;]\n"+long+"\nY:[;;;y;]\n")
	if len(errs) != 1 || errs[0].Line != 2 || !strings.Contains(errs[0].Reason, "longer than") {
		t.Fatalf("errors %v, want one long-line error on line 2", errs)
	}
	if r.Len() != 2 {
		t.Errorf("Len() = %d, want 2", r.Len())
	}
}

// failingReader returns its data, then err.
type failingReader struct {
	data string
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.data == "" {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestParseReadError(t *testing.T) {
	boom := errors.New("boom")
	r, errs := Parse("f", &failingReader{data: "A:[;;;a;]\nB:[;;;b;]\n", err: boom})
	if len(errs) != 1 || errs[0].Line != 3 || !strings.Contains(errs[0].Reason, "boom") {
		t.Fatalf("errors %v, want read error on line 3", errs)
	}
	if r.Len() != 2 {
		t.Errorf("Len() = %d, want 2", r.Len())
	}
}

func TestParseDeduplicatesApps(t *testing.T) {
	r, errs := parseString(t, "A:[;;;a1;]\nA:[;;;a2;]\n#class c\nA:[;;;a3;]")
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	want := []App{{Name: "A"}, {Name: "A", Category: "c"}}
	if !reflect.DeepEqual(r.apps, want) {
		t.Errorf("apps %v, want %v", r.apps, want)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "features.txt")
	if err := os.WriteFile(path, []byte("A:[;;;a;]\nbroken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, errs, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 1 || len(errs) != 1 || errs[0].Path != path || errs[0].Line != 2 {
		t.Errorf("Load: Len %d, errors %v", r.Len(), errs)
	}

	missing := filepath.Join(dir, "nope.txt")
	r, errs, err = Load(missing)
	if err == nil || r != nil || errs != nil {
		t.Fatalf("Load(missing) = %v, %v, %v; want only an error", r, errs, err)
	}
	if !strings.Contains(err.Error(), missing) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %q should name %s and wrap ErrNotExist", err, missing)
	}
}

func TestLineErrorIsError(t *testing.T) {
	var err error = LineError{Path: "/etc/tamon/features.txt", Line: 12, Reason: "x"}
	if err.Error() != "/etc/tamon/features.txt:12: x" {
		t.Errorf("Error() = %q", err.Error())
	}
	var le LineError
	if !errors.As(err, &le) || le.Line != 12 {
		t.Errorf("errors.As failed: %v", le)
	}
}

// The reader is consumed to the end even when the last line has no newline
// and is cut in the middle of a read.
func TestParseSmallReads(t *testing.T) {
	in := "#class a\nA:[tcp;;;a;]\nB:[udp;;53;;]"
	r, errs := Parse("t", io.MultiReader(strings.NewReader(in[:7]), strings.NewReader(in[7:20]), strings.NewReader(in[20:])))
	if len(errs) != 0 || r.Len() != 2 {
		t.Fatalf("Len %d errors %v", r.Len(), errs)
	}
}

func TestParseTooManyRules(t *testing.T) {
	// 10 lines of 6001 signatures and one of 5526 make 65536: the next two
	// lines are refused, whatever their size.
	line := "A:[" + strings.Repeat("tcp;;1;;,", 6000) + "tcp;;1;;]\n"
	in := strings.Repeat(line, 10) + "B:[" + strings.Repeat("udp;;2;;,", 5525) + "udp;;2;;]\n" + line + "C:[udp;;3;;]\n"
	r, errs := parseString(t, in)
	if len(errs) != 2 || errs[0].Line != 12 || errs[1].Line != 13 || !strings.Contains(errs[1].Reason, "more than 65536") {
		t.Fatalf("errors %v, want lines 12 and 13", errs)
	}
	if r.Len() != MaxRules {
		t.Errorf("Len() = %d, want %d", r.Len(), MaxRules)
	}
	if app, ok := r.Match(17, 9, 3, "", nil); ok {
		t.Errorf("line 13 loaded past the limit: %v", app)
	}
	if app, _ := r.Match(17, 9, 2, "", nil); app.Name != "B" {
		t.Errorf("udp 2: %q, want B", app.Name)
	}
}
