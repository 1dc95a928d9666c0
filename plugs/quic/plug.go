package quic

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	quicgo "github.com/quic-go/quic-go"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/internal/race"
	"github.com/f7d52a8e/multiserver/internal/ratelog"
)

// Plug is the "quic" plug. Make one with [New]; it is safe for
// concurrent use.
type Plug struct {
	cfg    Config // with defaults
	pub    ed25519.PublicKey
	appKey []byte
	cert   tls.Certificate
	qconf  *quicgo.Config
	log    *ratelog.Logger // Debug records, rate-limited

	sockets dialSockets // the UDP sockets dials share
}

var _ multiserver.SessionPlug = (*Plug)(nil)

// New returns a plug that authenticates as cfg.Identity on the network
// of its app key. It fails if the Config is invalid.
func New(cfg Config) (*Plug, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	cert, err := newCertificate(c.Identity.Private(), c.Identity.AppKey())
	if err != nil {
		return nil, err
	}
	return &Plug{
		cfg:    c,
		pub:    c.Identity.Public(),
		appKey: c.Identity.AppKey(),
		cert:   cert,
		qconf:  c.quicConfig(),
		log:    ratelog.New(c.Logger, logLimit, logInterval),
	}, nil
}

// Name returns "quic".
func (p *Plug) Name() string { return "quic" }

// Kind returns the grammar of the "quic" layer, "quic:HOST:PORT[:KEY]",
// for an [address.Parser]: the host as in "net" but not empty, and the
// server's key last, which a listen address may leave out. See
// [address.HostPortKey].
func Kind() address.Kind { return address.Kind{Name: "quic", Role: address.Plug, Check: checkSegment} }

// CheckSegment reports what is wrong with s, a "quic" segment, by the
// rules of [Kind].
func (p *Plug) CheckSegment(s address.Segment) error { return checkSegment(s) }

func checkSegment(s address.Segment) error {
	_, _, _, err := address.HostPortKey(s)
	return err
}

// Authenticates returns true: every QUIC connection runs TLS 1.3 bound to
// the Ed25519 key of its address, so a quic address needs no transform.
func (p *Plug) Authenticates() bool { return true }

// PublicKey returns the plug's Ed25519 public key, the KEY of the
// addresses its listeners advertise.
func (p *Plug) PublicKey() ed25519.PublicKey { return p.pub }

// Dial connects to the "quic:HOST:PORT:KEY" address in s and returns the
// first stream of a new connection. Closing the stream closes the
// connection (see [Stream.Close]). ctx bounds the dial and the handshake.
//
// A server that presents another key than KEY gives an error matching
// multiserver.ErrWrongKey, one on another network [ErrAppKey]; both are
// a *multiserver.HandshakeError.
func (p *Plug) Dial(ctx context.Context, s address.Segment) (net.Conn, error) {
	c, err := p.dial(ctx, s)
	if err != nil {
		return nil, err
	}
	st, err := c.open(ctx)
	if err != nil {
		c.abort(connDone)
		return nil, err
	}
	st.sole = true
	return st, nil
}

// DialSession connects to the address in s, as Dial does, and returns
// the connection, a [*Conn], on which to open many streams.
func (p *Plug) DialSession(ctx context.Context, s address.Segment) (multiserver.Session, error) {
	c, err := p.dial(ctx, s)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// dial resolves the host of s and connects to one of its addresses.
func (p *Plug) dial(ctx context.Context, s address.Segment) (*Conn, error) {
	host, port, key, err := address.HostPortKey(s)
	if err != nil {
		return nil, fmt.Errorf("quic: dial %s: %w", s, err)
	}
	if key == nil {
		return nil, fmt.Errorf("quic: dial %s: the address has no key; want quic:HOST:PORT:KEY", s)
	}
	ips, err := resolve(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("quic: dial %s: %w", s, err)
	}
	if len(ips) == 1 {
		return p.dialAddr(ctx, netip.AddrPortFrom(ips[0], uint16(port)), key)
	}
	return p.race(ctx, ips, uint16(port), key)
}

// dialStagger is how long a dial to one address of a name runs alone
// before the next address is tried beside it. UDP gives no quick
// refusal, so a dead address would otherwise hold the dial until its
// context ends.
const dialStagger = 250 * time.Millisecond

// race dials the addresses of a name, staggered, Happy Eyeballs style (see
// [race.First]), and returns the first connection. A refused handshake
// ends the race: the same server would refuse at every address. race
// returns only when every dial it started has ended.
func (p *Plug) race(ctx context.Context, ips []netip.Addr, port uint16, key ed25519.PublicKey) (*Conn, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c, won, errs := race.First(ctx, len(ips), dialStagger,
		func(ctx context.Context, i int) (*Conn, error) {
			c, err := p.dialAddr(ctx, netip.AddrPortFrom(ips[i], port), key)
			if errors.Is(err, multiserver.ErrHandshake) {
				cancel()
			}
			return c, err
		},
		func(c *Conn) { c.abort(connDone) })
	if won >= 0 {
		return c, nil
	}
	errs = slices.DeleteFunc(errs, func(err error) bool { return errors.Is(err, race.ErrNotTried) })
	if len(errs) == 0 {
		return nil, fmt.Errorf("quic: dial: %w", context.Cause(ctx))
	}
	return nil, errors.Join(errs...)
}

// resolve returns the addresses of host, an IP address or a name.
func resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip.Unmap()}, nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	for i := range ips {
		ips[i] = ips[i].Unmap()
	}
	return ips, nil
}

