package sqldb

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"tamon/daemon/internal/record"
)

// rowArgs collects the parameters of INSERT rows and fits each value to its
// column: text is made valid UTF-8 and cut to the column's size, JSON lists
// lose whole elements, counters are clamped to BIGINT. It counts what it
// changed, so that nothing is cut silently.
type rowArgs struct {
	args      []any
	cols      []column
	i         int // column of the next value
	truncated int // values cut, clamped or shortened
	repaired  int // values whose invalid UTF-8 was replaced
	buf       []byte
}

func (w *rowArgs) next() column {
	c := w.cols[w.i]
	w.i++
	return c
}

func (w *rowArgs) str(s string) {
	c := w.next()
	if !utf8.ValidString(s) {
		s = toValidUTF8(s)
		w.repaired++
	}
	limit := textBytes
	if c.typ == tStr {
		if len(s) > c.size { // fewer bytes than the size means fewer characters too
			if cut, ok := cutRunes(s, c.size); ok {
				s = cut
				w.truncated++
			}
		}
		limit = c.size * 4
	}
	if len(s) > limit {
		s = cutBytes(s, limit)
		w.truncated++
	}
	w.args = append(w.args, s)
}

func (w *rowArgs) int(v int64) {
	w.next()
	w.args = append(w.args, v)
}

func (w *rowArgs) uint(v uint64) {
	w.next()
	if v > math.MaxInt64 {
		v = math.MaxInt64
		w.truncated++
	}
	w.args = append(w.args, int64(v))
}

func (w *rowArgs) bool(v bool) {
	w.next()
	var n int64
	if v {
		n = 1
	}
	w.args = append(w.args, n)
}

// json appends the JSON text of a list of n elements, made by enc for a
// prefix of k elements, dropping elements from the end until it fits.
func (w *rowArgs) json(n int, enc func(b []byte, k int) []byte) {
	w.next()
	w.buf = enc(w.buf[:0], n)
	if len(w.buf) > textBytes {
		lo, hi := 0, n // enc(lo) fits, enc(hi) does not
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			if len(enc(w.buf[:0], mid)) <= textBytes {
				lo = mid
			} else {
				hi = mid
			}
		}
		w.buf = enc(w.buf[:0], lo)
		w.truncated++
	}
	w.args = append(w.args, string(w.buf))
}

// toValidUTF8 replaces each invalid byte with U+FFFD, as record's JSON
// encoder does, so that the database keeps the text the JSON shows.
func toValidUTF8(s string) string {
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return string(b)
}

// cutRunes returns the first n characters of s, and whether s was longer.
func cutRunes(s string, n int) (string, bool) {
	count := 0
	for i := range s {
		if count == n {
			return s[:i], true
		}
		count++
	}
	return s, false
}

// cutBytes returns the longest prefix of s of at most n bytes that ends on
// a character boundary.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// rowGetter reads a scanned row back into a record, column by column.
type rowGetter struct {
	cols []column
	strs []string
	ints []int64
	i    int
	err  error
}

func newRowGetter(cols []column) *rowGetter {
	return &rowGetter{cols: cols, strs: make([]string, len(cols)), ints: make([]int64, len(cols))}
}

// dest returns the Scan destinations: the id first, then each column.
func (g *rowGetter) dest(id *int64) []any {
	d := make([]any, 0, len(g.cols)+1)
	d = append(d, id)
	for i, c := range g.cols {
		switch c.typ {
		case tInt, tSmall, tBool:
			d = append(d, &g.ints[i])
		default:
			d = append(d, &g.strs[i])
		}
	}
	return d
}

// value returns column i as an int64 or a string.
func (g *rowGetter) value(i int) any {
	switch g.cols[i].typ {
	case tInt, tSmall, tBool:
		return g.ints[i]
	}
	return g.strs[i]
}

func (g *rowGetter) str() string { g.i++; return g.strs[g.i-1] }
func (g *rowGetter) int() int64  { g.i++; return g.ints[g.i-1] }
func (g *rowGetter) uint() uint64 {
	g.i++
	v := g.ints[g.i-1]
	if v < 0 {
		return 0
	}
	return uint64(v)
}
func (g *rowGetter) u16() uint16 { return uint16(g.uint()) }
func (g *rowGetter) u8() uint8   { return uint8(g.uint()) }
func (g *rowGetter) bool() bool  { g.i++; return g.ints[g.i-1] != 0 }

// json decodes a JSON column into v; a column that does not parse (edited
// by hand) gives an error naming it.
func (g *rowGetter) json(v any) {
	g.i++
	s := g.strs[g.i-1]
	if s == "" || s == "[]" {
		return
	}
	if err := json.Unmarshal([]byte(s), v); err != nil && g.err == nil {
		g.err = fmt.Errorf("decode column %s %.40q: %w", g.cols[g.i-1].name, s, err)
	}
}

