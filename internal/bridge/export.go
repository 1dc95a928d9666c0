//go:build !js

package bridge

import (
	"context"
	"net"
	"net/http"
	"time"
)

// ServerConfig configures a [Server]; zero fields take the defaults.
type ServerConfig struct {
	Window, MaxBody, MaxSessions, MaxPerSource, SSEBytes int
	SessionTimeout, PollHold, SSETime                    time.Duration
	// Wait bounds how long an open waits for Accept. If zero, 10s.
	Wait time.Duration
	// Carrier is what the sessions' Carrier method returns. If empty,
	// "sse".
	Carrier string
	// Source returns the key a request's sessions count against
	// MaxPerSource (a client's address). If nil, the TCP peer's IP.
	Source func(*http.Request) string
	// Admit, if set, decides whether an open from a client's address is
	// taken; a refused one is answered 503.
	Admit func(net.Addr) bool
	// OnEnded, if set, is called once, when the Server has been closed
	// and its last session has ended.
	OnEnded func()
}

func (cfg ServerConfig) withDefaults() serverConfig {
	carrier := cfg.Carrier
	if carrier == "" {
		carrier = "sse"
	}
	return serverConfig{
		window:      orDefault(cfg.Window, DefaultWindow),
		maxBody:     orDefault(cfg.MaxBody, DefaultMaxBody),
		maxSessions: orDefault(cfg.MaxSessions, DefaultMaxSessions),
		perSource:   orDefault(cfg.MaxPerSource, DefaultMaxPerSource),
		sseBytes:    orDefault(cfg.SSEBytes, DefaultSSEBytes),
		timeout:     orDefault(cfg.SessionTimeout, DefaultSessionTimeout),
		pollHold:    orDefault(cfg.PollHold, DefaultPollHold),
		sseTime:     orDefault(cfg.SSETime, DefaultSSETime),
		heartbeat:   DefaultHeartbeat,
		aheadHold:   aheadHold,
		wait:        orDefault(cfg.Wait, 10*time.Second),
		carrier:     carrier,
		admit:       cfg.Admit,
		source:      cfg.Source,
	}
}

// Server serves the bridge requests of one URL: it is an http.Handler,
// and its Accept returns the sessions opened, as byte streams. Its
// sessions authenticate nothing beyond the bridge's own signatures;
// what runs over them must.
type Server struct{ h *handler }

// NewServer returns a Server whose sessions report addr as their local
// address.
func NewServer(cfg ServerConfig, addr net.Addr) *Server {
	h := newHandler(cfg.withDefaults(), addr)
	h.onEnded = cfg.OnEnded
	return &Server{h: h}
}

// ServeHTTP serves one bridge request (spec/bridge.md §2).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

// Accept returns the next session opened; its Carrier method returns
// ServerConfig.Carrier. After Close it returns an error that matches
// net.ErrClosed.
func (s *Server) Accept() (net.Conn, error) { return s.h.Accept() }

// Addr returns the address NewServer was given.
func (s *Server) Addr() net.Addr { return s.h.addr }

// Close refuses new sessions (503); those opened go on until they end.
func (s *Server) Close() error { return s.h.Close() }

// Shutdown closes s and waits for its sessions to end, until ctx ends;
// then it ends those left and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error { return s.h.shutdown(ctx) }

// Ended returns a channel closed once s has been closed and its last
// session has ended.
func (s *Server) Ended() <-chan struct{} { return s.h.ended }

// Has reports whether the session r names is one of s's.
func (s *Server) Has(r *http.Request) bool { return s.h.has(r) }

// SessionInfo returns, for a session a Server accepted, the Host header
// and the source key of the request that opened it.
func SessionInfo(c net.Conn) (host, source string, ok bool) {
	s, ok := c.(*session)
	if !ok {
		return "", "", false
	}
	return s.host, s.source, true
}

// Unserved answers a bridge request that no Server serves: a CORS
// preflight as a Server would, anything else 503 with msg.
func Unserved(w http.ResponseWriter, r *http.Request, msg string) {
	allowOrigins(w)
	if r.Method == http.MethodOptions {
		preflight(w, r)
		return
	}
	busy(w, msg)
}
