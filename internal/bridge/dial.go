//go:build !js

package bridge

import (
	"net"
	"net/http"
	"net/url"
	"sync"

	"github.com/f7d52a8e/multiserver/internal/httpproxy"
)

// httpClient returns the client a conn makes its requests with, and
// what the conn calls when it closes. Without Client.HTTPClient the conns
// of a Client share one transport, made at the first dial with its
// TLS settings and proxy (plain http goes to an HTTP proxy as forwarded
// requests, https through a CONNECT tunnel, as net/http does), so that
// sessions to one server share its idle connections, in a bounded pool;
// when its last conn closes, the idle connections close.
func (p *Client) httpClient() (doer, func()) {
	if p.HTTPClient != nil {
		return p.HTTPClient, func() {}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client == nil {
		pick := p.Proxy
		if pick == nil {
			pick = httpproxy.ForScheme
		}
		t := &http.Transport{
			Proxy: func(r *http.Request) (*url.URL, error) {
				return pick(r.URL.Scheme, HostPort(r.URL))
			},
			DialContext:       (&net.Dialer{}).DialContext,
			TLSClientConfig:   p.TLSConfig.Clone(),
			ForceAttemptHTTP2: true,
			// Each session has a downstream request under way, sends and
			// an ack: a busy session reuses its connections, idle sessions
			// share a few spares.
			MaxIdleConnsPerHost: 2 * (maxInFlight + 2),
			MaxIdleConns:        64,
			IdleConnTimeout:     DefaultSessionTimeout,
		}
		p.client = &http.Client{Transport: t}
	}
	p.clientConns++
	var once sync.Once
	return p.client, func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.clientConns--; p.clientConns == 0 {
				p.client.Transport.(*http.Transport).CloseIdleConnections()
			}
		})
	}
}

// HostPort returns u's host and port, the scheme's default if absent.
func HostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}
