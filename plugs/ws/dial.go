//go:build !js

package ws

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"github.com/coder/websocket"
	"github.com/f7d52a8e/multiserver/address"
)

// Dial opens a WebSocket to the URL of s. ctx bounds the TCP, TLS and
// HTTP upgrade handshakes only.
func (p *Plug) Dial(ctx context.Context, s address.Segment) (net.Conn, error) {
	u, err := address.URL(s)
	if err != nil {
		return nil, fmt.Errorf("ws: %w", err)
	}
	c, _, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{HTTPClient: p.client()})
	if err != nil {
		return nil, fmt.Errorf("ws: %w", err)
	}
	return newConn(c, p.readLimit(), urlAddr(u.String())), nil
}

// client returns p.HTTPClient, or a client on the plug's own transport.
func (p *Plug) client() *http.Client {
	if p.HTTPClient != nil {
		return p.HTTPClient
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.transport == nil {
		p.transport = &http.Transport{
			Proxy:             http.ProxyFromEnvironment,
			TLSClientConfig:   p.TLSConfig.Clone(),
			ForceAttemptHTTP2: false, // an upgrade needs HTTP/1.1
		}
	}
	return &http.Client{Transport: p.transport}
}
