package tunnel

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/f7d52a8e/multiserver/internal/muxrpc"
	"github.com/f7d52a8e/multiserver/internal/ratelog"
)

// A room is the plug's state for one configured room: its muxrpc
// session, while anything uses it, and its Listener, if any.
type room struct {
	p       *Plug
	key     ed25519.PublicKey
	id      string // the room's SSB id
	self    ed25519.PublicKey
	addr    string          // the room's multiserver address
	carrier string          // the plug of addr, for Path
	refusal *ratelog.Logger // the tunnels refused: at most 10 records a minute, so a flood does not flood the log

	mu       sync.Mutex
	sess     *muxrpc.Session // the current session; may have ended
	dialing  chan struct{}   // closed when the dial in progress is done
	users    int             // listener, tunnels and dials in progress
	listener *listener
	origins  map[string]int // tunnels open to this peer, by origin
	wg       sync.WaitGroup // keepalive goroutines
}

// takeOrigin counts a tunnel from origin, if origin is under
// Plug.MaxPerOrigin.
func (r *room) takeOrigin(origin string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if max := r.p.maxPerOrigin(); max > 0 && r.origins[origin] >= max {
		return false
	}
	if r.origins == nil {
		r.origins = map[string]int{}
	}
	r.origins[origin]++
	return true
}

// giveOrigin gives back a tunnel from origin.
func (r *room) giveOrigin(origin string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.origins[origin]--; r.origins[origin] <= 0 {
		delete(r.origins, origin)
	}
}

// acquire counts a user of the room's session.
func (r *room) acquire() {
	r.mu.Lock()
	r.users++
	r.mu.Unlock()
}

// release gives back a user; the last one closes the session.
func (r *room) release() {
	r.mu.Lock()
	r.users--
	var s *muxrpc.Session
	if r.users == 0 {
		s, r.sess = r.sess, nil
	}
	r.mu.Unlock()
	if s != nil {
		s.Close()
		r.p.logger().Debug("tunnel: room session closed, unused", "room", r.id)
	}
}

// session returns the room's session, dialing it if there is none. The
// caller must hold a user (acquire).
func (r *room) session(ctx context.Context) (*muxrpc.Session, error) {
	r.mu.Lock()
	for {
		if s := r.sess; s != nil && s.Err() == nil {
			r.mu.Unlock()
			return s, nil
		}
		if ch := r.dialing; ch != nil {
			r.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			r.mu.Lock()
			continue
		}
		ch := make(chan struct{})
		r.dialing = ch
		r.mu.Unlock()
		// The dial is bounded here, whatever the Dialer: a room that never
		// answers must not hold a Listener's member loop until Close.
		dctx, cancel := context.WithTimeout(ctx, r.p.callTimeout())
		c, err := r.p.Dialer.Dial(dctx, r.addr)
		cancel()
		r.mu.Lock()
		r.dialing = nil
		close(ch)
		if err != nil {
			r.mu.Unlock()
			return nil, fmt.Errorf("tunnel: room %s: %w", r.id, err)
		}
		if r.users == 0 {
			r.mu.Unlock()
			c.Close()
			return nil, errors.New("tunnel: room session no longer needed")
		}
		s := muxrpc.New(c, muxrpc.Config{
			Handlers:      r.handlers(),
			StreamBuffer:  r.p.StreamBuffer,
			SessionBuffer: r.p.SessionBuffer,
			Logger:        r.p.Logger,
		})
		r.sess = s
		r.wg.Add(1)
		go r.keepAlive(s)
		r.p.logger().Debug("tunnel: room session open", "room", r.id)
	}
}

// keepAlive pings the room every KeepAlive while s lives, and closes s
// if the room does not answer within CallTimeout.
func (r *room) keepAlive(s *muxrpc.Session) {
	defer r.wg.Done()
	t := time.NewTicker(r.p.keepAlive())
	defer t.Stop()
	for {
		select {
		case <-s.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), r.p.callTimeout())
		_, err := s.Async(ctx, []string{"tunnel", "ping"})
		cancel()
		var re *muxrpc.Error
		if err != nil && !errors.As(err, &re) {
			r.p.logger().Debug("tunnel: room keepalive failed", "room", r.id, "err", err)
			s.Close()
			return
		}
	}
}

