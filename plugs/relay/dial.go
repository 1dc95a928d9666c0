//go:build !js

package relay

import (
	"context"
	"net"
	"net/http"

	"github.com/coder/websocket"
	"github.com/f7d52a8e/multiserver/internal/dialtrace"
	"github.com/f7d52a8e/multiserver/internal/httpproxy"
	"github.com/f7d52a8e/multiserver/internal/wsconn"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/msgconn"
)

// dial opens s's WebSocket, with a wsconn.Socket under it where the
// transport lets one be put there.
func (c *Client) dial(ctx context.Context, s *session) error {
	var sock *wsconn.Socket
	ctx, upgraded := dialtrace.HTTPUpgrade(ctx, s.url)
	ws, resp, err := websocket.Dial(ctx, s.url, &websocket.DialOptions{
		HTTPClient:      c.httpClient(&sock),
		Subprotocols:    []string{Subprotocol},
		CompressionMode: websocket.CompressionDisabled,
	})
	upgraded(resp, err)
	if err != nil {
		return err
	}
	s.ws = ws
	if sock != nil {
		s.sock = sock
	}
	return nil
}

// httpClient returns a client whose transport keeps no idle conns and
// puts a Socket under the conn it dials, stored in *sock: the plug's own
// (TLSConfig, Proxy), or a clone of HTTPClient's if its transport is an
// *http.Transport, else HTTPClient itself (then no Socket).
func (c *Client) httpClient(sock **wsconn.Socket) *http.Client {
	wrap := func(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			*sock = wsconn.NewSocket(conn)
			return *sock, nil
		}
	}
	if c.HTTPClient != nil {
		rt := c.HTTPClient.Transport
		if rt == nil {
			rt = http.DefaultTransport
		}
		t, ok := rt.(*http.Transport)
		if !ok || t.Dial != nil && t.DialContext == nil || t.DialTLS != nil && t.DialTLSContext == nil {
			return c.HTTPClient
		}
		t = t.Clone()
		t.DisableKeepAlives = true
		dial := t.DialContext
		if dial == nil {
			dial = (&net.Dialer{}).DialContext
		}
		t.DialContext = wrap(dial)
		if t.DialTLSContext != nil {
			t.DialTLSContext = wrap(t.DialTLSContext)
		}
		hc := *c.HTTPClient
		hc.Transport = t
		return &hc
	}
	return &http.Client{Transport: &http.Transport{
		Proxy:             nil, // ours: a CONNECT tunnel for ws and wss alike
		DialContext:       wrap(c.dialTCP),
		TLSClientConfig:   c.TLSConfig.Clone(),
		ForceAttemptHTTP2: false,
		DisableKeepAlives: true,
	}}
}

// dialTCP connects to addr directly or through the proxy c.Proxy picks.
func (c *Client) dialTCP(ctx context.Context, network, addr string) (net.Conn, error) {
	pick := c.Proxy
	if pick == nil {
		pick = httpproxy.ForScheme
	}
	scheme := "ws"
	if u, err := wsURL(c.URL); err == nil && len(u) > 4 && u[:4] == "wss:" {
		scheme = "wss"
	}
	proxy, err := pick(scheme, addr)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	if proxy == nil {
		return dialtrace.Dial(ctx, &d, network, addr)
	}
	return httpproxy.Dial(ctx, &d, proxy, addr)
}

// netConn returns the byte stream over s's carrier after PAIRED.
func (c *Client) netConn(s *session) net.Conn {
	remote := urlAddr(s.url)
	if f, ok := s.mc.(*msgconn.Framed); ok {
		f.SetReadLimit(c.readLimit())
		return msgconn.NetConn(f, remote, remote)
	}
	if sock, ok := s.sock.(*wsconn.Socket); ok {
		return wsconn.New(s.ws, sock, c.readLimit(), sock.LocalAddr(), remote)
	}
	nc := websocket.NetConn(context.Background(), s.ws, websocket.MessageBinary)
	s.ws.SetReadLimit(c.readLimit()) // after NetConn, which lifts the limit
	return nc
}

// urlAddr is a relay URL as a net.Addr.
type urlAddr string

func (a urlAddr) Network() string { return "relay" }
func (a urlAddr) String() string  { return string(a) }
