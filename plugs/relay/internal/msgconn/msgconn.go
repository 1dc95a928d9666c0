// Package msgconn is the seam between the relay protocol and what
// carries it: a Conn reads and writes whole binary messages and closes
// with a status code and a reason. A WebSocket is one ([WS]); a byte
// stream framed as spec/relay.md §11 says is another ([Framed]), which
// the relay runs over an HTTP bridge session. The relay's client and
// server speak to a Conn only, so a pairing joins a WebSocket and a
// bridge session as it joins two WebSockets.
package msgconn

import (
	"context"
	"errors"
	"io"

	"github.com/coder/websocket"
)

// Conn carries binary messages. Its errors, when the peer closed with a
// status, are (or wrap) a websocket.CloseError, whichever the carrier.
type Conn interface {
	// Reader returns a reader of the next message. A text message is
	// [ErrText]. ctx bounds the wait for the message's start.
	Reader(ctx context.Context) (io.Reader, error)
	// Read reads the next message whole.
	Read(ctx context.Context) ([]byte, error)
	// Write writes p as one message.
	Write(ctx context.Context, p []byte) error
	// Writer returns a writer of a message whose length is not known
	// yet. A carrier may split it into several messages.
	Writer(ctx context.Context) (io.WriteCloser, error)
	// Close sends a close with code and reason and ends the carrier.
	Close(code websocket.StatusCode, reason string) error
	// CloseNow ends the carrier without a close: the peer sees it lost.
	CloseNow() error
	// SetReadLimit bounds the messages read, in bytes.
	SetReadLimit(n int64)
}

// ErrText is the error of a text message, which the relay never sends.
var ErrText = errors.New("relay: text message")

// WS returns ws as a Conn.
func WS(ws *websocket.Conn) Conn { return wsConn{ws} }

type wsConn struct{ ws *websocket.Conn }

func (c wsConn) Reader(ctx context.Context) (io.Reader, error) {
	typ, r, err := c.ws.Reader(ctx)
	if err != nil {
		return nil, err
	}
	if typ != websocket.MessageBinary {
		return nil, ErrText
	}
	return r, nil
}

func (c wsConn) Read(ctx context.Context) ([]byte, error) {
	typ, p, err := c.ws.Read(ctx)
	if err != nil {
		return nil, err
	}
	if typ != websocket.MessageBinary {
		return nil, ErrText
	}
	return p, nil
}

func (c wsConn) Write(ctx context.Context, p []byte) error {
	return c.ws.Write(ctx, websocket.MessageBinary, p)
}

func (c wsConn) Writer(ctx context.Context) (io.WriteCloser, error) {
	return c.ws.Writer(ctx, websocket.MessageBinary)
}

func (c wsConn) Close(code websocket.StatusCode, reason string) error {
	return c.ws.Close(code, reason)
}

func (c wsConn) CloseNow() error      { return c.ws.CloseNow() }
func (c wsConn) SetReadLimit(n int64) { c.ws.SetReadLimit(n) }

// Unwrap returns the WebSocket of a Conn that WS made, or nil.
func Unwrap(c Conn) *websocket.Conn {
	if w, ok := c.(wsConn); ok {
		return w.ws
	}
	return nil
}
