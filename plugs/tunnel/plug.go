package tunnel

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/internal/muxrpc"
	"github.com/f7d52a8e/multiserver/internal/ratelog"
	"github.com/f7d52a8e/multiserver/keys"
)

// A Dialer dials a multiserver address. A *multiserver.Network is one:
// the plug reaches its rooms through the Network's own stacks.
type Dialer interface {
	Dial(ctx context.Context, addr string) (net.Conn, error)
}

// Plug is the "tunnel" plug: it reaches and is reached by SSB peers
// through rooms (spec/tunnel.md). It keeps one muxrpc session per room,
// dialed through Dialer, while a Listener or a tunnel needs it.
//
// Set Identity, Rooms and Dialer before first use; a Plug must not be
// copied after it.
type Plug struct {
	// Identity is this peer's key, the one its shs transform holds: the
	// tunnel address it advertises names it, and rooms know it by the
	// session Dialer opens. Required.
	Identity *keys.Identity
	// Rooms are the addresses of the rooms the plug may use, such as
	// "net:room.example:8008~shs:KEY", with the SSB app key (the room's
	// network) in the Network's shs transform. A tunnel address names
	// its room by key alone: the plug uses the address here whose key
	// (address.Addr.PeerKey) is the room's. Required.
	Rooms []string
	// Dialer opens the sessions to the rooms, normally the Network the
	// plug belongs to. Required.
	Dialer Dialer
	// KeepAlive is how often the plug calls tunnel.ping on each room
	// session, since rooms cut idle sessions (JavaScript rooms after 600
	// s). If zero, 60s.
	KeepAlive time.Duration
	// CallTimeout bounds the dial of a room session, each call the plug
	// makes to a room and the wait for a room's first membership event.
	// If zero, 15s.
	CallTimeout time.Duration
	// RetryMin and RetryMax bound the wait before a Listener joins its
	// room again after losing it: RetryMin first, doubling up to
	// RetryMax, back to RetryMin once joined. If zero, 1s and 1 minute.
	RetryMin, RetryMax time.Duration
	// StreamBuffer is how many bytes a tunnel buffers for its reader;
	// muxrpc has no flow control, and a tunnel whose reader falls further
	// behind fails ([ErrOverflow]). If zero, 4 MiB.
	StreamBuffer int
	// SessionBuffer is how many bytes all the tunnels through one room
	// buffer for their readers together. When they would buffer more,
	// the tunnel that buffers the most fails as if it had passed
	// StreamBuffer. With the packet being read and the write queue, a
	// room session holds at most about SessionBuffer + 4 MiB, however
	// many tunnels it carries. If zero, 64 MiB.
	SessionBuffer int
	// MaxPending bounds the tunnels a room hands a Listener that Accept
	// has not taken yet; more are refused. If zero, 64.
	MaxPending int
	// MaxPerOrigin bounds the tunnels one origin, the member a room
	// names as the dialer, may have open to this peer through one room
	// at once: waiting for Accept, in their handshake or accepted, until
	// they close. More are refused ("too many tunnels from ORIGIN"), so
	// that one member flooding tunnel.connect cannot take the room
	// session's calls, the pending queue or the Network's handshake
	// budget from the others. The origin is the room's claim, good
	// enough to share fairly (identity is what the handshake proves);
	// one member with many keys is many origins. If zero, 8; if
	// negative, no limit.
	MaxPerOrigin int
	// Logger gets debug records of room sessions, joins and refused
	// tunnels (those at most 10 a minute per room; the rest are counted,
	// and the count is logged when the minute ends). If nil, nothing is
	// logged.
	Logger *slog.Logger

	mu    sync.Mutex
	rooms map[string]*room // by room id
}

var (
	_ multiserver.StackPlug      = (*Plug)(nil)
	_ multiserver.FallbackPlug   = (*Plug)(nil)
	_ multiserver.SegmentChecker = (*Plug)(nil)
)

// Name returns "tunnel".
func (p *Plug) Name() string { return "tunnel" }

// Fallback returns true: a tunnel goes through a room, so a Network
// never prefers it to a direct address that worked.
func (p *Plug) Fallback() bool { return true }

var errDirect = errors.New("tunnel: the tunnel plug serves whole stacks: use it through a multiserver.Network")

// Dial fails: a tunnel needs the whole address (see [Plug.DialStack]).
func (p *Plug) Dial(ctx context.Context, s address.Segment) (net.Conn, error) {
	return nil, errDirect
}

// Listen fails: a tunnel needs the whole address (see [Plug.ListenStack]).
func (p *Plug) Listen(ctx context.Context, s address.Segment) (net.Listener, error) {
	return nil, errDirect
}

func (p *Plug) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Logger
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func (p *Plug) keepAlive() time.Duration   { return orDefault(p.KeepAlive, 60*time.Second) }
func (p *Plug) callTimeout() time.Duration { return orDefault(p.CallTimeout, 15*time.Second) }
func (p *Plug) retryMin() time.Duration    { return orDefault(p.RetryMin, time.Second) }
func (p *Plug) retryMax() time.Duration    { return orDefault(p.RetryMax, time.Minute) }

func (p *Plug) maxPending() int {
	if p.MaxPending <= 0 {
		return 64
	}
	return p.MaxPending
}

func (p *Plug) maxPerOrigin() int {
	if p.MaxPerOrigin == 0 {
		return 8
	}
	return p.MaxPerOrigin
}

