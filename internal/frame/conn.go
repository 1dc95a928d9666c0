package frame

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Conn is a net.Conn, but for Close's argument, that carries frames over
// an established handshake. Read and Write may run at the same time;
// concurrent Reads (or Writes) are serialized. A transform's conn holds
// one and forwards to it. Its zero value is not usable: call Init.
type Conn struct {
	conn   net.Conn
	closed atomic.Bool

	wmu sync.Mutex
	w   Writer

	rmu sync.Mutex
	r   Reader
}

// Init makes c carry frames of format f over conn, sealed by s and opened
// by o.
func (c *Conn) Init(conn net.Conn, f *Format, s Sealer, o Opener) {
	c.conn = conn
	c.w.Init(f, s)
	c.r.Init(f, o)
}

// NetConn returns the underlying conn.
func (c *Conn) NetConn() net.Conn { return c.conn }

// Read reads payload; see [Reader.Read].
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.r.Read(c.conn, p)
}

// ReadBuffered returns true: Read serves small reads from the frames it
// has opened, without I/O, so a reader above needs no buffer of its own.
func (c *Conn) ReadBuffered() bool { return true }

// WriteTo writes what it reads to w until the end of stream; see
// [Reader.WriteTo].
func (c *Conn) WriteTo(w io.Writer) (int64, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.r.WriteTo(c.conn, w)
}

// Write writes p in frames; see [Writer.Write]. It fails with
// net.ErrClosed after Close.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	return c.w.Write(c.conn, p)
}

// CloseWrite sends the end of stream, once, and keeps the conn open for
// reading. It does not half-close the underlying conn.
func (c *Conn) CloseWrite() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed.Load() {
		return net.ErrClosed
	}
	return c.w.End(c.conn)
}

// Close sends the end of stream if it has not been sent, then closes the
// underlying conn. Sending it is best effort: Close skips it if a Write is
// in progress, gives up on it after endTimeout if the peer does not read,
// and ignores its errors.
func (c *Conn) Close(endTimeout time.Duration) error {
	if c.closed.Swap(true) {
		return net.ErrClosed
	}
	if c.wmu.TryLock() {
		if !c.w.Shut() {
			c.conn.SetWriteDeadline(time.Now().Add(endTimeout))
			c.w.End(c.conn)
		}
		c.wmu.Unlock()
	}
	return c.conn.Close()
}

// LocalAddr returns the underlying conn's local address.
func (c *Conn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// RemoteAddr returns the underlying conn's remote address.
func (c *Conn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// SetDeadline sets the underlying conn's deadlines.
func (c *Conn) SetDeadline(t time.Time) error { return c.conn.SetDeadline(t) }

// SetReadDeadline sets the underlying conn's read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// SetWriteDeadline sets the underlying conn's write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }
