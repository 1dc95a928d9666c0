package bridge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	ibridge "github.com/f7d52a8e/multiserver/internal/bridge"
	"github.com/f7d52a8e/multiserver/keys"
)

// Defaults; see [Plug].
const (
	DefaultWindow         = ibridge.DefaultWindow
	DefaultMaxBody        = ibridge.DefaultMaxBody
	DefaultMaxSessions    = ibridge.DefaultMaxSessions
	DefaultMaxPerSource   = ibridge.DefaultMaxPerSource
	DefaultSessionTimeout = ibridge.DefaultSessionTimeout
	DefaultPollHold       = ibridge.DefaultPollHold
	DefaultSSEBytes       = ibridge.DefaultSSEBytes
	DefaultSSETime        = ibridge.DefaultSSETime
	DefaultHeartbeat      = ibridge.DefaultHeartbeat
)

// StatusError is a server's answer other than 200 to a bridge request:
// its Kind ("open", "sse", "poll", "send", "close"), HTTP Code, text
// (Msg) and, for a 409, the Offset the server expects. The relay plug
// returns the same type for its bridge carriers.
type StatusError = ibridge.StatusError

// URLAddr is the address of a bridge conn's server: its URL. Its
// Network method returns "bridge".
type URLAddr = ibridge.URLAddr

// ErrRejected matches the error of a request the server refused for
// good (spec/bridge.md §2): a bad signature or a stale time (401), a
// session it does not know (404), a malformed request (400, 405, 415).
// A ladder of carriers moves on when it sees one.
var ErrRejected = ibridge.ErrRejected

// Plug is the "sse" or "poll" plug: the HTTP bridge straight to a
// server (spec/bridge.md), for clients behind proxies that break
// WebSocket. Its addresses are "sse:http://HOST[:PORT]/PATH~noise:KEY"
// (https too) and "poll:…"; the server's key is the transform's. A
// stack without a transform that authenticates (noauth, plaintext) is
// refused: the bridge signs every request with Identity, and the
// transform above proves both ends again, end to end.
//
// Both names serve the same requests: a server listening on "sse:URL"
// also takes poll clients at URL, and the other way round. Its Mount
// method returns an http.Handler that serves a bridge URL from a web
// server of your own; a Listen of that URL then takes its sessions from
// it.
//
// Set Identity before first use; a Plug must not be copied after it.
type Plug struct {
	// Scheme is "sse" or "poll", the name the plug serves and how its
	// dialed conns receive. If empty, "sse".
	Scheme string
	// Identity signs the client's requests. Required to dial.
	Identity *keys.Identity
	// TLSConfig configures TLS: an https listener needs certificates in
	// it (unless mounted), and an https dialer with nil uses the system
	// roots. Dial ignores it when HTTPClient is set.
	TLSConfig *tls.Config
	// Proxy returns the HTTP CONNECT proxy to dial addr (host:port)
	// through for a URL of scheme "http" or "https", or nil for none. If
	// nil, the environment decides as net/http does (HTTP_PROXY,
	// HTTPS_PROXY, NO_PROXY; never for loopback). Ignored when HTTPClient
	// is set.
	Proxy func(scheme, addr string) (*url.URL, error)
	// HTTPClient makes the client's requests, if set. If nil, the conns
	// the plug dials share one transport, made at the first dial with
	// TLSConfig and Proxy, which keeps a few idle connections per server
	// and closes them when the last of those conns closes.
	HTTPClient *http.Client
	// Window is the most bytes a conn buffers each way, sent and not
	// acknowledged; Write blocks when it is full. If zero, 1 MiB.
	Window int
	// MaxBody is the largest POST body a listener takes. If zero, 1 MiB.
	MaxBody int
	// MaxSessions bounds a listener's sessions. If zero, 1024.
	MaxSessions int
	// MaxSessionsPerSource bounds the sessions of one client address.
	// If zero, 32.
	MaxSessionsPerSource int
	// SessionTimeout is how long a session lives without any request
	// under way (the client gone), and how long a client retries before
	// its conn fails. If zero, 30s.
	SessionTimeout time.Duration
	// PollHold is how long a listener holds a long-poll with nothing to
	// send. If zero, 25s.
	PollHold time.Duration
	// SSEBytes and SSETime bound one SSE response; the client then asks
	// again. If zero, 1 MiB and 2 minutes.
	SSEBytes int
	SSETime  time.Duration
	// External lists hosts that peers in ScopePublic use instead of the
	// listener's own (a NAT's address, a reverse proxy's name).
	External []string
	// Logger gets debug records of retries and dropped requests. If nil,
	// nothing is logged.
	Logger *slog.Logger

	mu     sync.Mutex
	mounts map[string]*mount
	client *ibridge.Client // made at the first dial from the fields above
}

var (
	_ multiserver.StackPlug      = (*Plug)(nil)
	_ multiserver.FallbackPlug   = (*Plug)(nil)
	_ multiserver.SegmentChecker = (*Plug)(nil)
)

