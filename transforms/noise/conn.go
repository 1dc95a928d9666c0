package noise

import (
	"crypto/ed25519"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// endTimeout bounds how long Close waits to send the end of stream to a
// peer that does not read.
var endTimeout = time.Second // a var for tests

// Conn is a net.Conn that carries Noise transport frames over an
// established handshake. Read and Write may run at the same time;
// concurrent Reads (or Writes) are serialized. Deadlines are those of the
// underlying conn.
type Conn struct {
	conn   net.Conn
	remote ed25519.PublicKey
	hash   []byte
	closed atomic.Bool

	wmu sync.Mutex
	w   frameWriter

	rmu sync.Mutex
	r   frameReader
}

var _ net.Conn = (*Conn)(nil)

// RemoteKey returns the long-term Ed25519 key the peer proved.
func (c *Conn) RemoteKey() ed25519.PublicKey { return c.remote }

// HandshakeHash returns the Noise handshake hash h, which is the same on
// both sides and unique to the session: a channel binding.
func (c *Conn) HandshakeHash() []byte { return c.hash }

// NetConn returns the underlying conn. Reading or writing it directly
// corrupts the stream.
func (c *Conn) NetConn() net.Conn { return c.conn }

// Read reads decrypted bytes. It returns io.EOF once the peer has ended
// its stream ([Conn.CloseWrite] or [Conn.Close]), and an error wrapping
// io.ErrUnexpectedEOF if the peer hung up without ending it. Bytes of
// every frame that arrived whole and decrypted are returned before any
// later error.
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.r.read(c.conn, p)
}

// Write encrypts p and sends it in frames of up to [MaxPayload] bytes,
// each with one Write to the underlying conn. An empty p sends nothing.
//
// If a write deadline cuts a frame short, the frame counts as written and
// its rest is sent before anything else; a frame of which nothing was
// sent is not counted and may be written again.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	return c.w.write(c.conn, p)
}

// CloseWrite sends the end of stream, a frame with an empty payload, and
// keeps the conn open for reading. It does not half-close the underlying
// conn. Later Writes fail.
func (c *Conn) CloseWrite() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed.Load() {
		return net.ErrClosed
	}
	return c.w.end(c.conn)
}

// Close sends the end of stream if it has not been sent, then closes the
// underlying conn. Sending it is best effort: Close skips it if a Write is
// in progress, gives up on it after a second if the peer does not read,
// and ignores its errors.
func (c *Conn) Close() error {
	if c.closed.Swap(true) {
		return net.ErrClosed
	}
	if c.wmu.TryLock() {
		if c.w.err == nil && !c.w.shut {
			c.conn.SetWriteDeadline(time.Now().Add(endTimeout))
			c.w.end(c.conn)
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

// isTimeout reports whether err is a deadline error, after which the
// conn stays usable.
func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
