package dhtrelay

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	fnoise "github.com/flynn/noise"

	"github.com/f7d52a8e/multiserver/internal/hyperdht"
	"github.com/f7d52a8e/multiserver/internal/secretstream"
)

// Errors of [Client.Dial] and of the conns it returns. Each is matched
// with errors.Is; the error says more (the relay, its message).
var (
	// ErrRelayUnreachable: no WebSocket session with the relay could be
	// opened.
	ErrRelayUnreachable = errors.New("dhtrelay: relay unreachable")
	// ErrRelayGone: the relay's session ended (the WebSocket closed, the
	// relay was silent for Config.Silence, or it closed the channel),
	// failing every stream on it.
	ErrRelayGone = errors.New("dhtrelay: relay session ended")
	// ErrPeerNotFound: the relay found no peer announcing the key on
	// the DHT (hyperdht's PEER_NOT_FOUND).
	ErrPeerNotFound = errors.New("dhtrelay: peer not found")
	// ErrRefused: the peer was found but did not take the handshake.
	// A hyperdht peer whose firewall refuses a dialer does not answer,
	// which the dialer's DHT node reports as PEER_CONNECTION_FAILED
	// once its routes are tried (a peer it cannot reach reads the
	// same); a peer that answers with an error gives SERVER_ERROR; the
	// relay reports "Handshake denied".
	ErrRefused = errors.New("dhtrelay: handshake refused")
	// ErrHandshake: the peer's Noise reply did not check out, so the
	// peer did not prove the key dialed.
	ErrHandshake = errors.New("dhtrelay: peer handshake failed")
)

// A RelayError is an error the relay reported for a stream in a destroy
// message, as hyperdht writes them: "CODE: message". It matches
// ErrPeerNotFound for PEER_NOT_FOUND, ErrRefused for
// PEER_CONNECTION_FAILED, SERVER_ERROR and "Handshake denied".
type RelayError struct {
	Code    string // "PEER_NOT_FOUND", ...; "" if the message has none
	Message string // the whole message
}

func (e *RelayError) Error() string {
	for _, known := range []error{ErrPeerNotFound, ErrRefused} {
		if e.Is(known) {
			return known.Error() + " (relay: " + e.Message + ")"
		}
	}
	return "dhtrelay: relay: " + e.Message
}

// Is reports whether e is one of the sentinels its code stands for.
func (e *RelayError) Is(target error) bool {
	switch target {
	case ErrPeerNotFound:
		return e.Code == "PEER_NOT_FOUND"
	case ErrRefused:
		return e.Code == "PEER_CONNECTION_FAILED" || e.Code == "SERVER_ERROR" || e.Message == "Handshake denied"
	}
	return false
}

func relayError(msg string) *RelayError {
	e := &RelayError{Message: msg}
	if code, _, ok := strings.Cut(msg, ": "); ok && code != "" && strings.Trim(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789") == "" {
		e.Code = code
	}
	return e
}

// Config is what a Client needs. The zero value of a field means its
// documented default.
type Config struct {
	// URL is the relay's WebSocket URL, ws:// or wss://. Required.
	URL string
	// Key is our Hyperswarm key pair, the static key of our Noise
	// handshakes. It stays here: the relay gets its public half only.
	// Required.
	Key ed25519.PrivateKey
	// HTTPClient dials the WebSocket; its Transport may set a proxy, TLS
	// or a DialContext. If nil, http.DefaultClient.
	HTTPClient *http.Client
	// PingInterval is how long the session waits with nothing from the
	// relay before it pings it. If zero, 15s, the relay's own interval.
	PingInterval time.Duration
	// Silence is how long the session waits with nothing from the relay
	// before it gives up on it (ErrRelayGone). If zero, 45s, the
	// JavaScript client's failsafe.
	Silence time.Duration
	// StreamBuffer is how many bytes of a stream the session holds for
	// its reader (it takes one more message once under it). The relay protocol has no flow control: when a
	// stream's buffer is full, the session stops reading the WebSocket
	// (so TCP pushes back on the relay) until the reader catches up,
	// which holds the session's other streams too. The relay's pings
	// then wait as well, but ours go on (the session hears nothing), and
	// they keep the relay's 45 s failsafe from firing. If zero, 1 MiB.
	StreamBuffer int
	// StallTimeout is how long a dial waits, after the Noise handshake,
	// for the relay's open and the peer's secret-stream header before it
	// tries again with a new connect (see spec/hyperswarm.md §8); a
	// dial makes at most 5 attempts. If zero, 3s: the header comes
	// within a few round trips, and a dial through a multiserver.Network
	// has its HandshakeTimeout (10s by default) for all its attempts.
	StallTimeout time.Duration
	// Logger gets debug records of the session. If nil, nothing is
	// logged.
	Logger *slog.Logger
}

