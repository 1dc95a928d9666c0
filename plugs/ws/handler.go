//go:build !js

package ws

import (
	"fmt"
	"net"
	"net/http"
	"sync"

	"github.com/coder/websocket"
)

// A handler upgrades each request to a WebSocket and is the net.Listener
// whose Accept returns those conns. Requests that are not WebSocket
// upgrades get 426 Upgrade Required.
type handler struct {
	limit int64
	conns chan net.Conn
	done  chan struct{}
	addr  net.Addr

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup // ServeHTTP calls under way
}

func newHandler(limit int64, addr net.Addr) *handler {
	return &handler{limit: limit, conns: make(chan net.Conn), done: make(chan struct{}), addr: addr}
}

// ServeHTTP upgrades the request and hands the conn to Accept. It waits
// for Accept (or Close) before it returns.
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

	// Any origin: the transform authenticates peers (see the package doc).
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept has written an error response
	}
	nc := newConn(c, h.limit, nil, nil)
	select {
	case h.conns <- nc:
	case <-h.done:
		c.CloseNow() // no close handshake: the pumps end at once
		nc.Close()
	}
}

// Accept returns the next upgraded conn. After Close it returns an error
// that matches net.ErrClosed.
func (h *handler) Accept() (net.Conn, error) {
	select {
	case c := <-h.conns:
		return c, nil
	case <-h.done:
		return nil, fmt.Errorf("ws: accept: %w", net.ErrClosed)
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
