// Package tcp is the "net" plug: TCP over IPv4 and IPv6.
//
// Its segment is "net:HOST:PORT", with an IPv6 host unbracketed as
// JavaScript multiserver writes it ("net:::1:8008"). An empty host means
// "localhost". A listener on an unspecified address (0.0.0.0, ::)
// advertises the host's interface addresses of the asked scope; one on
// port 0 advertises the port the system chose.
//
// The package is named tcp so that it does not shadow the standard
// library's net; its plug's name is "net".
//
// # Proxies
//
// Dials go through an HTTP CONNECT proxy when [Plug.Proxy] picks one; by
// default, the one HTTPS_PROXY (or https_proxy) names, unless NO_PROXY
// excludes the host. A raw TCP tunnel is treated as https traffic, so
// HTTP_PROXY is not consulted, and, as in net/http, "localhost" and
// loopback addresses are never proxied from the environment. The proxy
// is asked for the dialed host and port, and failures are a *[ProxyError].
// Listen is never proxied.
package tcp

import (
	"context"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
)

// Plug is the "net" plug. Its zero value is ready to use.
type Plug struct {
	// Dialer dials outbound connections, or the proxy when there is one.
	// If nil, a zero net.Dialer.
	Dialer *net.Dialer
	// Proxy returns the HTTP CONNECT proxy to dial addr (host:port)
	// through, or nil to dial directly; see [ProxyURL] for a fixed
	// choice. The proxy is asked for addr, port included. If Proxy is
	// nil, the environment decides (see the package doc): HTTPS_PROXY
	// unless NO_PROXY excludes addr, and never for localhost or loopback
	// addresses.
	Proxy func(addr string) (*url.URL, error)
	// ListenConfig opens listeners. If nil, a zero net.ListenConfig.
	ListenConfig *net.ListenConfig
	// External lists hosts (names or addresses) that peers in
	// ScopePublic use instead of the listener's own, such as a NAT's
	// public address. If empty, the listener's public addresses are used.
	External []string
}

var (
	_ multiserver.Plug           = (*Plug)(nil)
	_ multiserver.SegmentChecker = (*Plug)(nil)
)

// Name returns "net".
func (p *Plug) Name() string { return "net" }

// Kind returns the grammar of the "net" layer, "net:HOST:PORT", for an
// [address.Parser]: the port is the last field and the host the fields
// before it, so an IPv6 host is written unbracketed ("net:fe80::1:8008");
// an empty host means localhost. See [address.HostPort].
func Kind() address.Kind { return address.Kind{Name: "net", Role: address.Plug, Check: checkSegment} }

// CheckSegment reports what is wrong with s, a "net" segment, by the
// rules of [Kind].
func (p *Plug) CheckSegment(s address.Segment) error { return checkSegment(s) }

func checkSegment(s address.Segment) error {
	_, _, err := address.HostPort(s)
	return err
}

// Dial connects to the host and port of s, through the proxy that
// [Plug.Proxy] picks if any. A failure to reach a proxy or its refusal
// is a *[ProxyError] naming the proxy (and its status).
func (p *Plug) Dial(ctx context.Context, s address.Segment) (net.Conn, error) {
	hostport, err := hostPort(s)
	if err != nil {
		return nil, err
	}
	return p.dial(ctx, hostport)
}

// Listen listens on the host and port of s. The listener implements
// [multiserver.Advertiser].
func (p *Plug) Listen(ctx context.Context, s address.Segment) (net.Listener, error) {
	hostport, err := hostPort(s)
	if err != nil {
		return nil, err
	}
	lc := p.ListenConfig
	if lc == nil {
		lc = &net.ListenConfig{}
	}
	host, _, _ := address.HostPort(s)
	ln, err := lc.Listen(ctx, "tcp", hostport)
	if err != nil {
		return nil, err
	}
	return &listener{Listener: ln, host: host, external: p.External}, nil
}

func hostPort(s address.Segment) (string, error) {
	host, port, err := address.HostPort(s)
	if err != nil {
		return "", err
	}
	if host == "" {
		host = "localhost"
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// listener is a TCP listener that knows its advertised addresses.
type listener struct {
	net.Listener
	host     string // as given to Listen
	external []string
}

// Advertise returns the "net" segments peers in scope dial, with the
// real port, for the hosts of [multiserver.AdvertiseHosts].
func (l *listener) Advertise(scope multiserver.Scope) []address.Segment {
	port := l.Addr().(*net.TCPAddr).Port
	var out []address.Segment
	for _, h := range multiserver.AdvertiseHosts(scope, l.host, l.external) {
		out = append(out, Segment(h, port))
	}
	return out
}

// Segment returns the "net" segment for host and port; an IPv6 host is
// written unbracketed.
func Segment(host string, port int) address.Segment {
	return address.Segment{Name: "net", Fields: append(strings.Split(host, ":"), strconv.Itoa(port))}
}
