package yamux

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	yamuxgo "github.com/libp2p/go-yamux/v4"

	"github.com/f7d52a8e/multiserver"
)

// A Session carries many streams over one connection. It is a
// net.Listener for the streams the peer opens; [Session.Open] starts one.
// Its methods are safe for concurrent use.
type Session struct {
	ys   *yamuxgo.Session
	conn net.Conn // as given to Client or Server
	key  ed25519.PublicKey
	cfg  Config
	mem  *memory

	fc        *frameConn
	closing   atomic.Bool
	closeOnce sync.Once
}

var (
	_ net.Listener        = (*Session)(nil)
	_ multiserver.Session = (*Session)(nil)
)

// Client starts the dialing side of a session over c, typically a conn
// that a transform has secured. There must be one Client and one Server
// per conn. cfg may be nil. On error, c is left open.
func Client(c net.Conn, cfg *Config) (*Session, error) { return newSession(c, cfg, true) }

// Server starts the accepting side of a session over c. cfg may be nil.
// On error, c is left open.
func Server(c net.Conn, cfg *Config) (*Session, error) { return newSession(c, cfg, false) }

func newSession(c net.Conn, cfg *Config, client bool) (*Session, error) {
	conf, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var logOut io.Writer = io.Discard
	if conf.Logger != nil {
		logOut = newLogWriter(conf.Logger, c.RemoteAddr())
	}
	s := &Session{
		conn: c,
		cfg:  conf,
		mem:  &memory{limit: conf.MaxSessionMemory},
	}
	s.key, _ = multiserver.RemoteKey(c)
	start := yamuxgo.Server
	if client {
		start = yamuxgo.Client
	}
	s.fc = &frameConn{Conn: c, closing: &s.closing, flushed: make(chan struct{})}
	yc := conf.yamux(logOut)
	if readBuffered(c) {
		yc.ReadBufSize = 0 // a second buffer would only copy
	}
	if s.ys, err = start(s.fc, yc, s.mem.newSpan); err != nil {
		return nil, err
	}
	return s, nil
}

// Open starts a stream to the peer. It returns at once, before the peer
// has accepted the stream; data written meanwhile waits at the peer, up to
// its 256 KiB initial window. ctx, and [Config.StreamOpenTimeout], bound
// only the opening.
//
// Open fails with an error matching net.ErrClosed once the session is
// closed, by either side, and with [ErrSessionMemory] when the session's
// memory bound has no room for another stream.
func (s *Session) Open(ctx context.Context) (net.Conn, error) {
	if s.ys.IsClosed() {
		return nil, s.opError("open", s.closedErr())
	}
	if err := ctx.Err(); err != nil {
		return nil, s.opError("open", err)
	}
	if t := s.cfg.StreamOpenTimeout; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	if !s.mem.reserve(InitialStreamWindow) {
		return nil, s.opError("open", ErrSessionMemory)
	}
	st, err := s.ys.OpenStream(ctx)
	s.mem.release(InitialStreamWindow)
	if err != nil {
		switch {
		case s.ys.IsClosed():
			err = s.closedErr()
		case errors.Is(err, yamuxgo.ErrRemoteGoAway):
			err = &closedError{errPeerClosing}
		case ctx.Err() != nil:
			err = ctx.Err()
		}
		return nil, s.opError("open", err)
	}
	return newStream(st, s), nil
}

// Accept waits for the next stream the peer opens. Once the session is
// closed, by either side, it returns an error matching net.ErrClosed (and,
// if the session failed, the cause, such as [ErrKeepAliveTimeout]).
func (s *Session) Accept() (net.Conn, error) {
	st, err := s.ys.AcceptStream()
	if err != nil {
		return nil, s.opError("accept", s.closedErr())
	}
	return newStream(st, s), nil
}

