//go:build !js

package bridge

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
	ibridge "github.com/f7d52a8e/multiserver/internal/bridge"
)

// ListenStack serves the bridge for o.Addr's URL: from the handler
// [Plug.Mount] returned for it, if any, or else from an HTTP server of
// the listener's own on the URL's host and port (80 or 443 if absent),
// which answers the URL's path only. An https listener of its own needs
// [Plug.TLSConfig] with certificates. Each open waits for the Listener
// to admit it (else 503). Closing the listener refuses new sessions
// (503) and leaves those it accepted open: its own server serves them
// until the last has ended, then stops.
func (p *Plug) ListenStack(ctx context.Context, o multiserver.ListenOptions) (net.Listener, error) {
	u, err := p.stackURL(o.Addr, o.Authenticated)
	if err != nil {
		return nil, err
	}
	cfg := p.serverConfig(o.Admit, o.HandshakeTimeout)
	if m := p.mounted(u); m != nil {
		return m.listen(cfg)
	}
	if u.Scheme == "https" && (p.TLSConfig == nil || len(p.TLSConfig.Certificates) == 0 && p.TLSConfig.GetCertificate == nil) {
		return nil, errors.New("bridge: an https listener needs Plug.TLSConfig with certificates")
	}
	var lc net.ListenConfig
	tl, err := lc.Listen(ctx, "tcp", ibridge.HostPort(u))
	if err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	var nl net.Listener = tl
	if u.Scheme == "https" {
		nl = tls.NewListener(tl, p.TLSConfig.Clone())
	}
	port := tl.Addr().(*net.TCPAddr).Port
	var ln *listener
	cfg.OnEnded = func() { go ln.stop() }
	h := ibridge.NewServer(cfg, URLAddr(urlWithPort(u, port)))
	mux := http.NewServeMux()
	mux.Handle(u.Path, h)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	ln = &listener{Server: h, plug: p, url: u, port: port, srv: srv, ended: make(chan struct{})}
	ln.drainCtx, ln.cut = context.WithCancel(context.Background())
	go func() {
		defer close(ln.ended)
		srv.Serve(nl)
	}()
	return ln, nil
}

func urlWithPort(u *url.URL, port int) string {
	v := *u
	v.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(port))
	return v.String()
}

// serverConfig returns the settings of p's listeners.
func (p *Plug) serverConfig(admit func(net.Addr) bool, wait time.Duration) ibridge.ServerConfig {
	return ibridge.ServerConfig{
		Carrier: p.Name(), Window: p.Window, MaxBody: p.MaxBody, MaxSessions: p.MaxSessions,
		MaxPerSource: p.MaxSessionsPerSource, SessionTimeout: p.SessionTimeout, PollHold: p.PollHold,
		SSEBytes: p.SSEBytes, SSETime: p.SSETime, Wait: wait, Admit: admit,
	}
}

// accept returns the next session s accepted, with its path.
func accept(s *ibridge.Server) (net.Conn, error) {
	c, err := s.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c, carrier: c.(interface{ Carrier() string }).Carrier()}, nil
}

// listener is a bridge served by an HTTP server of its own.
type listener struct {
	*ibridge.Server
	plug     *Plug
	url      *url.URL
	port     int
	srv      *http.Server
	ended    chan struct{} // closed when the server has stopped
	drainCtx context.Context
	cut      context.CancelFunc // ends drainCtx: stop the server at once
}

// Accept returns the next session, with its path.
func (l *listener) Accept() (net.Conn, error) { return accept(l.Server) }

// drainTime bounds how long the server, once its last session has
// ended, waits for the requests under way (the session's close among
// them) before it cuts them.
const drainTime = 5 * time.Second

// Close refuses new sessions (503) and returns. The sessions already
// accepted stay open: the server goes on serving them, and stops once
// the last has ended (by the client's close or the session timeout), at
// once if none is left; then Close waits for it.
func (l *listener) Close() error {
	l.Server.Close()
	select {
	case <-l.Server.Ended():
		<-l.ended
	default:
	}
	return nil
}

// Shutdown closes the listener, as Close does, then waits until every
// session it accepted has ended and the server has stopped, and returns
// nil; or until ctx ends, then ends the sessions left at once and
// returns ctx's error. multiserver.Listener.Shutdown calls it.
func (l *listener) Shutdown(ctx context.Context) error {
	err := l.Server.Shutdown(ctx)
	if err != nil {
		l.cut()
	}
	<-l.ended
	return err
}

// stop stops the server, letting the requests under way finish for a
// while; it runs once, when the last session has ended after Close.
func (l *listener) stop() {
	ctx, cancel := context.WithTimeout(l.drainCtx, drainTime)
	defer cancel()
	l.srv.Shutdown(ctx)
	l.srv.Close()
	<-l.ended
	l.cut()
}