func putSession(w *rowArgs, r record.Record) bool {
	s, ok := r.(*record.Session)
	if !ok {
		return false
	}
	w.str(s.Sensor)
	w.str(s.Proto)
	w.str(s.ClientMAC)
	w.str(s.ClientIP)
	w.uint(uint64(s.ClientPort))
	w.str(s.ServerMAC)
	w.str(s.ServerIP)
	w.uint(uint64(s.ServerPort))
	w.uint(uint64(s.VLAN))
	w.int(s.StartTS)
	w.int(s.EndTS)
	w.uint(s.BytesUp)
	w.uint(s.BytesDown)
	w.uint(s.PktsUp)
	w.uint(s.PktsDown)
	w.str(s.Host)
	w.str(s.App)
	w.str(s.EndReason)
	w.json(len(s.Timeline), func(b []byte, k int) []byte { return record.AppendTimeline(b, s.Timeline[:k]) })
	return true
}

func getSession(g *rowGetter) record.Record {
	s := &record.Session{
		Sensor: g.str(), Proto: g.str(), ClientMAC: g.str(), ClientIP: g.str(), ClientPort: g.u16(),
		ServerMAC: g.str(), ServerIP: g.str(), ServerPort: g.u16(), VLAN: g.u16(), StartTS: g.int(),
		EndTS: g.int(), BytesUp: g.uint(), BytesDown: g.uint(), PktsUp: g.uint(), PktsDown: g.uint(),
		Host: g.str(), App: g.str(), EndReason: g.str(),
	}
	var steps [][4]uint64
	g.json(&steps)
	if len(steps) > 0 {
		s.Timeline = make([]record.Step, len(steps))
		for i, st := range steps {
			s.Timeline[i] = record.Step{DT: uint32(st[0]), Dir: uint8(st[1]), Len: uint16(st[2]), Flags: uint8(st[3])}
		}
	}
	return s
}

type jsonAnswer struct {
	Name string `json:"name"`
	Type string `json:"type"`
	TTL  uint32 `json:"ttl"`
	Data string `json:"data"`
}

func putDNS(w *rowArgs, r record.Record) bool {
	d, ok := r.(*record.DNS)
	if !ok {
		return false
	}
	w.str(d.Sensor)
	w.int(d.TS)
	w.str(d.ClientMAC)
	w.str(d.ClientIP)
	w.str(d.ServerIP)
	w.str(d.Proto)
	w.uint(uint64(d.TxID))
	w.str(d.Query)
	w.str(d.QType)
	w.str(d.RCode)
	w.json(len(d.Answers), func(b []byte, k int) []byte { return record.AppendAnswers(b, d.Answers[:k]) })
	w.int(d.RTTMs)
	return true
}

func getDNS(g *rowGetter) record.Record {
	d := &record.DNS{
		Sensor: g.str(), TS: g.int(), ClientMAC: g.str(), ClientIP: g.str(), ServerIP: g.str(),
		Proto: g.str(), TxID: g.u16(), Query: g.str(), QType: g.str(), RCode: g.str(),
	}
	var as []jsonAnswer
	g.json(&as)
	if len(as) > 0 {
		d.Answers = make([]record.Answer, len(as))
		for i, a := range as {
			d.Answers[i] = record.Answer{Name: a.Name, Type: a.Type, TTL: a.TTL, Data: a.Data}
		}
	}
	d.RTTMs = g.int()
	return d
}

func putHTTP(w *rowArgs, r record.Record) bool {
	h, ok := r.(*record.HTTP)
	if !ok {
		return false
	}
	w.str(h.Sensor)
	w.int(h.TS)
	w.str(h.ClientMAC)
	w.str(h.ClientIP)
	w.uint(uint64(h.ClientPort))
	w.str(h.ServerIP)
	w.uint(uint64(h.ServerPort))
	w.str(h.Method)
	w.str(h.Host)
	w.str(h.URI)
	w.str(h.UserAgent)
	w.str(h.Referer)
	w.uint(uint64(h.Status))
	w.str(h.ContentType)
	return true
}

func getHTTP(g *rowGetter) record.Record {
	return &record.HTTP{
		Sensor: g.str(), TS: g.int(), ClientMAC: g.str(), ClientIP: g.str(), ClientPort: g.u16(),
		ServerIP: g.str(), ServerPort: g.u16(), Method: g.str(), Host: g.str(), URI: g.str(),
		UserAgent: g.str(), Referer: g.str(), Status: g.u16(), ContentType: g.str(),
	}
}

