//go:build !js

package relayserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/msgconn"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/wire"
)

// control is a listener's control conn and the topics it holds.
type control struct {
	*conn
	labels map[relay.Topic]string // s.mu
	mu     sync.Mutex             // ping timer
	ping   *time.Timer
	ended  bool
}

// serveControl registers c's labels and serves its control conn until it
// ends.
func (s *Server) serveControl(c *conn, labels []string) {
	ctl := &control{conn: c, labels: map[relay.Topic]string{}}
	if code, why := s.register(ctl, labels, true); code != 0 {
		s.deny(c, code, why)
		return
	}
	defer s.unregister(ctl)
	if s.send(c, &wire.Frame{Type: wire.FrameOK}) != nil {
		c.mc.CloseNow()
		return
	}
	ctl.ping = time.AfterFunc(s.cfg.PingInterval, func() { s.pingControl(ctl) })
	defer func() {
		ctl.mu.Lock()
		ctl.ended = true
		ctl.ping.Stop()
		ctl.mu.Unlock()
	}()
	for {
		// Silence for three intervals ends the conn: coder/websocket
		// closes it when the read's context ends.
		ctx, cancel := context.WithTimeout(context.Background(), 3*s.cfg.PingInterval)
		msg, err := c.mc.Read(ctx)
		cancel()
		if errors.Is(err, msgconn.ErrText) {
			s.deny(c, relay.CodeBadFrame, "text message")
			return
		}
		if err != nil {
			c.mc.CloseNow()
			return
		}
		f, err := wire.Decode(msg)
		if err != nil {
			s.deny(c, relay.CodeBadFrame, err.Error())
			return
		}
		switch f.Type {
		case wire.FramePing:
			s.send(c, &wire.Frame{Type: wire.FramePong, Ping: f.Ping})
		case wire.FramePong:
		case wire.FrameListen:
			if code, why := s.register(ctl, f.Labels, false); code != 0 {
				s.deny(c, code, why)
				return
			}
			s.send(c, &wire.Frame{Type: wire.FrameOK})
		default:
			s.deny(c, relay.CodeBadFrame, "only LISTEN, PING and PONG on a control connection")
			return
		}
	}
}

// pingControl pings ctl and arms the next ping.
func (s *Server) pingControl(ctl *control) {
	f := &wire.Frame{Type: wire.FramePing}
	rand.Read(f.Ping[:])
	s.send(ctl.conn, f) // a failure ends the conn, and its reader sees it
	ctl.mu.Lock()
	if !ctl.ended {
		ctl.ping.Reset(s.cfg.PingInterval)
	}
	ctl.mu.Unlock()
}

// register gives ctl the topics of labels, taking those of any other
// control conn of the same key, which it then closes with REPLACED.
func (s *Server) register(ctl *control, labels []string, first bool) (relay.DenyCode, string) {
	s.mu.Lock()
	n := s.perIP[ctl.ip]
	switch {
	case s.closing:
		s.mu.Unlock()
		return relay.CodeShuttingDown, "the relay is shutting down"
	case first && n.regs >= s.cfg.MaxRegistrationsPerIP:
		s.mu.Unlock()
		return relay.CodeLimit, "too many registrations from " + ctl.ip.String()
	}
	if first {
		n.regs++
		delete(s.early, ctl.mc)
	}
	old := s.keys[string(ctl.key)]
	if old == ctl {
		old = nil
	}
	if old != nil {
		for t := range old.labels {
			delete(s.topics, t)
		}
		old.labels = map[relay.Topic]string{}
		for _, p := range s.pending {
			if p.ctl == old {
				p.ctl = ctl
			}
		}
	}
	s.keys[string(ctl.key)] = ctl
	for t := range ctl.labels {
		delete(s.topics, t)
	}
	ctl.labels = map[relay.Topic]string{}
	for _, l := range labels {
		t := relay.TopicOf(ctl.key, l)
		ctl.labels[t] = l
		s.topics[t] = ctl
	}
	s.mu.Unlock()
	if old != nil {
		s.stats.replaced.Add(1)
		go s.deny(old.conn, relay.CodeReplaced, "a newer registration of this key replaced this one")
	}
	return 0, ""
}

