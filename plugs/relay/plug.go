package relay

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/internal/resume"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/wire"
)

// Plug is the "relay" plug: it listens and dials through relays, by the
// addresses "relay:URL~noise" (listen: register with the relay at URL
// and advertise "relay:URL~noise:KEY") and "relay:URL~noise:KEY" (dial
// KEY through the relay at URL). URL is ws://, wss://, http:// or
// https://; see spec/relay.md.
//
// It reaches a relay by WebSocket, or where a proxy breaks WebSocket by
// the HTTP bridge, SSE then long-poll, at the same URL (see [Client] and
// spec/relay.md §11); it remembers per relay URL the carrier that worked.
//
// A relayed conn is a resumable stream (spec/resume.md): when its
// carrier to the relay breaks (the relay restarts, the network
// blinks), the dialer pairs again with the same stream id and both ends
// go on where they were, nothing lost and nothing twice. The transform
// above runs end to end, so the relay sees only ciphertext, and a stack
// without one (noauth, plaintext) is refused.
//
// Set Identity before first use; a Plug must not be copied after it.
type Plug struct {
	// Identity signs the relay's challenges. Required. It must hold the
	// key of the stack's transform (the same key as shs's or noise's
	// Identity): dialers find a listener by that key.
	Identity *keys.Identity
	// TLSConfig configures TLS for wss relays. If nil, the system roots.
	// To pin a relay's certificate, set RootCAs to a pool that holds
	// only it. Ignored when HTTPClient is set.
	TLSConfig *tls.Config
	// Proxy chooses an HTTP CONNECT proxy, as the ws plug's Proxy does;
	// if nil, the environment decides. Ignored when HTTPClient is set.
	Proxy func(scheme, addr string) (*url.URL, error)
	// HTTPClient dials the relay, if set.
	HTTPClient *http.Client
	// ResumeTimeout is how long a relayed conn waits for a new carrier
	// after its WebSocket breaks before it fails. If zero, 10s.
	ResumeTimeout time.Duration
	// Window is the most bytes a relayed conn buffers each way, sent and
	// not yet acknowledged; a Write blocks when it is full. If zero,
	// 1 MiB.
	Window int
	// Direct, if not nil, moves relayed conns to a direct path when the
	// NATs on the way allow it: UDP hole punching, signalled through the
	// relayed conn itself (spec/holepunch.md). A conn starts relayed, so
	// Dial returns at once; it switches to QUIC over the punched path a
	// moment later, and back to the relay if that path dies, without a
	// byte lost or repeated: the transform above never notices. A direct
	// path that stays silent for 4 s (QUIC's idle timeout; each side
	// pings after 1 s without a packet) counts as dead, so data flows
	// through the relay again some 4 s after the path died. Both
	// peers need it; a listener without it declines the dialer's offers.
	// Not in the browser (js/wasm), where it is ignored.
	Direct *Direct
	// Logger gets debug records of registrations, resumes and dialers a
	// registration dropped (see [Registration.Incoming]). If nil, nothing
	// is logged.
	Logger *slog.Logger

	// Carriers are the ways to reach a relay, tried in this order: "ws",
	// "sse", "poll" (see [Client.Carriers]). If empty, all three. The
	// plug remembers, per relay URL, the one that last worked.
	Carriers []string

	mu      sync.Mutex
	regs    map[string]*registrar // by relay URL
	clients map[string]*Client    // by relay URL
	ladder  *memos                // the carriers that reached each relay
}

var (
	_ multiserver.StackPlug      = (*Plug)(nil)
	_ multiserver.FallbackPlug   = (*Plug)(nil)
	_ multiserver.SegmentChecker = (*Plug)(nil)
)

// Name returns "relay".
func (p *Plug) Name() string { return "relay" }

// Fallback returns true: a relayed conn goes through a third party, so
// a Network never prefers it to a direct address that worked.
func (p *Plug) Fallback() bool { return true }

// Kind returns the grammar of the "relay" layer for an [address.Parser]:
// the segment is a ws, wss, http or https URL with a host, as a ws
// segment is ("relay:wss://relay.example/ms").
func Kind() address.Kind {
	return address.Kind{Name: "relay", Role: address.Plug, Check: checkSegment}
}

// CheckSegment reports what is wrong with s, by the rules of [Kind].
func (p *Plug) CheckSegment(s address.Segment) error { return checkSegment(s) }

func checkSegment(s address.Segment) error {
	_, err := relayURL(s)
	return err
}

// relayURL returns the URL a relay segment names.
func relayURL(s address.Segment) (*url.URL, error) {
	return address.InnerURL(s, "ws", "wss", "http", "https")
}

// errDirect is the error of Dial and Listen, which a Network never
// calls on a StackPlug.
var errDirect = errors.New("relay: the relay plug serves whole stacks: use it through a multiserver.Network")

// Dial fails: a relay needs the whole address (see [Plug.DialStack]).
func (p *Plug) Dial(ctx context.Context, s address.Segment) (net.Conn, error) {
	return nil, errDirect
}

