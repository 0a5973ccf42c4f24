package record

// HTTP is one HTTP/1.x request, paired with its response when seen.
type HTTP struct {
	Sensor      string
	TS          int64
	ClientMAC   string
	ClientIP    string
	ClientPort  uint16
	ServerIP    string
	ServerPort  uint16
	Method      string
	Host        string
	URI         string
	UserAgent   string
	Referer     string
	Status      uint16 // 0 when no response was seen
	ContentType string
}

// Kind implements Record.
func (*HTTP) Kind() Kind { return KindHTTP }

// AppendJSON implements Record.
func (h *HTTP) AppendJSON(b []byte) []byte {
	b = append(b, `{"type":"http"`...)
	b = appendStr(b, `,"sensor":`, h.Sensor)
	b = appendInt(b, `,"ts":`, h.TS)
	b = appendStr(b, `,"client_mac":`, h.ClientMAC)
	b = appendStr(b, `,"client_ip":`, h.ClientIP)
	b = appendUint(b, `,"client_port":`, uint64(h.ClientPort))
	b = appendStr(b, `,"server_ip":`, h.ServerIP)
	b = appendUint(b, `,"server_port":`, uint64(h.ServerPort))
	b = appendStr(b, `,"method":`, h.Method)
	b = appendStr(b, `,"host":`, h.Host)
	b = appendStr(b, `,"uri":`, h.URI)
	b = appendStr(b, `,"user_agent":`, h.UserAgent)
	b = appendStr(b, `,"referer":`, h.Referer)
	b = appendUint(b, `,"status":`, uint64(h.Status))
	b = appendStr(b, `,"content_type":`, h.ContentType)
	return append(b, '}')
}

// TLS is one TLS (or QUIC) handshake seen from its hellos.
type TLS struct {
	Sensor     string
	TS         int64
	ClientMAC  string
	ClientIP   string
	ClientPort uint16
	ServerIP   string
	ServerPort uint16
	Transport  string // "tcp" or "quic"
	Version    string // negotiated, e.g. "TLS 1.3"
	SNI        string
	ALPN       string // client's offer, comma-separated
	JA3        string
	JA3S       string
	JA4        string
	ECH        bool // the hello carries Encrypted Client Hello: SNI is the outer, public name
}

// Kind implements Record.
func (*TLS) Kind() Kind { return KindTLS }

// AppendJSON implements Record.
func (t *TLS) AppendJSON(b []byte) []byte {
	b = append(b, `{"type":"tls"`...)
	b = appendStr(b, `,"sensor":`, t.Sensor)
	b = appendInt(b, `,"ts":`, t.TS)
	b = appendStr(b, `,"client_mac":`, t.ClientMAC)
	b = appendStr(b, `,"client_ip":`, t.ClientIP)
	b = appendUint(b, `,"client_port":`, uint64(t.ClientPort))
	b = appendStr(b, `,"server_ip":`, t.ServerIP)
	b = appendUint(b, `,"server_port":`, uint64(t.ServerPort))
	b = appendStr(b, `,"transport":`, t.Transport)
	b = appendStr(b, `,"version":`, t.Version)
	b = appendStr(b, `,"sni":`, t.SNI)
	b = appendStr(b, `,"alpn":`, t.ALPN)
	b = appendStr(b, `,"ja3":`, t.JA3)
	b = appendStr(b, `,"ja3s":`, t.JA3S)
	b = appendStr(b, `,"ja4":`, t.JA4)
	b = appendBool(b, `,"ech":`, t.ECH)
	return append(b, '}')
}

// ICMP is one ICMP or ICMPv6 exchange: an echo request with its reply, or
// one error or control message. Its type and code are written as icmp_type
// and icmp_code, since "type" names the record kind in JSON Lines.
type ICMP struct {
	Sensor    string
	TS        int64
	ClientMAC string
	SrcIP     string
	DstIP     string
	Family    uint8 // 4 or 6
	Type      uint8
	Code      uint8
	EchoID    uint16
	EchoSeq   uint16
	RTTMs     int64  // -1 when unanswered or not an echo
	Quoted    string // for errors: the quoted packet, "udp 192.0.2.1:5353 > 198.51.100.1:53"
}

