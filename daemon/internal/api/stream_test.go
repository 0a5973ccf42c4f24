package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tamon/daemon/internal/devices"
	"tamon/daemon/internal/record"
)

// newInventory returns a device inventory for one engine run, so that
// device records come too.
func newInventory() *devices.Inventory {
	return devices.New(devices.Config{Sensor: "corpus", Location: time.UTC})
}

// streamServer is a Server without a store, serving the stream.
func streamServer(t *testing.T, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	if opts.Token == nil {
		opts.Token = func() string { return testToken }
	}
	s := New(opts)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		s.Close()
		ts.Close()
	})
	return s, ts
}

// wsClient is a test stream client.
type wsClient struct {
	conn *websocket.Conn
}

func dialStream(t testing.TB, ts *httptest.Server, header http.Header, readBuffer int) (*wsClient, *http.Response, error) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	if readBuffer > 0 {
		d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				c.(*net.TCPConn).SetReadBuffer(readBuffer)
			}
			return c, err
		}
	}
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/api/v1/stream"
	conn, resp, err := d.Dial(url, header)
	if err != nil {
		return nil, resp, err
	}
	return &wsClient{conn: conn}, resp, nil
}

func (c *wsClient) send(t testing.TB, v any) {
	t.Helper()
	var b []byte
	if s, ok := v.(string); ok {
		b = []byte(s)
	} else {
		b, _ = json.Marshal(v)
	}
	if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		t.Fatalf("send: %v", err)
	}
}

// message is a decoded server message.
type message struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// next reads the next message other than rates.
func (c *wsClient) next(timeout time.Duration) (message, error) {
	for {
		c.conn.SetReadDeadline(time.Now().Add(timeout))
		_, b, err := c.conn.ReadMessage()
		if err != nil {
			return message{}, err
		}
		var m message
		if err := json.Unmarshal(b, &m); err != nil {
			return message{}, fmt.Errorf("message %.100s: %v", b, err)
		}
		if m.Type != "rates" {
			return m, nil
		}
	}
}

func subscribed(s *Server, n int) bool {
	cl := s.hub.snap.Load()
	if cl == nil {
		return n == 0
	}
	k := 0
	for _, c := range *cl {
		if c.sub.Load() != nil {
			k++
		}
	}
	return k == n
}

func waitSubscribed(t testing.TB, s *Server, n int) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if subscribed(s, n) {
			return
		}
	}
	t.Fatalf("%d stream clients did not subscribe", n)
}

// expectStream returns, in order, the kind and API JSON of the indexed
// records that a subscription to kinds with filter selects.
func expectStream(idx []recText, kinds []string, filter map[string]string) []string {
	var specs []filterSpec
	for name, v := range filter {
		specs = append(specs, compileFilter(name, v))
	}
	var out []string
	for i := range idx {
		r := idx[i].rec
		if len(kinds) > 0 && !slices.Contains(kinds, r.Kind().String()) {
			continue
		}
		keep := true
		for _, fs := range specs {
			if m, applies := idx[i].match(fs); !applies || !m {
				keep = false
			}
		}
		if keep {
			out = append(out, r.Kind().String()+" "+idx[i].json)
		}
	}
	return out
}

// receive reads n records from c (rates skipped).
func receive(c *wsClient, n int, timeout time.Duration) ([]string, error) {
	var got []string
	for len(got) < n {
		m, err := c.next(timeout)
		if err != nil {
			return got, err
		}
		if m.Type == "error" {
			return got, fmt.Errorf("error message: %s", m.Data)
		}
		got = append(got, m.Type+" "+string(m.Data))
	}
	return got, nil
}

