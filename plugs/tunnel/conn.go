package tunnel

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/internal/deadline"
	"github.com/f7d52a8e/multiserver/internal/muxrpc"
)

// maxChunk is the largest data packet a tunnel sends.
const maxChunk = 32 << 10

// conn is a tunnel: a tunnel.connect duplex stream as a net.Conn.
type conn struct {
	st            *muxrpc.Stream
	r             *room
	local, remote Addr
	rd, wd        deadline.Deadline
	closed        chan struct{}
	once          sync.Once
	origin        string // of an accepted tunnel: its count in room.origins

	rmu  sync.Mutex
	rerr error
	wmu  sync.Mutex
}

var _ multiserver.PathConn = (*conn)(nil)

func newConn(st *muxrpc.Stream, r *room, local, remote Addr) *conn {
	return &conn{st: st, r: r, local: local, remote: remote, closed: make(chan struct{})}
}

// Path reports a relayed path, carried by the room session's plug.
func (c *conn) Path() multiserver.Path {
	return multiserver.Path{Relayed: true, Carrier: c.r.carrier}
}

// Read reads what the peer sent. Its errors, but io.EOF at the end of
// the tunnel, are *net.OpError values with Op "read" that wrap the
// cause: os.ErrDeadlineExceeded, net.ErrClosed, or the room's refusal,
// a *RoomError; Write's are the same with Op "write".
func (c *conn) Read(b []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.rerr != nil {
		return 0, c.rerr
	}
	if c.rd.Passed() {
		return 0, c.opError("read", os.ErrDeadlineExceeded)
	}
	if len(b) == 0 {
		return 0, nil
	}
	// What the room sent stays in the session's buffers, and counts
	// there, until it is read.
	n, err := c.st.ReadInto(b, c.rd.Done(), c.closed)
	if err != nil {
		select {
		case <-c.closed:
			return 0, c.opError("read", net.ErrClosed)
		default:
		}
		if errors.Is(err, context.Canceled) {
			return 0, c.opError("read", os.ErrDeadlineExceeded)
		}
		c.rerr = c.readError(err)
		return 0, c.rerr
	}
	return n, nil
}

// readError turns the end of the stream into the conn's read error.
func (c *conn) readError(err error) error {
	if err == io.EOF {
		return io.EOF
	}
	return c.opError("read", c.cause(err))
}

// cause turns the room's muxrpc error into a *RoomError.
func (c *conn) cause(err error) error {
	var re *muxrpc.Error
	if errors.As(err, &re) {
		return &RoomError{Room: ID(c.r.key), Msg: re.Message}
	}
	return err
}

// opError wraps err as net.Conn users expect of a read or write error.
func (c *conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tunnel", Source: c.local, Addr: c.remote, Err: err}
}

func (c *conn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	n := 0
	for n < len(b) {
		if c.wd.Passed() {
			return n, c.opError("write", os.ErrDeadlineExceeded)
		}
		chunk := b[n:min(len(b), n+maxChunk)]
		// The session's writer owns what it is given.
		err := c.st.WriteWait(muxrpc.Buffer, append([]byte(nil), chunk...), c.wd.Done(), c.closed)
		if err != nil {
			select {
			case <-c.closed:
				return n, c.opError("write", net.ErrClosed)
			default:
			}
			if errors.Is(err, context.Canceled) {
				return n, c.opError("write", os.ErrDeadlineExceeded)
			}
			return n, c.opError("write", c.cause(err))
		}
		n += len(chunk)
	}
	return n, nil
}

// Close ends the tunnel; the room's session closes with its last user.
func (c *conn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.rd.Stop()
		c.wd.Stop()
		c.st.Close()
		if c.origin != "" {
			c.r.giveOrigin(c.origin)
		}
		c.r.release()
	})
	return nil
}

func (c *conn) LocalAddr() net.Addr  { return c.local }
func (c *conn) RemoteAddr() net.Addr { return c.remote }

func (c *conn) SetDeadline(t time.Time) error {
	c.rd.Set(t)
	c.wd.Set(t)
	return nil
}

func (c *conn) SetReadDeadline(t time.Time) error  { c.rd.Set(t); return nil }
func (c *conn) SetWriteDeadline(t time.Time) error { c.wd.Set(t); return nil }
