package tunnel_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/interop/roomtest"
	"github.com/f7d52a8e/multiserver/plugs/tunnel"
)

func TestDialListen(t *testing.T) {
	for _, cfg := range []struct {
		name string
		cfg  roomtest.Config
	}{{"room2", roomtest.Config{}}, {"room1", roomtest.Config{Room1: true}}} {
		t.Run(cfg.name, func(t *testing.T) {
			room := roomtest.Start(t, cfg.cfg)
			a, b := newPeer(t, room.Addr), newPeer(t, room.Addr)
			ln, addr := b.listen(t, room)
			want := "tunnel:" + room.ID + ":" + b.tunnelID() + "~shs:" + address.EncodeKey(b.id.Public())
			if addr != want {
				t.Fatalf("advertised %q, want %q", addr, want)
			}
			c, err := a.n.Dial(ctxT(t, 20*time.Second), addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			s := accept(t, ln)
			exchange(t, c, s, 1<<20)
			if k, _ := multiserver.RemoteKey(c); !k.Equal(b.id.Public()) {
				t.Errorf("dialer's RemoteKey = %x, want the target's", k)
			}
			if k, _ := multiserver.RemoteKey(s); !k.Equal(a.id.Public()) {
				t.Errorf("listener's RemoteKey = %x, want the dialer's", k)
			}
			if info := multiserver.Info(c); !info.Path.Relayed || info.Path.Carrier != "net" {
				t.Errorf("Path = %+v, want relayed over net", info.Path)
			}
			if got := s.RemoteAddr().String(); !strings.Contains(got, a.tunnelID()) {
				t.Errorf("accepted RemoteAddr %q does not name the origin", got)
			}
			if room.Manifests.Load() == 0 {
				t.Error("no member answered the room's manifest call")
			}
		})
	}
}

func TestUnknownTarget(t *testing.T) {
	room := roomtest.Start(t, roomtest.Config{})
	a, nobody := newPeer(t, room.Addr), newPeer(t, room.Addr)
	addr := "tunnel:" + room.ID + ":" + nobody.tunnelID() + "~shs:" + address.EncodeKey(nobody.id.Public())
	_, err := a.n.Dial(ctxT(t, 20*time.Second), addr)
	var re *tunnel.RoomError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "could not connect to: "+nobody.tunnelID()) {
		t.Fatalf("Dial error %v, want the room's refusal", err)
	}
	if !errors.Is(err, multiserver.ErrHandshake) {
		t.Errorf("Dial error %v does not match ErrHandshake", err)
	}
}

