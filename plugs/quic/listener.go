package quic

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net"
	"net/netip"
	"sync"

	quicgo "github.com/quic-go/quic-go"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
)

// listener accepts QUIC connections and hands each out as a session, a
// [*Conn]. The core serves their streams; what the listener keeps is the
// UDP socket, which it closes once it is closed and every connection it
// accepted has ended.
type listener struct {
	p    *Plug
	pc   net.PacketConn
	tr   *quicgo.Transport
	ql   *quicgo.Listener
	host string // as given to Listen

	ended   chan struct{} // closed once the socket is closed
	release sync.Once
	pcErr   error // from closing the socket; set before ended is closed

	mu     sync.Mutex
	conns  map[*quicgo.Conn]struct{} // accepted and not yet ended
	closed bool
}

var (
	_ multiserver.SessionListener = (*listener)(nil)
	_ multiserver.Advertiser      = (*listener)(nil)
)

func newListener(p *Plug, pc net.PacketConn, tr *quicgo.Transport, ql *quicgo.Listener, host string) *listener {
	return &listener{
		p:     p,
		pc:    pc,
		tr:    tr,
		ql:    ql,
		host:  host,
		ended: make(chan struct{}),
		conns: make(map[*quicgo.Conn]struct{}),
	}
}

// AcceptSession returns the next connection a peer makes, a [*Conn].
// quic-go hands over only connections whose handshake, and so whose
// certificate check, has succeeded. After Close, its error matches
// net.ErrClosed.
func (l *listener) AcceptSession() (multiserver.Session, error) {
	for {
		qc, err := l.ql.Accept(context.Background())
		if err != nil {
			if errors.Is(err, quicgo.ErrServerClosed) {
				err = net.ErrClosed
			}
			return nil, &net.OpError{Op: "accept", Net: "quic", Addr: l.Addr(), Err: err}
		}
		key, ok := clientKey(qc)
		if !ok { // cannot happen: the TLS config requires and checks one
			qc.CloseWithError(connProtocol, "no client certificate")
			continue
		}
		l.mu.Lock()
		l.conns[qc] = struct{}{}
		l.mu.Unlock()
		return newConn(l.p, qc, key, func() { l.ended1(qc) }), nil
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

// ended1 notes that qc has ended, and closes the socket after the last
// connection of a closed listener.
func (l *listener) ended1(qc *quicgo.Conn) {
	l.mu.Lock()
	delete(l.conns, qc)
	last := l.closed && len(l.conns) == 0
	l.mu.Unlock()
	if last {
		l.closeSocket()
	}
}

// Close stops accepting connections and returns. It leaves the
// connections it handed out alone: their owner ends them (a
// multiserver.Listener does so once their streams are done). The UDP
// socket closes once the last of them has ended, at once if none is
// left.
func (l *listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	last := len(l.conns) == 0
	l.mu.Unlock()
	l.ql.Close()
	if !last {
		return nil
	}
	l.closeSocket()
	return l.pcErr
}

// Shutdown closes the listener, as Close does, then waits until every
// connection it handed out has ended and the socket is closed, and
// returns nil; or until ctx ends, then closes the connections left at
// once, cutting their streams, and returns ctx's error.
// multiserver.Listener.Shutdown calls it.
func (l *listener) Shutdown(ctx context.Context) error {
	l.Close()
	select {
	case <-l.ended:
		return nil
	case <-ctx.Done():
	}
	l.mu.Lock()
	conns := make([]*quicgo.Conn, 0, len(l.conns))
	for qc := range l.conns {
		conns = append(conns, qc)
	}
	l.mu.Unlock()
	for _, qc := range conns {
		// Not Conn.abort: a graceful Close in progress holds its once,
		// and ending the QUIC connection wakes it.
		qc.CloseWithError(connDone, "")
	}
	<-l.ended
	return ctx.Err()
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
