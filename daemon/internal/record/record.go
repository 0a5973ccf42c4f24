// Package record defines the typed records that the engine emits: sessions,
// DNS transactions and the rest of DESIGN.md's table. A record is the one
// contract between the engine, the store and the API: field names are the
// same in JSON Lines, SQL columns and API answers.
//
// Records are plain values. Once the engine hands a record to a sink it never
// touches it again, so a sink may keep it. Times are Unix milliseconds, MACs
// lower-case colon-separated, IPs canonical text.
package record

// Kind names a record type; it is the "type" member of a JSON Lines object
// and the singular of its table name.
type Kind uint8

// The record kinds, in DESIGN.md's order.
const (
	KindSession Kind = iota + 1
	KindDNS
	KindHTTP
	KindTLS
	KindICMP
	KindApp
	KindDevice
)

var kindNames = [...]string{"", "session", "dns", "http", "tls", "icmp", "app", "device"}

// String returns the JSON "type" value of k.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Record is any record type.
type Record interface {
	Kind() Kind
	// AppendJSON appends the record as one JSON object (with "type", no
	// newline) to b. Field order is fixed, so the same record always gives
	// the same bytes.
	AppendJSON(b []byte) []byte
}

// End reasons of a session.
const (
	EndFIN      = "fin"
	EndRST      = "rst"
	EndTimeout  = "timeout"
	EndEvicted  = "evicted"
	EndEOF      = "eof"
	EndShutdown = "shutdown"
)

// Step is one timeline entry: a packet of a session's first N packets.
type Step struct {
	DT    uint32 // milliseconds since the session's first packet
	Dir   uint8  // 1 client to server, 2 server to client
	Flags uint8  // TCP flags (FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ECE 0x40 CWR 0x80); 0 for UDP
	Len   uint16 // IP length (header included)
}

// Session is one TCP or UDP conversation between a client and a server.
// The client is the side that started it (see package flow for the rule).
type Session struct {
	Sensor     string
	Proto      string // "tcp" or "udp"
	ClientMAC  string
	ClientIP   string
	ClientPort uint16
	ServerMAC  string
	ServerIP   string
	ServerPort uint16
	VLAN       uint16
	StartTS    int64
	EndTS      int64
	BytesUp    uint64 // IP bytes client to server
	BytesDown  uint64
	PktsUp     uint64
	PktsDown   uint64
	Host       string
	App        string
	EndReason  string
	Timeline   []Step
}

// Kind implements Record.
func (*Session) Kind() Kind { return KindSession }

// AppendJSON implements Record.
func (s *Session) AppendJSON(b []byte) []byte {
	b = append(b, `{"type":"session"`...)
	b = appendStr(b, `,"sensor":`, s.Sensor)
	b = appendStr(b, `,"proto":`, s.Proto)
	b = appendStr(b, `,"client_mac":`, s.ClientMAC)
	b = appendStr(b, `,"client_ip":`, s.ClientIP)
	b = appendUint(b, `,"client_port":`, uint64(s.ClientPort))
	b = appendStr(b, `,"server_mac":`, s.ServerMAC)
	b = appendStr(b, `,"server_ip":`, s.ServerIP)
	b = appendUint(b, `,"server_port":`, uint64(s.ServerPort))
	b = appendUint(b, `,"vlan":`, uint64(s.VLAN))
	b = appendInt(b, `,"start_ts":`, s.StartTS)
	b = appendInt(b, `,"end_ts":`, s.EndTS)
	b = appendUint(b, `,"bytes_up":`, s.BytesUp)
	b = appendUint(b, `,"bytes_down":`, s.BytesDown)
	b = appendUint(b, `,"pkts_up":`, s.PktsUp)
	b = appendUint(b, `,"pkts_down":`, s.PktsDown)
	b = appendStr(b, `,"host":`, s.Host)
	b = appendStr(b, `,"app":`, s.App)
	b = appendStr(b, `,"end_reason":`, s.EndReason)
	b = append(b, `,"timeline":`...)
	b = AppendTimeline(b, s.Timeline)
	return append(b, '}')
}

// AppendTimeline appends tl as a JSON array of [dt_ms, dir, ip_len, tcp_flags].
// The SQL store keeps the same text in its timeline column.
func AppendTimeline(b []byte, tl []Step) []byte {
	if len(tl) == 0 {
		return append(b, '[', ']')
	}
	b = append(b, '[', '[')
	for i := range tl {
		st := &tl[i]
		if i > 0 {
			b = append(b, ',', '[')
		}
		b = appendU(b, uint64(st.DT))
		if st.Dir < 10 {
			b = append(b, ',', '0'+st.Dir, ',')
		} else {
			b = append(b, ',')
			b = appendU(b, uint64(st.Dir))
			b = append(b, ',')
		}
		b = appendU(b, uint64(st.Len))
		b = append(b, ',')
		b = appendU(b, uint64(st.Flags))
		b = append(b, ']')
	}
	return append(b, ']')
}

// Answer is one resource record of a DNS answer section.
type Answer struct {
	Name string
	Type string // mnemonic: A, AAAA, CNAME, ... or TYPEn
	TTL  uint32
	Data string // presentation form of the RDATA
}

// DNS is one DNS transaction: a query and, when seen, its response.
type DNS struct {
	Sensor    string
	TS        int64 // time of the query (of the response when no query was seen)
	ClientMAC string
	ClientIP  string
	ServerIP  string
	Proto     string // "udp" or "tcp"
	TxID      uint16
	Query     string
	QType     string
	RCode     string // "" when no response was seen
	Answers   []Answer
	RTTMs     int64 // -1 when no response (or no query) was seen
}

// Kind implements Record.
func (*DNS) Kind() Kind { return KindDNS }

// AppendJSON implements Record.
func (d *DNS) AppendJSON(b []byte) []byte {
	b = append(b, `{"type":"dns"`...)
	b = appendStr(b, `,"sensor":`, d.Sensor)
	b = appendInt(b, `,"ts":`, d.TS)
	b = appendStr(b, `,"client_mac":`, d.ClientMAC)
	b = appendStr(b, `,"client_ip":`, d.ClientIP)
	b = appendStr(b, `,"server_ip":`, d.ServerIP)
	b = appendStr(b, `,"proto":`, d.Proto)
	b = appendUint(b, `,"txid":`, uint64(d.TxID))
	b = appendStr(b, `,"query":`, d.Query)
	b = appendStr(b, `,"qtype":`, d.QType)
	b = appendStr(b, `,"rcode":`, d.RCode)
	b = append(b, `,"answers":`...)
	b = AppendAnswers(b, d.Answers)
	b = appendInt(b, `,"rtt_ms":`, d.RTTMs)
	return append(b, '}')
}

// AppendAnswers appends answers as a JSON array of {name,type,ttl,data}.
func AppendAnswers(b []byte, answers []Answer) []byte {
	b = append(b, '[')
	for i := range answers {
		a := &answers[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = AppendString(b, a.Name)
		b = append(b, `,"type":`...)
		b = AppendString(b, a.Type)
		b = append(b, `,"ttl":`...)
		b = appendU(b, uint64(a.TTL))
		b = append(b, `,"data":`...)
		b = AppendString(b, a.Data)
		b = append(b, '}')
	}
	return append(b, ']')
}
