package benchgen

// Name lists for the synthetic traffic. Host names are ordered by
// popularity: the generator draws low indices more often.

var baseDomains = [...]string{
	"google.com", "youtube.com", "googlevideo.com", "gstatic.com", "googleapis.com",
	"facebook.com", "fbcdn.net", "instagram.com", "whatsapp.net", "apple.com",
	"icloud.com", "mzstatic.com", "microsoft.com", "live.com", "office.com",
	"windowsupdate.com", "netflix.com", "nflxvideo.net", "amazon.com", "amazonaws.com",
	"cloudfront.net", "twitter.com", "twimg.com", "reddit.com", "redditmedia.com",
	"wikipedia.org", "github.com", "githubusercontent.com", "spotify.com", "scdn.co",
	"tiktokcdn.com", "discord.com", "zoom.us", "slack.com", "dropbox.com",
	"linkedin.com", "bing.com", "yahoo.com", "cloudflare.com", "akamaihd.net",
	"twitch.tv", "steampowered.com", "steamcontent.com", "openwrt.org", "duckduckgo.com",
	"mozilla.org", "debian.org", "ubuntu.com", "bbc.co.uk", "nytimes.com",
}

var hostPrefixes = [...]string{"www", "api", "static", "cdn"}

// hostNames is the list of 200 server names used for SNI, DNS and HTTP.
var hostNames = func() []string {
	names := make([]string, 0, len(baseDomains)*len(hostPrefixes))
	for _, p := range hostPrefixes {
		for _, d := range baseDomains {
			names = append(names, p+"."+d)
		}
	}
	return names
}()

// pushHosts serve the TLS sessions on other ports (push, MQTT over TLS).
var pushHosts = [...]string{
	"mtalk.google.com", "courier.push.apple.com", "mqtt.eu.tuya.example",
	"iot.broker.example", "alexa.na.gateway.devices.a2z.com",
}

var cnameSuffixes = [...]string{
	"edgekey.net", "akamaiedge.net", "cdn.cloudflare.net", "fastly.net",
	"azureedge.net", "trafficmanager.net", "cloudfront.net", "llnwi.net",
}

var nxNames = [...]string{
	"wpad.lan", "printer.lan", "_ldap._tcp.dc._msdcs.lan", "isatap.lan",
	"connectivity-check.ubnt.example", "nas.home.arpa", "chromecast.local.lan",
}

var userAgents = [...]string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
	"Microsoft-CryptoAPI/10.0",
	"curl/8.5.0",
}

var httpPaths = [...]string{
	"/", "/index.html", "/generate_204", "/connecttest.txt", "/success.txt",
	"/favicon.ico", "/static/app.js", "/css/site.css", "/images/logo.png",
	"/api/v1/status", "/api/v2/items?page=2", "/update/check", "/news/latest",
	"/search?q=openwrt+router", "/img/banner_1200x400.jpg", "/video/thumb/8842.jpg",
	"/msdownload/update/v3/static/trustedr/en/authrootstl.cab", "/ocsp",
}

type contentType struct {
	name  string
	text  bool // body drawn from the text corpus, else from noise
	small int  // typical body size in bytes
}

var contentTypes = [...]contentType{
	{"text/html; charset=utf-8", true, 18000},
	{"application/json", true, 1500},
	{"text/css", true, 9000},
	{"application/javascript", true, 30000},
	{"image/png", false, 12000},
	{"image/jpeg", false, 45000},
	{"application/octet-stream", false, 60000},
	{"text/plain", true, 200},
}

var mdnsServices = [...]string{
	"_googlecast._tcp.local", "_airplay._tcp.local", "_raop._tcp.local",
	"_spotify-connect._tcp.local", "_companion-link._tcp.local", "_ipp._tcp.local",
	"_hap._tcp.local", "_sleep-proxy._udp.local",
}

var ssdpTargets = [...]string{
	"ssdp:all", "upnp:rootdevice", "urn:dial-multiscreen-org:service:dial:1",
	"urn:schemas-upnp-org:device:InternetGatewayDevice:1", "urn:schemas-upnp-org:device:MediaRenderer:1",
}

// loremWords make up the text corpus for HTTP bodies.
var loremWords = [...]string{
	"<div", "class=\"item\">", "the", "router", "traffic", "lorem", "ipsum", "dolor",
	"sit", "amet,", "consectetur", "adipiscing", "elit", "</div>\n", "<p>", "</p>\n",
	"{\"id\":", "42,", "\"name\":", "\"value\"},", "network", "monitor", "openwrt",
	"function", "return", "var", "=", ";", "{", "}", "\n", "a", "home", "lan",
}
