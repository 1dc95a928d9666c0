package multiserver

import (
	"context"
	"net"
	"sync"

	"github.com/f7d52a8e/multiserver/address"
)

// A Session carries many streams over one connection. It is a
// net.Listener for the streams the peer opens, and Open starts one.
// yamux provides sessions over any secured connection; QUIC provides them
// natively.
type Session interface {
	net.Listener
	// Open starts a stream to the peer.
	Open(ctx context.Context) (net.Conn, error)
}

// A SessionPlug is a Plug whose connections carry many streams natively,
// as QUIC's do. Its Dial gives the first stream of a new connection (for
// [Network.Dial]); DialSession gives the connection itself as a Session
// (for [Network.DialSession]). ListenSessions gives its inbound
// connections, each a Session, and a [Listener] serves their streams as
// it serves those of a [Muxer]'s sessions: one path for both. Its Listen
// can be [StreamListener] over ListenSessions.
type SessionPlug interface {
	Plug
	DialSession(ctx context.Context, s address.Segment) (Session, error)
	ListenSessions(ctx context.Context, s address.Segment) (SessionListener, error)
}

// A SessionListener is a SessionPlug's listener: AcceptSession returns
// each connection a peer makes, once its handshake has succeeded, as a
// Session. After Close, its error matches net.ErrClosed.
//
// Close stops accepting and leaves the sessions handed out alone: the
// [Listener] that took them drains and ends them. If it also has a
// Shutdown(ctx) method, [Listener.Shutdown] calls it to wait for what the
// plug still holds after its sessions have ended (QUIC's UDP socket), and
// it should let go of all of it when ctx ends.
type SessionListener interface {
	AcceptSession() (Session, error)
	Close() error
	Addr() net.Addr
}

// A Muxer turns one established connection into a [Session]. Its segment
// ends an address ("net:h:p~noise:KEY~yamux"), telling the dialer that
// the server expects sessions there.
type Muxer interface {
	// Name returns the segment name the muxer serves, e.g. "yamux".
	Name() string
	// Client starts the dialing side of a session over c. ctx bounds the
	// start only, as it bounds a Transform's handshake; a muxer that
	// fails makes the dial go on to the next address.
	Client(ctx context.Context, c net.Conn) (Session, error)
	// Server starts the accepting side of a session over c.
	Server(ctx context.Context, c net.Conn) (Session, error)
}

// A session that can say GoAway is told so when a [Listener] stops
// taking streams from it, so that the peer's further opens fail at once
// rather than find a stream refused.
type goAwayer interface{ GoAway() error }

// SessionOf returns the session that carries c, if c is a stream
// ([StreamConn]), looking through wrappers ([WrapperConn]) as [RemoteKey]
// does.
func SessionOf(c net.Conn) (Session, bool) {
	for c != nil {
		if s, ok := c.(StreamConn); ok {
			return s.Session(), true
		}
		w, ok := c.(WrapperConn)
		if !ok {
			break
		}
		c = w.NetConn()
	}
	return nil, false
}

// soleStream is the one stream [Network.Dial] returns from a muxed
// address: closing it closes its session.
type soleStream struct {
	net.Conn
	sess Session
	once sync.Once
}

func (s *soleStream) Close() error {
	err := s.Conn.Close()
	s.once.Do(func() { s.sess.Close() })
	return err
}

// NetConn returns the stream, so that RemoteKey and SessionOf see
// through.
func (s *soleStream) NetConn() net.Conn { return s.Conn }

// CloseWrite half-closes the stream (see [closeWrite]).
func (s *soleStream) CloseWrite() error { return closeWrite(s.Conn, s) }
