package shs

import (
	"crypto/ed25519"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// goodbyeTimeout bounds how long Close waits to send the goodbye to a
// peer that does not read.
var goodbyeTimeout = time.Second // a var for tests

// Conn is a net.Conn that carries a box stream over an established
// handshake. Read and Write may run at the same time; concurrent Reads
// (or Writes) are serialized. Deadlines are those of the underlying conn.
type Conn struct {
	conn   net.Conn
	remote ed25519.PublicKey
	keys   SessionKeys
	closed atomic.Bool

	wmu sync.Mutex
	w   boxWriter

	rmu sync.Mutex
	r   boxReader
}

var _ net.Conn = (*Conn)(nil)

func newConn(c net.Conn, remote ed25519.PublicKey, k keys) *Conn {
	sc := &Conn{conn: c, remote: remote, keys: SessionKeys{
		EncryptKey: k.encKey, DecryptKey: k.decKey, EncryptNonce: k.encNonce, DecryptNonce: k.decNonce,
	}}
	sc.w.init(k.encKey, k.encNonce)
	sc.r.init(k.decKey, k.decNonce)
	return sc
}

// SessionKeys are the box stream keys and starting nonces a handshake
// agreed on, each side's encryption being the other's decryption.
type SessionKeys struct {
	EncryptKey, DecryptKey     [32]byte
	EncryptNonce, DecryptNonce [24]byte
}

// SessionKeys returns the keys and the nonces the box stream started
// from. Test suites such as shs1-testsuite check them; nothing else needs
// them.
func (c *Conn) SessionKeys() SessionKeys { return c.keys }

// RemoteKey returns the long-term Ed25519 key the peer proved.
func (c *Conn) RemoteKey() ed25519.PublicKey { return c.remote }

// NetConn returns the underlying conn. Reading or writing it directly
// corrupts the box stream.
func (c *Conn) NetConn() net.Conn { return c.conn }

// Read reads decrypted bytes. It returns io.EOF once the peer has sent
// its goodbye, and an error wrapping io.ErrUnexpectedEOF if the peer hung
// up without one. Bytes of every frame that arrived whole and verified
// are returned before any later error.
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.r.read(c.conn, p)
}

// Write encrypts p and sends it in frames of up to [MaxFrameBody] bytes,
// each with one Write to the underlying conn.
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

// CloseWrite sends the goodbye, the box stream's end of data, and keeps
// the conn open for reading. It does not half-close the underlying conn.
// Later Writes fail.
func (c *Conn) CloseWrite() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed.Load() {
		return net.ErrClosed
	}
	return c.w.goodbye(c.conn)
}

// Close sends the goodbye if it has not been sent, then closes the
// underlying conn. Sending the goodbye is best effort: Close skips it if a
// Write is in progress, gives up on it after a second if the peer does not
// read, and ignores its errors.
func (c *Conn) Close() error {
	if c.closed.Swap(true) {
		return net.ErrClosed
	}
	if c.wmu.TryLock() {
		if c.w.err == nil && !c.w.shut {
			c.conn.SetWriteDeadline(time.Now().Add(goodbyeTimeout))
			c.w.goodbye(c.conn)
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
