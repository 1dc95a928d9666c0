package msgconn

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// NetConn returns the byte stream of a paired Framed: a read returns the
// payloads of data messages, concatenated; a write sends data messages
// of at most MaxPiece bytes. A close message of status 1000 or 1001
// reads as io.EOF, another as an error that wraps a
// websocket.CloseError, and the stream's end without one as
// io.ErrUnexpectedEOF: the carrier was lost. Deadlines are the stream's.
// Close sends a close message of status 1000.
func NetConn(f *Framed, local, remote net.Addr) net.Conn {
	return &netConn{f: f, local: local, remote: remote}
}

type netConn struct {
	f             *Framed
	rmu           sync.Mutex
	local, remote net.Addr
}

func (c *netConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	f := c.f
	for f.remaining == 0 {
		if len(p) == 0 {
			return 0, nil
		}
		if _, err := f.next(); err != nil {
			return 0, readEnd(err)
		}
	}
	return bodyReader{f}.Read(p)
}

// readEnd turns the error that ended reads into the one Read returns.
func readEnd(err error) error {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		if ce.Code == websocket.StatusNormalClosure || ce.Code == websocket.StatusGoingAway {
			return io.EOF
		}
		return fmt.Errorf("relay: stream closed: %w", err)
	}
	return err
}

func (c *netConn) Write(p []byte) (int, error) {
	c.f.wmu.Lock()
	defer c.f.wmu.Unlock()
	return c.f.writePiecesLocked(p)
}

func (c *netConn) Close() error {
	return c.f.Close(websocket.StatusNormalClosure, "")
}

func (c *netConn) LocalAddr() net.Addr                { return c.local }
func (c *netConn) RemoteAddr() net.Addr               { return c.remote }
func (c *netConn) SetDeadline(t time.Time) error      { return c.f.nc.SetDeadline(t) }
func (c *netConn) SetReadDeadline(t time.Time) error  { return c.f.nc.SetReadDeadline(t) }
func (c *netConn) SetWriteDeadline(t time.Time) error { return c.f.nc.SetWriteDeadline(t) }

// NetConn returns the stream under c.
func (c *netConn) NetConn() net.Conn { return c.f.nc }