// Kind implements Record.
func (*ICMP) Kind() Kind { return KindICMP }

// AppendJSON implements Record.
func (c *ICMP) AppendJSON(b []byte) []byte {
	b = append(b, `{"type":"icmp"`...)
	b = appendStr(b, `,"sensor":`, c.Sensor)
	b = appendInt(b, `,"ts":`, c.TS)
	b = appendStr(b, `,"client_mac":`, c.ClientMAC)
	b = appendStr(b, `,"src_ip":`, c.SrcIP)
	b = appendStr(b, `,"dst_ip":`, c.DstIP)
	b = appendUint(b, `,"family":`, uint64(c.Family))
	b = appendUint(b, `,"icmp_type":`, uint64(c.Type))
	b = appendUint(b, `,"icmp_code":`, uint64(c.Code))
	b = appendUint(b, `,"echo_id":`, uint64(c.EchoID))
	b = appendUint(b, `,"echo_seq":`, uint64(c.EchoSeq))
	b = appendInt(b, `,"rtt_ms":`, c.RTTMs)
	b = appendStr(b, `,"quoted":`, c.Quoted)
	return append(b, '}')
}

// App is one application-usage session of one device.
type App struct {
	Sensor    string
	ClientMAC string
	App       string
	StartTS   int64
	EndTS     int64
	Host      string
	Sessions  uint64
	Bytes     uint64
}

// Kind implements Record.
func (*App) Kind() Kind { return KindApp }

// AppendJSON implements Record.
func (a *App) AppendJSON(b []byte) []byte {
	b = append(b, `{"type":"app"`...)
	b = appendStr(b, `,"sensor":`, a.Sensor)
	b = appendStr(b, `,"client_mac":`, a.ClientMAC)
	b = appendStr(b, `,"app":`, a.App)
	b = appendInt(b, `,"start_ts":`, a.StartTS)
	b = appendInt(b, `,"end_ts":`, a.EndTS)
	b = appendStr(b, `,"host":`, a.Host)
	b = appendUint(b, `,"sessions":`, a.Sessions)
	b = appendUint(b, `,"bytes":`, a.Bytes)
	return append(b, '}')
}

// Device is the inventory entry of one LAN device.
type Device struct {
	Sensor          string
	MAC             string
	Alias           string
	Hostname        string
	Vendor          string
	IPv4            []string
	IPv6            []string
	OS              string
	DHCPFingerprint string
	Randomized      bool
	FirstSeen       int64
	LastSeen        int64
	BytesUp         uint64
	BytesDown       uint64
}

// Kind implements Record.
func (*Device) Kind() Kind { return KindDevice }

// AppendJSON implements Record.
func (d *Device) AppendJSON(b []byte) []byte {
	b = append(b, `{"type":"device"`...)
	b = appendStr(b, `,"sensor":`, d.Sensor)
	b = appendStr(b, `,"mac":`, d.MAC)
	b = appendStr(b, `,"alias":`, d.Alias)
	b = appendStr(b, `,"hostname":`, d.Hostname)
	b = appendStr(b, `,"vendor":`, d.Vendor)
	b = appendStrings(b, `,"ipv4":`, d.IPv4)
	b = appendStrings(b, `,"ipv6":`, d.IPv6)
	b = appendStr(b, `,"os":`, d.OS)
	b = appendStr(b, `,"dhcp_fingerprint":`, d.DHCPFingerprint)
	b = appendBool(b, `,"randomized":`, d.Randomized)
	b = appendInt(b, `,"first_seen":`, d.FirstSeen)
	b = appendInt(b, `,"last_seen":`, d.LastSeen)
	b = appendUint(b, `,"bytes_up":`, d.BytesUp)
	b = appendUint(b, `,"bytes_down":`, d.BytesDown)
	return append(b, '}')
}
