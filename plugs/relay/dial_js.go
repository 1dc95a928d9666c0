//go:build js

package relay

import (
	"context"
	"net"

	"github.com/coder/websocket"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/msgconn"
)

// dial opens s's WebSocket through the browser's WebSocket API; the
// Client's HTTPClient, Proxy and TLSConfig do not apply.
func (c *Client) dial(ctx context.Context, s *session) error {
	ws, _, err := websocket.Dial(ctx, s.url, &websocket.DialOptions{Subprotocols: []string{Subprotocol}})
	if err != nil {
		return err
	}
	s.ws = ws
	return nil
}

// netConn returns the byte stream over s's carrier after PAIRED. Over a
// WebSocket, in the browser, that is coder/websocket's NetConn, whose passed deadline
// ends the conn rather than the call.
func (c *Client) netConn(s *session) net.Conn {
	if f, ok := s.mc.(*msgconn.Framed); ok {
		f.SetReadLimit(c.readLimit())
		return msgconn.NetConn(f, urlAddr(s.url), urlAddr(s.url))
	}
	nc := websocket.NetConn(context.Background(), s.ws, websocket.MessageBinary)
	s.ws.SetReadLimit(c.readLimit()) // after NetConn, which lifts the limit
	return nc
}

// urlAddr is a relay URL as a net.Addr.
type urlAddr string

func (a urlAddr) Network() string { return "relay" }
func (a urlAddr) String() string  { return string(a) }
