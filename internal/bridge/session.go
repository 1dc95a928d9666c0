//go:build !js

package bridge

import (
	"crypto/ed25519"
	"errors"
	"net"
	"sync"
	"time"
)

var errGone = errors.New("bridge: the client has been gone longer than the session timeout")

// session is the server's end of a session, and the conn Accept returns.
type session struct {
	stream
	h       *handler
	id      sessionID
	key     ed25519.PublicKey
	source  string // the client's IP, for the per-source count
	host    string // the open request's Host header
	remote  net.Addr
	carrier string

	// under stream.mu:
	downGen   uint64      // the newest downstream request; older ones end
	active    int         // requests under way
	expire    *time.Timer // armed while no request is under way
	forgotten bool
	once      sync.Once
}

func (s *session) LocalAddr() net.Addr  { return s.h.addr }
func (s *session) RemoteAddr() net.Addr { return s.remote }

// Carrier returns the carrier's name the server was configured with.
func (s *session) Carrier() string { return s.carrier }

// BridgeKey returns the key that signed the session's requests. The
// transform above proves the peer's key again.
func (s *session) BridgeKey() ed25519.PublicKey { return s.key }

// begin and end bracket each request of the session: a session with no
// request under way for the session timeout is forgotten.
func (s *session) begin() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active++
	if s.expire != nil {
		s.expire.Stop()
	}
}

func (s *session) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active--
	if s.active == 0 && !s.forgotten {
		if s.expire == nil {
			s.expire = time.AfterFunc(s.h.cfg.timeout, s.timedOut)
		} else {
			s.expire.Reset(s.h.cfg.timeout)
		}
	}
}

func (s *session) timedOut() {
	s.mu.Lock()
	idle := s.active == 0
	s.mu.Unlock()
	if idle {
		s.h.forget(s, errGone)
	}
}

// ack frees the downstream bytes below a; false if a is past them.
func (s *session) ack(a uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a > s.out.end() {
		return false
	}
	if a > s.out.start {
		s.out.discard(a)
		s.notify()
	}
	return true
}

// Close ends the server's side: the client reads end of stream after
// the bytes written so far, which the session still delivers until the
// client closes or times out.
func (s *session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed, s.outFin = true, true
		s.in = buffer{start: s.in.end()} // unread bytes are dropped
		s.notify()
		s.stopDeadlines()
	}
	return nil
}
