//go:build !js

package ws

import (
	"fmt"
	"net"
	"net/http"
	"sync"

	"github.com/coder/websocket"
)

// A Handler is an http.Handler that upgrades each request to a WebSocket
// and a net.Listener whose Accept returns those conns. Mount it on an
// existing server to serve multiserver beside other pages:
//
//	h := plug.NewHandler()
//	mux.Handle("/ms", h)
//	go serve(h) // each conn from h.Accept, e.g. through shs.Server
//
// Requests that are not WebSocket upgrades get 426 Upgrade Required.
type Handler struct {
	limit int64
	conns chan net.Conn
	done  chan struct{}
	addr  net.Addr

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup // ServeHTTP calls under way
}

var _ net.Listener = (*Handler)(nil)

// NewHandler returns a Handler whose conns use the plug's ReadLimit.
func (p *Plug) NewHandler() *Handler { return newHandler(p.readLimit(), urlAddr(p.Name()+":")) }

func newHandler(limit int64, addr net.Addr) *Handler {
	return &Handler{limit: limit, conns: make(chan net.Conn), done: make(chan struct{}), addr: addr}
}

// ServeHTTP upgrades the request and hands the conn to Accept. It waits
// for Accept (or Close) before it returns.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		http.Error(w, "ws: listener closed", http.StatusServiceUnavailable)
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()

	// Any origin: the transform authenticates peers (see the package doc).
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept has written an error response
	}
	nc := newConn(c, h.limit, nil)
	select {
	case h.conns <- nc:
	case <-h.done:
		c.CloseNow() // no close handshake: the pumps end at once
		nc.Close()
	}
}

// Accept returns the next upgraded conn. After Close it returns an error
// that matches net.ErrClosed.
func (h *Handler) Accept() (net.Conn, error) {
	select {
	case c := <-h.conns:
		return c, nil
	case <-h.done:
		return nil, fmt.Errorf("ws: accept: %w", net.ErrClosed)
	}
}

// Close refuses further upgrades and waits for the ServeHTTP calls under
// way to end. Conns already accepted stay open.
func (h *Handler) Close() error {
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

// Addr returns the listener's address: for a Handler from NewHandler,
// only its scheme, since the server it is mounted on is not known.
func (h *Handler) Addr() net.Addr { return h.addr }