// Close closes the session, every stream on it, and the underlying conn.
// It first sends the peer a GoAway, so that the peer opens no more
// streams, and waits up to [Config.CloseTimeout] for what streams have
// already written to go out and, if the conn can half-close (as TCP can),
// for the peer to hang up in turn, so that no data is lost to a TCP reset.
// Streams still open see errors matching net.ErrClosed. Close returns nil,
// also when called again.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		if s.cfg.CloseTimeout <= 0 || s.ys.IsClosed() {
			s.ys.Close()
			return
		}
		sent := make(chan struct{})
		go func() {
			defer close(sent)
			_ = s.ys.GoAway() // fails only if the session is gone
		}()
		t := time.NewTimer(s.cfg.CloseTimeout)
		select {
		case <-s.fc.flushed:
			if s.fc.halfClosed {
				// The peer reads our EOF and hangs up; meanwhile go-yamux
				// drains what it still sends.
				select {
				case <-s.ys.CloseChan():
				case <-t.C:
				}
			}
		case <-s.ys.CloseChan():
		case <-t.C:
		}
		t.Stop()
		s.ys.Close()
		<-sent
	})
	return nil
}

// Done returns a channel that is closed when the session ends, by Close
// or because the conn failed, the peer hung up, or a keepalive timed out.
func (s *Session) Done() <-chan struct{} { return s.ys.CloseChan() }

// NumStreams returns the number of streams open now, both ways. A stream
// counts until both sides have closed it, or either has reset it.
func (s *Session) NumStreams() int { return s.ys.NumStreams() }

// Addr returns the local address of the underlying conn.
func (s *Session) Addr() net.Addr { return s.conn.LocalAddr() }

// LocalAddr returns the local address of the underlying conn.
func (s *Session) LocalAddr() net.Addr { return s.conn.LocalAddr() }

// RemoteAddr returns the remote address of the underlying conn.
func (s *Session) RemoteAddr() net.Addr { return s.conn.RemoteAddr() }

// NetConn returns the conn the session runs over, as given to [Client] or
// [Server]. Reading or writing it directly breaks the session.
func (s *Session) NetConn() net.Conn { return s.conn }

// RemoteKey returns the peer's authenticated Ed25519 key, as
// multiserver.RemoteKey finds it on the underlying conn, or nil if that
// conn authenticates nobody.
func (s *Session) RemoteKey() ed25519.PublicKey { return s.key }

// closedErr returns the error for an operation on the closed session.
func (s *Session) closedErr() error {
	if !s.ys.IsClosed() || s.closing.Load() {
		return net.ErrClosed
	}
	// Once the session is closed, go-yamux's OpenStream does nothing but
	// return the reason it closed.
	_, cause := s.ys.OpenStream(context.Background())
	return closedErr(cause)
}

func (s *Session) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "yamux", Source: s.conn.LocalAddr(), Addr: s.conn.RemoteAddr(), Err: err}
}

// frameConn is the conn go-yamux writes to. go-yamux writes each frame in
// one Write, from one goroutine. Once Close has begun, the GoAway frame
// that Close queued behind the streams' data marks the end: frameConn
// half-closes the conn after it, if the conn can, drops later frames, and
// tells Close.
type frameConn struct {
	net.Conn
	closing    *atomic.Bool
	flushed    chan struct{} // closed after the GoAway is written
	halfClosed bool          // set before flushed is closed
	done       bool          // only the writing goroutine uses it
}

// goAwayType is the yamux frame type of GoAway, the second header byte.
const goAwayType = 3

func (c *frameConn) Write(b []byte) (int, error) {
	if c.done {
		return len(b), nil
	}
	n, err := c.Conn.Write(b)
	if err == nil && len(b) == 12 && b[1] == goAwayType && c.closing.Load() {
		c.done = true
		if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
			c.halfClosed = cw.CloseWrite() == nil
		}
		close(c.flushed)
	}
	return n, err
}

// readBuffered reports whether c, or the conn it wraps (through NetConn,
// as [multiserver.WrapperConn] says), serves small reads from a buffer of
// its own, as shs and noise conns do: it has a ReadBuffered method that
// returns true. go-yamux reads each frame header (12 bytes) on its own,
// through a 4 KiB bufio.Reader unless told otherwise; over such a conn
// that reader is a second buffer and a copy for nothing (the bench's
// net~noise~yamux heap per idle session fell from 33.2 to 24.9 KiB;
// single-stream throughput moved within its noise).
func readBuffered(c net.Conn) bool {
	for c != nil {
		if b, ok := c.(interface{ ReadBuffered() bool }); ok {
			return b.ReadBuffered()
		}
		w, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return false
		}
		c = w.NetConn()
	}
	return false
}
