package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"tamon/daemon/internal/pipeline"
	"tamon/daemon/internal/record"
	"tamon/daemon/internal/store"
)

// WebSocket close codes of the stream (besides the standard ones).
const (
	closeBadMessage   = 4400 // a message the server does not understand
	closeUnauthorized = 4401 // bad credentials, or the LuCI session ended
	closeTooSlow      = 4429 // the client did not keep up: records were dropped
)

// tooSlow is what a client that did not keep up is told.
const tooSlow = "too slow: records were dropped; reconnect or narrow the subscription"

// maxStreamMessage bounds a message from a stream client; a larger one
// closes the connection (1009).
const maxStreamMessage = 4096

// hub is the set of stream clients. Write reads an immutable snapshot of
// it, so adding and removing clients never holds up the engine.
type hub struct {
	mu       sync.Mutex
	clients  map[*client]struct{}
	ratesOn  bool // the rates goroutine runs
	snap     atomic.Pointer[[]*client]
	reserved atomic.Int64 // connections counted against MaxStreams
}

func (h *hub) init() { h.clients = map[*client]struct{}{} }

// publish rebuilds the snapshot; h.mu must be held.
func (h *hub) publish() {
	list := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		list = append(list, c)
	}
	h.snap.Store(&list)
}

// client is one stream connection. Write appends to its queue and
// nudges it; the connection's handler goroutine takes the queue and writes
// it to the socket.
type client struct {
	mu      sync.Mutex
	queue   []record.Record // records waiting, at most max
	max     int
	pushed  atomic.Bool   // Write queued something since the last nudge
	nudge   chan struct{} // capacity 1: the queue has records
	rates   chan []byte
	sub     atomic.Pointer[subscription]
	slow    chan struct{} // closed once the queue overflowed
	slowOne sync.Once
	isSlow  atomic.Bool
	bye     chan struct{} // closed by closeStreams: the server goes away
	byeOnce sync.Once
}

// newClient returns a client that holds at most n records.
func newClient(n int) *client {
	return &client{max: n, nudge: make(chan struct{}, 1), rates: make(chan []byte, 1), slow: make(chan struct{}), bye: make(chan struct{})}
}

// push queues rec, or marks c slow when its queue is full.
func (c *client) push(rec record.Record) {
	c.mu.Lock()
	if len(c.queue) >= c.max {
		c.mu.Unlock()
		c.markSlow()
		return
	}
	c.queue = append(c.queue, rec)
	c.mu.Unlock()
	c.pushed.Store(true)
}

// take moves the queued records to dst (emptied first) and returns it.
func (c *client) take(dst []record.Record) []record.Record {
	clear(dst)
	c.mu.Lock()
	dst, c.queue = c.queue, dst[:0]
	c.mu.Unlock()
	return dst
}

// goAway ends c's stream with 1001.
func (c *client) goAway() { c.byeOnce.Do(func() { close(c.bye) }) }

func (c *client) markSlow() {
	c.slowOne.Do(func() {
		c.isSlow.Store(true)
		close(c.slow)
	})
}

// subscription is what a client asked for: kinds (a bit per record.Kind)
// and a filter.
type subscription struct {
	kinds uint16
	m     *matcher
	all   bool // no filter
}

// Write implements pipeline.Sink: it hands each record to the stream
// clients whose subscription it matches, in order, without waiting. A
// client whose buffer is full is marked slow (its handler tells it and
// disconnects it) and gets nothing more. It keeps the records, not recs,
// and always returns nil: the stream never stops the engine. It is safe
// for concurrent use; the records of one caller keep their order.
func (s *Server) Write(recs []record.Record) error {
	cl := s.hub.snap.Load()
	if cl == nil || len(*cl) == 0 {
		return nil
	}
	var buf []byte
	for _, rec := range recs {
		bit := uint16(1) << rec.Kind()
		var fs fields
		have, ok := false, false
		for _, c := range *cl {
			sub := c.sub.Load()
			if sub == nil || sub.kinds&bit == 0 || c.isSlow.Load() {
				continue
			}
			if !sub.all {
				if !have {
					fs, ok = fieldsOf(rec, &buf)
					have = true
				}
				if !ok || !sub.m.matchFields(&fs) {
					continue
				}
			}
			c.push(rec)
		}
	}
	// One wake-up per client and batch, not per record.
	for _, c := range *cl {
		if c.pushed.Swap(false) {
			select {
			case c.nudge <- struct{}{}:
			default:
			}
		}
	}
	return nil
}