func putTLS(w *rowArgs, r record.Record) bool {
	t, ok := r.(*record.TLS)
	if !ok {
		return false
	}
	w.str(t.Sensor)
	w.int(t.TS)
	w.str(t.ClientMAC)
	w.str(t.ClientIP)
	w.uint(uint64(t.ClientPort))
	w.str(t.ServerIP)
	w.uint(uint64(t.ServerPort))
	w.str(t.Transport)
	w.str(t.Version)
	w.str(t.SNI)
	w.str(t.ALPN)
	w.str(t.JA3)
	w.str(t.JA3S)
	w.str(t.JA4)
	w.bool(t.ECH)
	return true
}

func getTLS(g *rowGetter) record.Record {
	return &record.TLS{
		Sensor: g.str(), TS: g.int(), ClientMAC: g.str(), ClientIP: g.str(), ClientPort: g.u16(),
		ServerIP: g.str(), ServerPort: g.u16(), Transport: g.str(), Version: g.str(), SNI: g.str(),
		ALPN: g.str(), JA3: g.str(), JA3S: g.str(), JA4: g.str(), ECH: g.bool(),
	}
}

func putICMP(w *rowArgs, r record.Record) bool {
	c, ok := r.(*record.ICMP)
	if !ok {
		return false
	}
	w.str(c.Sensor)
	w.int(c.TS)
	w.str(c.ClientMAC)
	w.str(c.SrcIP)
	w.str(c.DstIP)
	w.uint(uint64(c.Family))
	w.uint(uint64(c.Type))
	w.uint(uint64(c.Code))
	w.uint(uint64(c.EchoID))
	w.uint(uint64(c.EchoSeq))
	w.int(c.RTTMs)
	w.str(c.Quoted)
	return true
}

func getICMP(g *rowGetter) record.Record {
	return &record.ICMP{
		Sensor: g.str(), TS: g.int(), ClientMAC: g.str(), SrcIP: g.str(), DstIP: g.str(), Family: g.u8(),
		Type: g.u8(), Code: g.u8(), EchoID: g.u16(), EchoSeq: g.u16(), RTTMs: g.int(), Quoted: g.str(),
	}
}

func putApp(w *rowArgs, r record.Record) bool {
	a, ok := r.(*record.App)
	if !ok {
		return false
	}
	w.str(a.Sensor)
	w.str(a.ClientMAC)
	w.str(a.App)
	w.int(a.StartTS)
	w.int(a.EndTS)
	w.str(a.Host)
	w.uint(a.Sessions)
	w.uint(a.Bytes)
	return true
}

func getApp(g *rowGetter) record.Record {
	return &record.App{
		Sensor: g.str(), ClientMAC: g.str(), App: g.str(), StartTS: g.int(), EndTS: g.int(),
		Host: g.str(), Sessions: g.uint(), Bytes: g.uint(),
	}
}

func appendStringList(b []byte, list []string) []byte {
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = record.AppendString(b, s)
	}
	return append(b, ']')
}

func putDevice(w *rowArgs, r record.Record) bool {
	d, ok := r.(*record.Device)
	if !ok {
		return false
	}
	w.str(d.Sensor)
	w.str(d.MAC)
	w.str(d.Alias)
	w.str(d.Hostname)
	w.str(d.Vendor)
	w.json(len(d.IPv4), func(b []byte, k int) []byte { return appendStringList(b, d.IPv4[:k]) })
	w.json(len(d.IPv6), func(b []byte, k int) []byte { return appendStringList(b, d.IPv6[:k]) })
	w.str(d.OS)
	w.str(d.DHCPFingerprint)
	w.bool(d.Randomized)
	w.int(d.FirstSeen)
	w.int(d.LastSeen)
	w.uint(d.BytesUp)
	w.uint(d.BytesDown)
	return true
}

func getDevice(g *rowGetter) record.Record {
	d := &record.Device{Sensor: g.str(), MAC: g.str(), Alias: g.str(), Hostname: g.str(), Vendor: g.str()}
	g.json(&d.IPv4)
	g.json(&d.IPv6)
	d.OS = g.str()
	d.DHCPFingerprint = g.str()
	d.Randomized = g.bool()
	d.FirstSeen = g.int()
	d.LastSeen = g.int()
	d.BytesUp = g.uint()
	d.BytesDown = g.uint()
	return d
}

// formatText appends the text form of each value of args (as CSV shows it).
func formatText(dst []string, args []any) []string {
	for _, a := range args {
		switch v := a.(type) {
		case string:
			dst = append(dst, v)
		case int64:
			dst = append(dst, strconv.FormatInt(v, 10))
		default:
			dst = append(dst, fmt.Sprint(v))
		}
	}
	return dst
}
