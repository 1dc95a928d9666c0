//go:build !js

package bridge

import (
	"crypto/ed25519"
	"errors"
	"net"
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
	sseFrom   uint64      // the cursor of the newest SSE answer
	sseEnd    uint64      // the end of the data events that answer has written
	sseEvent  int         // the largest payload of that answer's events; 0: not yet chosen
	active    int         // requests under way
	expire    *time.Timer // armed while no request is under way
	forgotten bool
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

// eventSize returns the largest payload of the events of an SSE answer
// from cursor, the newest downstream request of the session, from how
// the answer before it fared: the cursor the client comes back with
// tells how far its events got. Back at the same cursor after a data
// event: the path cut that answer inside its first event, so the events
// shrink by half (down to minEventData), or a path that cuts every
// answer after as many bytes would let no event through ever. Back past
// the last event: nothing was cut, and they grow by twice (up to
// maxEventData). Back in between: cut after some events, they stay.
func (s *session) eventSize(cursor uint64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.sseEvent == 0:
		s.sseEvent = maxEventData
	case cursor == s.sseFrom && s.sseEnd > s.sseFrom:
		s.sseEvent = max(s.sseEvent/2, minEventData)
	case cursor >= s.sseEnd:
		s.sseEvent = min(s.sseEvent*2, maxEventData)
	}
	s.sseFrom, s.sseEnd = cursor, cursor
	return s.sseEvent
}

// sentEvents records that the SSE answer of generation gen has written
// data events up to end, if it is still the newest.
func (s *session) sentEvents(gen, end uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.downGen == gen {
		s.sseEnd = end
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
