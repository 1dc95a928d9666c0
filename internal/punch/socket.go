package punch

import (
	"context"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	quicgo "github.com/quic-go/quic-go"

	"github.com/f7d52a8e/multiserver/internal/stun"
)

// socket is one UDP socket of an attempt: STUN, probes and QUIC share
// it through one quic-go Transport, which hands the packets that are not
// QUIC to the demultiplexer here.
type socket struct {
	pc     net.PacketConn
	tr     *quicgo.Transport
	cancel context.CancelFunc
	done   chan struct{} // the demultiplexer ended

	stunIn chan packet

	mu      sync.Mutex
	secret  []byte  // the probes' key, once known
	session [8]byte // the attempt's
	role    byte    // ours
	heard   chan netip.AddrPort
	seq     uint32
	once    sync.Once
}

type packet struct {
	b    []byte
	from net.Addr
}

func newSocket(pc net.PacketConn) *socket {
	ctx, cancel := context.WithCancel(context.Background())
	s := &socket{
		pc: pc, tr: &quicgo.Transport{Conn: pc}, cancel: cancel, done: make(chan struct{}),
		stunIn: make(chan packet, 8), heard: make(chan netip.AddrPort, 16),
	}
	go s.demux(ctx)
	return s
}

// close closes the transport and the socket and waits for the
// demultiplexer. It is idempotent.
func (s *socket) close() {
	s.once.Do(func() {
		s.cancel()
		s.tr.Close()
		s.pc.Close()
		<-s.done
	})
}

// expect sets the attempt the probes belong to.
func (s *socket) expect(session [8]byte, secret []byte, role byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.session, s.secret, s.role = session, secret, role
}

// demux reads the packets that are not QUIC: STUN answers go to
// stunIn, probes are answered, and the sources of the peer's probes and
// acknowledgements go to heard.
func (s *socket) demux(ctx context.Context) {
	defer close(s.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := s.tr.ReadNonQUICPacket(ctx, buf)
		if err != nil {
			return
		}
		b := buf[:n]
		switch {
		case isProbe(b):
			s.onProbe(b, from)
		case stun.IsMessage(b):
			select {
			case s.stunIn <- packet{append([]byte(nil), b...), from}:
			default:
			}
		}
	}
}

func (s *socket) onProbe(b []byte, from net.Addr) {
	s.mu.Lock()
	secret, session, role := s.secret, s.session, s.role
	s.mu.Unlock()
	if secret == nil {
		return
	}
	p, ok := decodeProbe(b, secret)
	if !ok || p.session != session {
		return
	}
	peerProbe, peerAck := byte(kindProbeListener), byte(kindAckListener)
	ackKind := byte(kindAckDialer)
	if role == roleListener {
		peerProbe, peerAck, ackKind = kindProbeDialer, kindAckDialer, kindAckListener
	}
	switch p.kind {
	case peerProbe:
		s.tr.WriteTo(appendProbe(nil, secret, probe{kind: ackKind, session: session, seq: p.seq}), from)
	case peerAck:
	default:
		return
	}
	if ua, ok := from.(*net.UDPAddr); ok {
		ap := ua.AddrPort() // an IPv4 peer on a dual-stack socket is ::ffff:a.b.c.d
		select {
		case s.heard <- netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()):
		default:
		}
	}
}

// dualStack reports whether the socket reaches IPv6 addresses: it is
// bound to an IPv6 address, not an IPv4 one (udp4).
func (s *socket) dualStack() bool {
	ua, ok := s.pc.LocalAddr().(*net.UDPAddr)
	return ok && ua.IP.To4() == nil
}

// reachable returns the addresses of cands the socket can send to: all,
// or the IPv4 ones of an IPv4 socket.
func (s *socket) reachable(cands []candidate) []netip.AddrPort {
	dual := s.dualStack()
	var out []netip.AddrPort
	for _, c := range cands {
		if dual || c.addr.Addr().Is4() {
			out = append(out, c.addr)
		}
	}
	return out
}

// sendProbes sends one probe to each address.
func (s *socket) sendProbes(to []netip.AddrPort) {
	s.mu.Lock()
	secret, session := s.secret, s.session
	kind := byte(kindProbeDialer)
	if s.role == roleListener {
		kind = kindProbeListener
	}
	s.seq++
	seq := s.seq
	s.mu.Unlock()
	pkt := appendProbe(nil, secret, probe{kind: kind, session: session, seq: seq})
	for _, a := range to {
		s.tr.WriteTo(pkt, net.UDPAddrFromAddrPort(a))
	}
}

// stunConn is the socket as stun.Probe sees it: it reads the STUN
// packets the demultiplexer sorted out and writes through the
// transport.
type stunConn struct {
	s        *socket
	mu       sync.Mutex
	deadline time.Time
}

func (c *stunConn) ReadFrom(p []byte) (int, net.Addr, error) {
	c.mu.Lock()
	dl := c.deadline
	c.mu.Unlock()
	var timeout <-chan time.Time
	if !dl.IsZero() {
		t := time.NewTimer(time.Until(dl))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case pk := <-c.s.stunIn:
		return copy(p, pk.b), pk.from, nil
	case <-timeout:
		return 0, nil, os.ErrDeadlineExceeded
	case <-c.s.done:
		return 0, nil, net.ErrClosed
	}
}

func (c *stunConn) WriteTo(p []byte, addr net.Addr) (int, error) { return c.s.tr.WriteTo(p, addr) }
func (c *stunConn) Close() error                                 { return nil }
func (c *stunConn) LocalAddr() net.Addr                          { return c.s.pc.LocalAddr() }
func (c *stunConn) SetDeadline(t time.Time) error                { return c.SetReadDeadline(t) }
func (c *stunConn) SetWriteDeadline(time.Time) error             { return nil }
func (c *stunConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	return nil
}
