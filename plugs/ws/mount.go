//go:build !js

package ws

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
)

// Mount returns an http.Handler that serves the WebSocket URL rawURL
// ("wss://example.org/ms") from a web server of your own, beside its
// pages; a Listen of that URL on p then takes its conns from the handler
// instead of starting a server:
//
//	h, err := plug.Mount("wss://example.org/ms")
//	mux.Handle("/ms", h)
//	ln, err := network.Listen(ctx, "wss://example.org/ms~shs")
//
// The listener advertises rawURL as given (the name and port peers reach
// your server by), in every scope for a host name, or in the scopes of an
// IP address. TLS, if any, is your server's: a mounted wss URL needs no
// [Plug.TLSConfig]. While no listener serves the URL (before Listen, and
// after its Close or a Drop of its stack), the handler answers 503 Service
// Unavailable. rawURL must have the plug's scheme and may be mounted once.
func (p *Plug) Mount(rawURL string) (http.Handler, error) {
	s, err := address.ParseSegment(rawURL)
	if err != nil {
		return nil, fmt.Errorf("ws: mount: %w", err)
	}
	u, err := address.URL(s)
	if err != nil {
		return nil, fmt.Errorf("ws: mount: %w", err)
	}
	if u.Scheme != p.Name() {
		return nil, fmt.Errorf("ws: mount %s on the %s plug: the schemes differ", rawURL, p.Name())
	}
	key := mountKey(u)
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.mounts[key]; ok {
		return nil, fmt.Errorf("ws: %s is already mounted", rawURL)
	}
	m := &mount{url: u}
	if p.mounts == nil {
		p.mounts = map[string]*mount{}
	}
	p.mounts[key] = m
	return m, nil
}

// mountKey names u as Segment writes it, so that equivalent spellings
// ("wss://h:443/" and "wss://h") find the same mount.
func mountKey(u *url.URL) string {
	port, _ := strconv.Atoi(u.Port())
	if u.Port() == "" {
		port = defaultPort(u.Scheme)
	}
	return Segment(u.Scheme, u.Hostname(), port, u.Path).String()
}

// mounted returns the mount for u, or nil.
func (p *Plug) mounted(u *url.URL) *mount {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mounts[mountKey(u)]
}

// A mount is a URL served by the user's web server.
type mount struct {
	url *url.URL

	mu sync.Mutex
	h  *handler // of the listener serving the URL, or nil
}

// ServeHTTP passes the request to the listener, if one serves the URL.
func (m *mount) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	h := m.h
	m.mu.Unlock()
	if h == nil {
		http.Error(w, "ws: nothing listens on "+m.url.String(), http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

func (m *mount) listen(p *Plug, opts handlerOptions) (net.Listener, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h != nil {
		return nil, errors.New("ws: " + m.url.String() + " is already served")
	}
	m.h = newHandler(p.readLimit(), urlAddr(m.url.String()), opts)
	return &mountListener{handler: m.h, plug: p, m: m}, nil
}

// A mountListener takes its conns from a mount.
type mountListener struct {
	*handler
	plug *Plug
	m    *mount
}

// Close detaches the listener from its mount, which answers 503 from
// then on. Conns already accepted stay open.
func (l *mountListener) Close() error {
	l.m.mu.Lock()
	if l.m.h == l.handler {
		l.m.h = nil
	}
	l.m.mu.Unlock()
	return l.handler.Close()
}

// Advertise returns the mounted URL for scope.
func (l *mountListener) Advertise(scope multiserver.Scope) []address.Segment {
	u := l.m.url
	port, _ := strconv.Atoi(u.Port())
	if u.Port() == "" {
		port = defaultPort(u.Scheme)
	}
	return advertise(l.plug, scope, u, port, u.Path)
}
