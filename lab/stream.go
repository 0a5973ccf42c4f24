package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// Message is one message of the API's stream: {"type":..., "data":{...}}.
type Message struct {
	Type string         `json:"type"`
	Data map[string]any `json:"data"`
}

// Stream is a WebSocket subscriber of the daemon's /api/v1/stream that
// keeps every message it reads. Its methods are safe for concurrent use.
type Stream struct {
	conn *websocket.Conn
	once sync.Once

	mu   sync.Mutex
	msgs []Message
	err  error         // why reading stopped
	done chan struct{} // closed when reading stopped
}

// StreamOptions tune a subscription.
type StreamOptions struct {
	// Paused: do not read until Resume (a client that stops reading).
	Paused bool
	// RcvBuf sets the socket's receive buffer (0: the system's).
	RcvBuf int
}

// Subscribe connects to the stream, authenticates, subscribes to every
// kind, and returns once the subscription is in effect: it sends DNS
// queries for a marker name from client1 until their record arrives.
// With opts.Paused that check is skipped (nothing would read it), and
// the caller waits for the subscription by its own means.
func (d *Daemon) Subscribe(ctx context.Context, opts StreamOptions) (*Stream, error) {
	dial := Dialer(d.lab.Router)
	wd := websocket.Dialer{HandshakeTimeout: 10 * time.Second, NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err == nil && opts.RcvBuf > 0 {
			if tc, ok := c.(*net.TCPConn); ok {
				raw, _ := tc.SyscallConn()
				raw.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, opts.RcvBuf) })
			}
		}
		return c, err
	}}
	if opts.RcvBuf > 0 {
		wd.ReadBufferSize = opts.RcvBuf
	}
	conn, _, err := wd.DialContext(ctx, "ws://"+net.JoinHostPort(RouterLAN4, strconv.Itoa(APIPort))+"/api/v1/stream", nil)
	if err != nil {
		return nil, fmt.Errorf("connect to the stream: %w", err)
	}
	s := &Stream{conn: conn, done: make(chan struct{})}
	for _, m := range []string{`{"type":"auth","token":"` + APIToken + `"}`, `{"type":"subscribe","kinds":[]}`} {
		if err := conn.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			conn.Close()
			return nil, fmt.Errorf("stream: send %s: %w", m, err)
		}
	}
	if opts.Paused {
		return s, nil
	}
	s.Resume()
	marker := fmt.Sprintf("sub%d.%s", time.Now().UnixNano(), Domain)
	err = Poll(ctx, 20*time.Second, func() error {
		if _, err := s.Find("dns", func(r map[string]any) bool { return r["query"] == marker }); err == nil {
			return nil
		}
		if err := SendDNSQuery(d.lab.Clients[0], marker); err != nil {
			return err
		}
		return errors.New("the marker query has not come through the stream")
	})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("stream subscription: %w", err)
	}
	return s, nil
}

// Resume starts reading (once).
func (s *Stream) Resume() {
	s.once.Do(func() { go s.read() })
}

func (s *Stream) read() {
	defer close(s.done)
	for {
		_, b, err := s.conn.ReadMessage()
		if err != nil {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			return
		}
		var m Message
		if err := json.Unmarshal(b, &m); err != nil {
			s.mu.Lock()
			s.err = fmt.Errorf("stream: bad message %.200s: %w", b, err)
			s.mu.Unlock()
			return
		}
		s.mu.Lock()
		s.msgs = append(s.msgs, m)
		s.mu.Unlock()
	}
}

// Done is closed when reading stopped; Err says why.
func (s *Stream) Done() <-chan struct{} { return s.done }

// Err is why reading stopped (nil while it goes on).
func (s *Stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// CloseCode is the WebSocket close code the server sent, or -1.
func (s *Stream) CloseCode() int {
	var ce *websocket.CloseError
	if errors.As(s.Err(), &ce) {
		return ce.Code
	}
	return -1
}

// Records returns the data of the messages of one kind so far.
func (s *Stream) Records(kind string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, m := range s.msgs {
		if m.Type == kind {
			out = append(out, m.Data)
		}
	}
	return out
}

// Find returns the first record of kind that match accepts.
func (s *Stream) Find(kind string, match func(map[string]any) bool) (map[string]any, error) {
	for _, r := range s.Records(kind) {
		if match(r) {
			return r, nil
		}
	}
	return nil, fmt.Errorf("no matching %s record on the stream (%d %s records)", kind, len(s.Records(kind)), kind)
}

// Wait polls Find until it succeeds or timeout passes.
func (s *Stream) Wait(ctx context.Context, timeout time.Duration, kind string, match func(map[string]any) bool) (map[string]any, error) {
	var rec map[string]any
	err := Poll(ctx, timeout, func() error {
		var err error
		rec, err = s.Find(kind, match)
		return err
	})
	return rec, err
}

// Close closes the connection.
func (s *Stream) Close() { s.conn.Close() }
