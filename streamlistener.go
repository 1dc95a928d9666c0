package multiserver

import (
	"context"
	"net"

	"github.com/f7d52a8e/multiserver/address"
)

// StreamListener serves the sessions of sl without a [Network]: its
// Accept returns every stream that peers open on them, counted, drained
// and ended as a [Listener] does it (see Sessions there), by the same
// code. Its Close stops accepting and leaves the streams returned open;
// each session ends once the streams it gave are closed. It also has
// Shutdown(ctx), as [Listener.Shutdown], and Advertise, which asks sl if
// sl is an [Advertiser]. A SessionPlug's Listen can return it.
func StreamListener(sl SessionListener) net.Listener {
	ctx, cancel := context.WithCancel(context.Background())
	l := &Listener{
		conns:    make(chan net.Conn),
		ctx:      ctx,
		cancel:   cancel,
		sessions: make(map[*inbound]bool),
		log:      newLimitedLog(nil),
		backlog:  defaultAcceptBacklog,
	}
	s := &served{ln: sl, done: make(chan struct{})}
	l.mu.Lock()
	l.serving = []*served{s}
	l.start(s)
	l.mu.Unlock()
	return &streamListener{l: l, sl: sl}
}

// A streamListener is a Listener with one stack and no Network.
type streamListener struct {
	l  *Listener
	sl SessionListener
}

var _ Advertiser = (*streamListener)(nil)

// Accept returns the next stream that a peer opens. After Close, its
// error matches net.ErrClosed.
func (s *streamListener) Accept() (net.Conn, error) {
	select {
	case c := <-s.l.conns:
		return c, nil
	case <-s.l.ctx.Done():
		a := s.sl.Addr()
		return nil, &net.OpError{Op: "accept", Net: a.Network(), Addr: a, Err: net.ErrClosed}
	}
}

// Close stops accepting, as [Listener.Close] does.
func (s *streamListener) Close() error { return s.l.Close() }

// Shutdown closes, then waits for the sessions, as [Listener.Shutdown]
// does.
func (s *streamListener) Shutdown(ctx context.Context) error { return s.l.Shutdown(ctx) }

// Addr returns the address of the session listener.
func (s *streamListener) Addr() net.Addr { return s.sl.Addr() }

// Advertise returns what the session listener advertises in scope, or
// nil if it advertises nothing.
func (s *streamListener) Advertise(scope Scope) []address.Segment {
	if ad, ok := s.sl.(Advertiser); ok {
		return ad.Advertise(scope)
	}
	return nil
}
