package relay

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	ibridge "github.com/f7d52a8e/multiserver/internal/bridge"
	"github.com/f7d52a8e/multiserver/internal/dialtrace"
	"github.com/f7d52a8e/multiserver/internal/ratelog"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/msgconn"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/wire"
)

// Client speaks the relay protocol to one relay, for a listener
// ([Client.Register], [Client.Accept]) and for a dialer
// ([Client.Connect]). Every call opens a WebSocket of its own. A Client
// is not modified by its methods and may be used concurrently.
type Client struct {
	// URL is the relay's URL: ws://, wss://, or http:// and https://,
	// which mean the same.
	URL string
	// Identity signs AUTH. Required.
	Identity *keys.Identity
	// TLSConfig configures TLS for wss. If nil, the system roots.
	// Ignored when HTTPClient is set, and in the browser.
	TLSConfig *tls.Config
	// Proxy returns the HTTP CONNECT proxy for addr (host:port) and the
	// URL's scheme, or nil to dial directly, as the ws plug's Proxy. If
	// nil, the environment decides (HTTP_PROXY for ws, HTTPS_PROXY for
	// wss, NO_PROXY; never for loopback). Ignored when HTTPClient is
	// set, and in the browser.
	Proxy func(scheme, addr string) (*url.URL, error)
	// HTTPClient dials, if set; its transport then chooses proxies and
	// TLS. Ignored in the browser.
	HTTPClient *http.Client
	// ReadLimit is the largest data message a paired conn accepts, in
	// bytes. If zero, 1 MiB; if negative, no limit.
	ReadLimit int64
	// Carriers are the ways the client reaches the relay, tried in this
	// order (spec/relay.md §11): "ws" (a WebSocket; wss for an https or
	// wss URL), "sse" and "poll" (the HTTP bridge, at the same URL). If
	// empty, all three in that order. Each call starts with the carrier
	// that last worked for the URL; see [Client.Connect].
	Carriers []string
	// Logger gets debug records of what a Registration drops: dialers
	// announced while its queue was full (see [Registration.Dropped]).
	// They are rate-limited. If nil, nothing is logged.
	Logger *slog.Logger

	queue  int             // a Registration's queue; if zero, incomingQueue (tests set it)
	bridge *ibridge.Client // shared by the Clients a Plug makes for one relay; nil: one per call
	ladder *memos          // the carriers that worked, a Plug's; nil: the process's
}

func (c *Client) readLimit() int64 {
	switch {
	case c.ReadLimit == 0:
		return 1 << 20
	case c.ReadLimit < 0:
		return -1
	}
	return c.ReadLimit
}

// session is one carrier to the relay, before pairing: a WebSocket or
// a bridge session.
type session struct {
	mc       msgconn.Conn    // the WebSocket's, or a *msgconn.Framed over a bridge session
	ws       *websocket.Conn // the WebSocket, on that carrier
	sock     any             // the Socket under ws, where the platform gives one
	carrier  string          // "ws", "wss", "sse" or "poll"
	url      string
	origin   string
	hello    *wire.Frame
	limits   Limits
	lastRead atomic.Int64 // when a message last came in, in Unix nanoseconds
}

// open reaches the relay by the ladder of carriers (from the top if
// fresh and a while has passed, else from the one that last worked),
// reads HELLO and sends AUTH and req; it reads OK. ctx bounds it.
func (c *Client) open(ctx context.Context, req *wire.Frame, fresh bool) (*session, error) {
	if c.Identity == nil {
		return nil, errors.New("relay: Client.Identity is required")
	}
	u, err := wsURL(c.URL)
	if err != nil {
		return nil, err
	}
	o, err := Origin(u)
	if err != nil {
		return nil, err
	}
	s, err := c.reach(ctx, u, o, fresh)
	if err != nil {
		return nil, err
	}
	done := dialtrace.Start(ctx, "auth", "")
	err = s.start(ctx, c.Identity, req)
	done("", err)
	if err != nil {
		s.mc.CloseNow()
		return nil, err
	}
	return s, nil
}

