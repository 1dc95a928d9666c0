package ws

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"sync"

	"github.com/f7d52a8e/multiserver"
)

// DefaultReadLimit is the largest message accepted when [Plug.ReadLimit]
// is zero: 1 MiB.
const DefaultReadLimit = 1 << 20

// Plug is the "ws" or "wss" plug. Its zero value is a ready "ws" plug.
// A Plug must not be copied after first use.
type Plug struct {
	// Scheme is "ws" or "wss", the name the plug serves. If empty, "ws".
	Scheme string
	// TLSConfig configures TLS. A wss listener requires it, with
	// certificates. A wss dialer with nil uses the system roots; see the
	// package doc to pin a certificate. Dial ignores it when HTTPClient
	// is set.
	TLSConfig *tls.Config
	// ReadLimit is the largest message, in bytes, that a conn accepts. If
	// zero, 1 MiB ([DefaultReadLimit]); if negative, no limit.
	ReadLimit int64
	// Proxy returns the HTTP CONNECT proxy to dial addr (host:port)
	// through for a URL of the given scheme ("ws" or "wss"), or nil to
	// dial directly; see [ProxyURL] for a fixed choice. The proxy is asked
	// for addr, port included, for ws and wss alike, and TLS runs inside
	// the tunnel. If Proxy is nil, the environment decides as net/http
	// does: HTTP_PROXY for ws, HTTPS_PROXY for wss, unless NO_PROXY
	// excludes addr, and never for localhost or loopback addresses.
	// Proxy is not used when HTTPClient is set.
	Proxy func(scheme, addr string) (*url.URL, error)
	// HTTPClient dials, if set; its transport then chooses proxies and
	// TLS settings. If nil, the plug uses a transport of its own with
	// TLSConfig and Proxy. The plug dials with a clone of an
	// *http.Transport that keeps no idle conns; conns dialed through any
	// other http.RoundTripper, whose sockets the plug cannot see, relay
	// through a pipe and two goroutines each, which is slower.
	HTTPClient *http.Client
	// External lists hosts (names or addresses) that peers in
	// ScopePublic use instead of the listener's own, such as a NAT's
	// public address or a reverse proxy's name. If empty, the
	// listener's public addresses are used.
	External []string

	mu           sync.Mutex
	transport    *http.Transport
	userClient   *http.Client       // HTTPClient with Sockets under its conns
	userClientOf *http.Client       // the HTTPClient userClient was made from
	servers      map[string]*server // shared HTTP servers by host:port
	mounts       map[string]*mount  // URLs served by the user's servers
}

var _ multiserver.Plug = (*Plug)(nil)

// Name returns [Plug.Scheme], "ws" if it is empty.
func (p *Plug) Name() string {
	if p.Scheme == "" {
		return "ws"
	}
	return p.Scheme
}

func (p *Plug) readLimit() int64 {
	switch {
	case p.ReadLimit == 0:
		return DefaultReadLimit
	case p.ReadLimit < 0:
		return -1
	}
	return p.ReadLimit
}

// urlAddr is a net.Addr that is a WebSocket URL.
type urlAddr string

func (a urlAddr) Network() string { return "websocket" }
func (a urlAddr) String() string  { return string(a) }

// DialStack is [Plug.Dial]: a WebSocket dial needs only its own segment.
func (p *Plug) DialStack(ctx context.Context, o multiserver.DialOptions) (net.Conn, error) {
	return p.Dial(ctx, o.Addr.Plug())
}
