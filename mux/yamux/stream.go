package yamux

import (
	"crypto/ed25519"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	yamuxgo "github.com/libp2p/go-yamux/v4"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/internal/deadline"
	"github.com/f7d52a8e/multiserver/internal/readahead"
)

// A Stream is one stream of a [Session], as [Session.Open] and
// [Session.Accept] return it: a full net.Conn, with half-close and reset.
//
// Read returns io.EOF after the peer's CloseWrite or Close. Errors match
// os.ErrDeadlineExceeded when a deadline passes, [ErrStreamReset] when the
// peer resets the stream, and net.ErrClosed once this side has closed the
// stream (that direction of it) or the session has ended.
type Stream struct {
	st   *yamuxgo.Stream
	sess *Session

	// go-yamux v4 streams are not safe for concurrent Writes (two
	// writers can both spend the same send window, and the peer then
	// ends the session for exceeding it), so writers take turns here.
	writeMu sync.Mutex

	// Only in's goroutine reads st, with no read deadline: go-yamux grants
	// the window before it queues the update, and drops the update if the
	// read deadline has passed by then, which stalls the stream for good
	// once the window is spent. The read deadline is rdl, here.
	readMu    sync.Mutex // one Read at a time
	rdl       deadline.Deadline
	in        *readahead.Reader
	readDone  chan struct{} // closed when this side closes reading
	closeRead sync.Once

	readClosed, writeClosed atomic.Bool
}

func newStream(st *yamuxgo.Stream, sess *Session) *Stream {
	c := &Stream{st: st, sess: sess, readDone: make(chan struct{})}
	c.in = readahead.New(streamReader{st})
	return c
}

// streamReader is st as in's source: data comes without the error of
// the window update that follows it, such as the session's end (io.EOF
// when the peer hung up) while more data waits in the buffer; the next
// read reports the stream's real state.
type streamReader struct{ st *yamuxgo.Stream }

func (r streamReader) Read(p []byte) (int, error) {
	n, err := r.st.Read(p)
	if n > 0 {
		return n, nil
	}
	return 0, err
}

// shutRead marks reading closed on this side.
func (c *Stream) shutRead() {
	c.readClosed.Store(true)
	c.closeRead.Do(func() {
		close(c.readDone)
		c.in.Stop()
	})
}

var _ net.Conn = (*Stream)(nil)

// Read reads data the peer wrote.
func (c *Stream) Read(b []byte) (int, error) {
	if c.readClosed.Load() {
		return 0, c.opError("read", net.ErrClosed)
	}
	if len(b) == 0 {
		return 0, nil // go-yamux would wait for data
	}
	c.readMu.Lock()
	defer c.readMu.Unlock()
	if c.rdl.Passed() {
		return 0, c.opError("read", os.ErrDeadlineExceeded)
	}
	n, err := c.in.Read(b, c.rdl.Done(), c.readDone)
	if err != nil && err != io.EOF {
		err = c.mapErr("read", err, &c.readClosed)
	}
	return n, err
}

// Write writes b to the stream. It blocks while the peer's receive window
// is full, and returns once b is queued for the underlying conn.
func (c *Stream) Write(b []byte) (int, error) {
	if c.writeClosed.Load() {
		return 0, c.opError("write", net.ErrClosed)
	}
	c.writeMu.Lock()
	n, err := c.st.Write(b)
	c.writeMu.Unlock()
	if err != nil {
		err = c.mapErr("write", err, &c.writeClosed)
	}
	return n, err
}

// Close closes both directions: the peer reads io.EOF after what was
// written, and this side reads and writes no more. The stream's resources
// are released once the peer has closed its side too, or on reset.
func (c *Stream) Close() error {
	c.shutRead()
	c.writeClosed.Store(true)
	c.st.Close() // fails only if the stream or session is already gone
	return nil
}

// CloseWrite closes the writing direction: the peer reads io.EOF after
// what was written. Reading goes on.
func (c *Stream) CloseWrite() error {
	c.writeClosed.Store(true)
	if err := c.st.CloseWrite(); err != nil {
		return c.mapErr("close", err, nil)
	}
	return nil
}

// CloseRead closes the reading direction here. The peer is not told:
// what it writes afterwards is held, up to the receive window, until the
// stream ends.
func (c *Stream) CloseRead() error {
	c.shutRead()
	return c.st.CloseRead()
}

// Reset closes the stream abruptly in both directions: the peer's reads
// and writes fail with [ErrStreamReset], and data in flight is dropped.
func (c *Stream) Reset() error {
	c.shutRead()
	c.writeClosed.Store(true)
	return c.st.Reset()
}

// LocalAddr returns the local address of the session's conn.
func (c *Stream) LocalAddr() net.Addr { return c.sess.conn.LocalAddr() }

// RemoteAddr returns the remote address of the session's conn.
func (c *Stream) RemoteAddr() net.Addr { return c.sess.conn.RemoteAddr() }

// SetDeadline sets the read and write deadlines.
func (c *Stream) SetDeadline(t time.Time) error {
	c.rdl.Set(t)
	return c.st.SetWriteDeadline(t)
}

// SetReadDeadline sets the deadline for Read calls, now and future.
func (c *Stream) SetReadDeadline(t time.Time) error {
	c.rdl.Set(t)
	return nil
}

// SetWriteDeadline sets the deadline for Write calls, now and future.
func (c *Stream) SetWriteDeadline(t time.Time) error { return c.st.SetWriteDeadline(t) }

// RemoteKey returns the peer's authenticated Ed25519 key, as
// [Session.RemoteKey] does, so that multiserver.RemoteKey finds it on the
// stream.
func (c *Stream) RemoteKey() ed25519.PublicKey { return c.sess.key }

// Session returns the session that carries the stream, for
// multiserver.SessionOf. It is a [*Session].
func (c *Stream) Session() multiserver.Session { return c.sess }

// mapErr turns go-yamux's error for op into ours. closed, if not nil,
// says whether this side closed that direction.
func (c *Stream) mapErr(op string, err error, closed *atomic.Bool) error {
	switch {
	case errors.Is(err, yamuxgo.ErrTimeout), errors.Is(err, os.ErrDeadlineExceeded):
		err = os.ErrDeadlineExceeded
	case closed != nil && closed.Load():
		err = net.ErrClosed
	case c.sess.ys.IsClosed():
		err = c.sess.closedErr()
	case errors.Is(err, yamuxgo.ErrStreamReset):
		err = ErrStreamReset
	case errors.Is(err, yamuxgo.ErrStreamClosed):
		err = net.ErrClosed
	}
	return c.opError(op, err)
}

func (c *Stream) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "yamux", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