func TestConfigErrors(t *testing.T) {
	room := roomtest.Start(t, roomtest.Config{})
	a, b := newPeer(t, room.Addr), newPeer(t)
	ctx := ctxT(t, 10*time.Second)
	other := roomtest.SSBIdentity(t)
	for _, tt := range []struct {
		name, addr string
		want       string
	}{
		{"unknown room", "tunnel:" + tunnel.ID(other.Public()) + ":" + b.tunnelID() + "~shs:" + address.EncodeKey(b.id.Public()), "not configured"},
		{"key is not the target's", "tunnel:" + room.ID + ":" + b.tunnelID() + "~shs:" + address.EncodeKey(other.Public()), "not the target's"},
		{"no transform", "tunnel:" + room.ID + ":" + b.tunnelID() + "~noauth", "authenticates"},
		{"no target", "tunnel:" + room.ID + "~shs:" + address.EncodeKey(b.id.Public()), "names no target"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.n.Dial(ctx, tt.addr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Dial error %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := b.n.Listen(ctx, "tunnel:"+room.ID+"~shs"); !errors.Is(err, tunnel.ErrUnknownRoom) {
		t.Errorf("Listen through an unknown room: %v, want ErrUnknownRoom", err)
	}
	ln, _ := a.listen(t, room)
	if _, err := a.n.Listen(ctx, "tunnel:"+room.ID+"~shs"); err == nil || !strings.Contains(err.Error(), "already listening") {
		t.Errorf("second Listen: %v, want already listening", err)
	}
	ln.Close()
}

// TestRejoin: a room that drops both members' sessions after each tunnel
// (as go-ssb-room does) and one that drops a member at random: the
// Listener comes back by itself, and the next dial works.
func TestRejoin(t *testing.T) {
	room := roomtest.Start(t, roomtest.Config{DropAfterTunnel: true})
	a, b := newPeer(t, room.Addr), newPeer(t, room.Addr)
	ln, addr := b.listen(t, room)
	for i := range 3 {
		joins := room.Joins(b.tunnelID())
		c, err := a.n.Dial(ctxT(t, 20*time.Second), addr)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		s := accept(t, ln)
		exchange(t, c, s, 64<<10)
		c.Close()
		s.Close()
		// The room drops the listener; it rejoins.
		waitRejoin(t, room, b.tunnelID(), joins)
		addr = waitAddr(t, ln)
	}
	joins := room.Joins(b.tunnelID())
	room.Drop(b.tunnelID())
	waitRejoin(t, room, b.tunnelID(), joins)
	waitAddr(t, ln)
}

// waitRejoin waits until id has joined the room more than joins times.
func waitRejoin(t *testing.T, room *roomtest.Room, id string, joins int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if room.Joins(id) > joins {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the member did not rejoin")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRoomRestart(t *testing.T) {
	id := roomtest.SSBIdentity(t)
	room := roomtest.StartAt(t, roomtest.Config{}, id, "net:127.0.0.1:0~shs")
	port := room.Addr[strings.LastIndex(room.Addr[:strings.Index(room.Addr, "~")], ":")+1 : strings.Index(room.Addr, "~")]
	b := newPeer(t, room.Addr)
	ln, _ := b.listen(t, room)
	room.Close()
	waitGone(t, ln)
	room = roomtest.StartAt(t, roomtest.Config{}, id, "net:127.0.0.1:"+port+"~shs")
	waitAddr(t, ln)
	a := newPeer(t, room.Addr)
	c, err := a.n.Dial(ctxT(t, 20*time.Second), ln.Address(multiserver.ScopePublic))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exchange(t, c, accept(t, ln), 1024)
}

// TestSilentRoom: a room that accepts the session and answers nothing.
func TestSilentRoom(t *testing.T) {
	room := roomtest.Start(t, roomtest.Config{Silent: true})
	b := newPeerWith(t, roomtest.SSBIdentity(t), func(p *tunnel.Plug) { p.CallTimeout = 300 * time.Millisecond }, room.Addr)
	ln, err := b.n.Listen(ctxT(t, 10*time.Second), "tunnel:"+room.ID+"~shs")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if a := ln.Address(multiserver.ScopePublic); a != "" {
		t.Fatalf("a listener through a silent room advertises %q", a)
	}
	ln.Close()
	a := newPeer(t, room.Addr)
	ctx := ctxT(t, 500*time.Millisecond)
	_, err = a.n.Dial(ctx, "tunnel:"+room.ID+":"+b.tunnelID()+"~shs:"+address.EncodeKey(b.id.Public()))
	if err == nil {
		t.Fatal("a dial through a silent room succeeded")
	}
}

func TestKeepAlive(t *testing.T) {
	room := roomtest.Start(t, roomtest.Config{})
	b := newPeerWith(t, roomtest.SSBIdentity(t), func(p *tunnel.Plug) { p.KeepAlive = 50 * time.Millisecond }, room.Addr)
	b.listen(t, room)
	deadline := time.Now().Add(20 * time.Second)
	for room.Pings.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d pings", room.Pings.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFlood: many dialers at once to a listener that accepts none; once
// the Network's backlog is full the plug's queue fills, the tunnels over
// MaxPending are refused (or over the handshake budget, when more
// handshakes run at once than it holds), and a tunnel already open
// carries on. (All from one origin: MaxPerOrigin is off here,
// TestOriginFlood has it.)
func TestFlood(t *testing.T) {
	room := roomtest.Start(t, roomtest.Config{})
	b := newPeerNet(t, roomtest.SSBIdentity(t), nil, func(p *tunnel.Plug) { p.MaxPending = 4; p.MaxPerOrigin = -1 },
		multiserver.Config{AcceptBacklog: 1}, room.Addr)
	a := newPeer(t, room.Addr)
	ln, addr := b.listen(t, room)
	c, err := a.n.Dial(ctxT(t, 20*time.Second), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := accept(t, ln)

	var wg sync.WaitGroup
	var mu sync.Mutex
	var refused int
	var others []string
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := ctxT(t, 3*time.Second)
			cc, err := a.n.Dial(ctx, addr)
			if err == nil {
				cc.Close()
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if msg := err.Error(); strings.Contains(msg, "too many tunnels waiting") || strings.Contains(msg, "too many handshakes in progress") {
				refused++
			} else {
				others = append(others, msg)
			}
		}()
	}
	exchange(t, c, s, 256<<10)
	wg.Wait()
	t.Logf("of 30 dials, %d refused, %d failed otherwise", refused, len(others))
	if refused == 0 {
		t.Errorf("no tunnel was refused; other errors: %q", others)
	}
	exchange(t, c, s, 1024)
}

// TestRoomOverWebSocket: the room's session runs over any stack the
// Network has, here ws~shs.
func TestRoomOverWebSocket(t *testing.T) {
	room := roomtest.StartAt(t, roomtest.Config{}, roomtest.SSBIdentity(t), "ws://127.0.0.1:0~shs")
	if !strings.HasPrefix(room.Addr, "ws://") {
		t.Fatalf("room address %s", room.Addr)
	}
	a, b := newPeerWS(t, room.Addr), newPeerWS(t, room.Addr)
	ln, addr := b.listen(t, room)
	c, err := a.n.Dial(ctxT(t, 20*time.Second), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exchange(t, c, accept(t, ln), 256<<10)
	if info := multiserver.Info(c); info.Path.Carrier != "ws" {
		t.Errorf("Path = %+v, want carried by ws", info.Path)
	}
}

// TestLyingRoom: the room's claim of who dials is only a RemoteAddr;
// RemoteKey is what shs proved.
func TestLyingRoom(t *testing.T) {
	liar := roomtest.SSBIdentity(t)
	room := roomtest.Start(t, roomtest.Config{Origin: tunnel.ID(liar.Public())})
	a, b := newPeer(t, room.Addr), newPeer(t, room.Addr)
	ln, addr := b.listen(t, room)
	c, err := a.n.Dial(ctxT(t, 20*time.Second), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := accept(t, ln)
	exchange(t, c, s, 1024)
	if k, _ := multiserver.RemoteKey(s); !k.Equal(a.id.Public()) {
		t.Errorf("RemoteKey = %s, want the dialer's %s", tunnel.ID(k), a.tunnelID())
	}
	if got := s.RemoteAddr().String(); !strings.Contains(got, tunnel.ID(liar.Public())) {
		t.Errorf("RemoteAddr = %s, want the room's claim", got)
	}
}
