package multiserver

import (
	"crypto/ed25519"
	"io"
	"net"
	"sync/atomic"

	"github.com/f7d52a8e/multiserver/address"
)

// The contracts below are the methods a conn may have so that [Info],
// [RemoteKey] and [SessionOf] can tell what it is, through any number of
// wrappers. Plug, transform and muxer writers implement those that apply
// to their conns; users call Info.

// A KeyConn knows the authenticated Ed25519 key of its peer, as shs and
// noise conns do. RemoteKey returns nil when the conn authenticates
// nobody.
type KeyConn interface {
	net.Conn
	RemoteKey() ed25519.PublicKey
}

// A WrapperConn is a layer over another conn, which NetConn returns, as
// crypto/tls.Conn does. Info, RemoteKey and SessionOf look through it.
type WrapperConn interface {
	net.Conn
	NetConn() net.Conn
}

// A StreamConn is one stream of a [Session].
type StreamConn interface {
	net.Conn
	Session() Session
}

// A PathConn knows the path its bytes take, as a relayed conn does, and
// may change it while it is open (from relayed to direct and back).
type PathConn interface {
	net.Conn
	Path() Path
}

// A PathWatcher is a PathConn whose path may change while it is open:
// PathChanged returns a channel that is closed at the next change.
type PathWatcher interface {
	PathConn
	PathChanged() <-chan struct{}
}

// Path says how a conn's bytes travel.
type Path struct {
	// Relayed reports whether they go through a third party (a relay, an
	// HTTP bridge) rather than straight to the peer.
	Relayed bool
	// Carrier names what carries them now: a plug name ("net", "ws",
	// "quic"), or a carrier of the plug's ("wss", "sse", "udp").
	Carrier string
	// Reason says, of a relayed path that tried to become direct and
	// could not, why ("both peers are behind NATs that map per
	// destination"); empty otherwise.
	Reason string
}

// PathChanged returns a channel that is closed when the path of c
// changes next, looking through its layers as [Info] does, or nil (a
// channel that is never ready) when no layer's path can change.
func PathChanged(c net.Conn) <-chan struct{} {
	if w := watcherOf(c); w != nil {
		return w.PathChanged()
	}
	return nil
}

// ConnInfo says what a conn is.
type ConnInfo struct {
	// Stack is the address the conn came through: as dialed, or for an
	// accepted conn the stack of the Listener that accepted it, as given
	// to Listen or Add. Nil for a conn the Network did not make.
	Stack address.Addr
	// RemoteKey is the peer's authenticated Ed25519 key, or nil when
	// the stack authenticates nobody (noauth).
	RemoteKey ed25519.PublicKey
	// Path says how the bytes travel; a conn that does not say is
	// direct, carried by its stack's plug.
	Path Path
}

// Info returns what c is, looking through every layer, for a conn or
// stream that a [Network] dialed or a [Listener] accepted: through
// wrappers ([WrapperConn]), and from a stream ([StreamConn]) through its
// session to the conn the session runs over. The outermost layer that
// knows a fact tells it. A conn whose path can change reports the path
// of the moment.
func Info(c net.Conn) ConnInfo {
	var (
		info    ConnInfo
		pathSet bool
	)
	for x := any(c); x != nil; {
		if s, ok := x.(interface{ Stack() address.Addr }); ok && info.Stack == nil {
			info.Stack = s.Stack()
		}
		if k, ok := x.(interface{ RemoteKey() ed25519.PublicKey }); ok && info.RemoteKey == nil {
			info.RemoteKey = k.RemoteKey()
		}
		if p, ok := x.(PathConn); ok && !pathSet {
			info.Path, pathSet = p.Path(), true
		}
		switch v := x.(type) {
		case interface{ NetConn() net.Conn }: // a wrapper, or a session
			x = v.NetConn()
		case StreamConn:
			x = v.Session()
		default:
			x = nil
		}
	}
	if !pathSet && len(info.Stack) > 0 {
		info.Path.Carrier = info.Stack.Plug().Name
	}
	return info
}

// conn is a conn as the Network hands it out: it knows the stack it came
// through, and while counting ([Stats]) it counts its bytes if it was
// accepted, and its close ends the count of it as open.
type conn struct {
	net.Conn
	stack  address.Addr
	st     *stackStats               // nil: bytes not counted
	track  atomic.Pointer[pathTrack] // ended by its first Close
	closed atomic.Bool
}

func newConn(c net.Conn, stack address.Addr) *conn { return &conn{Conn: c, stack: stack} }

// newCountedConn is newConn for a conn accepted on a stack counted by st
// (nil: not counted). Its first Close ends t (nil: none), which the
// caller started ([stackStats.accept]).
func newCountedConn(c net.Conn, stack address.Addr, st *stackStats, t *pathTrack) *conn {
	x := &conn{Conn: c, stack: stack, st: st}
	x.track.Store(t)
	return x
}

// setTrack makes c's first Close end t, or ends t now if c is closed.
func (c *conn) setTrack(t *pathTrack) {
	c.track.Store(t)
	if c.closed.Load() {
		c.track.Swap(nil).end()
	}
}

func (c *conn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if c.st != nil {
		c.st.in.Add(int64(n))
	}
	return n, err
}

func (c *conn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if c.st != nil {
		c.st.out.Add(int64(n))
	}
	return n, err
}

// Close closes the conn under c.
func (c *conn) Close() error {
	err := c.Conn.Close()
	c.closed.Store(true)
	c.track.Swap(nil).end()
	return err
}

// Stack returns the address c came through.
func (c *conn) Stack() address.Addr { return c.stack }

// NetConn returns the conn under c.
func (c *conn) NetConn() net.Conn { return c.Conn }

// CloseWrite half-closes c (see [closeWrite]).
func (c *conn) CloseWrite() error { return closeWrite(c.Conn, c) }

// closeWrite half-closes under, the conn a wrapper w wraps, if under can;
// otherwise it closes w, the only end of writing left.
func closeWrite(under, w net.Conn) error {
	if cw, ok := under.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return w.Close()
}

// ReadFrom and WriteTo keep the fast paths of the conn under c (splice
// between TCP conns of noauth stacks).
func (c *conn) ReadFrom(r io.Reader) (int64, error) {
	var from *stackStats // the source's counters, when it is a conn of ours
	if w, ok := r.(*conn); ok {
		r, from = w.Conn, w.st
	}
	var (
		n   int64
		err error
	)
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(struct{ io.Writer }{c.Conn}, r)
	}
	if c.st != nil {
		c.st.out.Add(n)
	}
	if from != nil {
		from.in.Add(n)
	}
	return n, err
}

func (c *conn) WriteTo(w io.Writer) (int64, error) {
	var to *stackStats // the destination's counters, when it is a conn of ours
	if x, ok := w.(*conn); ok {
		w, to = x.Conn, x.st
	}
	var (
		n   int64
		err error
	)
	if wt, ok := c.Conn.(io.WriterTo); ok {
		n, err = wt.WriteTo(w)
	} else {
		n, err = io.Copy(w, struct{ io.Reader }{c.Conn})
	}
	if c.st != nil {
		c.st.in.Add(n)
	}
	if to != nil {
		to.out.Add(n)
	}
	return n, err
}
