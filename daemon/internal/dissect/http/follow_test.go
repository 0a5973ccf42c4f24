package http

import (
	"errors"
	"fmt"
)

// This file holds the test model of the engine: a follower reads one
// direction of a connection as bytes arrive, in pieces, the way the engine
// is meant to use ParseRequest, ParseResponse and Body. The corpus test and
// the pipelining tests both drive it.

// message is what the tests compare of one parsed head.
type message struct {
	method, host, uri, ua string // requests
	status                int    // responses
	ctype                 string // both
	frame                 int    // the piece (frame) that completed the head
	cut                   bool   // the stream ended (or stalled at a hole) inside this message's body
	split                 bool   // the head arrived in more than one piece
}

func (m message) String() string {
	if m.method != "" {
		return fmt.Sprintf("%s %s host=%q ua=%q", m.method, m.uri, m.host, m.ua)
	}
	return fmt.Sprintf("%d ctype=%q", m.status, m.ctype)
}

// follower reads one direction of a connection. For responses, method(i)
// gives the method of the i-th request of the connection (nil if not seen),
// so that responses to HEAD are framed right.
type follower struct {
	response bool
	method   func(i int) []byte

	buf    []byte // bytes of a head not yet complete
	inBody bool
	body   Body
	req    Request
	res    Response
	final  int   // final responses seen, to pair with requests
	waited bool  // the head being read was incomplete at least once
	err    error // why the follower stopped
	msgs   []message
}

// feed gives the follower the next bytes of its direction, which arrived in
// frame.
func (f *follower) feed(p []byte, frame int) {
	for len(p) > 0 && f.err == nil {
		if f.inBody {
			n, done, err := f.body.Skip(p)
			if err != nil {
				f.err = fmt.Errorf("skip body: %w", err)
				return
			}
			p = p[n:]
			if !done {
				return
			}
			f.inBody = false
			continue
		}
		f.buf = append(f.buf, p...)
		p = nil
		f.heads(frame)
	}
}

// heads parses the heads buffered in f.buf and skips what it can of the
// bodies after them.
func (f *follower) heads(frame int) {
	for len(f.buf) > 0 {
		var headLen int
		var err error
		if f.response {
			err = ParseResponse(f.buf, &f.res)
			headLen = f.res.HeadLen
		} else {
			err = ParseRequest(f.buf, &f.req)
			headLen = f.req.HeadLen
		}
		if errors.Is(err, ErrIncomplete) {
			f.waited = true
			return
		}
		if err != nil {
			f.err = err
			return
		}
		split := f.waited
		f.waited = false
		if f.response {
			r := &f.res
			f.msgs = append(f.msgs, message{status: r.Status, ctype: string(Unfold(nil, r.ContentType)), frame: frame, split: split})
			var m []byte
			if f.method != nil {
				m = f.method(f.final)
			}
			if !r.Interim() {
				f.final++
			}
			f.body.StartResponse(r, m)
		} else {
			r := &f.req
			f.msgs = append(f.msgs, message{method: string(r.Method), host: string(Unfold(nil, r.Host)),
				uri: string(r.URI), ua: string(Unfold(nil, r.UserAgent)), ctype: string(Unfold(nil, r.ContentType)), frame: frame, split: split})
			f.body.StartRequest(r)
		}
		n, done, err := f.body.Skip(f.buf[headLen:])
		if err != nil {
			f.err = fmt.Errorf("skip body: %w", err)
			return
		}
		if !done {
			f.buf = f.buf[:0]
			f.inBody = true
			return
		}
		f.buf = append(f.buf[:0], f.buf[headLen+n:]...)
	}
}

// end marks the last message cut when the stream ends inside its body:
// closed says whether the whole direction, up to its FIN, was delivered.
func (f *follower) end(closed bool) {
	if f.inBody && len(f.msgs) > 0 && (f.body.Remaining() != -1 || !closed) {
		f.msgs[len(f.msgs)-1].cut = true
	}
}

// methodOf returns the method function a response follower needs, reading
// the requests a request follower has parsed so far.
func methodOf(req *follower) func(int) []byte {
	return func(i int) []byte {
		if i < len(req.msgs) {
			return []byte(req.msgs[i].method)
		}
		return nil
	}
}
