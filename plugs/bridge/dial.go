//go:build !js

package bridge

import (
	"net"
	"net/http"
	"net/url"

	"github.com/f7d52a8e/multiserver/internal/httpproxy"
)

// httpClient returns the client a conn makes its requests with, and
// what frees its idle connections when the conn closes. Without
// Plug.HTTPClient each conn has a transport of its own, with the plug's
// TLS settings and proxy: plain http goes to an HTTP proxy as forwarded
// requests, https through a CONNECT tunnel, as net/http does.
func (p *Plug) httpClient() (doer, func()) {
	if p.HTTPClient != nil {
		return p.HTTPClient, func() {}
	}
	pick := p.Proxy
	if pick == nil {
		pick = httpproxy.ForScheme
	}
	t := &http.Transport{
		Proxy: func(r *http.Request) (*url.URL, error) {
			return pick(r.URL.Scheme, hostPort(r.URL))
		},
		DialContext:         (&net.Dialer{}).DialContext,
		TLSClientConfig:     p.TLSConfig.Clone(),
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: maxInFlight + 2, // the sends under way, the downstream, a spare
	}
	return &http.Client{Transport: t}, t.CloseIdleConnections
}

// hostPort returns u's host and port, the scheme's default if absent.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}
