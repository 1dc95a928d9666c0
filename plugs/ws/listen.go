//go:build !js

package ws

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
)

var _ multiserver.StackPlug = (*Plug)(nil)

// server is one HTTP server, routing requests by path to handlers.
type server struct {
	key   string // in Plug.servers; "" if not shared (port 0)
	ln    net.Listener
	srv   *http.Server
	ended chan struct{} // Serve returned

	mu    sync.Mutex
	paths map[string]*handler
}

// ServeHTTP routes by exact path; the handler for "/" takes the paths no
// other handler serves.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	h, ok := s.paths[r.URL.Path]
	if !ok {
		h, ok = s.paths["/"]
	}
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	h.ServeHTTP(w, r)
}

// Listen serves WebSocket upgrades for the URL of s: an HTTP server on
// its host and port (80 or 443 if absent) accepts upgrades on its path
// ("/" if absent; "/" also takes paths no other listener of the server
// serves). If the URL was given to [Plug.Mount], the mounted handler
// takes the upgrades instead and no server is started. The listener
// implements [multiserver.Advertiser]. ctx bounds opening the socket only.
func (p *Plug) Listen(ctx context.Context, s address.Segment) (net.Listener, error) {
	return p.listen(ctx, s, handlerOptions{})
}

// ListenStack is [Plug.Listen] for a multiserver Listener, which tells
// the plug what the stack needs: an upgrade waits for the Listener to
// admit it (else 503 with Retry-After), and a stack that authenticates
// nobody (noauth) refuses cross-origin upgrades and Host names other than
// the URL's, localhost and IP addresses, so that no web page the user
// visits can use it, not even through DNS rebinding.
func (p *Plug) ListenStack(ctx context.Context, o multiserver.ListenOptions) (net.Listener, error) {
	u, err := address.URL(o.Addr.Plug())
	if err != nil {
		return nil, fmt.Errorf("ws: %w", err)
	}
	return p.listen(ctx, o.Addr.Plug(), handlerOptions{
		admit:      o.Admit,
		wait:       o.HandshakeTimeout,
		sameOrigin: !o.Authenticated,
		host:       u.Hostname(),
	})
}

func (p *Plug) listen(ctx context.Context, s address.Segment, opts handlerOptions) (net.Listener, error) {
	u, err := address.URL(s)
	if err != nil {
		return nil, fmt.Errorf("ws: %w", err)
	}
	if m := p.mounted(u); m != nil {
		return m.listen(p, opts)
	}
	if u.Scheme == "wss" && (p.TLSConfig == nil || len(p.TLSConfig.Certificates) == 0 && p.TLSConfig.GetCertificate == nil) {
		return nil, errors.New("ws: wss listener needs Plug.TLSConfig with certificates")
	}
	path := u.Path
	if path == "" {
		path = "/"
	}
	srv, h, err := p.attach(ctx, u, path, opts)
	if err != nil {
		return nil, err
	}
	return &listener{handler: h, plug: p, srv: srv, url: u, path: path}, nil
}

// attach adds a handler for path to the running server for u's host and
// port, starting one if there is none.
func (p *Plug) attach(ctx context.Context, u *url.URL, path string, opts handlerOptions) (*server, *handler, error) {
	port := u.Port()
	if port == "" {
		port = strconv.Itoa(defaultPort(u.Scheme))
	}
	hostport := net.JoinHostPort(u.Hostname(), port)
	key := hostport
	if port == "0" {
		key = "" // a new port each time: never shared
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.servers[key]
	if key == "" || s == nil {
		var err error
		if s, err = p.start(ctx, u.Scheme, hostport); err != nil {
			return nil, nil, err
		}
		s.key = key
		if key != "" {
			if p.servers == nil {
				p.servers = map[string]*server{}
			}
			p.servers[key] = s
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.paths[path]; taken {
		return nil, nil, fmt.Errorf("ws: %s is already served", u)
	}
	h := newHandler(p.readLimit(), s.ln.Addr(), opts)
	s.paths[path] = h
	return s, h, nil
}

// start runs an HTTP server on hostport, with TLS for wss.
func (p *Plug) start(ctx context.Context, scheme, hostport string) (*server, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", hostport)
	if err != nil {
		return nil, fmt.Errorf("ws: %w", err)
	}
	if scheme == "wss" {
		ln = tls.NewListener(ln, p.TLSConfig.Clone())
	}
	s := &server{ln: ln, ended: make(chan struct{}), paths: map[string]*handler{}}
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0), // silent, as the package is
	}
	go func() {
		defer close(s.ended)
		s.srv.Serve(ln)
	}()
	return s, nil
}

// release removes path from s and stops s once it serves no path.
func (p *Plug) release(s *server, path string) {
	p.mu.Lock()
	s.mu.Lock()
	delete(s.paths, path)
	last := len(s.paths) == 0
	s.mu.Unlock()
	if last && s.key != "" && p.servers[s.key] == s {
		delete(p.servers, s.key)
	}
	p.mu.Unlock()
	if last {
		s.srv.Close()
		<-s.ended
	}
}

func defaultPort(scheme string) int {
	if scheme == "wss" {
		return 443
	}
	return 80
}

// listener is one path of a server.
type listener struct {
	*handler
	plug *Plug
	srv  *server
	url  *url.URL
	path string
	once sync.Once
}

// Close stops serving the listener's path, and the server with its last
// path. Conns already accepted stay open.
func (l *listener) Close() error {
	l.once.Do(func() {
		l.handler.Close()
		l.plug.release(l.srv, l.path)
	})
	return nil
}

// Advertise returns the URLs peers in scope dial: the real port, an
// unspecified host expanded to the interface addresses in scope, the
// port left out when it is the scheme's default, the path kept.
func (l *listener) Advertise(scope multiserver.Scope) []address.Segment {
	return advertise(l.plug, scope, l.url, l.srv.ln.Addr().(*net.TCPAddr).Port, l.path)
}

// advertise returns the segments for u, served on port and path, in scope.
// The hosts are those of [multiserver.AdvertiseHosts].
func advertise(p *Plug, scope multiserver.Scope, u *url.URL, port int, path string) []address.Segment {
	var out []address.Segment
	for _, h := range multiserver.AdvertiseHosts(scope, u.Hostname(), p.External) {
		out = append(out, Segment(u.Scheme, h, port, path))
	}
	return out
}

// Segment returns the segment for a WebSocket URL as JavaScript
// multiserver writes it: an IPv6 host bracketed, the port left out when
// it is the scheme's default (80 for ws, 443 for wss), and a path of "/"
// left out.
func Segment(scheme, host string, port int, path string) address.Segment {
	hostport := host
	if port != defaultPort(scheme) {
		hostport = net.JoinHostPort(host, strconv.Itoa(port))
	} else if strings.Contains(host, ":") {
		hostport = "[" + host + "]"
	}
	if path == "/" {
		path = ""
	}
	rest := "//" + hostport + (&url.URL{Path: path}).EscapedPath()
	return address.Segment{Name: scheme, Fields: strings.Split(rest, ":")}
}