// dialAddr connects from the plug's socket for the address family of
// to (see dialSockets), which the connection lets go of when it ends.
func (p *Plug) dialAddr(ctx context.Context, to netip.AddrPort, key ed25519.PublicKey) (*Conn, error) {
	network := "udp4"
	if to.Addr().Is6() {
		network = "udp6"
	}
	tr, release, err := p.sockets.acquire(ctx, network, p.cfg.ListenPacket)
	if err != nil {
		return nil, fmt.Errorf("quic: dial %s: %w", to, err)
	}
	var refused refusal
	remote := net.UDPAddrFromAddrPort(to)
	qc, err := tr.Dial(ctx, remote, p.clientTLS(key, &refused), p.qconf)
	if err != nil {
		release()
		return nil, dialError(remote, err, refused.get())
	}
	return newConn(p, qc, key, release), nil
}

// dialError explains why a dial to remote failed: refused is our own
// verdict on the server's certificate, if we gave one; otherwise err is
// quic-go's.
func dialError(remote net.Addr, err, refused error) error {
	handshake := func(err error) error {
		return &multiserver.HandshakeError{Transform: "quic", Remote: remote, Err: err}
	}
	var (
		te *quicgo.TransportError
		ht *quicgo.HandshakeTimeoutError
		it *quicgo.IdleTimeoutError
	)
	switch {
	case refused != nil:
		return handshake(refused)
	case errors.As(err, &te) && te.Remote && te.ErrorCode.IsCryptoError():
		return handshake(fmt.Errorf("quic: the server refused the handshake (it has another app key, or does not speak %s): %w", ALPN, err))
	case errors.As(err, &ht), errors.As(err, &it):
		return handshake(fmt.Errorf("quic: no answer from %s: %w", remote, err))
	}
	return fmt.Errorf("quic: dial %s: %w", remote, err)
}

// Listen listens on s, as ListenSessions does, and returns a
// net.Listener whose Accept returns every stream that peers open, on
// every connection, each a [*Stream] (under a wrapper that counts it):
// multiserver.StreamListener over the session listener. Closing it
// leaves those streams open and closes each connection once the streams
// it handed out are closed; its Shutdown(ctx) method waits for that, as
// multiserver.Listener.Shutdown does. It implements
// [multiserver.Advertiser].
func (p *Plug) Listen(ctx context.Context, s address.Segment) (net.Listener, error) {
	sl, err := p.ListenSessions(ctx, s)
	if err != nil {
		return nil, err
	}
	return multiserver.StreamListener(sl), nil
}

// ListenSessions listens for QUIC connections on the host and port of s,
// a "quic:HOST:PORT" segment (a key, if given, must be the plug's own).
// Its AcceptSession returns each connection, a [*Conn], once the TLS
// handshake has authenticated the peer; a multiserver.Listener serves
// their streams. Its UDP socket closes once it is closed and every
// connection it accepted has ended; its Shutdown(ctx) method waits for
// that. It implements [multiserver.Advertiser].
func (p *Plug) ListenSessions(ctx context.Context, s address.Segment) (multiserver.SessionListener, error) {
	host, port, key, err := address.HostPortKey(s)
	if err != nil {
		return nil, fmt.Errorf("quic: listen %s: %w", s, err)
	}
	if key != nil && !ed25519.PublicKey(key).Equal(p.pub) {
		return nil, fmt.Errorf("quic: listen %s: the address names key %s, but this plug's key is %s",
			s, address.EncodeKey(key), address.EncodeKey(p.pub))
	}
	pc, err := p.cfg.ListenPacket(ctx, "udp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("quic: listen %s: %w", s, err)
	}
	tr := &quicgo.Transport{Conn: pc}
	ql, err := tr.Listen(p.serverTLS(), p.qconf)
	if err != nil {
		tr.Close()
		pc.Close()
		return nil, fmt.Errorf("quic: listen %s: %w", s, err)
	}
	return newListener(p, pc, tr, ql, host), nil
}

// Segment returns the "quic" segment for host, port and key: an IPv6
// host is written unbracketed; a nil key is left out, as in a listen
// address.
func Segment(host string, port int, key ed25519.PublicKey) address.Segment {
	fields := append(strings.Split(host, ":"), strconv.Itoa(port))
	if key != nil {
		fields = append(fields, address.EncodeKey(key))
	}
	return address.Segment{Name: "quic", Fields: fields}
}
