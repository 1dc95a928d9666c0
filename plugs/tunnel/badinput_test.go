package tunnel_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/internal/muxrpc"
	"github.com/f7d52a8e/multiserver/interop/roomtest"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/plugs/tunnel"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

// TestMemberAnswers: the calls rooms and members make of a member get
// answers, wrong tunnel.connect calls get the room's kind of refusal,
// and the session goes on.
func TestMemberAnswers(t *testing.T) {
	room := roomtest.Start(t, roomtest.Config{})
	b := newPeer(t, room.Addr)
	ln, _ := b.listen(t, room)
	s := room.Session(b.tunnelID())
	ctx := ctxT(t, 20*time.Second)

	m, err := s.Async(ctx, []string{"manifest"})
	if err != nil || !json.Valid(m) || !strings.Contains(string(m), `"connect":"duplex"`) {
		t.Fatalf("manifest = %s, %v", m, err)
	}
	if v, err := s.Async(ctx, []string{"tunnel", "ping"}); err != nil || len(v) < 10 {
		t.Fatalf("tunnel.ping = %s, %v", v, err)
	}
	ping, err := s.Open(ctx, "duplex", []string{"gossip", "ping"}, map[string]int{"timeout": 300000})
	if err != nil {
		t.Fatal(err)
	}
	ping.WriteJSON(ctx, time.Now().UnixMilli())
	if p, err := ping.Read(ctx); err != nil || p.Type != muxrpc.JSON {
		t.Fatalf("gossip.ping answered %+v, %v", p, err)
	}
	ping.Close()

	other := roomtest.SSBIdentity(t)
	for _, tt := range []struct {
		name string
		args any
		want string
	}{
		{"another target", map[string]string{"target": "@" + strings.Repeat("A", 43) + "=.ed25519", "portal": room.ID, "origin": b.tunnelID()}, "could not connect to"},
		{"another portal", map[string]string{"target": b.tunnelID(), "portal": "@" + strings.Repeat("B", 43) + "=.ed25519", "origin": b.tunnelID()}, "could not connect to"},
		{"bad origin", map[string]string{"target": b.tunnelID(), "portal": room.ID, "origin": "nobody"}, "origin"},
		{"no opts", nil, "opts"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var st *muxrpc.Stream
			if tt.args == nil {
				st, err = s.Open(ctx, "duplex", []string{"tunnel", "connect"})
			} else {
				st, err = s.Open(ctx, "duplex", []string{"tunnel", "connect"}, tt.args)
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err := st.Read(ctx)
			var re *muxrpc.Error
			if !errors.As(err, &re) || !strings.Contains(re.Message, tt.want) {
				t.Fatalf("tunnel.connect: %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := s.Async(ctx, []string{"whatever", "else"}); err == nil || !strings.Contains(err.Error(), "no such method") {
		t.Fatalf("unknown method: %v", err)
	}
	_ = other
	// Still a member: a tunnel works.
	a := newPeer(t, room.Addr)
	c, err := a.n.Dial(ctx, ln.Address(0))
	if err == nil {
		defer c.Close()
		exchange(t, c, accept(t, ln), 1024)
	} else {
		t.Fatal(err)
	}
}

// TestRoomGarbage: a room that sends what is not muxrpc loses the
// member's session; the member rejoins, and its open tunnels through
// other sessions are not its concern.
func TestRoomGarbage(t *testing.T) {
	room := roomtest.Start(t, roomtest.Config{})
	b := newPeer(t, room.Addr)
	ln, _ := b.listen(t, room)
	for _, raw := range [][]byte{
		{0x0b, 0, 0, 0, 1, 0, 0, 0, 1, 'x'},  // body type 3
		{0x08, 0, 0x20, 0, 0, 0, 0, 0, 1},    // a 2 MiB body
		[]byte("GET / HTTP/1.1\r\n\r\n\r\n"), // not muxrpc at all
	} {
		joins := room.Joins(b.tunnelID())
		if err := room.Inject(b.tunnelID(), raw); err != nil {
			t.Fatal(err)
		}
		waitRejoin(t, room, b.tunnelID(), joins)
		waitAddr(t, ln)
	}
	a := newPeer(t, room.Addr)
	c, err := a.n.Dial(ctxT(t, 20*time.Second), ln.Address(0))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exchange(t, c, accept(t, ln), 1024)
}

// TestHandshakeBudget: a tunnel the Network has no handshake budget for
// is refused by the plug at once, before it costs a handshake.
func TestHandshakeBudget(t *testing.T) {
	room := roomtest.Start(t, roomtest.Config{})
	id := roomtest.SSBIdentity(t)
	st, err := shs.New(shs.Config{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	p := &tunnel.Plug{Identity: id, Rooms: []string{room.Addr}}
	n, err := multiserver.New(multiserver.Config{
		Plugs: []multiserver.Plug{&tcp.Plug{}, p}, Transforms: []multiserver.Transform{st},
		MaxHandshakes: 1, HandshakeTimeout: 20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	p.Dialer = n
	b := &peer{id: id, plug: p, n: n}
	b.listen(t, room)

	// A raw member that opens tunnels and never handshakes.
	a := newPeer(t, room.Addr)
	rc, err := a.n.Dial(ctxT(t, 10*time.Second), room.Addr)
	if err != nil {
		t.Fatal(err)
	}
	s := muxrpc.New(rc, muxrpc.Config{})
	defer s.Close()
	ctx := ctxT(t, 30*time.Second)
	args := map[string]string{"target": b.tunnelID(), "portal": room.ID}
	first, err := s.Open(ctx, "duplex", []string{"tunnel", "connect"}, args)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	for i := 0; ; i++ {
		st, err := s.Open(ctx, "duplex", []string{"tunnel", "connect"}, args)
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		_, err = st.Read(rctx)
		cancel()
		st.Close()
		if err != nil && strings.Contains(err.Error(), "too many handshakes in progress") {
			return
		}
		if i == 50 {
			t.Fatalf("no tunnel refused for the handshake budget; last: %v", err)
		}
	}
}
