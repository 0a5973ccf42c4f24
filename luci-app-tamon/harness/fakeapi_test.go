package harness

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// synthetic returns n sessions of two devices a minute apart ending now,
// with DNS records beside them, as JSON Lines.
func synthetic(n int) string {
	now := time.Now().UnixMilli()
	var b strings.Builder
	for i := range n {
		mac := "02:00:5e:00:53:01"
		host := fmt.Sprintf("www%d.example.org", i)
		if i%3 == 0 {
			mac = "02:00:5e:00:53:02"
			host = "api.example.net"
		}
		start := now - int64(n-i)*60_000
		fmt.Fprintf(&b, `{"type":"session","sensor":"t","proto":"tcp","client_mac":%q,"client_ip":"192.0.2.%d","client_port":%d,"server_mac":"","server_ip":"198.51.100.%d","server_port":443,"vlan":0,"start_ts":%d,"end_ts":%d,"bytes_up":%d,"bytes_down":%d,"pkts_up":2,"pkts_down":3,"host":%q,"app":"","end_reason":"fin","timeline":[[0,1,60,2],[5,2,60,18]]}`+"\n",
			mac, 10+i%3, 40000+i, i%250, start, start+30_000, 100*(i+1), 1000*(i+1), host)
		fmt.Fprintf(&b, `{"type":"dns","sensor":"t","ts":%d,"client_mac":%q,"client_ip":"192.0.2.10","server_ip":"198.51.100.53","proto":"udp","txid":%d,"query":%q,"qtype":"A","rcode":"NOERROR","answers":[{"name":%q,"type":"A","ttl":60,"data":"203.0.113.%d"}],"rtt_ms":3}`+"\n",
			start-10, mac, i, host, host, i%250)
	}
	return b.String()
}

func fakeServer(t *testing.T, n int) (*FakeAPI, *httptest.Server) {
	t.Helper()
	ds, err := ReadJSONL(strings.NewReader(synthetic(n)))
	if err != nil {
		t.Fatal(err)
	}
	ds.Derive("t", 300_000)
	f := NewFakeAPI(ds)
	f.Auth = func(tok, level string) bool { return tok == "good" || tok == "ro" && level == "read" }
	f.AllowOrigin = func(o string) bool { return o == "http://192.0.2.1" }
	ts := httptest.NewServer(f)
	t.Cleanup(func() { f.Close(); ts.Close() })
	return f, ts
}