// maxMessage bounds the WebSocket messages the session reads: the relay
// forwards the peer's UDX packets one data message each, far smaller.
const maxMessage = 4 << 20

// A Client dials peers by key through one dht-relay. Concurrent dials
// share one WebSocket session, opened by the first and closed when its
// last stream closes. It is safe for concurrent use.
type Client struct {
	cfg  Config
	pub  [32]byte
	self fnoise.DHKey
	log  *slog.Logger

	mu   sync.Mutex
	sess *session // the live session, if any

	retries atomic.Int64 // dial attempts that stalled
}

// NewClient checks cfg and returns a Client.
func NewClient(cfg Config) (*Client, error) {
	if !strings.HasPrefix(cfg.URL, "ws://") && !strings.HasPrefix(cfg.URL, "wss://") {
		return nil, fmt.Errorf("dhtrelay: relay URL %q: want ws:// or wss://", cfg.URL)
	}
	if len(cfg.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("dhtrelay: Config.Key must be an Ed25519 private key")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 15 * time.Second
	}
	if cfg.Silence <= 0 {
		cfg.Silence = 45 * time.Second
	}
	if cfg.StallTimeout <= 0 {
		cfg.StallTimeout = DefaultStallTimeout
	}
	if cfg.StreamBuffer <= 0 {
		cfg.StreamBuffer = 1 << 20
	}
	c := &Client{cfg: cfg, self: hyperdht.KeyFromSeed(cfg.Key.Seed()), log: cfg.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	copy(c.pub[:], c.self.Public)
	return c, nil
}

// A Conn is a secret stream to a peer through the relay.
type Conn struct {
	*secretstream.Conn
	remote ed25519.PublicKey
	raw    *Stream
}

// RemoteKey returns the peer's Ed25519 key, which its Noise handshake
// proved.
func (c *Conn) RemoteKey() ed25519.PublicKey { return c.remote }

// CloseWrite ends our direction of the stream (the relay's end
// message); the peer's direction stays open.
func (c *Conn) CloseWrite() error { return c.raw.CloseWrite() }

// Stream returns the raw stream under the secret stream.
func (c *Conn) Stream() *Stream { return c.raw }

// Dial connects to the peer whose Ed25519 public key is remote, through
// the relay, and returns the secret stream once both sides' headers have
// crossed. ctx bounds the whole dial.
func (c *Client) Dial(ctx context.Context, remote ed25519.PublicKey) (*Conn, error) {
	if len(remote) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("dhtrelay: dial: a peer key is %d bytes, not %d", ed25519.PublicKeySize, len(remote))
	}
	s, err := c.session(ctx)
	if err != nil {
		return nil, err
	}
	// Our reference keeps the session between attempts.
	defer s.release()
	var errs []error
	for range dialAttempts {
		conn, err := s.dial(ctx, remote)
		if !errors.Is(err, errStalled) {
			return conn, err
		}
		c.log.Debug("dht-relay dial attempt stalled", "relay", c.cfg.URL, "peer", fmt.Sprintf("%x", []byte(remote)))
		c.retries.Add(1)
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("dhtrelay: dial %x: %w", []byte(remote), errors.Join(errs...))
}

// DefaultStallTimeout is [Config.StallTimeout]'s default.
const DefaultStallTimeout = 3 * time.Second

// dialAttempts bounds the connects of one Dial.
const dialAttempts = 5

// session returns the live session, opening one if there is none; the
// caller holds a reference to it (session.release).
func (c *Client) session(ctx context.Context) (*session, error) {
	for {
		c.mu.Lock()
		s := c.sess
		mine := s == nil || !s.acquire()
		if mine {
			s = newSession(c)
			c.sess = s
		}
		c.mu.Unlock()
		if mine {
			s.start(ctx)
		}
		err := s.waitReady(ctx)
		if err == nil {
			return s, nil
		}
		s.release()
		// A session opened by another dial fails with that dial's
		// context; ours may still have time to open one.
		if mine || ctx.Err() != nil || !s.startCanceled() {
			return nil, err
		}
	}
}

// forget drops s as the live session once it ends.
func (c *Client) forget(s *session) {
	c.mu.Lock()
	if c.sess == s {
		c.sess = nil
	}
	c.mu.Unlock()
}

// Close ends the live session, if any, failing its streams with
// ErrRelayGone.
func (c *Client) Close() error {
	c.mu.Lock()
	s := c.sess
	c.sess = nil
	c.mu.Unlock()
	if s != nil {
		s.fail(fmt.Errorf("%w: client closed", ErrRelayGone))
		s.wait()
	}
	return nil
}

// dialAddr is a peer's address in a Stream: its key, in base64 as
// addresses write it.
type dialAddr struct{ key ed25519.PublicKey }

func (a dialAddr) Network() string { return "hyperswarm" }
func (a dialAddr) String() string  { return base64.StdEncoding.EncodeToString(a.key) }

var _ net.Addr = dialAddr{}
