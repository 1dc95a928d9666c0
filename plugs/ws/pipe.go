package ws

import (
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"

	"github.com/coder/websocket"
	"github.com/f7d52a8e/multiserver/internal/wsconn"
)

// pipeConn is the user's end of a net.Pipe whose other end two goroutines
// pump to and from a websocket.NetConn. The pipe gives the net.Conn
// deadline semantics that NetConn lacks (there, an expired deadline closes
// the connection). It is the fallback for WebSockets without a
// wsconn.Socket under them: in the browser, and through a Plug.HTTPClient
// whose transport is not an *http.Transport, so that the plug cannot see
// its conns.
type pipeConn struct {
	net.Conn
	local, remote net.Addr
	readErr       atomic.Pointer[error] // why the WebSocket stopped, unless a clean close
}

// newPipeConn wraps c. Its lifetime is its own: only Close, the peer or
// an error end it. remote, if not nil, replaces the NetConn's address.
func newPipeConn(c *websocket.Conn, limit int64, remote net.Addr) *pipeConn {
	ws := websocket.NetConn(context.Background(), c, websocket.MessageBinary)
	c.SetReadLimit(limit) // after NetConn, which disables the limit
	user, pipe := net.Pipe()
	if remote == nil {
		remote = ws.RemoteAddr()
	}
	nc := &pipeConn{Conn: user, local: ws.LocalAddr(), remote: remote}
	go func() { // WebSocket to user
		// A TCP end without a close frame reads as io.EOF, as on TCP.
		if err := pump(pipe, ws); err != nil && !errors.Is(err, io.ErrClosedPipe) && !errors.Is(err, io.EOF) && !peerClosed(err) {
			nc.readErr.Store(&err)
		}
		pipe.Close()
	}()
	go func() { // user to WebSocket, a message per read of at most wsconn.MaxMessage
		pump(ws, pipe)
		ws.Close() // a close frame after all written data
		pipe.Close()
	}()
	return nc
}

// pump copies src to dst until src ends or either fails, and returns the
// error (nil at the end of src). A pump waits for data in a small array;
// only when a read fills it does it take a buffer from wsconn.Buffers,
// and it gives the buffer back after the first read that does not fill
// it. So an idle conn's two pumps hold 1 KiB between them rather than a
// buffer each, and a bulk transfer still moves up to wsconn.MaxMessage
// bytes per read. Each read is written before the next: a read that
// fills the array may be all the peer has to say until it hears back.
func pump(dst io.Writer, src io.Reader) error {
	var small [wsconn.IdleRead]byte
	for {
		full, err := copyOnce(dst, src, small[:])
		if full && err == nil {
			buf := wsconn.Buffers.Get().(*[wsconn.MaxMessage]byte)
			for full && err == nil {
				full, err = copyOnce(dst, src, buf[:])
			}
			wsconn.Buffers.Put(buf)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// copyOnce reads once from src into buf and writes what it read to dst.
// It reports whether the read filled buf.
func copyOnce(dst io.Writer, src io.Reader, buf []byte) (full bool, err error) {
	n, err := src.Read(buf)
	if n > 0 {
		if _, werr := dst.Write(buf[:n]); werr != nil {
			return false, werr
		}
	}
	return n == len(buf), err
}

// Read reads from the WebSocket; once it has ended, it returns io.EOF for
// a close frame and the error that ended it otherwise.
func (c *pipeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err == io.EOF {
		if e := c.readErr.Load(); e != nil {
			err = *e
		}
	}
	return n, err
}

// LocalAddr returns the local TCP address, or for a dialed conn (whose
// socket the plug does not see) a placeholder.
func (c *pipeConn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the peer's address: the dialed URL for a dialed
// conn, the TCP peer for an accepted one.
func (c *pipeConn) RemoteAddr() net.Addr { return c.remote }
