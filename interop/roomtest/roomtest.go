// Package roomtest runs an SSB room in process for the tunnel plug's
// tests: a multiserver Listener on net~shs whose members get a muxrpc
// session speaking Room 2.0 (room.metadata, room.attendants) or Room 1.0
// (tunnel.isRoom, tunnel.announce, tunnel.endpoints), and
// tunnel.connect between members, with what real rooms do that members
// must bear: duplicate "left" events, a manifest call to each member,
// the portal check, and optionally the member's session dropped right
// after a tunnel ends.
package roomtest

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/internal/muxrpc"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/plugs/ws"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

// SSBAppKey is the app key of the SSB main network, which rooms use.
var SSBAppKey, _ = base64.StdEncoding.DecodeString("1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s=")

// Config chooses how the room behaves.
type Config struct {
	// Room1 makes the room speak Room 1.0 only: it refuses room.metadata.
	Room1 bool
	// DropAfterTunnel closes the session of both members of a tunnel
	// once the tunnel ends, as go-ssb-room does in most runs.
	DropAfterTunnel bool
	// Silent accepts sessions and answers nothing.
	Silent bool
	// Origin, if set, is the origin the room claims for every tunnel
	// instead of the dialer's id: a lying room.
	Origin string
}

// TB is what Start needs of a test: *testing.T and *testing.B are ones.
type TB interface {
	Helper()
	Fatal(args ...any)
	Cleanup(func())
}

// A Room is a running room.
type Room struct {
	Key  ed25519.PublicKey
	ID   string // @KEY.ed25519
	Addr string // net:127.0.0.1:PORT~shs:KEY

	cfg Config
	ln  *multiserver.Listener
	wg  sync.WaitGroup

	mu       sync.Mutex
	members  map[string]*member // attendants, by id
	joins    map[string]int     // how often each id joined
	sessions map[*muxrpc.Session]bool
	closed   bool

	// Tunnels counts the tunnels the room joined.
	Tunnels atomic.Int64
	// Manifests counts the members that answered the room's manifest call.
	Manifests atomic.Int64
	// Pings counts the tunnel.ping calls members made.
	Pings atomic.Int64
}

type member struct {
	id     string
	c      net.Conn
	s      *muxrpc.Session
	ready  chan struct{} // closed once s is set
	events []chan any    // attendants or endpoints subscribers of this member
}