// start runs AUTH, req and OK on s, which has read HELLO.
func (s *session) start(ctx context.Context, id *keys.Identity, req *wire.Frame) error {
	f := s.hello
	s.limits = Limits(f.Limits)
	auth := &wire.Frame{Type: wire.FrameAuth, Key: id.Public(), Origin: s.origin}
	auth.Sig = id.Sign(wire.AuthMessage(f.Challenge[:], s.origin))
	if err := s.write(ctx, auth); err != nil {
		return err
	}
	if err := s.write(ctx, req); err != nil {
		return err
	}
	return s.expect(ctx, wire.FrameOK)
}

// read reads the next frame, answering PINGs. DENIED and RESTARTING
// come back as their errors.
func (s *session) read(ctx context.Context) (*wire.Frame, error) {
	for {
		msg, err := s.mc.Read(ctx)
		s.lastRead.Store(time.Now().UnixNano())
		if errors.Is(err, msgconn.ErrText) {
			return nil, fmt.Errorf("%w: text message", ErrProtocol)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("relay: %s: %w", s.url, ctx.Err())
			}
			return nil, fmt.Errorf("relay: %s: %w", s.url, err)
		}
		f, err := wire.Decode(msg)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
		}
		switch f.Type {
		case wire.FramePing:
			if err := s.write(ctx, &wire.Frame{Type: wire.FramePong, Ping: f.Ping}); err != nil {
				return nil, err
			}
			continue
		case wire.FramePong:
			continue
		case wire.FrameDenied:
			return nil, &DeniedError{Code: DenyCode(f.Code), Text: f.Text}
		case wire.FrameRestarting:
			return nil, &RestartingError{ReconnectIn: f.RestartIn, TryFor: f.TryFor}
		}
		return f, nil
	}
}

// expect reads a frame of type typ.
func (s *session) expect(ctx context.Context, typ byte) error {
	_, err := s.expectFrame(ctx, typ)
	return err
}

func (s *session) expectFrame(ctx context.Context, typ byte) (*wire.Frame, error) {
	f, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	if f.Type != typ {
		return nil, fmt.Errorf("%w: frame %#02x, want %#02x", ErrProtocol, f.Type, typ)
	}
	return f, nil
}

func (s *session) write(ctx context.Context, f *wire.Frame) error {
	if err := s.mc.Write(ctx, f.Encode()); err != nil {
		return fmt.Errorf("relay: %s: %w", s.url, err)
	}
	return nil
}

// Connect dials the listener of key's stack label through the relay
// and returns the paired stream. streamID names the stream to the
// listener: random for a new one, the same again to reconnect it. ctx
// bounds the dial and the pairing; the relay's own pairing timeout
// (10s by default) ends a wait for a listener that does not accept.
//
// Nobody registered: an error matching [ErrNoPeer], at once. The
// errors of a refusal match [ErrDenied] (and are *[DeniedError]); of an
// unreachable relay, [ErrUnreachable].
//
// Connect reaches the relay by the ladder of [Client.Carriers]: it
// starts with the carrier that last reached this relay URL in this
// process, or, when that is not the first and it settled there more than
// five minutes ago, with the first again; a carrier that fails moves it
// to the next. A carrier that reached the relay is kept whatever the
// relay answers.
func (c *Client) Connect(ctx context.Context, key ed25519.PublicKey, label string, streamID StreamID) (*Conn, error) {
	return c.connect(ctx, key, label, streamID, true)
}

