package quic

import (
	"context"
	"crypto/ed25519"
	"net"
	"net/netip"
	"sync"

	quicgo "github.com/quic-go/quic-go"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
)

// listener accepts QUIC connections and hands out the streams their
// peers open.
type listener struct {
	p    *Plug
	pc   net.PacketConn
	tr   *quicgo.Transport
	ql   *quicgo.Listener
	host string // as given to Listen

	streams chan *Stream
	done    chan struct{} // closed by Close
	ran     chan struct{} // closed when run returns
	force   chan struct{} // closed when Shutdown's ctx ends
	ended   chan struct{} // closed once the socket is closed
	wg      sync.WaitGroup
	cut     sync.Once
	release sync.Once
	pcErr   error // from closing the socket; set before ended is closed

	mu     sync.Mutex
	conns  map[*Conn]struct{}
	closed bool
	ready  bool // Close has drained every connection
}

var _ multiserver.Advertiser = (*listener)(nil)

func newListener(p *Plug, pc net.PacketConn, tr *quicgo.Transport, ql *quicgo.Listener, host string) *listener {
	l := &listener{
		p:       p,
		pc:      pc,
		tr:      tr,
		ql:      ql,
		host:    host,
		streams: make(chan *Stream),
		done:    make(chan struct{}),
		ran:     make(chan struct{}),
		force:   make(chan struct{}),
		ended:   make(chan struct{}),
		conns:   make(map[*Conn]struct{}),
	}
	go l.run()
	return l
}

// run accepts connections until the QUIC listener closes. quic-go hands
// over only connections whose handshake, and so whose certificate
// check, has succeeded.
func (l *listener) run() {
	defer close(l.ran)
	for {
		qc, err := l.ql.Accept(context.Background())
		if err != nil {
			return
		}
		key, ok := clientKey(qc)
		if !ok { // cannot happen: the TLS config requires and checks one
			qc.CloseWithError(connProtocol, "no client certificate")
			continue
		}
		c := newConn(l.p, qc, key, nil)
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			c.abort(connDone)
			continue
		}
		l.conns[c] = struct{}{}
		l.wg.Add(1)
		go l.serve(c)
		l.mu.Unlock()
	}
}

// clientKey returns the key of the client's certificate, which the
// handshake checked.
func clientKey(qc *quicgo.Conn) (ed25519.PublicKey, bool) {
	certs := qc.ConnectionState().TLS.PeerCertificates
	if len(certs) != 1 {
		return nil, false
	}
	key, ok := certs[0].PublicKey.(ed25519.PublicKey)
	return key, ok
}

// serve hands the streams of c to Accept until c ends or the listener
// closes, then closes c once the streams it handed out are done, and the
// socket after the last connection.
func (l *listener) serve(c *Conn) {
	defer l.wg.Done()
	l.handOut(c)
	select {
	case <-c.idle:
	case <-c.Done():
	case <-l.force:
		c.abort(connDone)
	}
	c.Close()
	l.mu.Lock()
	delete(l.conns, c)
	last := l.ready && len(l.conns) == 0
	l.mu.Unlock()
	if last {
		l.closeSocket()
	}
}

// handOut hands the streams of c to Accept until c ends or drains.
func (l *listener) handOut(c *Conn) {
	for {
		s, err := c.accept()
		if err != nil {
			return
		}
		select {
		case l.streams <- s:
		case <-l.done:
			s.abandon()
			return
		}
	}
}

// Accept returns the next stream that a peer opens, a [*Stream]. After
// Close, its error matches net.ErrClosed.
func (l *listener) Accept() (net.Conn, error) {
	select {
	case s := <-l.streams:
		return s, nil
	case <-l.done:
		return nil, &net.OpError{Op: "accept", Net: "quic", Addr: l.Addr(), Err: net.ErrClosed}
	}
}

// Close stops accepting connections, and streams on those accepted,
// and returns. As net.Listener.Close leaves accepted conns open, it
// leaves open the streams that Accept returned: each connection tells
// its peer with a GOAWAY that it takes no more streams, and closes, as
// [Conn.Close] does, once the streams Accept returned from it are
// closed; the UDP socket closes after the last connection. Close closes
// the connections with no such stream at once (all together, so Close
// takes at most one CloseTimeout). Shutdown waits for the rest.
func (l *listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.done)
	conns := make([]*Conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	l.ql.Close()
	<-l.ran
	var closing sync.WaitGroup
	for _, c := range conns {
		closing.Go(func() {
			if c.drain() {
				c.Close()
			}
		})
	}
	closing.Wait()
	l.mu.Lock()
	l.ready = true
	last := len(l.conns) == 0
	l.mu.Unlock()
	if !last {
		return nil
	}
	l.closeSocket()
	l.wg.Wait()
	return l.pcErr
}

// Shutdown closes the listener, as Close does, then waits until every
// connection and the socket are closed, and returns nil; or until ctx
// ends, then closes the connections left at once, cutting their streams,
// and returns ctx's error. multiserver.Listener.Shutdown calls it.
func (l *listener) Shutdown(ctx context.Context) error {
	l.Close()
	var err error
	select {
	case <-l.ended:
	case <-ctx.Done():
		select {
		case <-l.ended:
		default:
			l.cut.Do(func() { close(l.force) })
			err = ctx.Err()
		}
	}
	<-l.ended
	l.wg.Wait()
	return err
}

// closeSocket closes the transport and the socket, once.
func (l *listener) closeSocket() {
	l.release.Do(func() {
		l.tr.Close()
		l.pcErr = l.pc.Close()
		close(l.ended)
	})
}

// Addr returns the local UDP address.
func (l *listener) Addr() net.Addr { return l.pc.LocalAddr() }

// Advertise returns the "quic" segments, with the plug's key, that peers
// in scope dial: the listener's own address, or for an unspecified one
// (0.0.0.0, ::) the host's interface addresses in scope, with the real
// port; [Config.External] in the public scope if set.
func (l *listener) Advertise(scope multiserver.Scope) []address.Segment {
	ap, err := netip.ParseAddrPort(l.Addr().String())
	if err != nil {
		return nil
	}
	return l.segments(multiserver.AdvertiseHosts(scope, l.host, l.p.cfg.External), int(ap.Port()))
}

func (l *listener) segments(hosts []string, port int) []address.Segment {
	var out []address.Segment
	for _, h := range hosts {
		out = append(out, Segment(h, port, l.p.pub))
	}
	return out
}
