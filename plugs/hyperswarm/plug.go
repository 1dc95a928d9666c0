package hyperswarm

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/internal/dhtrelay"
	"github.com/f7d52a8e/multiserver/keys"
)

// Errors of Dial and of its conns, matched with errors.Is.
var (
	// ErrPeerNotFound: no peer announces the key on the DHT.
	ErrPeerNotFound = dhtrelay.ErrPeerNotFound
	// ErrRelayUnreachable: no relay of the Config could be reached.
	ErrRelayUnreachable = dhtrelay.ErrRelayUnreachable
	// ErrRelayGone: the relay's session ended (closed, killed, or silent
	// for 45 s), which fails the dials and conns on it.
	ErrRelayGone = dhtrelay.ErrRelayGone
	// ErrRefused: the peer was found but did not take the handshake:
	// its firewall refused us (hyperdht's PEER_CONNECTION_FAILED, which
	// an unreachable peer also gives), it answered with an error, or
	// the relay denied it. The error is also a
	// *multiserver.HandshakeError.
	ErrRefused = dhtrelay.ErrRefused
	// ErrListen: the plug dials only.
	ErrListen = errors.New("hyperswarm: listening (announcing on the DHT) is not supported; the plug dials only")
)

// Config is what a Plug needs.
type Config struct {
	// Relays are the dht-relay WebSocket URLs (ws:// or wss://) to dial
	// through, tried in order: the next when one is unreachable or its
	// session ends during the dial. Required.
	Relays []string
	// Identity holds our key, the static key of the Noise handshake,
	// which the peer sees as ours. If nil, the plug makes a key of its
	// own, new with each New.
	Identity *keys.Identity
	// HTTPClient dials the relays' WebSockets (a proxy, TLS, a dialer).
	// If nil, http.DefaultClient.
	HTTPClient *http.Client
	// StallTimeout is how long a dial waits for the peer's first
	// message after the handshake before it connects again (see
	// spec/hyperswarm.md §8). If zero, 3s, so that a dial within the
	// Network's HandshakeTimeout (10s by default) can try again twice.
	StallTimeout time.Duration
	// Logger gets debug records of the relay sessions. If nil, nothing
	// is logged.
	Logger *slog.Logger
}

// Plug is the "hyperswarm" plug. Make one with [New]; it is safe for
// concurrent use.
type Plug struct {
	clients  []*dhtrelay.Client
	carriers []string // the scheme of each client's relay URL
	pub      ed25519.PublicKey
}

var (
	_ multiserver.Plug           = (*Plug)(nil)
	_ multiserver.SegmentChecker = (*Plug)(nil)
)

// New checks cfg and returns a plug.
func New(cfg Config) (*Plug, error) {
	if len(cfg.Relays) == 0 {
		return nil, errors.New("hyperswarm: Config.Relays must name at least one dht-relay URL")
	}
	priv := keys.Generate()
	if cfg.Identity != nil {
		priv = cfg.Identity.Private()
	}
	p := &Plug{pub: priv.Public().(ed25519.PublicKey)}
	for _, u := range cfg.Relays {
		c, err := dhtrelay.NewClient(dhtrelay.Config{
			URL: u, Key: priv, HTTPClient: cfg.HTTPClient,
			StallTimeout: cfg.StallTimeout, Logger: cfg.Logger,
		})
		if err != nil {
			return nil, fmt.Errorf("hyperswarm: %w", err)
		}
		p.clients = append(p.clients, c)
		p.carriers = append(p.carriers, carrierOf(u))
	}
	return p, nil
}

// carrierOf names what carries the conns through the relay at u: its
// URL's scheme, "ws" or "wss".
func carrierOf(u string) string {
	if scheme, _, ok := strings.Cut(u, "://"); ok {
		return strings.ToLower(scheme)
	}
	return "ws"
}

// Conn is a conn to a Hyperswarm peer, as Dial returns it: the peer's
// secret stream, which the dht-relay carries without reading it.
type Conn struct {
	*dhtrelay.Conn
	carrier string
}

