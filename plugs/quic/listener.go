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
	wg      sync.WaitGroup

	mu     sync.Mutex
	conns  map[*Conn]struct{}
	closed bool
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
		conns:   make(map[*Conn]struct{}),
	}
	l.wg.Add(1)
	go l.run()
	return l
}

// run accepts connections until the QUIC listener closes. quic-go hands
// over only connections whose handshake, and so whose certificate
// check, has succeeded.
func (l *listener) run() {
	defer l.wg.Done()
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

// serve hands the streams of c to Accept until c ends.
func (l *listener) serve(c *Conn) {
	defer l.wg.Done()
	defer func() {
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
	}()
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

// Close stops accepting connections and closes those accepted, each as
// [Conn.Close] does (all at once, so Close takes at most one
// CloseTimeout), then the socket.
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
	var closing sync.WaitGroup
	for _, c := range conns {
		closing.Go(func() { c.Close() })
	}
	closing.Wait()
	l.wg.Wait()
	l.tr.Close()
	return l.pc.Close()
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
	port := int(ap.Port())
	if scope == multiserver.ScopePublic && len(l.p.cfg.External) > 0 {
		return l.segments(l.p.cfg.External, port)
	}
	ip, err := netip.ParseAddr(l.host)
	if err != nil {
		// A name: "localhost" on the device, any other name everywhere.
		if l.host == "localhost" && scope != multiserver.ScopeDevice {
			return nil
		}
		return l.segments([]string{l.host}, port)
	}
	var hosts []string
	for _, a := range multiserver.ScopeAddrs(scope, ip.WithZone("")) {
		hosts = append(hosts, a.String())
	}
	return l.segments(hosts, port)
}

func (l *listener) segments(hosts []string, port int) []address.Segment {
	var out []address.Segment
	for _, h := range hosts {
		out = append(out, Segment(h, port, l.p.pub))
	}
	return out
}
