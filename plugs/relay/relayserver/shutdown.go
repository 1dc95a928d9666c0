//go:build !js

package relayserver

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/f7d52a8e/multiserver/plugs/relay"
)

// Shutdown stops taking WebSockets (503) and answering STUN (the packet
// conns of [Server.ServeSTUN] are closed), sends RESTARTING on every
// control conn and every WebSocket not yet paired and closes them, fails
// the pending CONNECTs, and waits for the pairings to end by themselves.
// When ctx ends first, it closes the pairings that remain (status 1001)
// and returns ctx's error. Either way, when it returns no goroutine of
// the server is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	var early []*conn
	for mc := range s.early {
		early = append(early, &conn{mc: mc})
	}
	var ctls []*control
	for _, c := range s.keys {
		ctls = append(ctls, c)
	}
	for _, p := range s.pending {
		s.failLocked(p, relay.CodeShuttingDown, "")
	}
	idle := make(chan struct{})
	if len(s.pairings) == 0 {
		close(idle)
	} else {
		s.idle = idle
	}
	s.mu.Unlock()
	s.closeSTUN()
	s.bridge.Close() // new sessions get 503; acceptBridge ends
	s.bridgeLoop.Wait()

	for _, c := range early {
		go s.restarting(c)
	}
	for _, c := range ctls {
		go s.restarting(c.conn)
	}
	var err error
	select {
	case <-idle:
	case <-ctx.Done():
		err = ctx.Err()
		s.closePairings(func(c *conn) { go c.mc.Close(websocket.StatusGoingAway, "relay shutting down") })
		// A peer that does not answer the close frame is not waited for.
		t := time.AfterFunc(closeGrace, func() { s.closePairings(func(c *conn) { c.raw.Close() }) })
		defer t.Stop()
	}
	s.wg.Wait()
	return err
}

// closeGrace is how long a forced Shutdown waits for the close frames
// of the pairings it ends to be answered.
const closeGrace = time.Second

// closePairings stops the rate waits of every pairing and calls end on
// both its sides.
func (s *Server) closePairings(end func(*conn)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range s.pairings {
		p.cancel()
		end(p.a)
		end(p.b)
	}
}

// Close is Shutdown with a context that has ended: pairings are closed
// at once.
func (s *Server) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Shutdown(ctx)
	return nil
}

// Healthz answers 200 "ok": the process serves HTTP.
func (s *Server) Healthz(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, "ok\n")
}

// Readyz answers 200 while the relay takes WebSockets and 503 once
// Shutdown has begun, so that a load balancer sends new clients
// elsewhere.
func (s *Server) Readyz(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ok\n")
}
