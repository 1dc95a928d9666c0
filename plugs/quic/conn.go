package quic

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	quicgo "github.com/quic-go/quic-go"

	"github.com/f7d52a8e/multiserver"
)

// The framing this package adds to QUIC (spec/quic.md).
const (
	// streamHeader is the first byte of every stream, which its opener
	// sends at once: QUIC shows a stream to the peer only when data
	// arrives on it, and a server that speaks first must see the stream.
	streamHeader = 0x00
	// goAwayType starts the one control stream, a unidirectional stream
	// that says GOAWAY: 0x01, then how many streams the sender opened,
	// as 8 bytes big-endian, then the end of the stream.
	goAwayType = 0x01
	goAwaySize = 1 + 8
	// maxControlStreams is how many unidirectional streams the peer may
	// have open at once: the GOAWAY stream is the only one.
	maxControlStreams = 1
	// headerTimeout bounds the wait for a stream's header byte and for
	// the GOAWAY stream's bytes once QUIC has shown the stream.
	headerTimeout = 10 * time.Second
)

// A Conn is a QUIC connection to an authenticated peer, carrying
// streams both ways: a [multiserver.Session]. Open starts a stream;
// Accept returns the streams the peer opens. Its methods are safe for
// concurrent use.
//
// On a listener's side, the multiserver.Listener that serves the
// connection takes every stream that the peer opens; there, use a Conn
// (multiserver.SessionOf of a stream) to open streams back to the peer.
type Conn struct {
	qc       *quicgo.Conn
	key      ed25519.PublicKey
	p        *Plug
	released chan struct{} // closed once the connection's socket is let go

	incoming chan *Stream  // admitted streams, for Accept
	closing  chan struct{} // closed when Close begins
	wg       sync.WaitGroup
	once     sync.Once

	mu         sync.Mutex
	streams    map[*Stream]struct{} // open in at least one direction here
	reading    int                  // streams the application has not finished reading
	opened     uint64               // streams this side opened
	accepted   uint64               // streams the peer opened, seen so far
	peerGoAway bool
	peerOpened uint64 // streams the peer opened, as its GOAWAY says
	localClose bool   // Close or abort began
	shut       bool   // closing after the peer's GOAWAY began
	goneAway   bool   // GoAway began: it sends the GOAWAY, Close does not
}

var (
	_ net.Listener        = (*Conn)(nil)
	_ multiserver.Session = (*Conn)(nil)
)

// newConn starts serving qc, an established connection whose peer holds
// key. release, if not nil, runs once the connection has ended, to let
// go of a socket that serves it alone.
func newConn(p *Plug, qc *quicgo.Conn, key ed25519.PublicKey, release func()) *Conn {
	c := &Conn{
		qc:       qc,
		key:      key,
		p:        p,
		released: make(chan struct{}),
		incoming: make(chan *Stream),
		closing:  make(chan struct{}),
		streams:  make(map[*Stream]struct{}),
	}
	context.AfterFunc(qc.Context(), func() {
		if release != nil {
			release()
		}
		close(c.released)
	})
	c.wg.Add(2)
	go c.acceptStreams()
	go c.acceptControl()
	return c
}