// clientMessage is a message from a stream client.
type clientMessage struct {
	Type   string            `json:"type"`
	Token  string            `json:"token"`
	Kinds  []string          `json:"kinds"`
	Filter map[string]string `json:"filter"`
}

// parseClientMessage decodes and checks a client message. want is the
// type expected ("auth" first, then "subscribe").
func parseClientMessage(b []byte, want string) (clientMessage, *subscription, error) {
	var m clientMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, nil, fmt.Errorf("message: not a JSON object of type, token, kinds, filter: %v", err)
	}
	if dec.More() {
		return m, nil, errors.New("message: more than one JSON value")
	}
	if m.Type != want {
		return m, nil, fmt.Errorf("message: type %.20q where %q was expected", m.Type, want)
	}
	if want == "auth" {
		if len(m.Kinds) > 0 || m.Filter != nil {
			return m, nil, errors.New("message: auth takes only a token")
		}
		return m, nil, nil
	}
	if m.Token != "" {
		return m, nil, errors.New("message: subscribe takes no token")
	}
	sub := &subscription{}
	for _, k := range m.Kinds {
		kind, ok := kindByName(k)
		if !ok {
			return m, nil, fmt.Errorf("kinds: %.20q is not session, dns, http, tls, icmp, app or device", k)
		}
		sub.kinds |= 1 << kind
	}
	if sub.kinds == 0 {
		for k := record.KindSession; k <= record.KindDevice; k++ {
			sub.kinds |= 1 << k
		}
	}
	q := query{}
	for name, v := range m.Filter {
		switch name {
		case "mac", "ip", "port", "host", "app", "q", "sensor":
		default:
			return m, nil, badParam("filter", "unknown field %.20q", name)
		}
		if err := checkValue(name, v); err != nil {
			return m, nil, err
		}
		q[name] = v
	}
	var f store.Filter
	if err := q.filters(&f); err != nil {
		return m, nil, err
	}
	sub.m = newMatcher(&f)
	sub.all = sub.m.empty()
	return m, sub, nil
}

func kindByName(name string) (record.Kind, bool) {
	for k := record.KindSession; k <= record.KindDevice; k++ {
		if k.String() == name {
			return k, true
		}
	}
	return 0, false
}

var _ pipeline.Sink = (*Server)(nil)