// Listen fails: a relay needs the whole address (see [Plug.ListenStack]).
func (p *Plug) Listen(ctx context.Context, s address.Segment) (net.Listener, error) {
	return nil, errDirect
}

// stackOf returns the relay URL and the stack label of a, the layers
// after the plug without their keys ("noise", "noise~yamux").
func stackOf(a address.Addr, authenticated bool) (*url.URL, string, error) {
	u, err := relayURL(a.Plug())
	if err != nil {
		return nil, "", err
	}
	if !authenticated {
		return nil, "", fmt.Errorf("relay: %s: a relayed stack needs a transform that authenticates the peer end to end (shs, noise)", a)
	}
	var names []string
	for _, s := range a.Transforms() {
		names = append(names, s.Name)
	}
	label := strings.Join(names, "~")
	if err := wire.CheckLabel(label); err != nil {
		return nil, "", err
	}
	return u, label, nil
}

// client returns the protocol client for the relay at u: one per URL,
// so that the conns through a relay share the bridge's HTTP transport.
func (p *Plug) client(u *url.URL) (*Client, error) {
	if p.Identity == nil {
		return nil, errors.New("relay: Plug.Identity is required")
	}
	if _, err := (&Client{Carriers: p.Carriers}).carriers(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	key := u.String()
	if cl := p.clients[key]; cl != nil {
		return cl, nil
	}
	cl := &Client{URL: key, Identity: p.Identity, TLSConfig: p.TLSConfig, Proxy: p.Proxy, HTTPClient: p.HTTPClient, Carriers: p.Carriers, Logger: p.Logger}
	cl.bridge = newBridgePlug(cl)
	if p.ladder == nil {
		p.ladder = newMemos()
	}
	cl.ladder = p.ladder
	if p.clients == nil {
		p.clients = map[string]*Client{}
	}
	if len(p.clients) >= maxMemos {
		clear(p.clients)
	}
	p.clients[key] = cl
	return cl, nil
}

func (p *Plug) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Logger
}

func (p *Plug) resumeTimeout() time.Duration {
	if p.ResumeTimeout <= 0 {
		return resume.DefaultResumeTimeout
	}
	return p.ResumeTimeout
}

// Direct configures hole punching for relayed conns ([Plug.Direct]).
// The zero value works with a relay that answers STUN on ports 3478 and
// 3479 of its host ("multiserver relay --stun 3478").
type Direct struct {
	// STUN lists the STUN responders, as host:port, that tell a peer its
	// public UDP address and whether its NAT maps it per destination:
	// the two ports of one responder. If empty, the relay's host on
	// ports 3478 and 3479.
	STUN []string
	// Budget bounds the probing of one attempt. If zero, 5s.
	Budget time.Duration
	// BirthdayBudget bounds an attempt between a cone and a symmetric
	// NAT, which sprays hundreds of probes from 256 sockets. If zero,
	// 30s; if negative, such pairs stay relayed.
	BirthdayBudget time.Duration
	// ListenPacket opens the UDP sockets of an attempt: to choose a
	// device, socket options or a network namespace. The attempt asks
	// first for a dual-stack socket (network "udp", address "[::]:0")
	// and, if that fails, for an IPv4 one ("udp4", "0.0.0.0:0"), which
	// offers and reaches IPv4 candidates only; birthday punching's
	// sockets are IPv4. If nil, net.ListenConfig{}.ListenPacket.
	ListenPacket func(ctx context.Context, network, address string) (net.PacketConn, error)
	// HostAddrs lists this host's own addresses, IPv4 and IPv6, which a
	// peer on the same network (or, for global IPv6 addresses, through
	// stateful firewalls) reaches directly; at most three of each family
	// are offered. If nil, the addresses of the host's interfaces,
	// loopback and link-local ones left out.
	HostAddrs func() ([]netip.Addr, error)
	// Retry is how long the dialer waits before it punches again after
	// an attempt failed or the direct path broke; failures in a row
	// double it, up to 10 minutes. A peer that declined is not asked
	// again on that conn. If zero or negative, 30s; longer than 10
	// minutes counts as 10 minutes.
	Retry time.Duration
}

// resumeConfig returns the resume configuration of c: its hooks keep
// c's path and carry the signals of hole punching.
func (p *Plug) resumeConfig(c *relayedConn, redial func(context.Context) (net.Conn, error)) *resume.Config {
	return &resume.Config{
		Window: p.Window, ResumeTimeout: p.ResumeTimeout, Redial: redial, Logger: p.Logger,
		OnResume: c.resumed,
		OnBreak:  c.broke,
		OnSignal: c.signal,
	}
}

// Addr is the address of a relayed conn's peer: its key, through the
// relay at URL. The key is what the relay authenticated; the transform
// above proves it again, end to end.
type Addr struct {
	URL string
	Key ed25519.PublicKey
}

// Network returns "relay".
func (a Addr) Network() string { return "relay" }

// String returns KEY@URL, with KEY in base64.
func (a Addr) String() string { return address.EncodeKey(a.Key) + "@" + a.URL }

