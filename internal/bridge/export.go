//go:build !js

package bridge

import (
	"context"
	"net"
	"net/http"
	"time"
)

// ServerConfig configures a [Server]; zero fields take the defaults of
// [Plug]'s.
type ServerConfig struct {
	Window, MaxBody, MaxSessions, MaxPerSource, SSEBytes int
	SessionTimeout, PollHold, SSETime                    time.Duration
	// Wait bounds how long an open waits for Accept. If zero, 10s.
	Wait time.Duration
	// Carrier names the sessions' carrier in their Path. If empty, "sse".
	Carrier string
	// Source returns the key a request's sessions count against
	// MaxPerSource (a client's address). If nil, the TCP peer's IP.
	Source func(*http.Request) string
}

// Server serves the bridge requests of one URL for a program that takes
// the sessions itself, as byte streams (a relay), rather than through a
// Plug and a Network: it is an http.Handler, and its Accept returns the
// sessions opened. Its sessions authenticate nothing beyond the bridge's
// own signatures; what runs over them must.
type Server struct{ h *handler }

// NewServer returns a Server whose sessions report addr as their local
// address.
func NewServer(cfg ServerConfig, addr net.Addr) *Server {
	p := &Plug{
		Scheme: cfg.Carrier, Window: cfg.Window, MaxBody: cfg.MaxBody, MaxSessions: cfg.MaxSessions,
		MaxSessionsPerSource: cfg.MaxPerSource, SessionTimeout: cfg.SessionTimeout, PollHold: cfg.PollHold,
		SSEBytes: cfg.SSEBytes, SSETime: cfg.SSETime,
	}
	sc := p.serverConfig(nil, cfg.Wait)
	sc.source = cfg.Source
	return &Server{h: newHandler(sc, addr)}
}

// ServeHTTP serves one bridge request (spec/bridge.md §2).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

// Accept returns the next session opened. After Close it returns an
// error that matches net.ErrClosed.
func (s *Server) Accept() (net.Conn, error) { return s.h.Accept() }

// Close refuses new sessions (503); those opened go on until they end.
func (s *Server) Close() error { return s.h.Close() }

// Shutdown closes s and waits for its sessions to end, until ctx ends;
// then it ends those left and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error { return s.h.shutdown(ctx) }

// SessionInfo returns, for a session a Server accepted, the Host header
// and the source key of the request that opened it.
func SessionInfo(c net.Conn) (host, source string, ok bool) {
	s, ok := c.(*session)
	if !ok {
		return "", "", false
	}
	return s.host, s.source, true
}
