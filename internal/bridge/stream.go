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
// start+len(), in chunks of chunkSize bytes taken from a pool shared by
// every session: a push copies into the last chunk, a discard gives the
// chunks it empties back, so each byte is copied in once and out once,
// a full window costs no large allocation, and an idle buffer holds no
// memory. (A slice resliced from the front and appended to copied the
// whole window at every push that found its array full.)
type buffer struct {
	start  uint64
	chunks []*[chunkSize]byte
	head   int // where start is in chunks[0]
	n      int // bytes held
}

const chunkSize = 64 << 10

var chunkPool = sync.Pool{New: func() any { return new([chunkSize]byte) }}

func (q *buffer) end() uint64 { return q.start + uint64(q.n) }
func (q *buffer) len() int    { return q.n }

func (q *buffer) push(p []byte) {
	for len(p) > 0 {
		e := q.head + q.n
		i, at := e/chunkSize, e%chunkSize
		if i == len(q.chunks) {
			q.chunks = append(q.chunks, chunkPool.Get().(*[chunkSize]byte))
		}
		k := copy(q.chunks[i][at:], p)
		p = p[k:]
		q.n += k
	}
}

// copyAt copies bytes from off, which is in the buffer, to p.
func (q *buffer) copyAt(p []byte, off uint64) int {
	pos := q.head + int(off-q.start)
	p = p[:min(len(p), q.n-int(off-q.start))]
	n := 0
	for n < len(p) {
		i, at := pos/chunkSize, pos%chunkSize
		k := copy(p[n:], q.chunks[i][at:])
		n += k
		pos += k
	}
	return n
}

// from returns a copy of up to max bytes from off, which is in the buffer.
func (q *buffer) from(off uint64, max int) []byte {
	if off < q.start || off >= q.end() {
		return nil
	}
	p := make([]byte, min(max, int(q.end()-off)))
	q.copyAt(p, off)
	return p
}

// discard drops the bytes below off.
func (q *buffer) discard(off uint64) {
	if off <= q.start {
		return
	}
	k := int(min(off-q.start, uint64(q.n)))
	q.start += uint64(k)
	q.head += k
	q.n -= k
	for len(q.chunks) > 0 && (q.head >= chunkSize || q.n == 0) {
		chunkPool.Put(q.chunks[0])
		q.chunks[0] = nil
		q.chunks = q.chunks[1:]
		q.head = max(q.head-chunkSize, 0)
	}
	if len(q.chunks) == 0 {
		q.chunks, q.head = nil, 0
	}
}

// read moves bytes from the front to p.
func (q *buffer) read(p []byte) int {
	if q.n == 0 {
		return 0
	}
	n := q.copyAt(p, q.start)
	q.discard(q.start + uint64(n))
	return n
}

// pushFrom pushes the k bytes of src from off, which are in src.
func (q *buffer) pushFrom(src *buffer, off uint64, k int) {
	pos := src.head + int(off-src.start)
	for k > 0 {
		i, at := pos/chunkSize, pos%chunkSize
		seg := src.chunks[i][at:min(chunkSize, at+k)]
		q.push(seg)
		k -= len(seg)
		pos += len(seg)
	}
}

// readFrom pushes what r gives until EOF.
func (q *buffer) readFrom(r io.Reader) error {
	for {
		e := q.head + q.n
		i, at := e/chunkSize, e%chunkSize
		if i == len(q.chunks) {
			q.chunks = append(q.chunks, chunkPool.Get().(*[chunkSize]byte))
		}
		k, err := r.Read(q.chunks[i][at:])
		q.n += k
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// release empties the buffer and gives its chunks back.
func (q *buffer) release() {
	for _, c := range q.chunks {
		chunkPool.Put(c)
	}
	*q = buffer{start: q.end()}
}

// bytes returns a copy of everything held.
func (q *buffer) bytes() []byte { return append(q.from(q.start, q.n), []byte(nil)...) }

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
