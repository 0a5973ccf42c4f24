package appid

import (
	"os"
	"path/filepath"
	"testing"
)

// findUp walks up from the package directory until rel exists and returns
// its path; the test fails when it is nowhere.
func findUp(t testing.TB, rel string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("%s not found in any parent of the package directory", rel)
		}
		dir = parent
	}
}

// loadLibrary loads the shipped features.txt (the repository's top level).
func loadLibrary(t testing.TB) *Rules {
	t.Helper()
	path := filepath.Join(filepath.Dir(findUp(t, "go.mod")), "features.txt")
	r, errs, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		t.Errorf("shipped library: %v", e)
	}
	return r
}

// The categories the shipped library uses.
var libraryCategories = map[string]bool{
	"ads": true, "finance": true, "ai": true, "music": true, "work": true, "chat": true,
	"social": true, "video": true, "streaming": true, "game": true, "shopping": true,
	"life": true, "travel": true, "maps": true, "news": true, "education": true,
	"update": true, "appstore": true, "cloud": true, "iot": true, "tools": true,
	"system": true, "search": true, "company": true, "download": true,
}

func TestLibrary(t *testing.T) {
	r := loadLibrary(t)
	names := map[string]bool{}
	perCategory := map[string]int{}
	for _, a := range r.apps {
		if !libraryCategories[a.Category] {
			t.Errorf("app %q has category %q, not one of the library's", a.Name, a.Category)
		}
		if !names[a.Name] {
			perCategory[a.Category]++
		}
		names[a.Name] = true
	}
	if len(names) < 300 {
		t.Errorf("library names %d apps, want at least 300", len(names))
	}
	for _, c := range []string{"chat", "video", "music", "game", "shopping", "social", "maps", "cloud", "work", "appstore", "update", "streaming", "ads"} {
		if perCategory[c] < 5 {
			t.Errorf("category %s has %d apps, want at least 5", c, perCategory[c])
		}
	}
	t.Logf("%d signatures, %d apps, by category %v", r.Len(), len(names), perCategory)
}

// No host signature is hidden by an earlier one of another app: for the
// host that is exactly its pattern, each signature's app must come out.
func TestLibraryNoShadowedHosts(t *testing.T) {
	r := loadLibrary(t)
	for i, rl := range r.rules {
		if rl.host.lit == "" || rl.hasPayload() || !rl.sport.any() || !rl.dport.any() {
			continue
		}
		want := r.apps[rl.app]
		for _, proto := range []uint8{protoTCP, protoUDP} {
			if rl.proto != 0 && rl.proto != proto {
				continue
			}
			got, ok := r.Match(proto, 50000, 443, rl.host.lit, nil)
			if !ok || got.Name != want.Name {
				t.Errorf("signature %d (%s, host %q) is hidden by %q", i, want.Name, rl.host.lit, got.Name)
			}
		}
	}
}

