//go:build !js

package relayserver

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/f7d52a8e/multiserver/plugs/relay"
)

// Shutdown stops taking WebSockets (503), sends RESTARTING on every
// control conn and every WebSocket not yet paired and closes them, fails
// the pending CONNECTs, and waits for the pairings to end by themselves.
// When ctx ends first, it closes the pairings that remain (status 1001)
// and returns ctx's error. Either way, when it returns no goroutine of
// the server is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	var early []*conn
	for ws := range s.early {
		early = append(early, &conn{ws: ws})
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
		s.closePairings(func(c *conn) { go c.ws.Close(websocket.StatusGoingAway, "relay shutting down") })
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

// closePairings calls end on both sides of every pairing.
func (s *Server) closePairings(end func(*conn)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range s.pairings {
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

// Stats are a relay's counters.
type Stats struct {
	Accepted      int64 // WebSockets upgraded
	Refused       int64 // upgrades refused by a limit or shutdown (503)
	AuthFailed    int64 // AUTHs with a bad origin or signature
	Denied        int64 // DENIED frames sent, every code
	NoPeer        int64 // CONNECTs nobody was registered for
	Replaced      int64 // registrations replaced by a newer one
	Paired        int64 // pairings made
	Bytes         int64 // payload bytes forwarded, both directions
	Unauth        int   // WebSockets not yet authenticated, now
	Registrations int   // control conns registered, now
	Pairings      int   // pairings open, now
	Pending       int   // CONNECTs waiting, now
}

type stats struct {
	accepted, refused, authFailed, denies, noPeer, replaced, paired, bytes atomic.Int64
}

func (st *stats) denied(code relay.DenyCode) {
	st.denies.Add(1)
	if code == relay.CodeNoPeer {
		st.noPeer.Add(1)
	}
}

// Stats returns the relay's counters now.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	st := Stats{Unauth: s.unauth, Registrations: len(s.keys), Pairings: len(s.pairings), Pending: len(s.pending)}
	s.mu.Unlock()
	st.Accepted = s.stats.accepted.Load()
	st.Refused = s.stats.refused.Load()
	st.AuthFailed = s.stats.authFailed.Load()
	st.Denied = s.stats.denies.Load()
	st.NoPeer = s.stats.noPeer.Load()
	st.Replaced = s.stats.replaced.Load()
	st.Paired = s.stats.paired.Load()
	st.Bytes = s.stats.bytes.Load()
	return st
}

// Metrics writes the counters in the Prometheus text exposition format
// (version 0.0.4), for a /metrics endpoint.
func (s *Server) Metrics(w http.ResponseWriter, r *http.Request) {
	st := s.Stats()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	for _, m := range []struct {
		name, typ, help string
		v               int64
	}{
		{"multiserver_relay_websockets_total", "counter", "WebSockets upgraded.", st.Accepted},
		{"multiserver_relay_refused_total", "counter", "Upgrades refused by a limit or shutdown.", st.Refused},
		{"multiserver_relay_auth_failures_total", "counter", "AUTH frames with a bad origin or signature.", st.AuthFailed},
		{"multiserver_relay_denied_total", "counter", "DENIED frames sent.", st.Denied},
		{"multiserver_relay_no_peer_total", "counter", "CONNECTs for a topic nobody registered.", st.NoPeer},
		{"multiserver_relay_replaced_total", "counter", "Registrations replaced by a newer one of the same key.", st.Replaced},
		{"multiserver_relay_pairings_total", "counter", "Pairings made.", st.Paired},
		{"multiserver_relay_forwarded_bytes_total", "counter", "Payload bytes forwarded between paired WebSockets.", st.Bytes},
		{"multiserver_relay_unauthenticated", "gauge", "WebSockets not yet authenticated.", int64(st.Unauth)},
		{"multiserver_relay_registrations", "gauge", "Control connections registered.", int64(st.Registrations)},
		{"multiserver_relay_pairings", "gauge", "Pairings open.", int64(st.Pairings)},
		{"multiserver_relay_pending", "gauge", "CONNECTs waiting for an ACCEPT.", int64(st.Pending)},
	} {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %d\n", m.name, m.help, m.name, m.typ, m.name, m.v)
	}
}