// Name returns [Plug.Scheme], "sse" if it is empty.
func (p *Plug) Name() string {
	if p.Scheme == "" {
		return "sse"
	}
	return p.Scheme
}

// Fallback returns true. A bridge reaches the server itself, not a
// third party, but it is slower than a WebSocket or TCP to the same
// server, so a Network never moves it ahead of such an address that
// worked: it serves where they fail.
func (p *Plug) Fallback() bool { return true }

// Kind returns the grammar of the layer named scheme ("sse" or "poll";
// if empty, "sse") for an [address.Parser]: an http or https URL with a
// host, by the rules of a ws segment ("sse:https://h.example/ms").
func Kind(scheme string) address.Kind {
	if scheme == "" {
		scheme = "sse"
	}
	return address.Kind{Name: scheme, Role: address.Plug, Check: checkSegment}
}

// CheckSegment reports what is wrong with s, by the rules of [Kind].
func (p *Plug) CheckSegment(s address.Segment) error { return checkSegment(s) }

func checkSegment(s address.Segment) error {
	_, err := bridgeURL(s)
	return err
}

// bridgeURL returns the URL a bridge segment names.
func bridgeURL(s address.Segment) (*url.URL, error) {
	u, err := address.InnerURL(s, "http", "https")
	if err != nil {
		return nil, err
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

// stackURL checks a whole address for the plug and returns its URL.
func (p *Plug) stackURL(a address.Addr, authenticated bool) (*url.URL, error) {
	u, err := bridgeURL(a.Plug())
	if err != nil {
		return nil, fmt.Errorf("bridge: %s: %w", p.Name(), err)
	}
	if !authenticated {
		return nil, fmt.Errorf("bridge: %s: a bridge stack needs a transform that authenticates the peer end to end (shs, noise)", a)
	}
	return u, nil
}

var errDirect = errors.New("bridge: the plug serves whole stacks: use it through a multiserver.Network")

// Dial fails: the plug must know the stack authenticates (see
// [Plug.DialStack]).
func (p *Plug) Dial(ctx context.Context, s address.Segment) (net.Conn, error) {
	return nil, errDirect
}

// Listen fails: the plug must know the stack authenticates (see
// [Plug.ListenStack]).
func (p *Plug) Listen(ctx context.Context, s address.Segment) (net.Listener, error) {
	return nil, errDirect
}

// DialStack opens a bridge session to the server at o.Addr's URL and
// returns it as a conn, once the server has accepted it (and for sse,
// once its event stream has started). A refusal matches [ErrRejected]
// and says why (a wrong key, a stale clock).
func (p *Plug) DialStack(ctx context.Context, o multiserver.DialOptions) (net.Conn, error) {
	u, err := p.stackURL(o.Addr, o.Authenticated)
	if err != nil {
		return nil, err
	}
	return p.dial(ctx, u, p.Name())
}

// DialSession opens a bridge session to the server at u, receiving by
// long-poll if poll is set, else by SSE, whatever p's Scheme, and
// returns it as a byte stream with nothing above it: for a program that
// authenticates its peer over it itself. u's scheme is http or https.
func (p *Plug) DialSession(ctx context.Context, u *url.URL, poll bool) (net.Conn, error) {
	if poll {
		return p.dial(ctx, u, "poll")
	}
	return p.dial(ctx, u, "sse")
}

func (p *Plug) dial(ctx context.Context, u *url.URL, carrier string) (net.Conn, error) {
	if p.Identity == nil {
		return nil, errors.New("bridge: Plug.Identity is required")
	}
	c, err := p.sessionClient().Dial(ctx, u, carrier)
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c, carrier: carrier}, nil
}

// sessionClient returns the client the plug's conns share, made from
// its fields at the first dial.
func (p *Plug) sessionClient() *ibridge.Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client == nil {
		p.client = &ibridge.Client{
			Identity: p.Identity, TLSConfig: p.TLSConfig, Proxy: p.Proxy, HTTPClient: p.HTTPClient,
			Window: p.Window, SessionTimeout: p.SessionTimeout, Logger: p.Logger,
		}
	}
	return p.client
}

// conn is a session with the path it takes: direct, carried by carrier.
type conn struct {
	net.Conn
	carrier string
}

var _ multiserver.PathConn = (*conn)(nil)

// Path reports a direct path carried by "sse" or "poll".
func (c *conn) Path() multiserver.Path { return multiserver.Path{Carrier: c.carrier} }

// Read reads what the peer sent. Its errors, but io.EOF, are
// *net.OpError values with Op "read" and Net the carrier that wrap the
// cause (os.ErrDeadlineExceeded, net.ErrClosed, …), as a TCP conn's are.
func (c *conn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	return n, c.opError("read", err)
}

// Write writes b to the peer. Its errors are *net.OpError values with Op
// "write", as Read's are.
func (c *conn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	return n, c.opError("write", err)
}

func (c *conn) opError(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return &net.OpError{Op: op, Net: c.carrier, Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