// stream answers GET /stream: the WebSocket. See docs/api.md: the first
// message authenticates ({"type":"auth","token":...}, within
// Options.AuthTimeout), the next subscribe (and may be sent again); the
// server sends the matching records in engine order and a rates message
// once a second. A client that cannot keep up gets {"type":"error"} and
// close code 4429; a LuCI session that ends (checked every
// Options.SessionRecheck) closes its sockets with 4401.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	if _, err := parseQuery(r.URL.RawQuery); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if s.closed.Load() {
		writeError(w, http.StatusServiceUnavailable, "stream: the server is shutting down")
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		writeError(w, http.StatusBadRequest, "stream: this route is a WebSocket (Upgrade: websocket)")
		return
	}
	if s.hub.reserved.Add(1) > int64(s.opts.MaxStreams) {
		s.hub.reserved.Add(-1)
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("stream: %d clients already", s.opts.MaxStreams))
		return
	}
	defer s.hub.reserved.Add(-1)
	up := websocket.Upgrader{
		ReadBufferSize:  maxStreamMessage,
		WriteBufferSize: 16 << 10,
		CheckOrigin: func(r *http.Request) bool {
			o := r.Header.Get("Origin")
			return o == "" || allowedOrigin(o, r.Host)
		},
		Error: func(w http.ResponseWriter, _ *http.Request, status int, reason error) {
			writeError(w, status, "stream: "+reason.Error())
		},
	}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	nc := conn.NetConn()
	nc.SetDeadline(time.Time{}) // the HTTP server's deadlines end here
	if n := s.opts.StreamSocketBuffer; n > 0 {
		setSendBuffer(nc, n)
	}
	conn.SetReadLimit(maxStreamMessage)

	conn.SetReadDeadline(time.Now().Add(s.opts.AuthTimeout))
	_, first, err := conn.ReadMessage()
	if err != nil {
		return
	}
	am, _, err := parseClientMessage(first, "auth")
	if err != nil {
		s.metrics.authFailures.Add(1)
		s.closeWith(conn, closeUnauthorized, "unauthorized")
		return
	}
	token := am.Token
	cred := s.authorize(r.Context(), token, "read")
	if cred == credNone {
		s.closeWith(conn, closeUnauthorized, "unauthorized")
		return
	}

	c := newClient(s.opts.StreamBuffer)
	s.addClient(c)
	defer s.removeClient(c)

	alive := 2*s.opts.PingEvery + time.Second
	conn.SetReadDeadline(time.Now().Add(alive))
	conn.SetPongHandler(func(string) error {
		conn.SetReadDeadline(time.Now().Add(alive))
		return nil
	})
	readErr := make(chan error, 1)
	go func() {
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				readErr <- err
				return
			}
			conn.SetReadDeadline(time.Now().Add(alive))
			_, sub, err := parseClientMessage(msg, "subscribe")
			if err != nil {
				readErr <- &protocolError{err}
				return
			}
			c.sub.Store(sub)
		}
	}()

	// A client marked slow may have its writer stuck on a full socket:
	// make that write give up within a second.
	watchEnd := make(chan struct{})
	defer close(watchEnd)
	go func() {
		select {
		case <-c.slow:
			nc.SetWriteDeadline(time.Now().Add(time.Second))
		case <-watchEnd:
		}
	}()
	slow := false
	defer func() {
		if slow {
			s.metrics.streamSlow.Add(1)
			s.logf("stream client %s did not keep up: disconnected", r.RemoteAddr)
		}
	}()

	ping := time.NewTicker(s.opts.PingEvery)
	defer ping.Stop()
	recheck := time.NewTicker(s.opts.SessionRecheck)
	defer recheck.Stop()
	var buf []byte
	var batch []record.Record
	for {
		select {
		case <-c.nudge:
			batch = c.take(batch)
			for _, rec := range batch {
				if c.isSlow.Load() {
					break // the slow case below tells it
				}
				buf = appendMessage(buf[:0], rec)
				if err := s.send(conn, buf); err != nil {
					slow = c.isSlow.Load() || errors.Is(err, os.ErrDeadlineExceeded)
					return
				}
				s.metrics.streamSent.Add(1)
			}
			if c.isSlow.Load() {
				slow = true
				s.closeWith(conn, closeTooSlow, tooSlow)
				return
			}
		case msg := <-c.rates:
			if err := s.send(conn, msg); err != nil {
				slow = c.isSlow.Load() || errors.Is(err, os.ErrDeadlineExceeded)
				return
			}
		case <-ping.C:
			if conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.opts.WriteTimeout)) != nil {
				return
			}
		case <-recheck.C:
			if !s.stillAuthorized(r, cred, token) {
				s.closeWith(conn, closeUnauthorized, "session ended")
				return
			}
		case <-c.slow:
			slow = true
			s.closeWith(conn, closeTooSlow, tooSlow)
			return
		case err := <-readErr:
			var pe *protocolError
			if errors.As(err, &pe) {
				s.closeWith(conn, closeBadMessage, pe.err.Error())
			}
			return
		case <-c.bye:
			conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server going away"),
				time.Now().Add(time.Second))
			return
		}
	}
}

// protocolError is a client message the server refuses.
type protocolError struct{ err error }

func (e *protocolError) Error() string { return e.err.Error() }

// appendMessage appends {"type":"<kind>","data":{record}}.
func appendMessage(b []byte, rec record.Record) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, rec.Kind().String()...)
	b = append(b, `","data":`...)
	b = appendData(b, rec)
	return append(b, '}')
}