// relayedConn is a relayed conn: a resumable stream over WebSockets to
// a relay. It says its path ([multiserver.PathConn]): relayed, carried
// by ws or wss.
type relayedConn struct {
	*resume.Conn
	p             *Plug
	relay         *url.URL
	dialer        bool
	local, remote Addr
	carrier       *carrierVar
	gone          func() // forgets the stream, on the listening side
	once          sync.Once

	pmu     sync.Mutex
	direct  bool          // bytes flow over a punched path now
	reason  string        // why the path is not direct, after an attempt
	changed chan struct{} // closed and replaced when the path changes
	up      *upgrader     // hole punching, once started
	rc      *resume.Conn  // Conn, for the hooks, which may run before it is set
	closed  bool
	only    bool // DirectOnly: never back to the relay
}

var (
	_ multiserver.PathWatcher = (*relayedConn)(nil)
	_ multiserver.WrapperConn = (*relayedConn)(nil)
)

func newRelayedConn(p *Plug, u *url.URL, dialer bool, local, remote Addr, carrier *carrierVar) *relayedConn {
	return &relayedConn{p: p, relay: u, dialer: dialer, local: local, remote: remote, carrier: carrier, changed: make(chan struct{})}
}

// setStream sets the resumable stream under c, made with c's hooks.
func (c *relayedConn) setStream(rc *resume.Conn) {
	c.Conn = rc
	c.pmu.Lock()
	c.rc = rc
	c.pmu.Unlock()
}

// Path reports the path of the moment: relayed over the carrier that
// reaches the relay now ("ws", "wss", "sse" or "poll"), or,
// after hole punching, direct over "quic". A relayed path says why it
// is not direct once an attempt failed.
func (c *relayedConn) Path() multiserver.Path {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	if c.direct {
		return multiserver.Path{Carrier: "quic"}
	}
	return multiserver.Path{Relayed: true, Carrier: c.carrier.get(), Reason: c.reason}
}

// DirectOnly makes c refuse to carry data through the relay again once
// its path went direct: when the direct path breaks, the conn fails
// rather than pair again through the relay. The holepunch plug asks it
// of the conns it dials and accepts.
func (c *relayedConn) DirectOnly() {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	c.only = true
}

func (c *relayedConn) directOnly() bool {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	return c.only
}

// PathChanged returns a channel closed at the next change of the path.
func (c *relayedConn) PathChanged() <-chan struct{} {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	return c.changed
}

// setPath records the path; a change closes the channel of
// PathChanged. c.pmu is held.
func (c *relayedConn) setPath(direct bool, reason string) {
	if c.direct == direct && c.reason == reason {
		return
	}
	c.direct, c.reason = direct, reason
	close(c.changed)
	c.changed = make(chan struct{})
}

// resumed is resume's OnResume: bytes flow over carrier now.
func (c *relayedConn) resumed(carrier net.Conn) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	direct := isDirect(carrier)
	reason := c.reason
	if direct {
		reason = ""
	}
	c.setPath(direct, reason)
}

// broke is resume's OnBreak: a direct path that breaks sends the conn
// back to the relay (the dialer's Redial pairs again).
func (c *relayedConn) broke(carrier net.Conn, err error) {
	if !isDirect(carrier) {
		return
	}
	c.pmu.Lock()
	c.setPath(false, "the direct path broke: "+err.Error())
	up := c.up
	c.pmu.Unlock()
	if up != nil {
		up.lost()
	}
}

// carrierVar is the carrier of a relayed conn, which a resume may
// change.
type carrierVar struct{ v atomic.Pointer[string] }

func newCarrierVar(c *Conn) *carrierVar {
	v := &carrierVar{}
	v.set(c)
	return v
}

func (v *carrierVar) set(c *Conn) { k := c.Carrier(); v.v.Store(&k) }
func (v *carrierVar) get() string { return *v.v.Load() }

// NetConn returns the resumable stream under c.
func (c *relayedConn) NetConn() net.Conn { return c.Conn }

// Read reads what the peer wrote. Its errors, but io.EOF, are
// *net.OpError values with Op "read" and Net "relay" that wrap the cause
// (os.ErrDeadlineExceeded, net.ErrClosed, the stream's failure), as a
// TCP conn's are.
func (c *relayedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	return n, c.opError("read", err)
}

// Write writes b to the peer. Its errors are *net.OpError values with Op
// "write", as Read's are.
func (c *relayedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	return n, c.opError("write", err)
}

func (c *relayedConn) opError(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return &net.OpError{Op: op, Net: "relay", Source: c.local, Addr: c.remote, Err: err}
}

// LocalAddr returns this side's key and the relay's URL.
func (c *relayedConn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the peer's key, as the relay authenticated it, and
// the relay's URL.
func (c *relayedConn) RemoteAddr() net.Addr { return c.remote }

// Close closes the stream: what was written is still delivered, within
// a second, unless the carrier is gone.
func (c *relayedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		if c.gone != nil {
			c.gone()
		}
		c.pmu.Lock()
		c.closed = true
		up := c.up
		c.pmu.Unlock()
		if up != nil {
			up.close()
		}
	})
	return err
}
