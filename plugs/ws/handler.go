//go:build !js

package ws

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/f7d52a8e/multiserver/internal/wsconn"
)

// A handler upgrades requests to WebSockets and is the net.Listener
// whose Accept returns those conns. It upgrades a request only when an
// Accept is waiting for it and the multiserver Listener admits its
// source, so a flood of upgrades costs a 503 each, not a conn and its
// goroutines. Requests that are not WebSocket upgrades get 426 Upgrade
// Required.
type handler struct {
	limit   int64
	addr    net.Addr
	opts    handlerOptions
	waiting chan chan net.Conn // an Accept waiting, with where to put its conn
	done    chan struct{}

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup // ServeHTTP calls under way
}

// handlerOptions say what a handler admits.
type handlerOptions struct {
	// admit reports whether the Listener takes a conn from remote now;
	// nil admits all.
	admit func(remote net.Addr) bool
	// wait bounds how long a request waits for Accept. If zero, 10s.
	wait time.Duration
	// sameOrigin refuses cross-origin upgrades and Host names other
	// than host, loopback and IP literals: for stacks that authenticate
	// nobody, which any web page the user visits could otherwise use.
	sameOrigin bool
	host       string // the hostname of the URL served
}

func newHandler(limit int64, addr net.Addr, opts handlerOptions) *handler {
	if opts.wait <= 0 {
		opts.wait = 10 * time.Second
	}
	return &handler{
		limit:   limit,
		addr:    addr,
		opts:    opts,
		waiting: make(chan chan net.Conn),
		done:    make(chan struct{}),
	}
}

// ServeHTTP upgrades the request and hands the conn to a waiting Accept.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		http.Error(w, "ws: listener closed", http.StatusServiceUnavailable)
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()

	// Any origin for stacks that authenticate: the transform decides
	// who the peer is (see the package doc), and browser clients of
	// other sites need them.
	opts := &websocket.AcceptOptions{InsecureSkipVerify: !h.opts.sameOrigin}
	if !isUpgrade(r) {
		websocket.Accept(w, r, opts) // answers 426
		return
	}
	if h.opts.sameOrigin && !h.hostAllowed(r.Host) {
		http.Error(w, fmt.Sprintf("ws: Host %q is neither this server's name, localhost nor an IP address", r.Host), http.StatusForbidden)
		return
	}
	if h.opts.admit != nil && !h.opts.admit(remoteAddr(r)) {
		busy(w) // no need to wait in line
		return
	}
	t := time.NewTimer(h.opts.wait)
	defer t.Stop()
	var put chan net.Conn
	select {
	case put = <-h.waiting:
	case <-t.C:
		busy(w)
		return
	case <-r.Context().Done():
		return
	case <-h.done:
		http.Error(w, "ws: listener closed", http.StatusServiceUnavailable)
		return
	}
	// Asked again now that an Accept waits: the conns before this one
	// have been taken, so the answer is exact.
	if h.opts.admit != nil && !h.opts.admit(remoteAddr(r)) {
		put <- nil
		busy(w)
		return
	}
	hj := &wsconn.Hijacker{ResponseWriter: w}
	c, err := websocket.Accept(hj, r, opts)
	if err != nil {
		put <- nil // Accept has written an error response
		return
	}
	sock := hj.Socket()
	put <- wsconn.New(c, sock, h.limit, sock.LocalAddr(), sock.RemoteAddr())
}

// busy answers that the listener cannot take the request now.
func busy(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	w.Header().Set("Connection", "close")
	http.Error(w, "ws: too many connections in progress", http.StatusServiceUnavailable)
}

// isUpgrade reports whether r asks for a WebSocket.
func isUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// hostAllowed reports whether a request's Host names this server: its
// URL's host, localhost, or an IP address. Any other name may be a DNS
// rebinding of a hostile site to this address.
func (h *handler) hostAllowed(hostport string) bool {
	host := hostport
	if hh, _, err := net.SplitHostPort(hostport); err == nil {
		host = hh
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return strings.EqualFold(host, "localhost") || strings.EqualFold(host, h.opts.host)
}

// remoteAddr returns the peer of r as a net.Addr.
func remoteAddr(r *http.Request) net.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return nil
	}
	return net.TCPAddrFromAddrPort(ap)
}

// Accept returns the next upgraded conn. After Close it returns an error
// that matches net.ErrClosed.
func (h *handler) Accept() (net.Conn, error) {
	put := make(chan net.Conn, 1)
	for {
		select {
		case h.waiting <- put:
		case <-h.done:
			return nil, fmt.Errorf("ws: accept: %w", net.ErrClosed)
		}
		// The request that took put answers at once: it upgrades, which
		// only writes a response, and Close waits for it.
		if c := <-put; c != nil {
			return c, nil
		}
	}
}

// Close refuses further upgrades and waits for the ServeHTTP calls under
// way to end. Conns already accepted stay open.
func (h *handler) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	close(h.done)
	h.mu.Unlock()
	h.wg.Wait()
	return nil
}

// Addr returns the listener's address.
func (h *handler) Addr() net.Addr { return h.addr }