// send writes one text message within the write timeout.
func (s *Server) send(conn *websocket.Conn, msg []byte) error {
	conn.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
	return conn.WriteMessage(websocket.TextMessage, msg)
}

// closeWith tells the client why ({"type":"error"}) and closes with code,
// if the socket takes it within a second.
func (s *Server) closeWith(conn *websocket.Conn, code int, msg string) {
	b := append([]byte(`{"type":"error","data":{"error":`), record.AppendString(nil, msg)...)
	b = append(b, "}}"...)
	dl := time.Now().Add(time.Second)
	conn.SetWriteDeadline(dl)
	if conn.WriteMessage(websocket.TextMessage, b) == nil {
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, truncate(msg, 120)), dl)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// stillAuthorized checks a stream's credentials again: the static token
// may have changed on reload, a LuCI session may have ended.
func (s *Server) stillAuthorized(r *http.Request, cred int, token string) bool {
	switch cred {
	case credToken:
		return s.opts.Token != nil && s.opts.Token() != "" && tokenEqual(token, s.opts.Token())
	case credSession:
		return s.luciAllows(r.Context(), token, "read")
	}
	return false
}

// addClient registers c and starts the rates ticker if it is not running.
func (s *Server) addClient(c *client) {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	if s.closed.Load() {
		c.goAway()
	}
	s.hub.clients[c] = struct{}{}
	s.hub.publish()
	if !s.hub.ratesOn {
		s.hub.ratesOn = true
		go s.ratesLoop()
	}
}

// closeStreams ends every stream connected now (close code 1001).
func (s *Server) closeStreams() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	for c := range s.hub.clients {
		c.goAway()
	}
}

func (s *Server) removeClient(c *client) {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	delete(s.hub.clients, c)
	s.hub.publish()
}

// streamClients returns the number of connected stream clients.
func (s *Server) streamClients() int {
	if cl := s.hub.snap.Load(); cl != nil {
		return len(*cl)
	}
	return 0
}

// ratesLoop sends the rates message to every client once a second; it
// ends when the last client is gone (addClient starts it again).
func (s *Server) ratesLoop() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-s.quit:
			s.hub.mu.Lock()
			s.hub.ratesOn = false
			s.hub.mu.Unlock()
			return
		}
		s.hub.mu.Lock()
		if len(s.hub.clients) == 0 {
			s.hub.ratesOn = false
			s.hub.mu.Unlock()
			return
		}
		s.hub.mu.Unlock()
		msg := s.ratesMessage()
		if cl := s.hub.snap.Load(); cl != nil {
			for _, c := range *cl {
				select {
				case c.rates <- msg:
				default: // the last one is still waiting: skip this second
				}
			}
		}
	}
}

// rateRow is one device of a rates message.
type rateRow struct {
	MAC   string `json:"mac"`
	Label string `json:"label"`
	Up    int64  `json:"up_bps"`
	Down  int64  `json:"down_bps"`
}

// ratesMessage builds {"type":"rates","data":{"ts":ms,"devices":[...]}}:
// bits per second per device over the inventory's rate window.
func (s *Server) ratesMessage() []byte {
	devs := []rateRow{}
	if s.opts.Devices != nil {
		for _, rt := range s.opts.Devices.Rates() {
			devs = append(devs, rateRow{MAC: rt.MAC, Label: rt.Name, Up: bitsPerSecond(rt.Up), Down: bitsPerSecond(rt.Down)})
		}
	}
	b, _ := json.Marshal(struct {
		Type string `json:"type"`
		Data any    `json:"data"`
	}{"rates", struct {
		TS      int64     `json:"ts"`
		Devices []rateRow `json:"devices"`
	}{s.nowMS(), devs}})
	return b
}

// setSendBuffer sets SO_SNDBUF of a TCP connection (under TLS too).
func setSendBuffer(c net.Conn, n int) {
	for {
		switch t := c.(type) {
		case *net.TCPConn:
			t.SetWriteBuffer(n)
			return
		case interface{ NetConn() net.Conn }:
			c = t.NetConn()
		default:
			return
		}
	}
}
