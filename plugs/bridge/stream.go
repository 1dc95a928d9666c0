package bridge

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/f7d52a8e/multiserver/internal/deadline"
)

// buffer holds the bytes of one direction from offset start to
// start+len(b).
type buffer struct {
	start uint64
	b     []byte
}

func (q *buffer) end() uint64   { return q.start + uint64(len(q.b)) }
func (q *buffer) len() int      { return len(q.b) }
func (q *buffer) push(p []byte) { q.b = append(q.b, p...) }

// from returns a copy of up to max bytes from off, which is in the buffer.
func (q *buffer) from(off uint64, max int) []byte {
	if off < q.start || off >= q.end() {
		return nil
	}
	p := q.b[off-q.start:]
	return append([]byte(nil), p[:min(len(p), max)]...)
}

// discard drops the bytes below off.
func (q *buffer) discard(off uint64) {
	if off <= q.start {
		return
	}
	n := min(off-q.start, uint64(len(q.b)))
	q.start += n
	q.b = q.b[n:]
	if len(q.b) == 0 {
		q.b = nil // let the array go
	} else if cap(q.b) > 4*len(q.b) && cap(q.b) > 64<<10 {
		q.b = append([]byte(nil), q.b...)
	}
}

// read moves bytes from the front to p.
func (q *buffer) read(p []byte) int {
	n := copy(p, q.b)
	q.discard(q.start + uint64(n))
	return n
}

var (
	errClosed   = net.ErrClosed
	errPeerGone = errors.New("bridge: the peer closed the session")
	errWriteFin = errors.New("bridge: write after the session ended")
)

// stream is the state both ends of a session keep: the bytes going out,
// kept until acknowledged, and the bytes come in, kept until read. Its
// Read and Write are the conn's.
type stream struct {
	window int

	mu      sync.Mutex
	changed chan struct{} // closed and replaced at every change
	out     buffer        // [acked, written)
	outFin  bool          // no more writes: out ends at out.end()
	in      buffer        // [consumed, received)
	inFin   bool          // in ends at inEnd
	inEnd   uint64
	err     error // the session failed
	closed  bool  // Close was called here
	rd, wd  deadline.Deadline
}

func (s *stream) init(window int) {
	s.window = window
	s.changed = make(chan struct{})
}

// notify wakes everyone waiting; s.mu is held.
func (s *stream) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// wait releases s.mu until the next change or d passes (false).
func (s *stream) wait(d <-chan struct{}) bool {
	ch := s.changed
	s.mu.Unlock()
	defer s.mu.Lock()
	select {
	case <-ch:
		return true
	case <-d:
		return false
	}
}

// fail ends the session with err, if it has not ended.
func (s *stream) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
		s.notify()
	}
}

// Read reads what has come in, in order.
func (s *stream) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		switch {
		case s.closed:
			return 0, errClosed
		case s.in.len() > 0:
			if len(p) == 0 {
				return 0, nil
			}
			n := s.in.read(p)
			s.notify() // the consumed offset moved: an ack may be due
			return n, nil
		case s.inFin && s.in.end() >= s.inEnd:
			return 0, io.EOF
		case s.err != nil:
			return 0, s.err
		}
		if !s.wait(s.rd.Done()) {
			return 0, os.ErrDeadlineExceeded
		}
	}
}

// Write queues p to go out, blocking while the window is full.
func (s *stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for {
		switch {
		case s.closed:
			return n, errClosed
		case s.err != nil:
			return n, s.err
		case s.outFin:
			return n, errWriteFin
		case n == len(p):
			return n, nil
		}
		if room := s.window - s.out.len(); room > 0 {
			m := min(room, len(p)-n)
			s.out.push(p[n : n+m])
			n += m
			s.notify()
			continue
		}
		if !s.wait(s.wd.Done()) {
			return n, os.ErrDeadlineExceeded
		}
	}
}

func (s *stream) SetDeadline(t time.Time) error {
	s.rd.Set(t)
	s.wd.Set(t)
	return nil
}

func (s *stream) SetReadDeadline(t time.Time) error  { s.rd.Set(t); return nil }
func (s *stream) SetWriteDeadline(t time.Time) error { s.wd.Set(t); return nil }

// stopDeadlines stops the deadline timers of a conn that closed.
func (s *stream) stopDeadlines() {
	s.rd.Stop()
	s.wd.Stop()
}
