package harness

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// wsConn is the server side of a WebSocket (RFC 6455) connection: text
// messages only, which is all the stream route needs. ReadMessage must be
// called from one goroutine; WriteText and Close may be called from any.
type wsConn struct {
	c   net.Conn
	br  *bufio.Reader
	wmu sync.Mutex
}

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// maxWSMessage bounds a client message (auth and subscribe are small).
const maxWSMessage = 64 << 10

func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// wsUpgrade answers a WebSocket handshake and takes over the connection.
func wsUpgrade(w http.ResponseWriter, r *http.Request) (*wsConn, error) {
	if r.Method != http.MethodGet || !headerHas(r.Header, "Connection", "upgrade") || !headerHas(r.Header, "Upgrade", "websocket") {
		http.Error(w, `{"error":"this route needs a WebSocket upgrade"}`, http.StatusBadRequest)
		return nil, errors.New("websocket: not an upgrade request")
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		http.Error(w, `{"error":"unsupported WebSocket version"}`, http.StatusUpgradeRequired)
		return nil, errors.New("websocket: version is not 13")
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	if k, err := base64.StdEncoding.DecodeString(key); err != nil || len(k) != 16 {
		http.Error(w, `{"error":"bad Sec-WebSocket-Key"}`, http.StatusBadRequest)
		return nil, fmt.Errorf("websocket: bad key %q", key)
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, errors.New("websocket: connection cannot be hijacked")
	}
	c, brw, err := hj.Hijack()
	if err != nil {
		return nil, fmt.Errorf("websocket: hijack: %w", err)
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n"
	if _, err := c.Write([]byte(resp)); err != nil {
		c.Close()
		return nil, fmt.Errorf("websocket: write handshake: %w", err)
	}
	return &wsConn{c: c, br: brw.Reader}, nil
}

// ReadMessage returns the next text or binary message, answering pings and
// a close frame on the way (a close from the client ends with io.EOF).
func (ws *wsConn) ReadMessage() ([]byte, error) {
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(ws.br, h[:]); err != nil {
			return nil, err
		}
		fin, op := h[0]&0x80 != 0, h[0]&0x0f
		if h[0]&0x70 != 0 {
			ws.Close(1002, "reserved bits set")
			return nil, errors.New("websocket: reserved bits set")
		}
		if h[1]&0x80 == 0 {
			ws.Close(1002, "client frames must be masked")
			return nil, errors.New("websocket: unmasked client frame")
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(ws.br, b[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(ws.br, b[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		if n > maxWSMessage || uint64(len(msg))+n > maxWSMessage {
			ws.Close(1009, "message too big")
			return nil, fmt.Errorf("websocket: message of %d bytes is over %d", n, maxWSMessage)
		}
		var mask [4]byte
		if _, err := io.ReadFull(ws.br, mask[:]); err != nil {
			return nil, err
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(ws.br, payload); err != nil {
			return nil, err
		}
		for i := range payload {
			payload[i] ^= mask[i&3]
		}
		switch op {
		case 0x8: // close
			ws.Close(1000, "")
			return nil, io.EOF
		case 0x9: // ping
			if op >= 0x8 && (!fin || n > 125) {
				return nil, errors.New("websocket: bad control frame")
			}
			ws.write(0xA, payload)
			continue
		case 0xA: // pong
			continue
		case 0x0, 0x1, 0x2:
			msg = append(msg, payload...)
			if fin {
				return msg, nil
			}
		default:
			ws.Close(1002, "unknown opcode")
			return nil, fmt.Errorf("websocket: unknown opcode %d", op)
		}
	}
}

func (ws *wsConn) write(op byte, p []byte) error {
	ws.wmu.Lock()
	defer ws.wmu.Unlock()
	hdr := make([]byte, 0, 10)
	hdr = append(hdr, 0x80|op)
	switch n := len(p); {
	case n < 126:
		hdr = append(hdr, byte(n))
	case n <= 0xffff:
		hdr = append(hdr, 126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, 127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	ws.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := ws.c.Write(append(hdr, p...)); err != nil {
		return err
	}
	return nil
}

// WriteText sends one text message.
func (ws *wsConn) WriteText(p []byte) error { return ws.write(0x1, p) }

// Close sends a close frame with code and reason and closes the connection.
func (ws *wsConn) Close(code int, reason string) error {
	p := binary.BigEndian.AppendUint16(nil, uint16(code))
	ws.write(0x8, append(p, reason...))
	return ws.c.Close()
}