// unregister drops ctl's topics; the CONNECTs waiting for it fail with
// NO_PEER.
func (s *Server) unregister(ctl *control) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.perIP[ctl.ip].regs--
	if s.keys[string(ctl.key)] == ctl {
		delete(s.keys, string(ctl.key))
	}
	for t := range ctl.labels {
		if s.topics[t] == ctl {
			delete(s.topics, t)
		}
	}
	for _, p := range s.pending {
		if p.ctl == ctl {
			s.failLocked(p, relay.CodeNoPeer, "the listener went away")
		}
	}
}

// pending is a CONNECT waiting for its ACCEPT.
type pending struct {
	token    [wire.TokenSize]byte
	topic    relay.Topic
	stream   relay.StreamID
	dialer   *conn
	ctl      *control
	listener []byte // the key that registered the topic
	result   chan pairResult
}

// pairResult ends a pending CONNECT: code 0 when an ACCEPT paired it.
type pairResult struct {
	code relay.DenyCode
	text string
}

// failLocked ends p with code. s.mu is held.
func (s *Server) failLocked(p *pending, code relay.DenyCode, text string) {
	delete(s.pending, p.token)
	if s.waiting[p.topic]--; s.waiting[p.topic] == 0 {
		delete(s.waiting, p.topic)
	}
	p.result <- pairResult{code, text}
}

// connect serves a CONNECT: it announces it to the topic's listener and
// waits for the ACCEPT. It reports whether c is done with.
func (s *Server) connect(c *conn, f *wire.Frame) bool {
	s.mu.Lock()
	ctl := s.topics[f.Topic]
	switch {
	case s.closing:
		s.mu.Unlock()
		s.deny(c, relay.CodeShuttingDown, "the relay is shutting down")
		return true
	case ctl == nil:
		s.mu.Unlock()
		s.deny(c, relay.CodeNoPeer, "nobody is registered for the topic")
		return true
	case s.waiting[f.Topic] >= s.cfg.MaxPendingPerTopic:
		s.mu.Unlock()
		s.deny(c, relay.CodeLimit, "too many connects waiting for the listener")
		return true
	}
	p := &pending{topic: f.Topic, stream: f.Stream, dialer: c, ctl: ctl, listener: ctl.key, result: make(chan pairResult, 1)}
	rand.Read(p.token[:])
	s.pending[p.token] = p
	s.waiting[f.Topic]++
	delete(s.early, c.mc)
	s.mu.Unlock()

	s.send(ctl.conn, &wire.Frame{Type: wire.FrameIncoming, Token: p.token, Topic: f.Topic, Key: c.key, Stream: f.Stream})
	t := time.NewTimer(s.cfg.PairingTimeout)
	defer t.Stop()
	var res pairResult
	select {
	case res = <-p.result:
	case <-t.C:
		s.mu.Lock()
		if s.pending[p.token] == p {
			s.failLocked(p, relay.CodeTimeout, "the listener did not accept within "+s.cfg.PairingTimeout.String())
		}
		s.mu.Unlock()
		res = <-p.result
	}
	switch res.code {
	case 0:
		return false // the pairing has c now
	case relay.CodeShuttingDown:
		s.restarting(c)
	default:
		s.deny(c, res.code, res.text)
	}
	return true
}

// accept serves an ACCEPT: it pairs c with the CONNECT of its token.
func (s *Server) accept(c *conn, f *wire.Frame) bool {
	s.mu.Lock()
	p := s.pending[f.Token]
	if s.closing || p == nil || !bytes.Equal(p.listener, c.key) {
		closing := s.closing
		s.mu.Unlock()
		if closing {
			s.restarting(c)
		} else {
			s.deny(c, relay.CodeBadToken, "no connect waits for this token and key")
		}
		return true
	}
	delete(s.pending, p.token)
	if s.waiting[p.topic]--; s.waiting[p.topic] == 0 {
		delete(s.waiting, p.topic)
	}
	delete(s.early, c.mc)
	pr := newPairing(s, p.dialer, c, p.stream)
	s.pairings[pr] = true
	s.mu.Unlock()

	p.result <- pairResult{}
	pr.start(p.stream)
	return false
}

// restarting sends RESTARTING on c and closes it.
func (s *Server) restarting(c *conn) {
	s.send(c, &wire.Frame{Type: wire.FrameRestarting, RestartIn: s.cfg.ReconnectIn, TryFor: s.cfg.TryFor})
	c.mc.Close(websocket.StatusGoingAway, "relay restarting")
}