func (p *Plug) self() (ed25519.PublicKey, error) {
	if p.Identity == nil {
		return nil, errors.New("tunnel: Plug.Identity is required")
	}
	return p.Identity.Public(), nil
}

// room returns the state of the room with key k, made on first use.
func (p *Plug) room(k ed25519.PublicKey) (*room, error) {
	if p.Dialer == nil {
		return nil, errors.New("tunnel: Plug.Dialer is required")
	}
	self, err := p.self()
	if err != nil {
		return nil, err
	}
	id := ID(k)
	p.mu.Lock()
	defer p.mu.Unlock()
	if r := p.rooms[id]; r != nil {
		return r, nil
	}
	for _, a := range p.Rooms {
		l, err := address.Parse(a)
		if err != nil {
			return nil, fmt.Errorf("tunnel: Plug.Rooms: %w", err)
		}
		if len(l) != 1 {
			return nil, fmt.Errorf("tunnel: Plug.Rooms: %s: one address per room", address.Redact(a))
		}
		key, err := address.DecodeKey(l[0].PeerKey())
		if err != nil || !ed25519.PublicKey(key).Equal(k) {
			continue
		}
		if p.rooms == nil {
			p.rooms = map[string]*room{}
		}
		r := &room{p: p, key: k, id: id, self: self, addr: a, carrier: l[0].Plug().Name, refusal: ratelog.New(p.Logger, 10, time.Minute)}
		p.rooms[id] = r
		return r, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownRoom, id)
}

// DialStack opens a tunnel to the target of "tunnel:ROOM_ID:TARGET_ID",
// through the room's session, which it opens if none is open. The
// transform above (shs, with the target's key) runs end to end: the
// room's refusal ("could not connect to …") comes as the first read's
// error, a *net.OpError that wraps a *RoomError, which the transform's
// handshake error wraps in turn: find it with errors.As.
func (p *Plug) DialStack(ctx context.Context, o multiserver.DialOptions) (net.Conn, error) {
	seg, err := ParseSegment(o.Addr.Plug())
	if err != nil {
		return nil, fmt.Errorf("tunnel: %w", err)
	}
	if seg.Target == nil {
		return nil, fmt.Errorf("tunnel: %s names no target: dial tunnel:ROOM_ID:TARGET_ID", o.Addr.Redacted())
	}
	if !o.Authenticated {
		return nil, fmt.Errorf("tunnel: %s: a tunnel needs a transform that authenticates the target end to end (shs)", o.Addr.Redacted())
	}
	if k := o.Addr.PeerKey(); k != "" {
		key, err := address.DecodeKey(k)
		if err != nil || !seg.Target.Equal(ed25519.PublicKey(key)) {
			return nil, fmt.Errorf("tunnel: %s: the transform's key is not the target's", o.Addr.Redacted())
		}
	}
	r, err := p.room(seg.Room)
	if err != nil {
		return nil, err
	}
	return r.dial(ctx, seg.Target)
}

// ListenStack joins the room of "tunnel:ROOM_ID" in the background and
// returns at once. The Listener advertises "tunnel:ROOM_ID:OUR_ID" once
// the room has sent its first membership event, rejoins with backoff
// whenever the room drops the session, and accepts the tunnels the room
// opens to this peer.
func (p *Plug) ListenStack(ctx context.Context, o multiserver.ListenOptions) (net.Listener, error) {
	seg, err := ParseSegment(o.Addr.Plug())
	if err != nil {
		return nil, fmt.Errorf("tunnel: %w", err)
	}
	if !o.Authenticated {
		return nil, fmt.Errorf("tunnel: %s: a tunnel needs a transform that authenticates peers end to end (shs)", o.Addr.Redacted())
	}
	self, err := p.self()
	if err != nil {
		return nil, err
	}
	if seg.Target != nil && !seg.Target.Equal(self) {
		return nil, fmt.Errorf("tunnel: %s: a listen address names this peer or nobody after the room", o.Addr.Redacted())
	}
	r, err := p.room(seg.Room)
	if err != nil {
		return nil, err
	}
	return r.listen(o.Admit)
}

// Errors of the plug.
var (
	// ErrUnknownRoom reports a tunnel address whose room is not among
	// Plug.Rooms.
	ErrUnknownRoom = errors.New("tunnel: room not configured in Plug.Rooms")
	// ErrNotRoom reports a peer that answers neither room.metadata nor
	// tunnel.isRoom as a room does.
	ErrNotRoom = errors.New("tunnel: peer is not a room")
	// ErrOverflow ends a tunnel whose reader fell behind by more than
	// Plug.StreamBuffer, or that buffered the most when the room's
	// tunnels together passed Plug.SessionBuffer: the lagging conn's
	// Read then fails with an error that matches it, and the other end
	// hears of it as an error that carries its text.
	ErrOverflow = muxrpc.ErrOverflow
)

// A RoomError is a room's refusal of a tunnel, with the room's words
// ("could not connect to: @…").
type RoomError struct {
	Room string // the room's id
	Msg  string // the room's message
}

func (e *RoomError) Error() string { return "tunnel: room " + e.Room + ": " + e.Msg }

// Addr is the address of one end of a tunnel: a peer, through a room.
// For an accepted tunnel the remote peer is the origin the room names;
// the transform above proves who it is.
type Addr struct {
	Room, Peer ed25519.PublicKey
}

// Network returns "tunnel".
func (a Addr) Network() string { return "tunnel" }

// String returns "tunnel:ROOM_ID:PEER_ID".
func (a Addr) String() string { return "tunnel:" + ID(a.Room) + ":" + ID(a.Peer) }