// Open starts a stream to the peer and sends its header, so that the
// peer's Accept returns it at once. ctx bounds the wait while the peer's
// limit of open streams ([Config.MaxIncomingStreams]) is reached.
//
// Open fails with an error matching net.ErrClosed once the connection is
// closed or closing, by either side ([ErrPeerClosing] after the peer's
// GOAWAY).
func (c *Conn) Open(ctx context.Context) (net.Conn, error) {
	s, err := c.open(ctx)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (c *Conn) open(ctx context.Context) (*Stream, error) {
	c.mu.Lock()
	err := c.openErrLocked()
	c.mu.Unlock()
	if err != nil {
		return nil, c.opError("open", err)
	}
	st, err := c.qc.OpenStreamSync(ctx)
	if err != nil {
		switch {
		case c.qc.Context().Err() != nil:
			err = c.closedErr()
		case ctx.Err() != nil:
			err = context.Cause(ctx)
		}
		return nil, c.opError("open", err)
	}
	c.mu.Lock()
	c.opened++
	if err := c.openErrLocked(); err != nil {
		c.mu.Unlock()
		refuse(st)
		return nil, c.opError("open", err)
	}
	s := c.trackLocked(st)
	c.mu.Unlock()
	// The header fits any window a peer of this protocol grants, but ctx
	// still bounds the write, against one that grants none.
	stop := context.AfterFunc(ctx, func() { st.SetWriteDeadline(time.Unix(1, 0)) })
	_, err = st.Write([]byte{streamHeader})
	switch {
	case !stop(): // ctx ended during the write
		st.SetWriteDeadline(time.Time{})
		if err != nil {
			err = context.Cause(ctx)
		}
	case err != nil:
		err = s.mapErr(err, &s.writeClosed)
	}
	if err != nil {
		s.Reset()
		return nil, c.opError("open", err)
	}
	return s, nil
}

// openErrLocked says why no stream may be opened now, if so.
func (c *Conn) openErrLocked() error {
	switch {
	case c.localClose, c.goneAway:
		return net.ErrClosed
	case c.qc.Context().Err() != nil:
		return &closedError{context.Cause(c.qc.Context())}
	case c.peerGoAway:
		return ErrPeerClosing
	}
	return nil
}

// trackLocked wraps st, which this side opened or admitted.
func (c *Conn) trackLocked(st *quicgo.Stream) *Stream {
	s := &Stream{st: st, conn: c}
	c.streams[s] = struct{}{}
	c.reading++
	return s
}

// Accept waits for the next stream the peer opens. Once the connection
// is closed, by either side, it returns an error matching net.ErrClosed.
func (c *Conn) Accept() (net.Conn, error) {
	s, err := c.accept()
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (c *Conn) accept() (*Stream, error) {
	select {
	case s := <-c.incoming:
		return s, nil
	case <-c.closing:
		return nil, c.opError("accept", net.ErrClosed)
	case <-c.qc.Context().Done():
		return nil, c.opError("accept", c.closedErr())
	}
}

// acceptStreams admits the streams the peer opens, until the connection
// ends.
func (c *Conn) acceptStreams() {
	defer c.wg.Done()
	for {
		st, err := c.qc.AcceptStream(context.Background())
		if err != nil {
			return
		}
		c.mu.Lock()
		c.accepted++
		c.reading++ // until admit refuses it or the application reads it
		c.mu.Unlock()
		c.wg.Add(1)
		go c.admit(st)
	}
}

// admit reads the header of a stream the peer opened and hands the
// stream to Accept. Each stream has its own admit, so that one whose
// header is slow to come holds up no other.
func (c *Conn) admit(st *quicgo.Stream) {
	defer c.wg.Done()
	st.SetReadDeadline(time.Now().Add(headerTimeout))
	var h [1]byte
	_, err := io.ReadFull(st, h[:])
	st.SetReadDeadline(time.Time{})
	if err == nil && h[0] != streamHeader {
		err = fmt.Errorf("stream header 0x%02x, want 0x%02x", h[0], streamHeader)
	}
	c.mu.Lock()
	if err == nil && (c.localClose || c.goneAway) {
		err = net.ErrClosed
	}
	if err != nil {
		c.mu.Unlock()
		if c.qc.Context().Err() == nil && !errors.Is(err, net.ErrClosed) {
			c.p.log.Debug("refused a stream", "remote", c.RemoteAddr(), "err", err)
		}
		refuse(st)
		c.readEnded()
		return
	}
	s := &Stream{st: st, conn: c}
	c.streams[s] = struct{}{} // reading was counted in acceptStreams
	c.mu.Unlock()
	select {
	case c.incoming <- s:
	case <-c.closing:
		s.abandon()
	case <-c.qc.Context().Done():
	}
}

// refuse resets a stream that will not be used, both ways.
func refuse(st *quicgo.Stream) {
	st.CancelRead(streamRefused)
	st.CancelWrite(streamRefused)
}

// acceptControl reads the peer's GOAWAY. A malformed control stream
// breaks the protocol and closes the connection.
func (c *Conn) acceptControl() {
	defer c.wg.Done()
	for {
		rs, err := c.qc.AcceptUniStream(context.Background())
		if err != nil {
			return
		}
		opened, err := readGoAway(rs)
		if err != nil {
			c.p.log.Debug("bad control stream", "remote", c.RemoteAddr(), "err", err)
			c.qc.CloseWithError(connProtocol, "bad control stream")
			return
		}
		c.mu.Lock()
		if !c.peerGoAway {
			c.peerGoAway, c.peerOpened = true, opened
		}
		shut := c.shouldShutLocked()
		c.mu.Unlock()
		if shut {
			c.qc.CloseWithError(connDone, "")
		}
	}
}

// readGoAway reads a GOAWAY control stream and returns how many streams
// its sender opened.
func readGoAway(rs *quicgo.ReceiveStream) (uint64, error) {
	rs.SetReadDeadline(time.Now().Add(headerTimeout))
	b, err := io.ReadAll(io.LimitReader(rs, goAwaySize+1))
	switch {
	case err != nil:
		return 0, err
	case len(b) != goAwaySize || b[0] != goAwayType:
		return 0, fmt.Errorf("control stream % x is not a GOAWAY", b)
	}
	return binary.BigEndian.Uint64(b[1:]), nil
}

// sendGoAway tells the peer that this side opens no more streams, having
// opened so many, and that it waits for the peer to close.
func (c *Conn) sendGoAway(opened uint64) {
	us, err := c.qc.OpenUniStream()
	if err != nil {
		return // the connection is ending anyway
	}
	var b [goAwaySize]byte
	b[0] = goAwayType
	binary.BigEndian.PutUint64(b[1:], opened)
	us.Write(b[:])
	us.Close()
}

// readEnded notes that the application is done reading one stream, and
// closes the connection if the peer is waiting for just that.
func (c *Conn) readEnded() {
	c.mu.Lock()
	c.reading--
	shut := c.shouldShutLocked()
	c.mu.Unlock()
	if shut {
		c.qc.CloseWithError(connDone, "")
	}
}

// shouldShutLocked reports, once, whether the peer's close is complete
// here: the peer sent GOAWAY, every stream it opened has arrived, and
// the application has read every stream to its end (or given up on it).
// Then nothing more can be lost, and this side closes the connection.
func (c *Conn) shouldShutLocked() bool {
	if c.shut || !c.peerGoAway || c.accepted < c.peerOpened || c.reading > 0 {
		return false
	}
	c.shut = true
	return true
}

func (c *Conn) forget(s *Stream) {
	c.mu.Lock()
	delete(c.streams, s)
	c.mu.Unlock()
}

// GoAway tells the peer with a GOAWAY that this side takes no more
// streams and opens none, and refuses the streams the peer opens from
// now on, while those already open go on: the first step of ending the
// connection gracefully. Close it once they are done. The peer's Open
// then fails at once with [ErrPeerClosing]. GoAway fails only if the
// connection has ended.
func (c *Conn) GoAway() error {
	if c.qc.Context().Err() != nil {
		return c.opError("goaway", c.closedErr())
	}
	c.mu.Lock()
	if c.goneAway || c.localClose {
		c.mu.Unlock()
		return nil
	}
	c.goneAway = true
	opened := c.opened
	c.mu.Unlock()
	c.sendGoAway(opened)
	return nil
}

// Close closes the connection gracefully: it ends every stream still
// open here (the peer reads io.EOF after what was written; further
// calls on them fail with net.ErrClosed), tells the peer with a GOAWAY,
// and waits, up to [Config.CloseTimeout], for the peer to close the
// connection once its application has read what was sent. Then, or at
// once if the peer is gone, it closes the connection itself and lets go
// of its socket. Close returns nil, also when called again.
func (c *Conn) Close() error {
	c.once.Do(c.closeGracefully)
	return nil
}

func (c *Conn) closeGracefully() {
	c.mu.Lock()
	c.localClose = true
	close(c.closing)
	opened := c.opened
	goAway := !c.goneAway // a side sends at most one GOAWAY
	streams := make([]*Stream, 0, len(c.streams))
	for s := range c.streams {
		streams = append(streams, s)
	}
	c.mu.Unlock()
	for _, s := range streams {
		s.abandon()
	}
	code := connDone
	if timeout := c.p.cfg.CloseTimeout; timeout > 0 && c.qc.Context().Err() == nil {
		if goAway {
			c.sendGoAway(opened)
		}
		t := time.NewTimer(timeout)
		select {
		case <-c.qc.Context().Done():
		case <-t.C:
			code = connTimeout
		}
		t.Stop()
	}
	c.qc.CloseWithError(code, "")
	c.wg.Wait()
	<-c.released
}

// abort closes the connection at once, with code.
func (c *Conn) abort(code quicgo.ApplicationErrorCode) {
	c.once.Do(func() {
		c.mu.Lock()
		c.localClose = true
		close(c.closing)
		c.mu.Unlock()
		c.qc.CloseWithError(code, "")
		c.wg.Wait()
		<-c.released
	})
}

// Done returns a channel that is closed when the connection ends: by
// Close, by the peer, or by the idle timeout.
func (c *Conn) Done() <-chan struct{} { return c.qc.Context().Done() }

// Addr returns the local UDP address, as [Conn.LocalAddr] does.
func (c *Conn) Addr() net.Addr { return c.qc.LocalAddr() }

// LocalAddr returns the local UDP address.
func (c *Conn) LocalAddr() net.Addr { return c.qc.LocalAddr() }

// RemoteAddr returns the peer's UDP address.
func (c *Conn) RemoteAddr() net.Addr { return c.qc.RemoteAddr() }

// RemoteKey returns the peer's Ed25519 key, which the TLS handshake
// proved: the key of its certificate.
func (c *Conn) RemoteKey() ed25519.PublicKey { return c.key }

// QUICConn returns the quic-go connection, for its statistics and TLS
// state. Opening or accepting streams on it directly bypasses the stream
// header and breaks this protocol.
func (c *Conn) QUICConn() *quicgo.Conn { return c.qc }

// closedErr returns the error for an operation on the closed connection.
func (c *Conn) closedErr() error {
	c.mu.Lock()
	local := c.localClose
	c.mu.Unlock()
	cause := context.Cause(c.qc.Context())
	if local || cause == nil {
		return net.ErrClosed
	}
	return &closedError{cause}
}

func (c *Conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "quic", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
