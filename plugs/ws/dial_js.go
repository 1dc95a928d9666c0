//go:build js

package ws

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/coder/websocket"
	"github.com/f7d52a8e/multiserver/address"
)

// Dial opens a WebSocket to the URL of s through the browser's WebSocket
// API. ctx bounds the opening handshake only.
func (p *Plug) Dial(ctx context.Context, s address.Segment) (net.Conn, error) {
	u, err := address.URL(s)
	if err != nil {
		return nil, fmt.Errorf("ws: %w", err)
	}
	c, _, err := websocket.Dial(ctx, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("ws: %w", err)
	}
	return newPipeConn(c, p.readLimit(), urlAddr(u.String())), nil
}

// peerClosed reports whether a read error means the WebSocket was closed.
// In the browser, coder/websocket reads a peer's close frame as
// net.ErrClosed and keeps the close status to itself, so every close
// counts as the end of the stream, as a close frame does natively.
func peerClosed(err error) bool { return errors.Is(err, net.ErrClosed) }