// SSBIdentity returns a new identity on the SSB network.
func SSBIdentity(t TB) *keys.Identity {
	t.Helper()
	id, err := keys.NewIdentity(keys.Generate(), SSBAppKey)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Start runs a room on 127.0.0.1 until the test ends.
func Start(t TB, cfg Config) *Room {
	t.Helper()
	id := SSBIdentity(t)
	return StartAt(t, cfg, id, "net:127.0.0.1:0~shs")
}

// StartAt runs a room with identity id listening on addr, a net~shs or
// ws~shs address.
func StartAt(t TB, cfg Config, id *keys.Identity, addr string) *Room {
	t.Helper()
	st, err := shs.New(shs.Config{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	n, err := multiserver.New(multiserver.Config{Plugs: []multiserver.Plug{&tcp.Plug{}, &ws.Plug{}}, Transforms: []multiserver.Transform{st}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := n.Listen(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	r := &Room{
		Key: id.Public(), ID: feedID(id.Public()), Addr: ln.Address(multiserver.ScopeDevice),
		cfg: cfg, ln: ln, members: map[string]*member{}, joins: map[string]int{}, sessions: map[*muxrpc.Session]bool{},
	}
	r.wg.Add(1)
	go r.serve()
	t.Cleanup(r.Close)
	return r
}

func feedID(k ed25519.PublicKey) string {
	return "@" + base64.StdEncoding.EncodeToString(k) + ".ed25519"
}

// Close stops the room and ends every session.
func (r *Room) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	var ss []*muxrpc.Session
	for s := range r.sessions {
		ss = append(ss, s)
	}
	r.mu.Unlock()
	r.ln.Close()
	for _, s := range ss {
		s.Close()
	}
	r.wg.Wait()
}

// Attendants returns the ids of the members present, sorted.
func (r *Room) Attendants() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for id := range r.members {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Session returns the session of the member id, or nil.
func (r *Room) Session(id string) *muxrpc.Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.members[id]; m != nil {
		return m.s
	}
	return nil
}

// Inject writes raw bytes to the member id, past its muxrpc session.
func (r *Room) Inject(id string, raw []byte) error {
	r.mu.Lock()
	m := r.members[id]
	r.mu.Unlock()
	if m == nil {
		return errors.New("roomtest: no member " + id)
	}
	_, err := m.c.Write(raw)
	return err
}

// Drop closes the session of the member id, as a room that drops
// members does.
func (r *Room) Drop(id string) {
	r.mu.Lock()
	m := r.members[id]
	r.mu.Unlock()
	if m != nil {
		m.s.Close()
	}
}

func (r *Room) serve() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		k, _ := multiserver.RemoteKey(c)
		id := feedID(k)
		if r.cfg.Silent {
			r.wg.Add(1)
			go func() { defer r.wg.Done(); io.Copy(io.Discard, c); c.Close() }()
			continue
		}
		m := &member{id: id, c: c, ready: make(chan struct{})}
		m.s = muxrpc.New(c, muxrpc.Config{Handlers: r.handlers(m)})
		close(m.ready) // its handlers may run before New returns
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			m.s.Close()
			return
		}
		r.sessions[m.s] = true
		r.mu.Unlock()
		r.wg.Add(1)
		go r.watch(m)
	}
}

// watch asks the new member for its manifest, as rooms do, and removes
// it when its session ends.
func (r *Room) watch(m *member) {
	defer r.wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if _, err := m.s.Async(ctx, []string{"manifest"}); err == nil {
		r.Manifests.Add(1)
	}
	cancel()
	<-m.s.Done()
	r.mu.Lock()
	delete(r.sessions, m.s)
	present := r.members[m.id] == m
	r.mu.Unlock()
	if present {
		r.remove(m)
	}
}

// Joins returns how many times id joined the room.
func (r *Room) Joins(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.joins[id]
}

func (r *Room) add(m *member) {
	<-m.ready // m.s is set before m is found
	r.mu.Lock()
	old := r.members[m.id]
	r.members[m.id] = m
	if old != m {
		r.joins[m.id]++
	}
	r.mu.Unlock()
	if old != nil && old != m {
		old.s.Close()
	}
	r.broadcast(m.id, true)
}

func (r *Room) remove(m *member) {
	r.mu.Lock()
	if r.members[m.id] == m {
		delete(r.members, m.id)
	}
	r.mu.Unlock()
	r.broadcast(m.id, false)
	// Real rooms repeat it.
	r.broadcast(m.id, false)
}

// broadcast tells every subscriber that id joined or left.
func (r *Room) broadcast(id string, joined bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, 0, len(r.members))
	for k := range r.members {
		ids = append(ids, k)
	}
	sort.Strings(ids)
	for _, m := range r.members {
		for _, ch := range m.events {
			var ev any
			switch {
			case r.cfg.Room1:
				ev = ids
			case joined:
				ev = map[string]string{"type": "joined", "id": id}
			default:
				ev = map[string]string{"type": "left", "id": id}
			}
			select {
			case ch <- ev:
			default:
			}
		}
	}
}

func (r *Room) handlers(m *member) map[string]muxrpc.Handler {
	hs := map[string]muxrpc.Handler{
		"tunnel.ping": func(context.Context, *muxrpc.Request) (any, error) {
			r.Pings.Add(1)
			return time.Now().UnixMilli(), nil
		},
		"tunnel.connect": func(ctx context.Context, req *muxrpc.Request) (any, error) {
			return r.connect(ctx, m, req)
		},
	}
	subscribe := func(ctx context.Context, req *muxrpc.Request, first any) (any, error) {
		ch := make(chan any, 64)
		r.mu.Lock()
		m.events = append(m.events, ch)
		r.mu.Unlock()
		r.add(m)
		go func() {
			defer req.Stream.CloseWithError(nil)
			if req.Stream.WriteJSON(ctx, first) != nil {
				return
			}
			go func() {
				// The subscriber's end ends its membership.
				req.Stream.Read(ctx)
				r.remove(m)
				r.mu.Lock()
				for i, c := range m.events {
					if c == ch {
						m.events = append(m.events[:i], m.events[i+1:]...)
						break
					}
				}
				r.mu.Unlock()
				close(ch)
			}()
			for ev := range ch {
				if req.Stream.WriteJSON(ctx, ev) != nil {
					return
				}
			}
		}()
		return nil, nil
	}
	if r.cfg.Room1 {
		hs["tunnel.isRoom"] = func(context.Context, *muxrpc.Request) (any, error) {
			return map[string]string{"name": "fake room", "description": "a room in a test"}, nil
		}
		hs["tunnel.announce"] = func(context.Context, *muxrpc.Request) (any, error) { r.add(m); return nil, nil }
		hs["tunnel.leave"] = func(context.Context, *muxrpc.Request) (any, error) { r.remove(m); return nil, nil }
		hs["tunnel.endpoints"] = func(ctx context.Context, req *muxrpc.Request) (any, error) {
			return subscribe(ctx, req, append(r.Attendants(), m.id))
		}
	} else {
		hs["room.metadata"] = func(context.Context, *muxrpc.Request) (any, error) {
			return map[string]any{"name": "fake room", "membership": false, "features": []string{"tunnel", "room1", "room2"}}, nil
		}
		hs["room.attendants"] = func(ctx context.Context, req *muxrpc.Request) (any, error) {
			return subscribe(ctx, req, map[string]any{"type": "state", "ids": append(r.Attendants(), m.id)})
		}
	}
	return hs
}

type connectArgs struct {
	Target string `json:"target"`
	Portal string `json:"portal"`
	Origin string `json:"origin,omitempty"`
}

// connect joins the caller's stream to a stream to the target.
func (r *Room) connect(ctx context.Context, from *member, req *muxrpc.Request) (any, error) {
	var a connectArgs
	if len(req.Args) == 0 || json.Unmarshal(req.Args[0], &a) != nil {
		return nil, errors.New("opts *must* be provided")
	}
	if a.Portal != r.ID {
		return nil, fmt.Errorf("portal is not this room: %s", a.Portal)
	}
	r.mu.Lock()
	to := r.members[a.Target]
	r.mu.Unlock()
	if to == nil {
		return nil, errors.New("could not connect to: " + a.Target)
	}
	a.Origin = from.id
	if r.cfg.Origin != "" {
		a.Origin = r.cfg.Origin
	}
	out, err := to.s.Open(ctx, "duplex", []string{"tunnel", "connect"}, a)
	if err != nil {
		return nil, errors.New("could not connect to: " + a.Target)
	}
	r.Tunnels.Add(1)
	in := req.Stream
	// The pipes outlive the caller's session by what it had sent: they
	// stop at the streams' ends, or when a session's end fails them.
	ctx = context.Background()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); pipe(ctx, in, out) }()
	go func() { defer wg.Done(); pipe(ctx, out, in) }()
	go func() {
		wg.Wait()
		if r.cfg.DropAfterTunnel {
			from.s.Close()
			to.s.Close()
		}
	}()
	return nil, nil
}

// pipe copies packets from src to dst and passes its end on; if it
// stops for another reason (the caller's session ended), it ends both.
func pipe(ctx context.Context, src, dst *muxrpc.Stream) {
	for {
		p, err := src.Read(ctx)
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			dst.CloseWithError(err)
			return
		}
		if err := dst.Write(ctx, p.Type, p.Body); err != nil {
			src.CloseWithError(err)
			dst.CloseWithError(err)
			return
		}
	}
}

// WaitAddress waits up to timeout until ln advertises a public address,
// as a tunnel Listener does once its room counts it among the members,
// and returns that address.
func WaitAddress(t TB, ln *multiserver.Listener, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		ch := ln.Changed()
		if a := ln.Address(multiserver.ScopePublic); a != "" {
			return a
		}
		select {
		case <-ch:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("the listener never became reachable through the room")
		}
	}
}