// dial opens a tunnel to target through the room.
func (r *room) dial(ctx context.Context, target ed25519.PublicKey) (net.Conn, error) {
	r.acquire()
	s, err := r.session(ctx)
	if err != nil {
		r.release()
		return nil, err
	}
	st, err := s.Open(ctx, "duplex", []string{"tunnel", "connect"}, connectArgs{Target: ID(target), Portal: r.id})
	if err != nil {
		r.release()
		return nil, fmt.Errorf("tunnel: room %s: %w", r.id, err)
	}
	return newConn(st, r, Addr{Room: r.key, Peer: r.self}, Addr{Room: r.key, Peer: target}), nil
}

// connectArgs is the argument of tunnel.connect: the dialer sends target
// and portal; the room adds origin when it calls the target.
type connectArgs struct {
	Target string `json:"target"`
	Portal string `json:"portal"`
	Origin string `json:"origin,omitempty"`
}

// manifest is what this peer answers to "manifest": the methods it
// serves.
var manifest = map[string]any{
	"manifest": "sync",
	"tunnel":   map[string]string{"connect": "duplex", "ping": "sync", "isRoom": "async"},
	"gossip":   map[string]string{"ping": "duplex"},
}

// handlers answer the calls a room and its members make.
func (r *room) handlers() map[string]muxrpc.Handler {
	return map[string]muxrpc.Handler{
		"tunnel.connect": r.onConnect,
		"manifest": func(context.Context, *muxrpc.Request) (any, error) {
			return manifest, nil
		},
		"tunnel.ping": func(context.Context, *muxrpc.Request) (any, error) {
			return time.Now().UnixMilli(), nil
		},
		"tunnel.isRoom": func(context.Context, *muxrpc.Request) (any, error) {
			return false, nil
		},
		"gossip.ping": onPing,
		"conn.ping":   onPing,
	}
}

// onPing answers a ping stream: each timestamp the peer sends gets this
// peer's time back, until the peer ends.
func onPing(ctx context.Context, req *muxrpc.Request) (any, error) {
	if req.Type != "duplex" {
		return nil, fmt.Errorf("%w: %s ping", muxrpc.ErrNoMethod, req.Type)
	}
	go func() {
		defer req.Stream.CloseWithError(nil)
		for {
			if _, err := req.Stream.Read(ctx); err != nil {
				return
			}
			if req.Stream.WriteJSON(ctx, time.Now().UnixMilli()) != nil {
				return
			}
		}
	}()
	return nil, nil
}

// onConnect takes a tunnel the room opens to this peer.
func (r *room) onConnect(ctx context.Context, req *muxrpc.Request) (any, error) {
	if req.Type != "duplex" {
		return nil, fmt.Errorf("%w: %s tunnel.connect", muxrpc.ErrNoMethod, req.Type)
	}
	var a connectArgs
	if len(req.Args) == 0 {
		return nil, errors.New("tunnel.connect: opts *must* be provided")
	}
	if err := json.Unmarshal(req.Args[0], &a); err != nil {
		return nil, fmt.Errorf("tunnel.connect: opts: %w", err)
	}
	refuse := errors.New("could not connect to " + a.Target)
	if a.Target != ID(r.self) || (a.Portal != "" && a.Portal != r.id) {
		return nil, refuse
	}
	origin, err := ParseID(a.Origin)
	if err != nil {
		return nil, fmt.Errorf("tunnel.connect: origin: %w", err)
	}
	r.mu.Lock()
	l := r.listener
	r.mu.Unlock()
	if l == nil {
		return nil, refuse
	}
	// The origin's share first, so that a flood from one member is
	// refused before it counts against what all members share.
	key := ID(origin)
	if !r.takeOrigin(key) {
		r.refusal.Debug("tunnel: tunnel refused, too many from its origin", "room", r.id, "origin", key, "max", r.p.maxPerOrigin())
		return nil, errors.New("could not connect to " + a.Target + ": too many tunnels from " + key)
	}
	remote := Addr{Room: r.key, Peer: origin}
	if l.admit != nil && !l.admit(remote) {
		// The Network's handshake budget is full: refuse before paying.
		r.giveOrigin(key)
		r.refusal.Debug("tunnel: tunnel refused, handshake budget full", "room", r.id, "origin", key)
		return nil, errors.New("could not connect to " + a.Target + ": too many handshakes in progress")
	}
	r.acquire()
	c := newConn(req.Stream, r, Addr{Room: r.key, Peer: r.self}, remote)
	c.origin = key
	if !l.offer(c) {
		r.giveOrigin(key)
		// Not here: the last release closes the session, whose Close
		// waits for this handler.
		go r.release()
		r.refusal.Debug("tunnel: tunnel refused, too many waiting", "room", r.id, "origin", key)
		return nil, errors.New("could not connect to " + a.Target + ": too many tunnels waiting")
	}
	return nil, nil
}
