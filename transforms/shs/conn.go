package shs

import (
	"crypto/ed25519"
	"io"
	"net"
	"time"

	"github.com/f7d52a8e/multiserver/internal/frame"
)

// goodbyeTimeout bounds how long Close waits to send the goodbye to a
// peer that does not read.
var goodbyeTimeout = time.Second // a var for tests

// Conn is a net.Conn that carries a box stream over an established
// handshake. Read and Write may run at the same time; concurrent Reads
// (or Writes) are serialized. Deadlines are those of the underlying conn.
type Conn struct {
	fc     frame.Conn
	remote ed25519.PublicKey
	keys   SessionKeys
	send   sealer
	recv   opener
}

var _ net.Conn = (*Conn)(nil)

func newConn(c net.Conn, remote ed25519.PublicKey, k boxKeys) *Conn {
	sc := &Conn{remote: remote, keys: SessionKeys{
		EncryptKey: k.encKey, DecryptKey: k.decKey, EncryptNonce: k.encNonce, DecryptNonce: k.decNonce,
	}}
	sc.send.key, sc.send.nonce = k.encKey, k.encNonce
	sc.recv.key, sc.recv.nonce = k.decKey, k.decNonce
	sc.fc.Init(c, &format, &sc.send, &sc.recv)
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
func (c *Conn) NetConn() net.Conn { return c.fc.NetConn() }

// Read reads decrypted bytes. It returns io.EOF once the peer has sent
// its goodbye, and an error wrapping io.ErrUnexpectedEOF if the peer hung
// up without one. Bytes of every frame that arrived whole and verified
// are returned before any later error.
func (c *Conn) Read(p []byte) (int, error) { return c.fc.Read(p) }

// ReadBuffered returns true: small reads come from the frames already
// opened (see internal/frame), so a muxer above adds no read buffer.
func (c *Conn) ReadBuffered() bool { return c.fc.ReadBuffered() }

// WriteTo writes what it reads to w until the peer's goodbye, when it
// returns nil, as io.Copy does; a Conn's WriteTo is what io.Copy(w, c)
// calls. It writes each frame's data with one w.Write, straight from where
// it was decrypted, which saves io.Copy a copy of every byte.
func (c *Conn) WriteTo(w io.Writer) (int64, error) { return c.fc.WriteTo(w) }

// Write encrypts p and sends it in frames of up to [MaxFrameBody] bytes,
// up to 16 frames with each Write to the underlying conn.
//
// If a write deadline cuts a frame short, the frame counts as written and
// its rest is sent before anything else; frames of which nothing was sent
// are not counted and may be written again.
func (c *Conn) Write(p []byte) (int, error) { return c.fc.Write(p) }

// CloseWrite sends the goodbye, the box stream's end of data, and keeps
// the conn open for reading. It does not half-close the underlying conn.
// Later Writes fail.
func (c *Conn) CloseWrite() error { return c.fc.CloseWrite() }

// Close sends the goodbye if it has not been sent, then closes the
// underlying conn. Sending the goodbye is best effort: Close skips it if a
// Write is in progress, gives up on it after a second if the peer does not
// read, and ignores its errors.
func (c *Conn) Close() error { return c.fc.Close(goodbyeTimeout) }

// LocalAddr returns the underlying conn's local address.
func (c *Conn) LocalAddr() net.Addr { return c.fc.LocalAddr() }

// RemoteAddr returns the underlying conn's remote address.
func (c *Conn) RemoteAddr() net.Addr { return c.fc.RemoteAddr() }

// SetDeadline sets the underlying conn's deadlines.
func (c *Conn) SetDeadline(t time.Time) error { return c.fc.SetDeadline(t) }

// SetReadDeadline sets the underlying conn's read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.fc.SetReadDeadline(t) }

// SetWriteDeadline sets the underlying conn's write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.fc.SetWriteDeadline(t) }