// Real host names from the corpus captures and from the apps themselves:
// the most specific app must win over its company's shared names.
func TestLibraryHosts(t *testing.T) {
	r := loadLibrary(t)
	tests := []struct {
		host, want string
	}{
		{"www.facebook.com", "Facebook"},
		{"s-static.ak.facebook.com", "Facebook"},
		{"scontent-mxp1-1.cdninstagram.com", "Instagram"},
		{"igcdn-photos-h-a.akamaihd.net", "Instagram"},
		{"photos-f.ak.instagram.com", "Instagram"},
		{"instagram.fmxp1-1.fna.fbcdn.net", "Instagram"},
		{"api-global.netflix.com", "Netflix"},
		{"art-2.nflximg.net", "Netflix"},
		{"ipv4-c001-mxp001-ix.1.oca.nflxvideo.net", "Netflix"},
		{"e7.whatsapp.net", "WhatsApp"},
		{"mmg.whatsapp.net", "WhatsApp"},
		{"config.teams.microsoft.com", "Microsoft Teams"},
		{"emea.ng.msg.teams-msgapi.trafficmanager.net", "Microsoft Teams"},
		{"eu-api.asm.skype.com", "Skype"},
		{"login.microsoftonline.com", "Microsoft 365"},
		{"substrate.office.com", "Microsoft 365"},
		{"outlook.office.com", "Outlook"},
		{"outlook.office365.com", "Outlook"},
		{"mobile.pipe.aria.microsoft.com", "Microsoft"},
		{"dl.delivery.mp.microsoft.com", "Windows Update"},
		{"storeedgefd.dsx.mp.microsoft.com", "Microsoft Store"},
		{"p53-buy.itunes.apple.com", "App Store"},
		{"aod.itunes.apple.com", "Apple Music"},
		{"query.ess.apple.com", "Apple"},
		{"captive.apple.com", "联网检测"},
		{"1-courier.push.apple.com", "Apple推送"},
		{"www.google.it", "Google"},
		{"googleads.g.doubleclick.net", "Google Ads"},
		{"pagead2.googlesyndication.com", "Google Ads"},
		{"yt3.ggpht.com", "YouTube"},
		{"lh3.ggpht.com", "Google"},
		{"rr3---sn-hpa7kn7s.googlevideo.com", "YouTube"},
		{"youtubei.googleapis.com", "YouTube"},
		{"music.youtube.com", "YouTube Music"},
		{"maps.googleapis.com", "Google Maps"},
		{"play.googleapis.com", "Google Play"},
		{"gemini.google.com", "Gemini"},
		{"mail.google.com", "Gmail"},
		{"mp.weixin.qq.com", "微信公众号"},
		{"mmbiz.qpic.cn", "微信公众号"},
		{"pay.weixin.qq.com", "微信支付"},
		{"work.weixin.qq.com", "企业微信"},
		{"szextshort.weixin.qq.com", "微信"},
		{"wx.qlogo.cn", "微信"},
		{"thirdqq.qlogo.cn", "QQ"},
		{"exmail.qq.com", "腾讯企业邮"},
		{"mail.qq.com", "QQ邮箱"},
		{"c.y.qq.com", "QQ音乐"},
		{"ws.stream.qqmusic.qq.com", "QQ音乐"},
		{"v.qq.com", "腾讯视频"},
		{"tim.qq.com", "TIM"},
		{"www.qq.com", "腾讯"},
		{"aweme.snssdk.com", "抖音"},
		{"p3-pc.douyinpic.com", "抖音"},
		{"is.snssdk.com", "字节跳动"},
		{"api-access.pangolin-sdk-toutiao.com", "穿山甲"},
		{"www.toutiao.com", "今日头条"},
		{"music.163.com", "网易云音乐"},
		{"m701.music.126.net", "网易云音乐"},
		{"you.163.com", "网易严选"},
		{"www.163.com", "网易"},
		{"note.youdao.com", "有道云笔记"},
		{"fanyi.youdao.com", "有道翻译"},
		{"dict.youdao.com", "网易有道"},
		{"pan.baidu.com", "百度网盘"},
		{"tieba.baidu.com", "百度贴吧"},
		{"www.baidu.com", "百度"},
		{"appgallery.cloud.huawei.com", "华为应用市场"},
		{"cloud.huawei.com", "华为云空间"},
		{"kindle-time.amazon.com", "Kindle"},
		{"avs-alexa-4-na.amazon.com", "Amazon Alexa"},
		{"music.amazon.com", "Amazon Music"},
		{"www.amazon.co.jp", "Amazon"},
		{"m.media-amazon.com", "Amazon"},
		{"aax-us-east.amazon-adsystem.com", "Amazon Ads"},
		{"analytics.tiktok.com", "TikTok Ads"},
		{"v16-webapp.tiktok.com", "TikTok"},
		{"api.x.com", "X (Twitter)"},
		{"t.co", "X (Twitter)"},
		{"t.me", "Telegram"},
		{"chat.meetup.com", ""},
		{"www.booking.com", "Booking.com"},
		{"www.box.com", "Box"},
		{"www.dropbox.com", "Dropbox"},
		{"img.alicdn.com", "阿里巴巴"},
		{"g.alicdn.com", "阿里巴巴"},
		{"h5api.m.taobao.com", "淘宝"},
		{"jr.jd.com", "京东金融"},
		{"api.m.jd.com", "京东"},
		{"pan.quark.cn", "夸克网盘"},
		{"www.quark.cn", "夸克"},
		{"update.hicloud.com", "华为系统更新"},
		{"akamaihd.net", ""},
		{"d1.cloudfront.net", ""},
		{"skypedataprdcolneu04.cloudapp.net", ""},
		{"www.iit.cnr.it", ""},
	}
	for _, tc := range tests {
		got, ok := r.Match(protoTCP, 50000, 443, tc.host, nil)
		if ok != (tc.want != "") || got.Name != tc.want {
			t.Errorf("Match(%q) = %q, want %q", tc.host, got.Name, tc.want)
		}
	}
}