// connect is Connect; a redial of a stream is not fresh: it starts with
// the carrier that last worked however long ago, and tries the ones above
// it only after that one and those below it failed.
func (c *Client) connect(ctx context.Context, key ed25519.PublicKey, label string, streamID StreamID, fresh bool) (*Conn, error) {
	if len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("relay: key of %d bytes", len(key))
	}
	if err := wire.CheckLabel(label); err != nil {
		return nil, err
	}
	s, err := c.open(ctx, &wire.Frame{Type: wire.FrameConnect, Topic: TopicOf(key, label), Stream: streamID}, fresh)
	if err != nil {
		return nil, err
	}
	done := dialtrace.Start(ctx, "pair", label)
	conn, err := c.paired(ctx, s, key)
	done("", err)
	return conn, err
}

// Accept takes the pairing that in announced, on a WebSocket of its
// own, and returns the paired stream. ctx bounds it.
func (c *Client) Accept(ctx context.Context, in *Incoming) (*Conn, error) {
	s, err := c.open(ctx, &wire.Frame{Type: wire.FrameAccept, Token: in.token}, false)
	if err != nil {
		return nil, err
	}
	return c.paired(ctx, s, in.Key)
}

// paired reads PAIRED on s and returns the stream, whose peer must be
// peer.
func (c *Client) paired(ctx context.Context, s *session, peer ed25519.PublicKey) (*Conn, error) {
	f, err := s.expectFrame(ctx, wire.FramePaired)
	if err == nil && !bytes.Equal(f.Key, peer) {
		err = fmt.Errorf("%w: paired with another key", ErrProtocol)
	}
	if err != nil {
		s.mc.CloseNow()
		return nil, err
	}
	return &Conn{Conn: c.netConn(s), peer: f.Key, stream: f.Stream, carrier: s.carrier}, nil
}

// Conn is a paired stream: opaque bytes to and from the peer, through
// the relay. Its peer's key is what the relay authenticated; a security
// transform over it authenticates the peer end to end.
type Conn struct {
	net.Conn
	peer    ed25519.PublicKey
	stream  StreamID
	carrier string
}

// Carrier returns how c reaches the relay: "ws", "wss", "sse" or
// "poll".
func (c *Conn) Carrier() string { return c.carrier }

// Peer returns the peer's key, as the relay authenticated it.
func (c *Conn) Peer() ed25519.PublicKey { return bytes.Clone(c.peer) }

// StreamID returns the stream's id, as the dialer chose it.
func (c *Conn) StreamID() StreamID { return c.stream }

// NetConn returns the carrier's conn under c: over a WebSocket, the
// WebSocket's; over the bridge, the framed messages'.
func (c *Conn) NetConn() net.Conn { return c.Conn }

// Incoming is a dialer waiting for a listener, as INCOMING announced it.
// Pass it to [Client.Accept] within the relay's pairing timeout.
type Incoming struct {
	Label    string            // the stack the dialer asked for
	Key      ed25519.PublicKey // the dialer's key, as the relay authenticated it
	StreamID StreamID          // the dialer's name for the stream
	token    [wire.TokenSize]byte
}

// Register opens a control connection that registers the stack labels
// ("noise", "noise~yamux") of c.Identity's key. ctx bounds the
// registration only. A newer registration of the same key, from
// anywhere, replaces this one.
func (c *Client) Register(ctx context.Context, labels []string) (*Registration, error) {
	f := &wire.Frame{Type: wire.FrameListen, Labels: labels}
	if _, err := wire.Decode(f.Encode()); err != nil {
		return nil, err
	}
	s, err := c.open(ctx, f, true)
	if err != nil {
		return nil, err
	}
	if err := s.expect(ctx, wire.FrameOK); err != nil { // LISTEN's
		s.mc.CloseNow()
		return nil, err
	}
	q := c.queue
	if q <= 0 {
		q = incomingQueue
	}
	r := &Registration{
		s:        s,
		labels:   map[Topic]string{},
		incoming: make(chan *Incoming, q),
		done:     make(chan struct{}),
		log:      ratelog.New(c.Logger, 10, time.Minute),
	}
	for _, l := range labels {
		r.labels[TopicOf(c.Identity.Public(), l)] = l
	}
	go r.run()
	return r, nil
}

