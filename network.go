package multiserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/f7d52a8e/multiserver/address"
)

// Config says which plugs and transforms a [Network] can use. The zero
// value of every other field means its documented default. New copies
// the Config; it is never modified and may be reused.
type Config struct {
	// Plugs are the transports, at most one per name.
	Plugs []Plug
	// Transforms are the connection upgrades, at most one per name.
	Transforms []Transform
	// Muxers turn a connection into a Session of many streams, at most
	// one per name. An address whose last layer names one is served and
	// dialed as sessions.
	Muxers []Muxer
	// HandshakeTimeout bounds the transforms of one connection, inbound
	// and outbound, from the moment the plug has connected until the last
	// transform is done. It bounds a plug's dial as well, which may hold a
	// handshake of its own (a WebSocket upgrade, a proxy's CONNECT). If
	// zero, 10s.
	HandshakeTimeout time.Duration
	// DialStagger is how long Dial waits for one address before it also
	// starts the next, racing them (Happy Eyeballs). A failed attempt
	// starts the next at once. If zero, 250ms; if negative, addresses are
	// tried one at a time.
	DialStagger time.Duration
	// MaxHandshakes bounds the inbound handshakes in progress on one
	// Listener. Stacks reachable only from this device (loopback, unix,
	// mem) have a budget of this size of their own, so a flood from the
	// network never delays a local client. A connection that arrives
	// while its budget is full is accepted and closed at once, and a
	// WebSocket upgrade is answered 503. If zero, 256.
	MaxHandshakes int
	// MaxHandshakesPerSource bounds the inbound handshakes in progress
	// from one source, an IPv4 address or an IPv6 /64, so that one slow
	// or hostile host cannot take the whole budget. Behind a reverse
	// proxy every peer has the proxy's address: raise it there. If zero,
	// 16; if negative, no bound.
	MaxHandshakesPerSource int
	// AcceptBacklog bounds the conns, and sessions' streams, that a
	// Listener has handshaken and that wait for Accept. While that many
	// wait, the Listener stops accepting on its stacks, so that further
	// peers wait in each plug's own queue (the kernel's listen backlog,
	// a relay's or a room's queue, each refusing past its bound) rather
	// than pile up here while the application is slow to Accept.
	// Handshakes under way finish and may pass the bound by the
	// handshake budget. If zero or negative, 128: there is no unbounded
	// backlog.
	AcceptBacklog int
	// Stats, if not nil, counts what the Network's listeners and dials
	// do (see [Stats]). If nil, none of that is counted. Each Listener
	// keeps its [Listener.Usage] all the same: that is what tells whether
	// a stack can be dropped, and it cannot be rebuilt later.
	Stats *Stats
	// Logger receives debug records of what callers cannot see, such as
	// dropped inbound handshakes. A Listener logs at most 20 records a
	// second; it counts the rest, and logs the count when the second ends
	// or when it closes. If nil, nothing is logged.
	Logger *slog.Logger
}

// defaultAcceptBacklog is Config.AcceptBacklog's default, and a
// StreamListener's backlog.
const defaultAcceptBacklog = 128

// A Network dials and listens on addresses made of the plugs and
// transforms in its Config. It is safe for concurrent use.
type Network struct {
	cfg        Config
	plugs      map[string]Plug
	transforms map[string]Transform
	muxers     map[string]Muxer
	log        *slog.Logger
	parser     address.Parser // knows the configured layers, with their rules where they give them
	plaintext  Transform      // the first transform that authenticates nobody (noauth), or nil
	worked     peerMemory
}