// Advertise returns the URLs peers in scope use: the real port, an
// unspecified host expanded to the interface addresses of the scope.
func (l *listener) Advertise(scope multiserver.Scope) []address.Segment {
	return advertise(l.plug, scope, l.url, l.port)
}

func advertise(p *Plug, scope multiserver.Scope, u *url.URL, port int) []address.Segment {
	var out []address.Segment
	for _, h := range multiserver.AdvertiseHosts(scope, u.Hostname(), p.External) {
		out = append(out, Segment(p.Name(), u.Scheme, h, port, u.Path))
	}
	return out
}

// Mount returns an http.Handler that serves the bridge URL rawURL
// ("sse:https://example.org/ms", or the bare "https://example.org/ms")
// from a web server of your own, beside its pages; a Listen of that URL
// on p then takes its sessions from the handler instead of starting a
// server:
//
//	h, err := plug.Mount("https://example.org/ms")
//	mux.Handle("/ms", h)
//	ln, err := network.Listen(ctx, "sse:https://example.org/ms~noise")
//
// The listener advertises the URL as given. While no listener serves
// it, the handler answers an open 503; the sessions a closed listener
// accepted are still served from it until they end.
func (p *Plug) Mount(rawURL string) (http.Handler, error) {
	if !strings.HasPrefix(rawURL, p.Name()+":") {
		rawURL = p.Name() + ":" + rawURL
	}
	s, err := address.ParseSegment(rawURL)
	if err != nil {
		return nil, fmt.Errorf("bridge: mount: %w", err)
	}
	u, err := bridgeURL(s)
	if err != nil {
		return nil, fmt.Errorf("bridge: mount: %w", err)
	}
	key := mountKey(u)
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.mounts[key]; ok {
		return nil, fmt.Errorf("bridge: %s is already mounted", u)
	}
	m := &mount{plug: p, url: u}
	if p.mounts == nil {
		p.mounts = map[string]*mount{}
	}
	p.mounts[key] = m
	return m, nil
}

func mountKey(u *url.URL) string { return ibridge.HostPort(u) + u.Path + "|" + u.Scheme }

func (p *Plug) mounted(u *url.URL) *mount {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mounts[mountKey(u)]
}

// mount is a URL served by the user's web server.
type mount struct {
	plug *Plug
	url  *url.URL

	mu      sync.Mutex
	h       *ibridge.Server
	retired []*ibridge.Server // closed listeners' servers, with sessions left
}

func (m *mount) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	h := m.h
	retired := m.retired
	m.mu.Unlock()
	for _, old := range retired {
		if old.Has(r) {
			h = old
			break
		}
	}
	if h == nil {
		ibridge.Unserved(w, r, "bridge: nothing listens on "+m.url.String())
		return
	}
	h.ServeHTTP(w, r)
}

func (m *mount) listen(cfg ibridge.ServerConfig) (net.Listener, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h != nil {
		return nil, errors.New("bridge: " + m.url.String() + " is already served")
	}
	var h *ibridge.Server
	cfg.OnEnded = func() { m.forget(h) }
	h = ibridge.NewServer(cfg, URLAddr(m.url.String()))
	m.h = h
	return &mountListener{Server: h, m: m}, nil
}

// forget drops h, whose sessions have all ended, from the mount.
func (m *mount) forget(h *ibridge.Server) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == h {
		m.h = nil
	}
	for i, old := range m.retired {
		if old == h {
			m.retired = append(m.retired[:i:i], m.retired[i+1:]...)
			break
		}
	}
}

type mountListener struct {
	*ibridge.Server
	m *mount
}

func (l *mountListener) Accept() (net.Conn, error) { return accept(l.Server) }

// Close detaches the listener from its mount, which answers an open 503
// from then on. Sessions already accepted stay open: the mount serves
// them until each ends.
func (l *mountListener) Close() error {
	l.m.mu.Lock()
	if l.m.h == l.Server {
		l.m.h = nil
		l.m.retired = append(l.m.retired, l.Server)
	}
	l.m.mu.Unlock()
	return l.Server.Close()
}

// Shutdown closes the listener, as Close does, then waits until every
// session it accepted has ended and returns nil; or until ctx ends, then
// ends the sessions left at once and returns ctx's error.
func (l *mountListener) Shutdown(ctx context.Context) error {
	l.Close()
	return l.Server.Shutdown(ctx)
}

func (l *mountListener) Advertise(scope multiserver.Scope) []address.Segment {
	_, ps, _ := net.SplitHostPort(ibridge.HostPort(l.m.url))
	port, _ := strconv.Atoi(ps)
	return advertise(l.m.plug, scope, l.m.url, port)
}