// TestStreamMatching: subscribed clients receive exactly the records their
// subscription selects, in engine order, while a capture is replayed
// through the server.
func TestStreamMatching(t *testing.T) {
	s, ts := streamServer(t, Options{StreamBuffer: 8192})
	// The records of the capture, to know what to expect.
	ref := &collector{}
	runCapture(t, mainCapture, newInventory(), ref)
	recs := ref.all()
	mac := ""
	count := map[string]int{}
	for _, r := range recs {
		if d, ok := r.(*record.DNS); ok && d.ClientMAC != "" {
			count[d.ClientMAC]++
			if count[d.ClientMAC] > count[mac] {
				mac = d.ClientMAC
			}
		}
	}
	subs := []struct {
		kinds  []string
		filter map[string]string
	}{
		{nil, nil},
		{[]string{"session", "dns", "http"}, map[string]string{"mac": strings.ToUpper(mac)}},
		{[]string{"dns"}, map[string]string{"q": "skype,qustodio"}},
		{[]string{"session"}, map[string]string{"app": "Apple", "port": "443;80"}},
		{[]string{"tls", "http"}, map[string]string{"host": "*.com"}},
		{[]string{"device"}, map[string]string{"ip": "192.168.*"}},
		{[]string{"icmp", "app"}, map[string]string{"sensor": "corpus"}},
	}
	var clients []*wsClient
	for _, sub := range subs {
		c, _, err := dialStream(t, ts, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer c.conn.Close()
		c.send(t, map[string]string{"type": "auth", "token": testToken})
		c.send(t, map[string]any{"type": "subscribe", "kinds": sub.kinds, "filter": sub.filter})
		clients = append(clients, c)
	}
	waitSubscribed(t, s, len(subs))
	col := &collector{}
	runCapture(t, mainCapture, newInventory(), s, col)
	got := col.all()
	idx := indexRecords(t, got)
	if len(got) != len(recs) {
		t.Fatalf("the replay gave %d records, the first run %d", len(got), len(recs))
	}
	for i, sub := range subs {
		want := expectStream(idx, sub.kinds, sub.filter)
		if len(want) == 0 {
			t.Fatalf("subscription %d selects nothing: a useless case", i)
		}
		have, err := receive(clients[i], len(want), 10*time.Second)
		if err != nil {
			t.Fatalf("subscription %d (%v %v): after %d of %d records: %v", i, sub.kinds, sub.filter, len(have), len(want), err)
		}
		for j := range want {
			if have[j] != want[j] {
				t.Fatalf("subscription %d record %d:\n got %.300s\nwant %.300s", i, j, have[j], want[j])
			}
		}
		// Nothing more comes.
		if m, err := clients[i].next(300 * time.Millisecond); err == nil {
			t.Fatalf("subscription %d: one record too many: %.200s", i, m.Data)
		}
	}
}

// TestStreamSlowClient: a client that stops reading is told and
// disconnected; a fast client and the engine carry on.
func TestStreamSlowClient(t *testing.T) {
	ref := &collector{}
	runCapture(t, mainCapture, newInventory(), ref)
	perRun := len(ref.all())
	// The buffer takes a whole replay (a file is read as fast as the CPU
	// allows, much faster than live traffic comes); the slow client
	// overflows it during the fourth.
	s, ts := streamServer(t, Options{StreamBuffer: 4096, StreamSocketBuffer: 4096, WriteTimeout: time.Minute})
	slow, _, err := dialStream(t, ts, nil, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.conn.Close()
	fast, _, err := dialStream(t, ts, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.conn.Close()
	for _, c := range []*wsClient{slow, fast} {
		c.send(t, map[string]string{"type": "auth", "token": testToken})
		c.send(t, map[string]any{"type": "subscribe", "kinds": []string{}})
	}
	waitSubscribed(t, s, 2)

	col := &collector{}
	var fastGot []string
	var fastErr error
	var fastN atomic.Int64 // records the fast client has read
	done := make(chan struct{})
	const replays = 5
	go func() {
		defer close(done)
		n := 0
		for {
			m, err := fast.next(20 * time.Second)
			if err != nil {
				fastErr = err
				return
			}
			if m.Type == "error" {
				fastErr = fmt.Errorf("fast client told: %s", m.Data)
				return
			}
			fastGot = append(fastGot, m.Type+" "+string(m.Data))
			n++
			fastN.Store(int64(n))
			if n == replays*perRun {
				return
			}
		}
	}()
	start := time.Now()
	for r := range replays {
		runCapture(t, mainCapture, newInventory(), s, col)
		// The fast client reads each replay before the next starts, so
		// that it stays fast on a loaded machine too; the slow one reads
		// nothing and still overflows.
		for end := time.Now().Add(20 * time.Second); fastN.Load() < int64((r+1)*perRun) && time.Now().Before(end); {
			select {
			case <-done:
				end = time.Now()
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	engineTime := time.Since(start)
	<-done
	recs := col.all()
	if len(recs) != replays*perRun {
		t.Fatalf("the engine wrote %d records, want %d", len(recs), replays*perRun)
	}
	if fastErr != nil {
		t.Fatalf("fast client after %d records: %v", len(fastGot), fastErr)
	}
	want := expectStream(indexRecords(t, recs), nil, nil)
	for i := range want {
		if fastGot[i] != want[i] {
			t.Fatalf("fast client record %d differs", i)
		}
	}
	for end := time.Now().Add(5 * time.Second); s.metrics.streamSlow.Load() == 0 && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	if s.metrics.streamSlow.Load() != 1 {
		t.Fatalf("%d slow clients disconnected, want 1", s.metrics.streamSlow.Load())
	}
	// The slow client now reads: some records, then the error (if the
	// socket took it) and the close.
	var n int
	var last error
	for {
		slow.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, b, err := slow.conn.ReadMessage()
		if err != nil {
			last = err
			break
		}
		if strings.HasPrefix(string(b), `{"type":"error"`) && !strings.Contains(string(b), "too slow") {
			t.Errorf("slow client told %s", b)
		}
		n++
	}
	// Told (4429) when its socket took the error message; else the
	// connection just ends (1006).
	var ce *websocket.CloseError
	if !errors.As(last, &ce) || (ce.Code != closeTooSlow && ce.Code != websocket.CloseAbnormalClosure) {
		t.Errorf("slow client: %v, want close %d or %d", last, closeTooSlow, websocket.CloseAbnormalClosure)
	}
	if n >= len(want) {
		t.Errorf("the slow client got every record (%d): it was not slow", n)
	}
	t.Logf("engine: %d records in %v with a stuck client; slow client got %d before the cut (%v)", len(recs), engineTime, n, last)
	waitSubscribedClients(t, s, 1)
}

// TestStreamResubscribe: a second subscribe message changes what comes.
func TestStreamResubscribe(t *testing.T) {
	s, ts := streamServer(t, Options{})
	c, _, err := dialStream(t, ts, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.conn.Close()
	c.send(t, map[string]string{"type": "auth", "token": testToken})
	c.send(t, map[string]any{"type": "subscribe", "kinds": []string{"dns"}})
	waitSubscribed(t, s, 1)
	dns := &record.DNS{Sensor: "t", TS: 1, ClientMAC: "02:00:00:00:00:01", Query: "a.example", RTTMs: -1}
	sess := &record.Session{Sensor: "t", Proto: "tcp", ClientMAC: "02:00:00:00:00:01", Host: "b.example"}
	s.Write([]record.Record{sess, dns})
	if m, err := c.next(5 * time.Second); err != nil || m.Type != "dns" {
		t.Fatalf("first subscription: %v %v", m, err)
	}
	old := (*s.hub.snap.Load())[0].sub.Load()
	c.send(t, map[string]any{"type": "subscribe", "kinds": []string{"session"}, "filter": map[string]string{"host": "b.*"}})
	for end := time.Now().Add(5 * time.Second); (*s.hub.snap.Load())[0].sub.Load() == old; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the second subscription did not arrive")
		}
	}
	s.Write([]record.Record{dns, sess})
	m, err := c.next(5 * time.Second)
	if err != nil || m.Type != "session" || string(m.Data) != dataJSON(t, sess) {
		t.Fatalf("second subscription: %s %s %v", m.Type, m.Data, err)
	}
}

// TestStreamManyClients: 200 concurrent clients, each with its own
// subscription, each gets exactly its records.
func TestStreamManyClients(t *testing.T) {
	const n = 200
	s, ts := streamServer(t, Options{StreamBuffer: 4096})
	kinds := []string{"session", "dns", "http", "tls", "icmp", "app", "device"}
	type sub struct {
		kinds  []string
		filter map[string]string
	}
	subs := make([]sub, n)
	clients := make([]*wsClient, n)
	for i := range subs {
		subs[i].kinds = []string{kinds[i%len(kinds)], kinds[(i/7)%len(kinds)]}
		if i%3 == 0 {
			subs[i].filter = map[string]string{"q": []string{"1", "apple", "e*e", "0:"}[i%4]}
		}
		c, _, err := dialStream(t, ts, nil, 0)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		defer c.conn.Close()
		c.send(t, map[string]string{"type": "auth", "token": testToken})
		c.send(t, map[string]any{"type": "subscribe", "kinds": subs[i].kinds, "filter": subs[i].filter})
		clients[i] = c
	}
	waitSubscribed(t, s, n)
	col := &collector{}
	runCapture(t, mainCapture, newInventory(), s, col)
	idx := indexRecords(t, col.all())
	var wg sync.WaitGroup
	errs := make(chan error, n)
	total := 0
	for i := range clients {
		want := expectStream(idx, subs[i].kinds, subs[i].filter)
		total += len(want)
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := receive(clients[i], len(want), 20*time.Second)
			if err != nil {
				errs <- fmt.Errorf("client %d: after %d of %d: %v", i, len(got), len(want), err)
				return
			}
			for j := range want {
				if got[j] != want[j] {
					errs <- fmt.Errorf("client %d record %d differs", i, j)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if s.streamClients() != n {
		t.Errorf("%d clients connected, want %d", s.streamClients(), n)
	}
	t.Logf("%d clients, %d records delivered in all", n, total)
}

// TestStreamAuth: the first message authenticates; bad tokens, silence,
// bad messages, big messages and foreign origins are refused; a LuCI
// session that ends closes its stream; a changed API token too.
func TestStreamAuth(t *testing.T) {
	tools := newFakeTools(t)
	var tokMu sync.Mutex
	tok := testToken
	s, ts := streamServer(t, Options{
		AuthTimeout: 300 * time.Millisecond, SessionRecheck: 100 * time.Millisecond, SessionCache: 50 * time.Millisecond,
		Token: func() string {
			tokMu.Lock()
			defer tokMu.Unlock()
			return tok
		},
	})
	closedWith := func(c *wsClient) (string, int) {
		var text string
		for {
			c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, b, err := c.conn.ReadMessage()
			if err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					return text, ce.Code
				}
				return text, -1
			}
			if strings.HasPrefix(string(b), `{"type":"error"`) {
				text = string(b)
			}
		}
	}
	cases := []struct {
		name  string
		first any
		code  int
	}{
		{"bad token", map[string]string{"type": "auth", "token": "nope"}, closeUnauthorized},
		{"unknown session", map[string]string{"type": "auth", "token": sidGone}, closeUnauthorized},
		{"subscribe first", map[string]any{"type": "subscribe"}, closeUnauthorized},
		{"not JSON", "hello", closeUnauthorized},
		{"sid field", map[string]string{"type": "auth", "sid": sidRW}, closeUnauthorized},
		{"too big", strings.Repeat("x", maxStreamMessage+1), websocket.CloseMessageTooBig},
	}
	for _, c := range cases {
		cl, _, err := dialStream(t, ts, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		cl.send(t, c.first)
		text, code := closedWith(cl)
		if code != c.code || (c.code == closeUnauthorized && !strings.Contains(text, "unauthorized")) {
			t.Errorf("%s: closed with %d after %q, want %d", c.name, code, text, c.code)
		}
		cl.conn.Close()
	}
	// Silence: closed after AuthTimeout.
	cl, _, err := dialStream(t, ts, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if _, code := closedWith(cl); code == 0 || time.Since(t0) > 3*time.Second {
		t.Errorf("silent client: %d after %v", code, time.Since(t0))
	}
	cl.conn.Close()
	// Bad subscriptions after a good auth.
	for _, sub := range []string{`{"type":"subscribe","kinds":["packet"]}`, `{"type":"subscribe","filter":{"colour":"red"}}`,
		`{"type":"subscribe","filter":{"port":"http"}}`, `{"type":"auth","token":"` + testToken + `"}`, `{"type":"subscribe","token":"x"}`} {
		cl, _, err := dialStream(t, ts, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		cl.send(t, map[string]string{"type": "auth", "token": testToken})
		cl.send(t, sub)
		if text, code := closedWith(cl); code != closeBadMessage || text == "" {
			t.Errorf("subscription %s: closed with %d %q, want %d", sub, code, text, closeBadMessage)
		}
		cl.conn.Close()
	}
	// Origins.
	host := strings.TrimPrefix(ts.URL, "http://")
	hostname := host[:strings.LastIndexByte(host, ':')]
	for _, o := range []struct {
		origin string
		ok     bool
	}{{"http://" + hostname, true}, {"https://" + hostname + ":443", true}, {"https://attacker.example", false}} {
		cl, resp, err := dialStream(t, ts, http.Header{"Origin": {o.origin}}, 0)
		if o.ok != (err == nil) {
			t.Errorf("origin %s: %v", o.origin, err)
		}
		if !o.ok && (resp == nil || resp.StatusCode != 403) {
			t.Errorf("origin %s: %v, want 403", o.origin, resp)
		}
		if cl != nil {
			cl.conn.Close()
		}
	}
	// A LuCI session that ends closes its stream; rates keep coming
	// while it lasts.
	cl, _, err = dialStream(t, ts, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	cl.send(t, map[string]string{"type": "auth", "token": sidRO})
	cl.send(t, map[string]any{"type": "subscribe", "kinds": []string{"dns"}})
	cl.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, b, err := cl.conn.ReadMessage()
	if err != nil || !strings.HasPrefix(string(b), `{"type":"rates","data":{"ts":`) {
		t.Fatalf("first message of a quiet stream: %s %v, want rates", b, err)
	}
	tools.write(t, "revoked", "")
	t0 = time.Now()
	if text, code := closedWith(cl); code != closeUnauthorized || !strings.Contains(text, "session ended") {
		t.Errorf("ended session: closed with %d %q", code, text)
	}
	t.Logf("ended LuCI session noticed after %v", time.Since(t0))
	cl.conn.Close()
	// A changed API token closes the streams opened with the old one.
	cl, _, err = dialStream(t, ts, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	cl.send(t, map[string]string{"type": "auth", "token": testToken})
	waitSubscribedClients(t, s, 1)
	tokMu.Lock()
	tok = "rotated"
	tokMu.Unlock()
	if _, code := closedWith(cl); code != closeUnauthorized {
		t.Errorf("rotated token: closed with %d", code)
	}
	cl.conn.Close()
	// Close ends streams with 1001.
	cl, _, err = dialStream(t, ts, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	cl.send(t, map[string]string{"type": "auth", "token": "rotated"})
	waitSubscribedClients(t, s, 1)
	s.Close()
	if _, code := closedWith(cl); code != websocket.CloseGoingAway {
		t.Errorf("server closing: %d", code)
	}
	cl.conn.Close()
	if code, body, _ := do(t, "GET", ts.URL+"/api/v1/stream", "", nil); code != 503 {
		t.Errorf("stream after Close: %d %s", code, body)
	}
}

// waitSubscribedClients waits until n clients are registered (subscribed
// or not).
func waitSubscribedClients(t testing.TB, s *Server, n int) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if s.streamClients() == n {
			return
		}
	}
	t.Fatalf("%d stream clients registered, want %d", s.streamClients(), n)
}

// TestStreamLimits: past MaxStreams a new stream gets 503; a plain GET is
// a 400.
func TestStreamLimits(t *testing.T) {
	s, ts := streamServer(t, Options{MaxStreams: 2})
	var cs []*wsClient
	for range 2 {
		c, _, err := dialStream(t, ts, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer c.conn.Close()
		c.send(t, map[string]string{"type": "auth", "token": testToken})
		cs = append(cs, c)
	}
	waitSubscribedClients(t, s, 2)
	if _, resp, err := dialStream(t, ts, nil, 0); err == nil || resp == nil || resp.StatusCode != 503 {
		t.Errorf("third stream: %v %v, want 503", err, resp)
	}
	if code, body, _ := do(t, "GET", ts.URL+"/api/v1/stream", "Bearer "+testToken, nil); code != 400 {
		t.Errorf("GET /stream without upgrade: %d %s", code, body)
	}
	if code, _, _ := do(t, "GET", ts.URL+"/api/v1/stream?x=1", "", nil); code != 400 {
		t.Errorf("GET /stream?x=1: %d", code)
	}
}