// New returns a Network over cfg's plugs and transforms. It fails if two
// plugs or two transforms share a name.
func New(cfg Config) (*Network, error) {
	n := &Network{
		cfg:        cfg,
		plugs:      make(map[string]Plug),
		transforms: make(map[string]Transform),
		muxers:     make(map[string]Muxer),
		log:        cfg.Logger,
	}
	n.cfg.Plugs = append([]Plug(nil), cfg.Plugs...)
	n.cfg.Transforms = append([]Transform(nil), cfg.Transforms...)
	for _, p := range cfg.Plugs {
		if _, dup := n.plugs[p.Name()]; dup {
			return nil, fmt.Errorf("multiserver: two plugs named %q", p.Name())
		}
		n.plugs[p.Name()] = p
		n.parser.Kinds = append(n.parser.Kinds, kindOf(p, p.Name(), address.Plug))
	}
	for _, t := range cfg.Transforms {
		if _, dup := n.transforms[t.Name()]; dup {
			return nil, fmt.Errorf("multiserver: two transforms named %q", t.Name())
		}
		n.transforms[t.Name()] = t
		if n.plaintext == nil && !authenticates(t, true) {
			n.plaintext = t
		}
		n.parser.Kinds = append(n.parser.Kinds, kindOf(t, t.Name(), address.Transform))
	}
	for _, m := range cfg.Muxers {
		if _, dup := n.muxers[m.Name()]; dup {
			return nil, fmt.Errorf("multiserver: two muxers named %q", m.Name())
		}
		n.muxers[m.Name()] = m
		n.parser.Kinds = append(n.parser.Kinds, kindOf(m, m.Name(), address.Muxer))
	}
	if n.cfg.HandshakeTimeout == 0 {
		n.cfg.HandshakeTimeout = 10 * time.Second
	}
	if n.cfg.DialStagger == 0 {
		n.cfg.DialStagger = 250 * time.Millisecond
	}
	if n.cfg.MaxHandshakes <= 0 {
		n.cfg.MaxHandshakes = 256
	}
	if n.cfg.AcceptBacklog <= 0 {
		n.cfg.AcceptBacklog = defaultAcceptBacklog
	}
	if n.cfg.MaxHandshakesPerSource == 0 {
		n.cfg.MaxHandshakesPerSource = 16
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	return n, nil
}

// kindOf returns the grammar of layer x, named name: its own rules if it
// is a SegmentChecker, else any fields.
func kindOf(x any, name string, role address.Role) address.Kind {
	k := address.Kind{Name: name, Role: role}
	if c, ok := x.(SegmentChecker); ok {
		k.Check = c.CheckSegment
	}
	return k
}

// parse parses addrs, an address list given to Listen, Add or Drop. An
// alternative that names a layer n is not configured with is
// unsupported, not malformed: see [Network.unsupported].
func (n *Network) parse(addrs string) (address.List, error) {
	list, unknown, err := n.parser.ParseKnown(addrs)
	if err != nil {
		return nil, err
	}
	if len(unknown) > 0 {
		return nil, n.unsupported(unknown[0])
	}
	return list, nil
}

// unsupported returns the error for u, an alternative that names a
// layer n is not configured with: it wraps ErrUnsupportedAddress and
// names the first such layer, as stackFor does.
func (n *Network) unsupported(u address.Unknown) error {
	if _, err := n.stackFor(u.Addr); err != nil {
		return err
	}
	return fmt.Errorf("%w: %s", ErrUnsupportedAddress, u.Err.Msg) // not reached: u names a layer n lacks
}

// A stack is the plug, transforms and muxer an address names.
type stack struct {
	addr       address.Addr
	plug       Plug
	transforms []Transform
	muxer      Muxer     // nil unless the address ends in a muxer
	bare       Transform // for a plaintext address with no transform: the Network's plaintext transform, whose rules it follows
}

// authenticated reports whether st authenticates the peer: a transform
// does (all do but those that say otherwise, as noauth does), or the plug
// itself does (quic).
func (st stack) authenticated() bool {
	for _, t := range st.transforms {
		if authenticates(t, true) {
			return true
		}
	}
	return authenticates(st.plug, false)
}

// authenticates asks x whether it authenticates peers, with an
// Authenticates method; def is the answer when x has none.
func authenticates(x any, def bool) bool {
	if a, ok := x.(interface{ Authenticates() bool }); ok {
		return a.Authenticates()
	}
	return def
}

// stackFor finds the plug and transforms for a. The error wraps
// ErrUnsupportedAddress and names the first layer that is missing.
func (n *Network) stackFor(a address.Addr) (stack, error) {
	p, ok := n.plugs[a.Plug().Name]
	if !ok {
		return stack{}, fmt.Errorf("%w: no plug %q", ErrUnsupportedAddress, a.Plug().Name)
	}
	st := stack{addr: a, plug: p}
	for i, s := range a.Transforms() {
		if m, ok := n.muxers[s.Name]; ok && i == len(a)-2 {
			st.muxer = m
			break
		}
		t, ok := n.transforms[s.Name]
		if !ok {
			return stack{}, fmt.Errorf("%w: no transform %q", ErrUnsupportedAddress, s.Name)
		}
		st.transforms = append(st.transforms, t)
	}
	// An address with no transform over a plug that does not secure its
	// own connections is plaintext: a noauth stack by omission, served
	// by the transform that says it authenticates nobody. It takes
	// the same explicit opt-in, so that a Network configured with secure
	// transforms only never serves or dials plaintext by accident.
	if len(st.transforms) == 0 && !authenticates(p, false) {
		if n.plaintext == nil {
			return stack{}, fmt.Errorf("%w: %s has no transform, so it is plaintext: configure the noauth transform to use it", ErrUnsupportedAddress, a.Redacted())
		}
		st.bare = n.plaintext
	}
	return st, nil
}

// upgrade runs the transforms of st over c, as the dialer when client is
// true. It bounds them by ctx and HandshakeTimeout, and closes c when it
// fails. On failure layer names the transform that failed.
//
// A dial's trace, if tr is not nil, is told of each transform as the
// layer of the attempt on addr.
func (n *Network) upgrade(ctx context.Context, c net.Conn, st stack, client bool, tr *DialTrace, addr string) (_ net.Conn, layer string, _ error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.HandshakeTimeout)
	defer cancel()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	// A cancelled ctx aborts blocked reads and writes at once.
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	cur := c
	for i, t := range st.transforms {
		var (
			next net.Conn
			err  error
		)
		done := tr.layer(addr, t.Name(), "", "")
		if client {
			next, err = t.Client(ctx, cur, st.addr[i+1])
		} else {
			next, err = t.Server(ctx, cur)
		}
		if err == nil && i == len(st.transforms)-1 && !stop() {
			err = context.Cause(ctx) // ctx ended as the handshake finished
		}
		if err != nil {
			c.Close()
			if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
				err = fmt.Errorf("%w: %w", context.Cause(ctx), err)
			}
			err = &HandshakeError{Transform: t.Name(), Remote: c.RemoteAddr(), Err: err}
			done("", err)
			return nil, t.Name(), err
		}
		done("", nil)
		cur = next
	}
	c.SetDeadline(time.Time{})
	return cur, "", nil
}

// peerMemory remembers, per peer, the address that last worked.
type peerMemory struct {
	mu sync.Mutex
	m  map[string]string
}

// maxPeers bounds peerMemory; past it an arbitrary entry is forgotten.
const maxPeers = 4096

func (p *peerMemory) get(peer string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[peer]
}

func (p *peerMemory) set(peer, addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = make(map[string]string)
	}
	if _, ok := p.m[peer]; !ok && len(p.m) >= maxPeers {
		for k := range p.m {
			delete(p.m, k)
			break
		}
	}
	p.m[peer] = addr
}
