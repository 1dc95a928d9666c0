package wsconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/f7d52a8e/multiserver/internal/deadline"
	"github.com/f7d52a8e/multiserver/internal/readahead"
)

// MaxMessage is the largest message a Conn sends: 64 KiB.
const MaxMessage = 64 << 10

// closeWait bounds how long a closing Conn waits to send what it has
// queued and its close frame: coder/websocket's own close timeout.
const closeWait = 5 * time.Second

// Conn is a net.Conn over a WebSocket: see the package doc.
type Conn struct {
	ws            *websocket.Conn
	sock          *Socket
	local, remote net.Addr

	closeOnce sync.Once
	done      chan struct{} // closed by Close
	closed    atomic.Bool

	wmu sync.Mutex   // one Write at a time
	wdl atomic.Int64 // the write deadline in Unix nanoseconds, 0 if none; the socket's is the one that counts

	rmu sync.Mutex // one Read at a time
	rdl deadline.Deadline
	in  *readahead.Reader
}

var _ net.Conn = (*Conn)(nil)

// New returns a Conn over ws, whose frames go through sock, the Socket
// under it. Its lifetime is its own: only Close, the peer or an error end
// it. limit is the largest message accepted, in bytes (negative: none).
// local and remote are its addresses.
func New(ws *websocket.Conn, sock *Socket, limit int64, local, remote net.Addr) *Conn {
	ws.SetReadLimit(limit)
	c := &Conn{
		ws: ws, sock: sock, local: local, remote: remote,
		done: make(chan struct{}),
	}
	c.in = readahead.New(&messages{c: c})
	return c
}

// Read reads what the peer wrote. The end of the stream is io.EOF: a
// close frame with status 1000 or 1001, or a TCP end without one. Other
// ends are errors; a text message or one over the limit also fails the
// WebSocket (status 1003 or 1009). A Read whose deadline passes fails
// with os.ErrDeadlineExceeded and loses nothing.
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	if c.rdl.Passed() { // as on TCP, even if data waits
		return 0, os.ErrDeadlineExceeded
	}
	return c.in.Read(p, c.rdl.Done(), c.done)
}

// Write writes p in binary messages of at most [MaxMessage] bytes. A
// message leaves in one write to the kernel, and so do messages that fit
// in one queue together, such as the two of a Write just over 64 KiB (a
// noise transform's Write of 64 KiB of payload is one). A Write whose
// deadline passes fails with os.ErrDeadlineExceeded; the messages that
// had begun to leave count as written, and their rest goes out before
// anything else.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.writable(); err != nil {
		return 0, err
	}
	if c.sock.pending() { // the rest of what a deadline cut short
		if err := c.sock.Flush(); err != nil {
			return 0, c.writeErr(err)
		}
	}
	n := 0
	for len(p) > 0 {
		m := p[:min(len(p), MaxMessage)]
		c.sock.Cork()
		err := c.ws.Write(context.Background(), websocket.MessageBinary, m)
		if err == nil {
			n += len(m)
			p = p[len(m):]
		}
		stop := err
		if stop == nil && len(p) > 0 {
			stop = c.writable()
		}
		if stop != nil || len(p) == 0 || !c.sock.fits(min(len(p), MaxMessage)+maxHeader) {
			if ferr := c.sock.Flush(); err == nil {
				err = ferr
			}
		}
		if err != nil {
			return n, c.writeErr(err) // a timeout, or Close interrupting
		}
		if stop != nil {
			return n, stop
		}
	}
	return n, nil
}

// maxHeader is the largest header of a message of at most MaxMessage
// bytes: 2 bytes, 8 of length (64 KiB needs more than 2), 4 of mask key.
const maxHeader = 14

// writable returns why a Write may not start a message: net.ErrClosed,
// os.ErrDeadlineExceeded, or nil.
func (c *Conn) writable() error {
	if c.closed.Load() {
		return net.ErrClosed
	}
	if d := c.wdl.Load(); d != 0 && time.Now().UnixNano() >= d {
		return os.ErrDeadlineExceeded
	}
	return nil
}

func (c *Conn) writeErr(err error) error {
	switch {
	case c.closed.Load():
		return net.ErrClosed
	case isTimeout(err):
		return os.ErrDeadlineExceeded
	}
	return fmt.Errorf("websocket: write: %w", err)
}

// Close sends a close frame (status 1000) after all written data and
// closes the connection once the peer answers, or after 5 seconds; it
// returns at once. Reads and Writes under way return net.ErrClosed.
func (c *Conn) Close() error {
	first := false
	c.closeOnce.Do(func() {
		first = true
		c.closed.Store(true)
		close(c.done)
		c.in.Stop()
	})
	if !first {
		return net.ErrClosed
	}
	// A Write blocked on the socket gives up; what it queued stays.
	c.sock.SetWriteDeadline(time.Unix(1, 0))
	c.wmu.Lock()
	c.sock.SetWriteDeadline(time.Now().Add(closeWait))
	c.wmu.Unlock()
	go func() {
		if c.sock.Flush() != nil {
			c.ws.CloseNow()
			return
		}
		// coder/websocket answers the peer's close frame and closes the
		// connection: the Conn's reader reads it, or Close itself.
		c.ws.Close(websocket.StatusNormalClosure, "")
	}()
	return nil
}

// LocalAddr returns the address given to New.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the address given to New.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline; it can be moved, cleared and
// set again at any time, and passing it only fails Reads.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if c.closed.Load() {
		return net.ErrClosed
	}
	c.rdl.Set(t)
	return nil
}

// SetWriteDeadline sets the write deadline, which is the socket's; it
// can be moved, cleared and set again at any time, and passing it only
// fails Writes.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if c.closed.Load() {
		return net.ErrClosed
	}
	var d int64
	if !t.IsZero() {
		d = t.UnixNano()
	}
	c.wdl.Store(d)
	return c.sock.SetWriteDeadline(t)
}

// readEnd turns the error that ended a WebSocket's reads into the one
// Read returns.
func readEnd(err error) error {
	switch {
	case websocket.CloseStatus(err) == websocket.StatusNormalClosure,
		websocket.CloseStatus(err) == websocket.StatusGoingAway,
		errors.Is(err, io.EOF):
		return io.EOF // a TCP end without a close frame reads as the end too
	}
	return fmt.Errorf("websocket: read: %w", err)
}
