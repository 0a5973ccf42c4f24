package main

import (
	"bufio"
	"errors"
	"sync"

	"tamon/daemon/internal/record"
)

// jsonSink writes records as JSON Lines from its own goroutine, so that
// encoding runs beside the engine's merger rather than inside it. Write
// keeps the records (the Sink contract allows it), not the caller's slice:
// it copies the pointers into one of a few pooled slices and returns. When
// the encoder is that many batches behind, Write waits (on live capture the
// engine then drops batches and counts them; capture itself never waits).
// Close waits until everything written is encoded and flushed.
type jsonSink struct {
	w         *bufio.Writer
	flushEach bool // flush after each batch (live capture: records show at once)
	q         chan []record.Record
	free      chan []record.Record
	done      chan struct{}

	send   sync.Mutex // Write against Close: no send on a closed queue
	closed bool       // under send

	mu  sync.Mutex
	err error // the first write error; later Writes return it
}

const jsonSinkQueue = 4

// jsonRoom is the free space in the writer below which it is flushed before
// the next record is encoded into it.
const jsonRoom = 16 << 10

func newJSONSink(w *bufio.Writer, flushEach bool) *jsonSink {
	s := &jsonSink{w: w, flushEach: flushEach, q: make(chan []record.Record, jsonSinkQueue),
		free: make(chan []record.Record, jsonSinkQueue+1), done: make(chan struct{})}
	for range jsonSinkQueue + 1 {
		s.free <- nil
	}
	go s.run()
	return s
}

// Write implements pipeline.Sink.
func (s *jsonSink) Write(recs []record.Record) error {
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.send.Lock()
	defer s.send.Unlock()
	if s.closed {
		return errors.New("write records: JSON output already closed")
	}
	b := <-s.free
	s.q <- append(b[:0], recs...)
	return nil
}

func (s *jsonSink) run() {
	defer close(s.done)
	for b := range s.q {
		if err := s.encode(b); err != nil {
			s.mu.Lock()
			if s.err == nil {
				s.err = err
			}
			s.mu.Unlock()
		}
		clear(b)
		s.free <- b[:0]
	}
}

func (s *jsonSink) encode(recs []record.Record) error {
	s.mu.Lock()
	failed := s.err != nil
	s.mu.Unlock()
	if failed {
		return nil
	}
	for _, r := range recs {
		// Encoded straight into the writer's free space, so that Write
		// copies nothing (bufio's AvailableBuffer). A record longer than
		// that space (at least jsonRoom) is appended to a new array,
		// which Write then copies.
		if s.w.Available() < jsonRoom {
			if err := s.w.Flush(); err != nil {
				return err
			}
		}
		b := append(r.AppendJSON(s.w.AvailableBuffer()), '\n')
		if _, err := s.w.Write(b); err != nil {
			return err
		}
	}
	if s.flushEach {
		return s.w.Flush()
	}
	return nil
}

// Close waits for the records written so far to be encoded and returns
// the first write error. Writes after Close fail.
func (s *jsonSink) Close() error {
	s.send.Lock()
	if !s.closed {
		s.closed = true
		close(s.q)
	}
	s.send.Unlock()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
