package tunnel_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/internal/logtest"
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

	for _, tt := range []struct {
		name string
		args any
		want string
	}{
		{"another target", map[string]string{"target": "@" + strings.Repeat("A", 43) + "=.ed25519", "portal": room.ID, "origin": b.tunnelID()}, "could not connect to"},
		{"another portal", map[string]string{"target": b.tunnelID(), "portal": "@" + strings.Repeat("B", 43) + "=.ed25519", "origin": b.tunnelID()}, "could not connect to"},
		{"bad origin", map[string]string{"target": b.tunnelID(), "portal": room.ID, "origin": "nobody"}, "origin"},
		{"no opts", nil, "opts *must* be provided"},
		{"opts not an object", "x", "opts: json: cannot unmarshal string"},
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

// TestOriginFlood: one member floods tunnel.connect, more calls than
// the session takes, and never handshakes. Past MaxPerOrigin its calls
// are refused with a reason, while another member still gets a tunnel
// that works; once the flood ends, the flooder gets its share back.
func TestOriginFlood(t *testing.T) {
	const flood = 300 // over the session's MaxIncoming (256)
	room := roomtest.Start(t, roomtest.Config{})
	// Handshakes that wait long, so the flood's tunnels stay open.
	var logs logtest.Buffer
	b := newPeerNet(t, roomtest.SSBIdentity(t), nil, func(p *tunnel.Plug) { p.Logger = logtest.Debug(&logs) }, multiserver.Config{HandshakeTimeout: time.Minute}, room.Addr)
	ln, addr := b.listen(t, room)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	flooder, other := newPeer(t, room.Addr), newPeer(t, room.Addr)

	// The room's session with b: the test plays the room, and names the
	// flooder as the origin of every call.
	s := room.Session(b.tunnelID())
	ctx := ctxT(t, time.Minute)
	args := map[string]string{"target": b.tunnelID(), "portal": room.ID, "origin": flooder.tunnelID()}
	streams := make([]*muxrpc.Stream, flood)
	for i := range streams {
		st, err := s.Open(ctx, "duplex", []string{"tunnel", "connect"}, args)
		if err != nil {
			t.Fatal(err)
		}
		streams[i] = st
	}
	defer func() {
		for _, st := range streams {
			st.Close()
		}
	}()
	refusals := make(chan error, flood)
	rctx, stop := context.WithCancel(ctx)
	for _, st := range streams {
		go func() {
			_, err := st.Read(rctx)
			refusals <- err
		}()
	}
	// While the burst arrives faster than refusals are sent, the
	// session's own bound may refuse some calls too.
	want := "too many tunnels from " + flooder.tunnelID()
	capped, refused := 0, 0
	for refused < flood-8 {
		select {
		case err := <-refusals:
			switch {
			case err != nil && strings.Contains(err.Error(), want):
				capped++
			case err != nil && strings.Contains(err.Error(), muxrpc.ErrTooManyCalls.Error()):
			default:
				t.Fatalf("a flooding call ended with %v, want %q", err, want)
			}
			refused++
		case <-time.After(30 * time.Second):
			t.Fatalf("%d of %d flooding calls refused, want %d", refused, flood, flood-8)
		}
	}
	if capped < flood-muxrpc.DefaultMaxIncoming {
		t.Errorf("%d calls refused for their origin, want at least %d", capped, flood-muxrpc.DefaultMaxIncoming)
	}
	t.Logf("%d refused for their origin, %d by the session's bound", capped, refused-capped)
	// The flood does not flood the log.
	if n := strings.Count(logs.String(), "too many from its origin"); n == 0 || n > 10 {
		t.Errorf("%d refusals logged, want 1 to 10 a minute", n)
	}
	// The 8 in the origin's share wait in their handshakes.
	select {
	case err := <-refusals:
		t.Fatalf("a call within the origin's share ended: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	stop()
	for range 8 {
		<-refusals
	}

	echo := func(p *peer) error {
		c, err := p.n.Dial(ctxT(t, 20*time.Second), addr)
		if err != nil {
			return err
		}
		defer c.Close()
		if _, err := c.Write([]byte("fair")); err != nil {
			return err
		}
		got := make([]byte, 4)
		if _, err := io.ReadFull(c, got); err != nil {
			return err
		}
		if string(got) != "fair" {
			return fmt.Errorf("echoed %q", got)
		}
		return nil
	}
	if err := echo(other); err != nil {
		t.Fatalf("another member during the flood: %v", err)
	}

	// The flood ends: its tunnels close, and the flooder's share is free.
	for _, st := range streams {
		st.Close()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := echo(flooder)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the flooder after its flood: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSessionBuffer: tunnels through one room share SessionBuffer. A
// tunnel whose reader lags past it fails with ErrOverflow, below its own
// StreamBuffer, and the room's session carries on for the next tunnel.
func TestSessionBuffer(t *testing.T) {
	room := roomtest.Start(t, roomtest.Config{})
	b := newPeerWith(t, roomtest.SSBIdentity(t), func(p *tunnel.Plug) { p.SessionBuffer = 256 << 10 }, room.Addr)
	a := newPeer(t, room.Addr)
	ln, addr := b.listen(t, room)
	c, err := a.n.Dial(ctxT(t, 20*time.Second), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := accept(t, ln) // and never read, until the sender is done
	sent := make(chan error, 1)
	go func() {
		_, err := c.Write(make([]byte, 1<<20))
		sent <- err
	}()
	select {
	case <-sent: // the room took it all: muxrpc has no flow control
	case <-time.After(30 * time.Second):
		t.Fatal("the sender is stuck")
	}
	// The overflow ends the tunnel both ways: the sender hears of it.
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || !strings.Contains(err.Error(), tunnel.ErrOverflow.Error()) {
		t.Fatalf("the sender read %v, want the overflow", err)
	}
	s.SetReadDeadline(time.Now().Add(30 * time.Second))
	n, err := io.Copy(io.Discard, s)
	if !errors.Is(err, tunnel.ErrOverflow) {
		t.Fatalf("the lagging reader read %d bytes, then %v; want ErrOverflow", n, err)
	}
	if n >= 256<<10 {
		t.Fatalf("the lagging reader read %d bytes, more than the session buffers", n)
	}
	c2, err := a.n.Dial(ctxT(t, 20*time.Second), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	exchange(t, c2, accept(t, ln), 64<<10)
}