var _ multiserver.PathConn = (*Conn)(nil)

// Path reports a relayed path: every byte goes through the dht-relay,
// over the relay URL's scheme ("ws" or "wss").
func (c *Conn) Path() multiserver.Path {
	return multiserver.Path{Relayed: true, Carrier: c.carrier}
}

// Read reads what the peer sent. Its errors, but io.EOF, are
// *net.OpError values with Op "read" and Net "hyperswarm" that wrap the
// cause (os.ErrDeadlineExceeded, net.ErrClosed, [ErrRelayGone], …), as a
// TCP conn's are.
func (c *Conn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	return n, c.opError("read", err)
}

// Write writes b to the peer. Its errors are *net.OpError values with Op
// "write", as Read's are.
func (c *Conn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	return n, c.opError("write", err)
}

func (c *Conn) opError(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return &net.OpError{Op: op, Net: "hyperswarm", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// Name returns "hyperswarm".
func (p *Plug) Name() string { return "hyperswarm" }

// Authenticates returns true: every conn runs hyperdht's Noise handshake
// with the key of its address, so a hyperswarm address needs no
// transform.
func (p *Plug) Authenticates() bool { return true }

// PublicKey returns our key, the one peers see.
func (p *Plug) PublicKey() ed25519.PublicKey { return p.pub }

// Kind returns the grammar of the "hyperswarm" layer, "hyperswarm:KEY",
// KEY the peer's Ed25519 public key in base64.
func Kind() address.Kind {
	return address.Kind{Name: "hyperswarm", Role: address.Plug, Check: checkSegment}
}

// CheckSegment reports what is wrong with s by the rules of [Kind].
func (p *Plug) CheckSegment(s address.Segment) error { return checkSegment(s) }

func checkSegment(s address.Segment) error {
	_, err := ParseSegment(s)
	return err
}

// ParseSegment returns the peer key of a "hyperswarm:KEY" layer.
func ParseSegment(s address.Segment) (ed25519.PublicKey, error) {
	if s.Name != "hyperswarm" {
		return nil, fmt.Errorf("hyperswarm: segment %q is not hyperswarm", s.Name)
	}
	if len(s.Fields) != 1 {
		return nil, errors.New("want hyperswarm:KEY, KEY the peer's Ed25519 public key in base64")
	}
	k, err := address.DecodeKey(s.Fields[0])
	if err != nil {
		return nil, err
	}
	return ed25519.PublicKey(k), nil
}

// Dial connects to the peer of the "hyperswarm:KEY" address in s through
// the first relay that answers. ctx bounds the whole dial.
func (p *Plug) Dial(ctx context.Context, s address.Segment) (net.Conn, error) {
	key, err := ParseSegment(s)
	if err != nil {
		return nil, fmt.Errorf("hyperswarm: dial %s: %w", s, err)
	}
	var errs []error
	for i, c := range p.clients {
		conn, err := c.Dial(ctx, key)
		if err == nil {
			return &Conn{Conn: conn, carrier: p.carriers[i]}, nil
		}
		errs = append(errs, err)
		relayFault := errors.Is(err, ErrRelayUnreachable) || errors.Is(err, ErrRelayGone)
		if !relayFault || ctx.Err() != nil {
			break
		}
	}
	err = errors.Join(errs...)
	if errors.Is(err, ErrRefused) || errors.Is(err, dhtrelay.ErrHandshake) {
		return nil, &multiserver.HandshakeError{Transform: "hyperswarm", Err: err}
	}
	return nil, fmt.Errorf("hyperswarm: %w", err)
}

// Listen fails with ErrListen: announcing on the DHT is not offered.
func (p *Plug) Listen(ctx context.Context, s address.Segment) (net.Listener, error) {
	return nil, ErrListen
}

// Close ends the plug's relay sessions, failing their conns with
// ErrRelayGone.
func (p *Plug) Close() error {
	for _, c := range p.clients {
		c.Close()
	}
	return nil
}
