package punch

import (
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	quicgo "github.com/quic-go/quic-go"
)

// Carrier is a direct path: one QUIC stream on a punched UDP socket, as
// a net.Conn that owns the connection, its transport and its socket.
type Carrier struct {
	*quicgo.Stream
	conn    *quicgo.Conn
	sock    *socket
	ended   chan struct{} // closed when Read saw the peer's end or a failure
	endOnce sync.Once
	once    sync.Once

	mu      sync.Mutex
	reading bool // a Read is under way
	closed  bool // Close was called: no Read starts any more
}

var _ net.Conn = (*Carrier)(nil)

func newCarrier(conn *quicgo.Conn, st *quicgo.Stream, sock *socket) *Carrier {
	return &Carrier{Stream: st, conn: conn, sock: sock, ended: make(chan struct{})}
}

// Read reads the stream.
func (c *Carrier) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	c.reading = true
	c.mu.Unlock()
	n, err := c.Stream.Read(p)
	c.mu.Lock()
	c.reading = false
	c.mu.Unlock()
	if err != nil {
		c.endOnce.Do(func() { close(c.ended) })
	}
	return n, err
}

// SetReadDeadline sets the stream's read deadline, until Close, which
// sets its own.
func (c *Carrier) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	return c.Stream.SetReadDeadline(t)
}

// SetDeadline sets both deadlines, the read one as SetReadDeadline does.
func (c *Carrier) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.Stream.SetWriteDeadline(t)
}

// LocalAddr returns the local UDP address.
func (c *Carrier) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// RemoteAddr returns the peer's UDP address, as punched.
// An IPv4 peer on the dual-stack socket is given as IPv4, not as
// ::ffff:a.b.c.d.
func (c *Carrier) RemoteAddr() net.Addr {
	ra := c.conn.RemoteAddr()
	if ua, ok := ra.(*net.UDPAddr); ok {
		ap := ua.AddrPort()
		return net.UDPAddrFromAddrPort(netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
	}
	return ra
}

// Close ends the stream, then, once the peer ended its side (a reader
// saw it) or the connection is gone, or after a second, the connection
// and the socket: so that what was written last still arrives. It does
// not block.
func (c *Carrier) Close() error {
	c.once.Do(func() {
		// A Write still blocked (the path died under it) is of no use
		// now; what went before stays queued for the peer.
		c.Stream.SetWriteDeadline(time.Now())
		c.Stream.Close()
		c.mu.Lock()
		c.closed = true
		drain := !c.reading // else that Read sees the peer's end
		c.Stream.SetReadDeadline(time.Now().Add(time.Second))
		c.mu.Unlock()
		drained := make(chan struct{})
		if drain {
			go func() {
				defer close(drained)
				io.Copy(io.Discard, c.Stream) // ends at the latest when the conn closes
				c.endOnce.Do(func() { close(c.ended) })
			}()
		} else {
			close(drained)
		}
		go func() {
			t := time.NewTimer(time.Second)
			defer t.Stop()
			select {
			case <-c.ended:
			case <-c.conn.Context().Done():
			case <-t.C:
			}
			c.conn.CloseWithError(0, "closed")
			c.sock.close()
			<-drained
		}()
	})
	return nil
}
