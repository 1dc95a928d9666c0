package wsconn

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"os"
	"sync"
)

// Socket is the net.Conn under a WebSocket, TCP or TLS, seen from above:
// coder/websocket writes its frames into it, and a [Conn] decides when
// they leave. Reads pass through untouched.
//
// A Socket queues what it is given while corked (a [Conn] corks it for
// each message, as a relay does for each message it forwards, so a message leaves in one write to the kernel rather
// than in coder/websocket's 4 KiB pieces), and it never fails a write for
// a deadline: what the deadline left unsent stays queued and goes out
// before anything else. coder/websocket buffers its writes in a
// bufio.Writer, which would keep a timeout error for good, and a frame
// cut short must be finished or the stream is lost; so the deadline is
// reported by [Conn.Write], above them, instead.
type Socket struct {
	net.Conn

	mu     sync.Mutex
	out    []byte // queued: a corked message, or what a deadline left unsent
	pooled *[]byte
	corked bool
}

// NewSocket wraps c, a TCP or TLS conn.
func NewSocket(c net.Conn) *Socket { return &Socket{Conn: c} }

// outSize is the capacity of a pooled queue: a largest message, its
// header and a few control frames.
const outSize = MaxMessage + 1<<10

var outs = sync.Pool{New: func() any { b := make([]byte, 0, outSize); return &b }}

// Write queues p while the socket is corked; otherwise it sends the queue
// and p. A write deadline that passes leaves the rest queued, and Write
// still reports success: see [Socket].
func (s *Socket) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.corked && len(s.out) == 0 {
		n, err := s.Conn.Write(p)
		if err != nil && isTimeout(err) {
			s.queue(p[n:])
			return len(p), nil
		}
		return n, err
	}
	s.queue(p)
	if s.corked {
		return len(p), nil
	}
	if err := s.flushLocked(); err != nil && !isTimeout(err) {
		return 0, err
	}
	return len(p), nil
}

// queue appends p to the queue.
func (s *Socket) queue(p []byte) {
	if s.pooled == nil && len(p) <= outSize {
		s.pooled = outs.Get().(*[]byte)
		s.out = (*s.pooled)[:0]
	}
	s.out = append(s.out, p...)
}

// Cork makes writes queue until Flush.
func (s *Socket) Cork() {
	s.mu.Lock()
	s.corked = true
	s.mu.Unlock()
}

// Flush uncorks the socket and sends the queue. On a timeout the rest
// stays queued.
func (s *Socket) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.corked = false
	return s.flushLocked()
}

func (s *Socket) flushLocked() error {
	if len(s.out) == 0 {
		return nil
	}
	n, err := s.Conn.Write(s.out)
	if err != nil {
		s.out = s.out[n:]
		return err
	}
	if s.pooled != nil {
		*s.pooled = (*s.pooled)[:0]
		outs.Put(s.pooled)
		s.pooled = nil
	}
	s.out = nil
	return nil
}

// fits reports whether n more bytes fit in the queue without growing it.
func (s *Socket) fits(n int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.out)+n <= outSize
}

// pending reports whether a deadline left bytes unsent.
func (s *Socket) pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.out) > 0
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// Hijacker wraps w so that a WebSocket upgrade (websocket.Accept) runs
// over a [Socket]; after the upgrade, [Hijacker.Socket] returns it.
type Hijacker struct {
	http.ResponseWriter
	sock *Socket
}

// Hijack hijacks the connection of the wrapped ResponseWriter and puts a
// Socket under it and under the returned writer.
func (h *Hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil {
		c.Close()
		return nil, nil, err
	}
	h.sock = NewSocket(c)
	brw.Writer.Reset(h.sock)
	return h.sock, brw, nil
}

// Unwrap returns the wrapped ResponseWriter, for http.ResponseController.
func (h *Hijacker) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// Socket returns the Socket of the hijacked connection, or nil.
func (h *Hijacker) Socket() *Socket { return h.sock }
