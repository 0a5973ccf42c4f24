package main

import (
	"time"

	"tamon/daemon/internal/capture"
)

// Replay pacing (tamond -r FILE -replay SPEED).
const (
	// replayMaxGap cuts the idle gaps of a capture: a file that joins
	// captures taken years apart still replays in minutes.
	replayMaxGap = time.Second
	// replayPoll is how long Next sleeps at most before it answers
	// capture.ErrTimeout, as a live source's poll timeout does, so the
	// engine's clock advances on a quiet stretch.
	replayPoll = 200 * time.Millisecond
	// replayYield: a frame due later than this first gets an ErrTimeout,
	// so the engine hands over the frames it holds before the wait.
	replayYield = 10 * time.Millisecond
)

// replaySource plays a capture file as a live link would carry it: frames
// come at speed times the pace at which they were captured (gaps between
// capture times cut to replayMaxGap, negative gaps taken as none), each
// stamped with the wall-clock time it is delivered, the first one now.
// While a frame is not yet due, Next sleeps at most replayPoll and answers
// capture.ErrTimeout, as a live source on a quiet link does. The end of the
// file (io.EOF) and other errors of the file pass through.
//
// Like any Source it is used by one goroutine; the Frame it fills is valid
// until the next call of Next.
type replaySource struct {
	capture.Source
	speed float64
	now   func() time.Time
	sleep func(time.Duration)

	f       capture.Frame // the next frame, read but not yet delivered
	held    bool
	started bool
	prevTS  int64     // capture time of the previous frame with a time
	due     time.Time // when the held frame is delivered
	yielded bool      // an ErrTimeout was answered for the held frame
}

// newReplaySource paces src; speed must be > 0.
func newReplaySource(src capture.Source, speed float64) *replaySource {
	return &replaySource{Source: src, speed: speed, now: time.Now, sleep: time.Sleep}
}

// Next implements capture.Source.
func (s *replaySource) Next(f *capture.Frame) error {
	if !s.held {
		if err := s.Source.Next(&s.f); err != nil {
			return err
		}
		s.held, s.yielded = true, false
		if !s.started {
			s.started = true
			s.due = s.now()
		} else if s.f.TS != 0 && s.prevTS != 0 {
			gap := min(max(s.f.TS-s.prevTS, 0), int64(replayMaxGap))
			s.due = s.due.Add(time.Duration(float64(gap) / s.speed))
		}
		if s.f.TS != 0 {
			s.prevTS = s.f.TS
		}
	}
	if wait := s.due.Sub(s.now()); wait > 0 {
		if wait > replayYield && !s.yielded {
			s.yielded = true
			return capture.ErrTimeout
		}
		s.sleep(min(wait, replayPoll))
		if s.due.After(s.now()) {
			return capture.ErrTimeout
		}
	}
	s.held = false
	*f = s.f
	f.TS = s.due.UnixNano()
	return nil
}
