package multiserver

import (
	"net"
	"sync"
)

// An inbound session is one the Listener accepted from a peer. Its
// fields other than sess and s are under Listener.mu.
type inbound struct {
	sess     Session
	s        *served
	open     int        // streams Accept returned and not yet closed
	draining bool       // no more streams are accepted; ends when open is 0
	ending   bool       // Close of sess has begun
	track    *pathTrack // ended with the session; nil when not counted
}

// drain stops accepting streams from in, and ends it if none is open.
func (l *Listener) drain(in *inbound) {
	l.mu.Lock()
	if in.draining {
		l.mu.Unlock()
		return
	}
	in.draining = true
	end := in.open == 0 && !in.ending
	in.ending = in.ending || end
	l.mu.Unlock()
	if end {
		in.sess.Close()
		return
	}
	if g, ok := in.sess.(goAwayer); ok {
		g.GoAway()
	}
}

// endSessions ends every session whose end has not begun.
func (l *Listener) endSessions() {
	l.mu.Lock()
	var ins []*inbound
	for in := range l.sessions {
		if !in.ending {
			in.ending = true
			ins = append(ins, in)
		}
	}
	l.mu.Unlock()
	var closing sync.WaitGroup
	for _, in := range ins {
		closing.Go(func() { in.sess.Close() })
	}
	closing.Wait()
}

// serveSession starts s's muxer over c, an upgraded inbound conn, and
// serves the session.
func (l *Listener) serveSession(s *served, c net.Conn) {
	// The conn under the session counts the bytes of all its streams; the
	// session is open while it is.
	base := newCountedConn(c, s.addr, s.stats, nil)
	sess, err := s.muxer.Server(l.ctx, base) // its streams' Info finds the stack through it
	if err != nil {
		base.Close()
		s.stats.fail(ReasonMuxer)
		l.log.Debug("session failed", "addr", s.addr.Redacted(), "remote", c.RemoteAddr(), "err", err)
		return
	}
	l.addSession(s, sess, s.stats.accept(Info(c).Path.Relayed, c))
}

// addSession serves sess, a session of stack s (a muxer's, or a
// SessionPlug's connection): in a goroutine of its own, it hands every
// stream the peer opens to Accept. Its end ends t.
func (l *Listener) addSession(s *served, sess Session, t *pathTrack) {
	in := &inbound{sess: sess, s: s, track: t}
	l.mu.Lock()
	if l.closed || s.gone() {
		l.mu.Unlock()
		sess.Close()
		t.end()
		return
	}
	l.sessions[in] = true
	l.sessWG.Add(1)
	l.mu.Unlock()
	l.use.connected(s, keyOf(sess))
	go l.acceptStreams(in)
}

// acceptStreams hands the streams of in to Accept, until the session
// ends; once it drains, it refuses them.
func (l *Listener) acceptStreams(in *inbound) {
	defer l.sessWG.Done()
	defer func() {
		l.mu.Lock()
		delete(l.sessions, in)
		in.ending = true
		l.mu.Unlock()
		in.sess.Close()
		in.track.end()
	}()
	for {
		st, err := in.sess.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		if in.draining {
			l.mu.Unlock()
			st.Close()
			continue
		}
		in.open++
		l.mu.Unlock()
		in.s.stats.streamOpened()
		var c net.Conn = &stream{Conn: st, l: l, in: in}
		if in.s.addr != nil { // nil under a StreamListener, which has no stack
			// A native session's streams count their bytes; a muxer's
			// are counted in the conn under the session.
			var st *stackStats
			if in.s.muxer == nil {
				st = in.s.stats
			}
			c = newCountedConn(c, in.s.addr, st, nil)
		}
		l.deliver(c)
	}
}

// release notes that a stream of in that Accept returned has closed, and
// ends in if it drains and that was its last.
func (l *Listener) release(in *inbound) {
	l.mu.Lock()
	in.open--
	end := in.draining && in.open == 0 && !in.ending
	in.ending = in.ending || end
	l.mu.Unlock()
	in.s.stats.streamClosed()
	if end {
		// Not in the caller's goroutine: the session's Close waits for
		// the peer to hang up. acceptStreams holds sessWG until then.
		l.sessWG.Go(func() { in.sess.Close() })
	}
}

// A stream is a stream of an inbound session as Accept returns it: it
// tells the Listener when it closes.
type stream struct {
	net.Conn
	l    *Listener
	in   *inbound
	once sync.Once
}

func (s *stream) Close() error {
	err := s.Conn.Close()
	s.once.Do(func() { s.l.release(s.in) })
	return err
}

// NetConn returns the session's stream, so that RemoteKey and SessionOf
// see through.
func (s *stream) NetConn() net.Conn { return s.Conn }

// CloseWrite half-closes the stream (see [closeWrite]).
func (s *stream) CloseWrite() error { return closeWrite(s.Conn, s) }
