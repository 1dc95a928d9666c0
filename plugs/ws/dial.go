//go:build !js

package ws

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/coder/websocket"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/internal/dialtrace"
	"github.com/f7d52a8e/multiserver/internal/httpproxy"
	"github.com/f7d52a8e/multiserver/internal/wsconn"
)

// ProxyError is the error of a dial that a proxy refused (Status and
// StatusCode say how, e.g. "403 Forbidden") or that did not reach the
// proxy (Err says why). Its message names the proxy, without credentials.
type ProxyError = httpproxy.ProxyError

// ProxyURL returns a [Plug.Proxy] that dials every address through the
// proxy at u, whatever the environment says; ProxyURL(nil) dials every
// address directly. u is an http:// or https:// URL, with credentials
// for the proxy in its user info if it wants them.
func ProxyURL(u *url.URL) func(scheme, addr string) (*url.URL, error) {
	return func(string, string) (*url.URL, error) { return u, nil }
}

// Dial opens a WebSocket to the URL of s. ctx bounds the TCP, proxy, TLS
// and HTTP upgrade handshakes only. A failure to reach a proxy or its
// refusal is a *[ProxyError] naming the proxy (and its status).
func (p *Plug) Dial(ctx context.Context, s address.Segment) (net.Conn, error) {
	u, err := address.URL(s)
	if err != nil {
		return nil, fmt.Errorf("ws: %w", err)
	}
	var sock *wsconn.Socket // under the WebSocket, if the transport could put one there
	ctx = context.WithValue(ctx, dialedKey{}, &sock)
	ctx, upgraded := dialtrace.HTTPUpgrade(ctx, u.Redacted())
	c, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{HTTPClient: p.client()})
	upgraded(resp, err)
	if err != nil {
		return nil, fmt.Errorf("ws: %w", err)
	}
	if sock == nil { // a transport of the user's that withSockets cannot change
		return newPipeConn(c, p.readLimit(), urlAddr(u.String())), nil
	}
	return wsconn.New(c, sock, p.readLimit(), sock.LocalAddr(), urlAddr(u.String())), nil
}

// client returns a client on the plug's own transport, or one like
// p.HTTPClient whose transport puts a Socket under the conns it dials;
// p.HTTPClient itself if its transport cannot (not an *http.Transport,
// or dialing with the deprecated Dial or DialTLS).
func (p *Plug) client() *http.Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.HTTPClient != nil {
		if p.userClientOf != p.HTTPClient {
			p.userClient, p.userClientOf = withSockets(p.HTTPClient), p.HTTPClient
		}
		return p.userClient
	}
	if p.transport == nil {
		p.transport = &http.Transport{
			// Proxies are ours, not the transport's: net/http would send a
			// ws:// upgrade to an HTTP_PROXY as a plain forwarded request,
			// which most proxies do not pass on, and reads the environment
			// once per process. A CONNECT tunnel works for ws and wss alike.
			Proxy:             nil,
			DialContext:       p.dialTCP,
			TLSClientConfig:   p.TLSConfig.Clone(),
			ForceAttemptHTTP2: false, // an upgrade needs HTTP/1.1
			// Every request is an upgrade that takes its conn for good:
			// keeping a refused one idle helps nobody, and without a pool
			// the conn dialTCP makes for a Dial is the one its WebSocket
			// runs on, whose Socket Dial takes.
			DisableKeepAlives: true,
		}
	}
	return &http.Client{Transport: p.transport}
}

// dialTCP connects to addr directly or through the proxy p.Proxy picks,
// and returns the conn in a wsconn.Socket. The transport adds TLS for wss
// on top: the Socket's queue and deadline handling work below TLS as
// above it, since TLS never sees a write fail.
func (p *Plug) dialTCP(ctx context.Context, network, addr string) (net.Conn, error) {
	pick := p.Proxy
	if pick == nil {
		pick = httpproxy.ForScheme
	}
	proxy, err := pick(p.Name(), addr)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	var c net.Conn
	if proxy == nil {
		c, err = dialtrace.Dial(ctx, &d, network, addr)
	} else {
		c, err = httpproxy.Dial(ctx, &d, proxy, addr)
	}
	if err != nil {
		return nil, err
	}
	return socket(ctx, c), nil
}

// socket puts a Socket under c, a conn a Dial's transport made, and hands
// it to the Dial.
func socket(ctx context.Context, c net.Conn) net.Conn {
	s := wsconn.NewSocket(c)
	if sock, ok := ctx.Value(dialedKey{}).(**wsconn.Socket); ok {
		*sock = s
	}
	return s
}

// withSockets returns a copy of c whose transport, a clone of c's, puts
// a Socket under the conns it dials (TLS, if the transport adds it, runs
// above), or c itself if it cannot. The clone keeps no idle conns: an
// upgrade keeps its conn, and without a pool the conn dialed for a Dial
// is the one its WebSocket runs on.
func withSockets(c *http.Client) *http.Client {
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	t, ok := rt.(*http.Transport)
	if !ok || t.Dial != nil && t.DialContext == nil || t.DialTLS != nil && t.DialTLSContext == nil {
		return c
	}
	t = t.Clone()
	t.DisableKeepAlives = true
	dial := t.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	t.DialContext = socketDial(dial)
	if t.DialTLSContext != nil {
		t.DialTLSContext = socketDial(t.DialTLSContext)
	}
	cc := *c
	cc.Transport = t
	return &cc
}

// socketDial returns dial with a Socket under the conns it makes.
func socketDial(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return socket(ctx, c), nil
	}
}

// dialedKey keys the context value through which dialTCP hands Dial the
// Socket it made.
type dialedKey struct{}

// peerClosed reports whether a read error means the peer closed the
// WebSocket. Natively, websocket.NetConn already reads a close frame as
// io.EOF, so no other error does.
func peerClosed(error) bool { return false }
