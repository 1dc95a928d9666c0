package multiserver

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/f7d52a8e/multiserver/address"
)

// A Plug carries bytes for one address prefix: "net", "unix", "mem",
// "ws", "wss", "quic", and any a program defines. Its segment is the
// first layer of an address. A plug whose connections carry streams
// natively (quic) is a [SessionPlug].
//
// Dial and Listen honour ctx while they establish; once they return, ctx
// no longer matters to the connection or listener.
//
// A plug that authenticates its peers itself, as quic's TLS does, says so
// with a method Authenticates() bool that returns true: its addresses
// need no transform, and one without is not plaintext.
type Plug interface {
	// Name returns the segment name the plug serves, e.g. "net".
	Name() string
	// Dial connects to the address in s.
	Dial(ctx context.Context, s address.Segment) (net.Conn, error)
	// Listen listens on the address in s. The listener may implement
	// [Advertiser] to say where it can be reached once it is listening
	// (real ports, interface addresses, a relay's address); otherwise s
	// itself is advertised, in every scope. A listener that depends on
	// a third party (a relay that may be down) should not fail Listen
	// when it is unreachable: return at once, come up in the background
	// with retries, advertise nothing until it is up, and say when its
	// address changes ([ChangingListener]).
	Listen(ctx context.Context, s address.Segment) (net.Listener, error)
}

// A FallbackPlug is a Plug that reaches peers through a third party, as a
// relay or an HTTP bridge does. Dial remembers per peer which address
// worked last and tries it first next time, but only among addresses of
// its class: an address whose plug says Fallback is never moved ahead of
// a direct one, whatever won before.
type FallbackPlug interface {
	Plug
	// Fallback reports whether the plug's connections go through a
	// third party.
	Fallback() bool
}

// A StackPlug is a Plug that sees the whole address it serves or dials,
// not only its own segment: a WebSocket plug refuses cross-origin
// upgrades for a stack that authenticates nobody and asks the Listener
// before it pays for an upgrade; a relay learns the key behind
// "~noise:KEY" and which stack a dialer wants. A Network calls
// ListenStack and DialStack instead of Listen and Dial on such plugs.
type StackPlug interface {
	Plug
	ListenStack(ctx context.Context, o ListenOptions) (net.Listener, error)
	DialStack(ctx context.Context, o DialOptions) (net.Conn, error)
}

// DialOptions tell a [StackPlug] what it dials.
type DialOptions struct {
	// Addr is the whole address dialed: the plug's segment first, then
	// the transforms' and muxer's.
	Addr address.Addr
	// Authenticated reports whether the stack authenticates the peer.
	Authenticated bool
}

// ListenOptions tell a [StackPlug] what it serves.
type ListenOptions struct {
	// Addr is the whole address served: the plug's segment first, then
	// the transforms' and muxer's, as given to Listen.
	Addr address.Addr
	// Authenticated reports whether the stack authenticates peers. It is
	// false for noauth and for an address with no transform.
	Authenticated bool
	// Admit reports whether the Listener would take a connection from
	// remote now, within [Config.MaxHandshakes] and
	// [Config.MaxHandshakesPerSource]. A plug that pays for a connection
	// before Accept (a WebSocket upgrade) asks first and refuses cheaply
	// when it says no. It is never nil.
	Admit func(remote net.Addr) bool
	// HandshakeTimeout is [Config.HandshakeTimeout]: how long a plug may
	// hold a connection it has paid for before Accept takes it.
	HandshakeTimeout time.Duration
}

// A Transform upgrades an established connection in place: "shs", "noise",
// "noauth". Its segment follows the plug's in an address.
//
// Client and Server run the handshake on c and return the upgraded conn.
// They honour ctx (the caller also sets a deadline on c), and on error
// they return without closing c: the caller does.
//
// A transform authenticates the peer unless it has a method
// Authenticates() bool that returns false, as noauth does. A Network
// serves an address with no transform (plaintext) only if it has such a
// transform, and by that transform's rules ([Advertiser] scopes).
type Transform interface {
	// Name returns the segment name the transform serves, e.g. "shs".
	Name() string
	// Client runs the dialing side, with s the transform's segment from
	// the dialed address (for example "shs:KEY", the key to expect).
	Client(ctx context.Context, c net.Conn, s address.Segment) (net.Conn, error)
	// Server runs the accepting side.
	Server(ctx context.Context, c net.Conn) (net.Conn, error)
}

// A SegmentChecker is a Plug, Transform or Muxer that checks the fields
// of its own segments, as each JavaScript multiserver plugin parses its
// own section. A Network parses addresses by the rules of each of its
// layers that is one, and takes any fields for a layer that is not.
// Packages that provide a layer also give its rules as an
// [address.Kind] (tcp.Kind, shs.Kind), for parsers without a Network.
type SegmentChecker interface {
	// CheckSegment reports what is wrong with s, a segment with the
	// layer's name. Its error must not quote a secret field (see
	// [address.Segment.Redacted]).
	CheckSegment(s address.Segment) error
}

// An Advertiser says how its layer appears in addresses given to peers in
// a scope. Plug listeners implement it to give their real addresses
// ("net:192.0.2.7:8008" for a listener on "net:0.0.0.0:8008"); transforms
// implement it to add their key ("shs:KEY"). A nil result means: do not
// advertise this stack in scope at all.
type Advertiser interface {
	Advertise(scope Scope) []address.Segment
}

// A Scope says which peers an advertised address is meant for, as in
// JavaScript multiserver.
type Scope int

const (
	// ScopeDevice is for peers on the same machine: loopback, unix sockets.
	ScopeDevice Scope = iota
	// ScopeLocal is for peers on the local network: private addresses.
	ScopeLocal
	// ScopePublic is for peers anywhere: global addresses and names.
	ScopePublic
)

var scopeNames = [...]string{"device", "local", "public"}

func (s Scope) String() string {
	if s < 0 || int(s) >= len(scopeNames) {
		return fmt.Sprintf("Scope(%d)", int(s))
	}
	return scopeNames[s]
}

// ParseScope parses "device", "local" (or "private") and "public".
func ParseScope(s string) (Scope, error) {
	switch strings.ToLower(s) {
	case "device":
		return ScopeDevice, nil
	case "local", "private":
		return ScopeLocal, nil
	case "public":
		return ScopePublic, nil
	}
	return 0, fmt.Errorf("multiserver: unknown scope %q", s)
}

// RemoteKey returns the authenticated Ed25519 key of the peer at the other
// end of c, looking through every layer ([KeyConn], [WrapperConn],
// [StreamConn]), as [Info] does. It reports false for conns whose stack
// authenticates nobody (noauth).
func RemoteKey(c net.Conn) (ed25519.PublicKey, bool) {
	k := Info(c).RemoteKey
	return k, k != nil
}