// incomingQueue is how many announced dialers a Registration holds for
// its user; more are dropped (counted by [Registration.Dropped]), and
// their dialers time out.
const incomingQueue = 1024

// Registration is a listener's control connection to the relay.
type Registration struct {
	s        *session
	labels   map[Topic]string
	incoming chan *Incoming
	done     chan struct{}
	once     sync.Once
	err      error
	dropped  atomic.Uint64
	log      *ratelog.Logger
}

// Incoming returns the dialers the relay announces. It is closed when
// the registration ends.
//
// It holds up to 1024 dialers its user has not taken yet. A dialer
// announced while it is full is dropped: it is never paired and its
// Connect fails when the relay's pairing timeout passes. Each drop
// counts in [Registration.Dropped] and is logged at debug level to
// [Client.Logger] (at most 10 records a minute, the rest counted).
func (r *Registration) Incoming() <-chan *Incoming { return r.incoming }

// Dropped returns how many announced dialers the registration dropped
// because its Incoming queue was full.
func (r *Registration) Dropped() uint64 { return r.dropped.Load() }

// Done is closed when the registration has ended; Err says why.
func (r *Registration) Done() <-chan struct{} { return r.done }

// Err returns why the registration ended, or nil while it lasts: an
// error matching [ErrReplaced] when a newer registration of the key
// replaced it, a *[RestartingError] when the relay is restarting,
// net.ErrClosed after Close, or the control conn's failure (which
// includes three ping intervals of silence).
func (r *Registration) Err() error {
	select {
	case <-r.done:
		return r.err
	default:
		return nil
	}
}

// Limits returns the limits the relay announced.
func (r *Registration) Limits() Limits { return r.s.limits }

// Carrier returns how the registration reaches the relay: "ws", "wss",
// "sse" or "poll".
func (r *Registration) Carrier() string { return r.s.carrier }

// Close ends the registration.
func (r *Registration) Close() error {
	r.end(net.ErrClosed)
	r.s.mc.Close(websocket.StatusNormalClosure, "")
	<-r.done
	return nil
}

func (r *Registration) end(err error) {
	r.once.Do(func() { r.err = err })
}

// run reads the control conn until it ends.
func (r *Registration) run() {
	defer close(r.done)
	defer close(r.incoming)
	defer r.log.Close() // writes the count of records dropped, if any
	silence := 3 * r.s.limits.PingInterval
	if silence <= 0 {
		silence = 45 * time.Second
	}
	// The relay's PINGs count as life: read answers them itself, so a
	// watchdog looks at when anything last came in.
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	r.s.lastRead.Store(time.Now().UnixNano())
	go func() {
		t := time.NewTimer(silence)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			quiet := time.Since(time.Unix(0, r.s.lastRead.Load()))
			if quiet >= silence {
				cancel(fmt.Errorf("relay: %s: nothing for %v", r.s.url, silence))
				return
			}
			t.Reset(silence - quiet)
		}
	}()
	for {
		f, err := r.s.read(ctx)
		if err != nil {
			if cause := context.Cause(ctx); cause != nil && cause != context.Canceled {
				err = cause
			}
			r.end(err)
			r.s.mc.CloseNow()
			return
		}
		switch f.Type {
		case wire.FrameIncoming:
			in := &Incoming{Label: r.labels[f.Topic], Key: f.Key, StreamID: f.Stream, token: f.Token}
			select {
			case r.incoming <- in:
			default:
				n := r.dropped.Add(1)
				r.log.Debug("relay: dialer dropped, incoming queue full", "relay", r.s.url, "label", in.Label, "queue", cap(r.incoming), "dropped", n)
			}
		case wire.FrameOK:
		default:
			r.end(fmt.Errorf("%w: frame %#02x on a control connection", ErrProtocol, f.Type))
			r.s.mc.CloseNow()
			return
		}
	}
}
