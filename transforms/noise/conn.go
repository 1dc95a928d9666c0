package noise

import (
	"crypto/ed25519"
	"io"
	"net"
	"time"

	"github.com/f7d52a8e/multiserver/internal/frame"
)

// endTimeout bounds how long Close waits to send the end of stream to a
// peer that does not read.
var endTimeout = time.Second // a var for tests

// Conn is a net.Conn that carries Noise transport frames over an
// established handshake. Read and Write may run at the same time;
// concurrent Reads (or Writes) are serialized. Deadlines are those of the
// underlying conn.
type Conn struct {
	fc     frame.Conn
	remote ed25519.PublicKey
	hash   []byte
	send   sealer
	recv   opener
}

var _ net.Conn = (*Conn)(nil)

func newConn(c net.Conn, remote ed25519.PublicKey, hash []byte, send, recv [32]byte) *Conn {
	nc := &Conn{remote: remote, hash: hash}
	nc.send.init(send, 0)
	nc.recv.init(recv, 0)
	nc.fc.Init(c, &format, &nc.send, &nc.recv)
	return nc
}

// RemoteKey returns the long-term Ed25519 key the peer proved.
func (c *Conn) RemoteKey() ed25519.PublicKey { return c.remote }

// HandshakeHash returns the Noise handshake hash h, which is the same on
// both sides and unique to the session: a channel binding.
func (c *Conn) HandshakeHash() []byte { return c.hash }

// NetConn returns the underlying conn. Reading or writing it directly
// corrupts the stream.
func (c *Conn) NetConn() net.Conn { return c.fc.NetConn() }

// Read reads decrypted bytes. It returns io.EOF once the peer has ended
// its stream ([Conn.CloseWrite] or [Conn.Close]), and an error wrapping
// io.ErrUnexpectedEOF if the peer hung up without ending it. Bytes of
// every frame that arrived whole and decrypted are returned before any
// later error.
func (c *Conn) Read(p []byte) (int, error) { return c.fc.Read(p) }

// ReadBuffered returns true: small reads come from the frames already
// opened (see internal/frame), so a muxer above adds no read buffer.
func (c *Conn) ReadBuffered() bool { return c.fc.ReadBuffered() }

// WriteTo writes what it reads to w until the peer's end of stream, when it
// returns nil, as io.Copy does; a Conn's WriteTo is what io.Copy(w, c)
// calls. It writes each frame's data with one w.Write, straight from where
// it was decrypted, which saves io.Copy a copy of every byte.
func (c *Conn) WriteTo(w io.Writer) (int64, error) { return c.fc.WriteTo(w) }

// Write encrypts p and sends it in frames of up to [MaxPayload] bytes,
// two to a Write to the underlying conn. An empty p sends nothing.
//
// If a write deadline cuts a frame short, the frame counts as written and
// its rest is sent before anything else; a frame of which nothing was
// sent is not counted and may be written again.
func (c *Conn) Write(p []byte) (int, error) { return c.fc.Write(p) }

// CloseWrite sends the end of stream, a frame with an empty payload, and
// keeps the conn open for reading. It does not half-close the underlying
// conn. Later Writes fail.
func (c *Conn) CloseWrite() error { return c.fc.CloseWrite() }

// Close sends the end of stream if it has not been sent, then closes the
// underlying conn. Sending it is best effort: Close skips it if a Write is
// in progress, gives up on it after a second if the peer does not read,
// and ignores its errors.
func (c *Conn) Close() error { return c.fc.Close(endTimeout) }

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
