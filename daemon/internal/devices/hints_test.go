package devices

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestUserAgentHint(t *testing.T) {
	for _, tt := range []struct{ ua, want string }{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", "Windows"},
		{"Mozilla/5.0 (Windows NT 6.3; WOW64)", "Windows 8.1"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36", "Xbox"},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36", "Android 14"},
		{"Dalvik/2.1.0 (Linux; U; Android 11; SM-G991B Build/RP1A.200720.012)", "Android 11"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15", "iOS 17"},
		{"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15", "iPadOS 16"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15", "macOS"},
		{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36", "ChromeOS"},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Linux"},
		{"Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/538.1", "Tizen"},
		{"Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36", "webOS"},
		{"Mozilla/5.0 (PlayStation 5 3.11) AppleWebKit/605.1.15", "PlayStation"},
		{"Roku/DVP-9.10 (519.10E04111A)", "Roku"},
		{"AppleTV11,1/11.1", "tvOS"},
		{"okhttp/4.9.2", ""},
		{"curl/8.4.0", ""},
		{"Android", "Android"},
		{"Mozilla/5.0 (Linux; Android 12345)", "Android"},
	} {
		if got := userAgentHint(tt.ua); got != tt.want {
			t.Errorf("userAgentHint(%q) = %q, want %q", tt.ua, got, tt.want)
		}
	}
}

func TestVendorClassHint(t *testing.T) {
	for _, tt := range []struct{ vc, want string }{
		{"MSFT 5.0", "Windows"},
		{"android-dhcp-13", "Android 13"},
		{"android-dhcp-", "Android"},
		{"dhcpcd-6.10.1:Linux-4.9.57-v7+:armv7l:BCM2835", "Linux"},
		{"dhcpcd-9.4.1:NetBSD-10.0:amd64:x86", "NetBSD"},
		{"dhcpcd-5.5.6", "Linux"},
		{"udhcp 1.36.1", "Linux (BusyBox)"},
		{"Cisco Systems, Inc. IP Phone CP-7911G", "Cisco IP Phone"},
		{"PXEClient:Arch:00000:UNDI:002001", "PXE boot"},
		{"HUAWEI:android:NOH-NX9", "Android"},
		{"TL-SG116E", ""},
		{"dhcpcd:0000000000000000000000000", ""},
	} {
		if got := vendorClassHint(tt.vc); got != tt.want {
			t.Errorf("vendorClassHint(%q) = %q, want %q", tt.vc, got, tt.want)
		}
	}
}

func TestModelAndFingerprintHints(t *testing.T) {
	for _, tt := range []struct{ model, want string }{
		{"iPhone15,2", "iOS"}, {"iPad13,4", "iPadOS"}, {"MacBookPro18,3", "macOS"}, {"Mac14,2", "macOS"},
		{"Macintosh", ""}, {"AppleTV11,1", "tvOS"}, {"AudioAccessory5,1", "HomePod"}, {"Chromecast Ultra", "Google Cast"}, {"J42dAP", ""},
	} {
		if got := modelHint(tt.model); got != tt.want {
			t.Errorf("modelHint(%q) = %q, want %q", tt.model, got, tt.want)
		}
	}
	for _, tt := range []struct{ fp, want string }{
		{"1,3,6,15,31,33,43,44,46,47,119,121,249,252", "Windows"},
		{"1,3,6,15,26,28,51,58,59,43,114,108", "Android"},
		{"1,121,3,6,15,119,252,95,44,46", "Apple"},
		{"1,3,6,15,119,95,252,44,46", "Apple"},
		{"1,3", ""},
	} {
		if got := fingerprintHint(tt.fp); got != tt.want {
			t.Errorf("fingerprintHint(%q) = %q, want %q", tt.fp, got, tt.want)
		}
	}
}

func TestComposeOS(t *testing.T) {
	for _, tt := range []struct {
		hints [hintSources]string
		want  string
	}{
		{[hintSources]string{"", "Android", "Android 14", "Android"}, "Android 14"},
		{[hintSources]string{"iOS", "", "macOS", "Apple"}, "iOS"},
		{[hintSources]string{"", "", "", "Apple"}, "Apple"},
		{[hintSources]string{"", "Android 13", "Android 14", ""}, "Android 13"},
		{[hintSources]string{}, ""},
	} {
		h := tt.hints
		if got := composeOS(&h); got != tt.want {
			t.Errorf("composeOS(%q) = %q, want %q", tt.hints, got, tt.want)
		}
	}
}

// FuzzHints feeds untrusted text (user agents, DHCP vendor classes and
// fingerprints, mDNS models) to the hint readers and cleanText: no panic,
// short results, valid UTF-8 out of cleanText.
func FuzzHints(f *testing.F) {
	for _, s := range []string{
		"Mozilla/5.0 (Linux; Android 14; Pixel 8)", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)",
		"android-dhcp-13", "dhcpcd-6.10.1:Linux-4.9.57-v7+:armv7l:BCM2835", "1,3,6,15,119,95,252,44,46", "iPhone15,2", "Android",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, h := range []string{userAgentHint(s), vendorClassHint(s), fingerprintHint(s), modelHint(s)} {
			if len(h) > 24 {
				t.Fatalf("hint %q of %q", h, s)
			}
		}
		c := cleanText([]byte(s), 64)
		if len(c) > 64 || !utf8.ValidString(c) || strings.ContainsAny(c, "\x00\n\r\x7f") {
			t.Fatalf("cleanText(%q) = %q", s, c)
		}
	})
}

func BenchmarkUserAgentHint(b *testing.B) {
	uas := []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
		"okhttp/4.9.2",
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = userAgentHint(uas[i%len(uas)])
		i++
	}
}