// The library's port and payload signatures, on sessions with no name.
func TestLibraryPortsAndPayloads(t *testing.T) {
	r := loadLibrary(t)
	stunWA := []byte{0x00, 0x03, 0x00, 0x6a, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0x75, 0x10, 0xf8, 0x43, 0x43, 0x1f, 0xd0, 0x5e, 0x23, 0x79, 0x40, 0x00, 0x00, 0x66}
	stunMS := []byte{0x00, 0x03, 0x00, 0x30, 0x21, 0x12, 0xa4, 0x42, 0xb2, 0x34, 0x3f, 0x6e, 0x67, 0xf4, 0x1d, 0x58, 0xac, 0xba, 0x63, 0x9f, 0x00, 0x0f, 0x00, 0x04, 0x72, 0xc6, 0x4b, 0xc6}
	tests := []struct {
		name         string
		proto        uint8
		cport, sport uint16
		payload      []byte
		want         string
	}{
		{"BitTorrent handshake on a random port", 6, 52915, 60163, []byte("\x13BitTorrent protocol\x00\x00"), "BitTorrent"},
		{"BitTorrent DHT", 17, 6881, 40000, []byte("d1:ad2:id20:abcdefghij0123456789e1:q4:pinge"), "BitTorrent"},
		{"WhatsApp call relay", 17, 51518, 3478, stunWA, "WhatsApp"},
		{"Teams relay", 17, 50016, 3478, stunMS, "Microsoft Teams"},
		{"plain STUN on 3478 is no app", 17, 50016, 3478, []byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42}, ""},
		{"Teams media port", 17, 50016, 3480, nil, "Microsoft Teams"},
		{"SSH banner on another port", 6, 40000, 2222, []byte("SSH-2.0-OpenSSH_9.6\r\n"), "SSH"},
		{"Spotify access point", 6, 48628, 4070, nil, "Spotify"},
		{"Spotify LAN discovery", 17, 57621, 57621, []byte("SpotUdp0\x98\x25"), "Spotify"},
		{"Dropbox LAN sync", 17, 17500, 17500, []byte(`{"version": [2, 0], "port": 17500}`), "Dropbox"},
		{"Apple push", 6, 49193, 5223, nil, "Apple推送"},
		{"Transmission default port", 6, 52895, 51413, nil, "BitTorrent"},
		{"Steam game traffic", 17, 40000, 27015, nil, "Steam"},
		{"mail", 6, 40000, 993, nil, "电子邮件"},
		{"QQ over UDP 8000", 17, 4000, 8000, []byte{0x02, 0x3a, 0x1d, 0x00, 0x03}, "QQ"},
		{"HTTPS without a name", 6, 40000, 443, []byte{0x16, 0x03, 0x01}, ""},
		{"DNS", 17, 40000, 53, []byte{0x12, 0x34, 0x01, 0x00}, ""},
		{"mDNS", 17, 5353, 5353, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hits []uint16
			if tc.payload != nil {
				hits = r.PayloadHits(nil, tc.proto, tc.cport, tc.sport, 1, tc.payload)
			}
			got, ok := r.Match(tc.proto, tc.cport, tc.sport, "", hits)
			if ok != (tc.want != "") || got.Name != tc.want {
				t.Errorf("Match = %q (hits %v), want %q", got.Name, hits, tc.want)
			}
		})
	}
}