func apiGet(t *testing.T, ts *httptest.Server, path, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func rowsOf(v map[string]any) []map[string]any {
	l, _ := v["rows"].([]any)
	out := make([]map[string]any, len(l))
	for i, r := range l {
		out[i], _ = r.(map[string]any)
	}
	return out
}

func TestFakeAPILists(t *testing.T) {
	_, ts := fakeServer(t, 30)
	tests := []struct {
		name  string
		path  string
		code  int
		nrows int
		check func(t *testing.T, rows []map[string]any)
	}{
		{"health needs no auth", "/api/v1/health", 200, 0, nil},
		{"sessions newest first", "/api/v1/sessions?limit=5", 200, 5, func(t *testing.T, r []map[string]any) {
			for i := 1; i < len(r); i++ {
				if r[i]["start_ts"].(float64) > r[i-1]["start_ts"].(float64) {
					t.Errorf("row %d newer than row %d", i, i-1)
				}
			}
		}},
		{"oldest first", "/api/v1/sessions?limit=3&sort=-ts", 200, 3, func(t *testing.T, r []map[string]any) {
			if r[0]["start_ts"].(float64) > r[2]["start_ts"].(float64) {
				t.Error("not oldest first")
			}
		}},
		{"mac filter", "/api/v1/sessions?mac=02:00:5e:00:53:02&limit=100", 200, 10, nil},
		{"host wildcard and alternatives", "/api/v1/sessions?host=www1*%3Bapi.*&limit=100", 200, count(30, func(h string) bool { return strings.HasPrefix(h, "www1") || strings.HasPrefix(h, "api.") }), nil},
		{"q substring", "/api/v1/dns?q=WWW2&limit=100", 200, count(30, func(h string) bool { return strings.Contains(h, "www2") }), nil},
		{"percent is literal", "/api/v1/sessions?host=%25", 200, 0, nil},
		{"port", "/api/v1/sessions?port=40003,40004", 200, 2, nil},
		{"time range", fmt.Sprintf("/api/v1/sessions?from=%d&limit=100", time.Now().Add(-5*time.Minute-10*time.Second).UnixMilli()), 200, 5, nil},
		{"rfc3339", "/api/v1/sessions?from=" + time.Now().Add(-5*time.Minute-10*time.Second).UTC().Format(time.RFC3339), 200, 5, nil},
		{"devices derived", "/api/v1/devices", 200, 2, nil},
		{"apps none", "/api/v1/apps", 200, 0, nil},
		{"unknown parameter", "/api/v1/sessions?colour=red", 400, 0, nil},
		{"bad limit", "/api/v1/sessions?limit=0", 400, 0, nil},
		{"bad sort", "/api/v1/sessions?sort=host", 400, 0, nil},
		{"bad cursor", "/api/v1/sessions?before=x", 400, 0, nil},
		{"bad time", "/api/v1/sessions?from=yesterday", 400, 0, nil},
		{"unknown route", "/api/v1/flows", 404, 0, nil},
		{"top devices", "/api/v1/top?by=device&metric=sessions", 200, 2, func(t *testing.T, r []map[string]any) {
			if r[0]["key"] != "02:00:5e:00:53:01" || r[0]["sessions"].(float64) != 20 {
				t.Errorf("top = %v", r)
			}
		}},
		{"top bad by", "/api/v1/top?by=colour", 400, 0, nil},
		{"device history", "/api/v1/devices/02:00:5e:00:53:02/history", 200, -1, func(t *testing.T, r []map[string]any) {
			n := 0.0
			for _, h := range r {
				if h["name"] != "api.example.net" {
					t.Errorf("history row %v", h)
				}
				n += h["sessions"].(float64)
			}
			if n != 10 || len(r) == 0 || len(r) > 2 {
				t.Errorf("history = %v, want 10 sessions on one day (two around midnight)", r)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := apiGet(t, ts, tc.path, "good")
			if code != tc.code {
				t.Fatalf("%s: %d %v, want %d", tc.path, code, body, tc.code)
			}
			if code >= 400 {
				if e, _ := body["error"].(string); e == "" {
					t.Errorf("error answer without a message: %v", body)
				}
				return
			}
			rows := rowsOf(body)
			if tc.nrows >= 0 && len(rows) != tc.nrows {
				t.Fatalf("%s: %d rows, want %d", tc.path, len(rows), tc.nrows)
			}
			if tc.check != nil {
				tc.check(t, rows)
			}
		})
	}
	if code, _ := apiGet(t, ts, "/api/v1/sessions", ""); code != 401 {
		t.Errorf("no token: %d", code)
	}
	if code, _ := apiGet(t, ts, "/api/v1/sessions", "bad"); code != 401 {
		t.Errorf("bad token: %d", code)
	}
}

// TestFakeAPIPaging walks all sessions page by page, both ways, with the
// cursors, and checks that no row is lost or repeated.
func TestFakeAPIPaging(t *testing.T) {
	f, ts := fakeServer(t, 23)
	total := f.Count("session")
	var seen []float64
	cursor := ""
	var cursors []string
	for {
		p := "/api/v1/sessions?limit=5"
		if cursor != "" {
			p += "&before=" + cursor
		}
		_, body := apiGet(t, ts, p, "good")
		rows := rowsOf(body)
		if len(rows) == 0 {
			break
		}
		for _, r := range rows {
			seen = append(seen, r["client_port"].(float64))
		}
		cursors = append(cursors, cursor)
		cursor = body["next"].(string)
	}
	if len(seen) != total {
		t.Fatalf("paged through %d rows, want %d", len(seen), total)
	}
	uniq := map[float64]bool{}
	for _, p := range seen {
		uniq[p] = true
	}
	if len(uniq) != total {
		t.Errorf("rows repeated: %v", seen)
	}
	// after= from the oldest cursor goes forward again, oldest first
	_, first := apiGet(t, ts, "/api/v1/sessions?limit=1&sort=-ts", "good")
	c := first["next"].(string)
	var fwd int
	for range total {
		_, body := apiGet(t, ts, "/api/v1/sessions?limit=4&sort=-ts&after="+c, "good")
		rows := rowsOf(body)
		if len(rows) == 0 {
			break
		}
		fwd += len(rows)
		c = body["next"].(string)
	}
	if fwd != total-1 {
		t.Errorf("forward walk saw %d rows, want %d", fwd, total-1)
	}
}

func TestFakeAPICSVSeriesAlias(t *testing.T) {
	f, ts := fakeServer(t, 10)
	req, _ := http.NewRequest("GET", ts.URL+"/api/v1/dns.csv?limit=3", nil)
	req.Header.Set("Authorization", "Bearer ro")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(res.Body).ReadAll()
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || strings.Join(recs[0], ",") != "sensor,ts,client_mac,client_ip,server_ip,proto,txid,query,qtype,rcode,answers,rtt_ms" {
		t.Fatalf("csv = %q", recs)
	}
	var answers []map[string]any
	if err := json.Unmarshal([]byte(recs[1][10]), &answers); err != nil || len(answers) != 1 {
		t.Errorf("answers cell %q is not JSON text: %v", recs[1][10], err)
	}

	_, body := apiGet(t, ts, "/api/v1/series?by=total&step=60s&from="+fmt.Sprint(time.Now().Add(-time.Hour).UnixMilli()), "good")
	series, _ := body["series"].([]any)
	if body["step_ms"] != 60000.0 || len(series) != 1 {
		t.Fatalf("series = %v", body)
	}
	var sum float64
	for _, p := range series[0].(map[string]any)["points"].([]any) {
		pt := p.([]any)
		sum += pt[1].(float64) + pt[2].(float64)
	}
	var want float64
	for _, r := range f.Rows("session") {
		want += float64(i64(r, "bytes_up") + i64(r, "bytes_down"))
	}
	if sum < want*0.99 || sum > want*1.01 {
		t.Errorf("series sums to %v bytes, sessions have %v", sum, want)
	}
	if code, _ := apiGet(t, ts, "/api/v1/series?step=1ms", "good"); code != 400 {
		t.Errorf("step 1ms: %d", code)
	}

	// alias: write level, UCI store called, device row updated
	store := &memAliases{m: map[string]string{}}
	f.Aliases = store
	put := func(tok, mac, body string) int {
		req, _ := http.NewRequest("PUT", ts.URL+"/api/v1/devices/"+mac+"/alias", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if c := put("ro", "02:00:5e:00:53:01", `{"name":"TV"}`); c != 401 {
		t.Errorf("read-only token may rename: %d", c)
	}
	if c := put("good", "02:00:5e:00:53:01", `{"name":"TV"}`); c != 200 {
		t.Errorf("rename: %d", c)
	}
	if c := put("good", "not-a-mac", `{"name":"TV"}`); c != 400 {
		t.Errorf("bad mac: %d", c)
	}
	if c := put("good", "02:00:5e:00:53:01", `{"nom":"TV"}`); c != 400 {
		t.Errorf("bad body: %d", c)
	}
	if d, _ := f.Device("02:00:5e:00:53:01"); d["alias"] != "TV" || store.m["02:00:5e:00:53:01"] != "TV" {
		t.Errorf("device %v, store %v", d, store.m)
	}

	// CORS: only the allowed origin
	req, _ = http.NewRequest("OPTIONS", ts.URL+"/api/v1/sessions", nil)
	req.Header.Set("Origin", "http://192.0.2.1")
	res, _ = http.DefaultClient.Do(req)
	res.Body.Close()
	if res.Header.Get("Access-Control-Allow-Origin") != "http://192.0.2.1" || !strings.Contains(res.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight headers %v", res.Header)
	}
	req.Header.Set("Origin", "http://198.51.100.66")
	res, _ = http.DefaultClient.Do(req)
	res.Body.Close()
	if res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("a foreign origin is allowed")
	}
}

type memAliases struct{ m map[string]string }

func (a *memAliases) SetAlias(mac, name string) error     { a.m[mac] = name; return nil }
func (a *memAliases) Aliases() (map[string]string, error) { return a.m, nil }

// wsClient is a minimal WebSocket client for the tests (masked frames).
type wsClient struct {
	c  net.Conn
	br *bufio.Reader
}

func dialWS(t *testing.T, ts *httptest.Server, origin string) (*wsClient, int) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	var k [16]byte
	rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	fmt.Fprintf(c, "GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\nOrigin: %s\r\n\r\n", key, origin)
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode == 101 {
		if got, want := res.Header.Get("Sec-WebSocket-Accept"), wsAccept(key); got != want {
			t.Errorf("accept %q, want %q", got, want)
		}
	} else {
		c.Close()
	}
	t.Cleanup(func() { c.Close() })
	return &wsClient{c, br}, res.StatusCode
}

func (w *wsClient) send(op byte, p []byte) {
	var mask [4]byte
	rand.Read(mask[:])
	hdr := []byte{0x80 | op}
	switch {
	case len(p) < 126:
		hdr = append(hdr, 0x80|byte(len(p)))
	default:
		hdr = append(hdr, 0x80|126, byte(len(p)>>8), byte(len(p)))
	}
	hdr = append(hdr, mask[:]...)
	m := make([]byte, len(p))
	for i := range p {
		m[i] = p[i] ^ mask[i&3]
	}
	w.c.Write(append(hdr, m...))
}

func (w *wsClient) read(t *testing.T) (byte, []byte) {
	t.Helper()
	w.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var h [2]byte
	if _, err := io.ReadFull(w.br, h[:]); err != nil {
		t.Fatalf("read frame: %v", err)
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		io.ReadFull(w.br, b[:])
		n = int(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		io.ReadFull(w.br, b[:])
		n = int(binary.BigEndian.Uint64(b[:]))
	}
	p := make([]byte, n)
	io.ReadFull(w.br, p)
	return h[0] & 0x0f, p
}

// nextOf reads messages until one of the given type arrives.
func (w *wsClient) nextOf(t *testing.T, typ string) map[string]any {
	t.Helper()
	for range 50 {
		op, p := w.read(t)
		if op != 1 {
			continue
		}
		var m map[string]any
		json.Unmarshal(p, &m)
		if m["type"] == typ {
			return m
		}
	}
	t.Fatalf("no %s message", typ)
	return nil
}

func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// count is the number of synthetic(n) records whose host passes keep.
func count(n int, keep func(host string) bool) int {
	c := 0
	for i := range n {
		h := fmt.Sprintf("www%d.example.org", i)
		if i%3 == 0 {
			h = "api.example.net"
		}
		if keep(h) {
			c++
		}
	}
	return c
}

func parseQuery(q string) (map[string][]string, error) { return url.ParseQuery(q) }

func TestWSAcceptKey(t *testing.T) {
	// RFC 6455, section 1.3
	if got := wsAccept("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("accept = %q", got)
	}
}

func TestFakeAPIStream(t *testing.T) {
	f, ts := fakeServer(t, 5)
	if _, code := dialWS(t, ts, "http://198.51.100.66"); code != http.StatusForbidden {
		t.Errorf("foreign origin: %d", code)
	}
	bad, code := dialWS(t, ts, "http://192.0.2.1")
	if code != 101 {
		t.Fatalf("upgrade: %d", code)
	}
	bad.send(1, []byte(`{"type":"auth","token":"bad"}`))
	if m := bad.nextOf(t, "error"); !strings.Contains(fmt.Sprint(m["data"]), "unauthorized") {
		t.Errorf("bad auth answer %v", m)
	}
	if op, p := bad.read(t); op != 8 || binary.BigEndian.Uint16(p) != 4401 {
		t.Errorf("close frame %d %v, want close 4401", op, p)
	}

	w, code := dialWS(t, ts, "http://192.0.2.1")
	if code != 101 {
		t.Fatalf("upgrade: %d", code)
	}
	w.send(1, []byte(`{"type":"auth","token":"ro"}`))
	w.send(1, []byte(`{"type":"subscribe","kinds":["dns"],"filter":{"mac":"02:00:5e:00:53:02"}}`))
	w.send(9, []byte("hi"))
	if op, p := w.read(t); op != 0xA || string(p) != "hi" {
		t.Errorf("ping answered with %d %q", op, p)
	}
	w.nextOf(t, "rates") // the subscription is in place once the loop runs
	now := time.Now().UnixMilli()
	f.Publish("session", Row{"client_mac": "02:00:5e:00:53:02", "start_ts": now, "end_ts": now, "bytes_up": int64(1), "bytes_down": int64(2)})
	f.Publish("dns", Row{"client_mac": "02:00:5e:00:53:01", "ts": now, "query": "filtered.example"})
	f.Publish("dns", Row{"client_mac": "02:00:5e:00:53:02", "ts": now, "query": "wanted.example"})
	m := w.nextOf(t, "dns")
	if q := m["data"].(map[string]any)["query"]; q != "wanted.example" {
		t.Errorf("first dns message is %v, want wanted.example (filtered by mac, sessions not subscribed)", q)
	}
	w.send(8, []byte{0x03, 0xe8})
	if op, _ := w.read(t); op != 8 {
		t.Errorf("close answered with opcode %d", op)
	}
}

func TestFakeAPIStreamRefused(t *testing.T) {
	f, ts := fakeServer(t, 1)
	f.NoWebSocket = true
	if _, code := dialWS(t, ts, "http://192.0.2.1"); code != http.StatusNotImplemented {
		t.Errorf("stream without WebSocket: %d", code)
	}
}

func FuzzWSReadMessage(f *testing.F) {
	f.Add([]byte{0x81, 0x85, 1, 2, 3, 4, 'h' ^ 1, 'e' ^ 2, 'l' ^ 3, 'l' ^ 4, 'o' ^ 1})
	f.Add([]byte{0x01, 0x81, 0, 0, 0, 0, 'a', 0x80, 0x81, 0, 0, 0, 0, 'b'})
	f.Add([]byte{0x89, 0x80, 0, 0, 0, 0, 0x81, 0xfe, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		client, server := net.Pipe()
		defer client.Close()
		go func() {
			client.Write(in)
			client.Close()
		}()
		go io.Copy(io.Discard, client)
		ws := &wsConn{c: server, br: bufio.NewReader(server)}
		for range 8 {
			msg, err := ws.ReadMessage()
			if err != nil {
				break
			}
			if len(msg) > maxWSMessage {
				t.Fatalf("message of %d bytes over the limit", len(msg))
			}
		}
		server.Close()
	})
}

func FuzzParseFilter(f *testing.F) {
	f.Add("q=a*b;c&mac=02:00:5e:00:53:01&limit=10&sort=-ts&before=1.2")
	f.Add("from=2026-11-29T00:00:00Z&to=1&host=*")
	f.Fuzz(func(t *testing.T, q string) {
		vals, err := parseQuery(q)
		if err != nil {
			return
		}
		ft, err := parseFilter(vals)
		if err != nil {
			return
		}
		if ft.limit < 1 || ft.limit > 1000 {
			t.Fatalf("limit %d accepted", ft.limit)
		}
		ft.match(Row{"host": "a.b", "client_port": int64(1)}, 0)
	})
}

func BenchmarkFakeAPIList(b *testing.B) {
	ds, err := ReadJSONL(strings.NewReader(synthetic(2000)))
	if err != nil {
		b.Fatal(err)
	}
	f := NewFakeAPI(ds)
	req := httptest.NewRequest("GET", "/api/v1/sessions?host=www1*&limit=100", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		f.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

func BenchmarkWSRead(b *testing.B) {
	payload := []byte(`{"type":"subscribe","kinds":["session","dns"],"filter":{"mac":"02:00:5e:00:53:01"}}`)
	frame := append([]byte{0x81, 0x80 | byte(len(payload)), 1, 2, 3, 4}, payload...)
	for i := range payload {
		frame[6+i] ^= []byte{1, 2, 3, 4}[i&3]
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		ws := &wsConn{br: bufio.NewReader(strings.NewReader(string(frame)))}
		if _, err := ws.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
}
