package tcp

import (
	"context"
	"net"
	"net/url"

	"github.com/f7d52a8e/multiserver/internal/dialtrace"
	"github.com/f7d52a8e/multiserver/internal/httpproxy"
)

// ProxyError is the error of a dial that a proxy refused (Status and
// StatusCode say how, e.g. "407 Proxy Authentication Required") or that
// did not reach the proxy (Err says why). Its message names the proxy,
// without credentials: "httpproxy: proxy 127.0.0.1:8888 refused CONNECT
// to example.org:8008: 403 Access violation".
type ProxyError = httpproxy.ProxyError

// ProxyURL returns a [Plug.Proxy] that dials every address through the
// proxy at u, whatever the environment says; ProxyURL(nil) dials every
// address directly. u is an http:// or https:// URL, with credentials
// for the proxy in its user info if it wants them.
func ProxyURL(u *url.URL) func(addr string) (*url.URL, error) {
	return func(string) (*url.URL, error) { return u, nil }
}

// dial connects to hostport directly or through the proxy p.Proxy picks.
func (p *Plug) dial(ctx context.Context, hostport string) (net.Conn, error) {
	d := p.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	pick := p.Proxy
	if pick == nil {
		pick = httpproxy.FromEnvironment
	}
	proxy, err := pick(hostport)
	if err != nil {
		return nil, err
	}
	if proxy == nil {
		return dialtrace.Dial(ctx, d, "tcp", hostport)
	}
	return httpproxy.Dial(ctx, d, proxy, hostport)
}
