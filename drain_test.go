package multiserver_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/mux/yamux"
	"github.com/f7d52a8e/multiserver/plugs/mem"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/transforms/noauth"
	"github.com/f7d52a8e/multiserver/transforms/noise"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

// TestDrainStack drains a stack: it leaves the advertised address at
// once, keeps serving through the grace period, is dropped after it, and
// the conns it carried survive.
func TestDrainStack(t *testing.T) {
	n := newNetwork(t, multiserver.Config{})
	ln := listen(t, n, "net:127.0.0.1:0~hello;mem:new~noauth")
	echo(t, ln)
	old := ln.Addresses(multiserver.ScopeDevice)[0].String()
	ctx := context.Background()
	before, err := n.Dial(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()
	roundTrip(t, before, "before")

	changed := ln.Changed()
	const grace = time.Second
	start := time.Now()
	if err := ln.Drain(old, grace); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Fatal("Drain did not signal Changed at once")
	}
	if got := ln.Address(multiserver.ScopeDevice); got != "mem:new~noauth" {
		t.Fatalf("Address while draining = %q, want the new stack alone", got)
	}
	u := ln.Usage()
	if len(u) != 2 || u[0].DrainUntil.IsZero() || !u[1].DrainUntil.IsZero() {
		t.Fatalf("Usage while draining = %+v, want the old stack draining and the new not", u)
	}
	// Still served through the grace period, to peers that knew it.
	during, err := n.Dial(ctx, old)
	if err != nil {
		t.Fatalf("dial of a draining stack: %v", err)
	}
	defer during.Close()
	if time.Since(start) < grace {
		roundTrip(t, during, "during")
	}
	// Then dropped.
	for deadline := time.Now().Add(10 * time.Second); len(ln.Usage()) != 1; {
		if time.Now().After(deadline) {
			t.Fatalf("stack not dropped 10s after a %v drain: %+v", grace, ln.Usage())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if time.Since(start) < grace {
		t.Fatalf("dropped after %v, before the grace period of %v", time.Since(start), grace)
	}
	if _, err := n.Dial(ctx, old); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("dial after the drain = %v, want connection refused", err)
	}
	// The conns it carried were never cut.
	roundTrip(t, before, "before, after the drop")
	roundTrip(t, during, "during, after the drop")

	if err := ln.Drain(old, time.Second); err == nil {
		t.Error("Drain of a stack dropped succeeded")
	}
	if err := ln.Drain("mem:new~noauth", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := ln.Drop("mem:new~noauth"); err != nil {
		t.Errorf("Drop of a draining stack: %v", err)
	}
}

// TestDrainThenClose closes a Listener with a drain under way: nothing
// is left running (the leak check in TestMain sees to that).
func TestDrainThenClose(t *testing.T) {
	n := newNetwork(t, multiserver.Config{})
	ln := listen(t, n, "mem:a~noauth;mem:b~noauth")
	if err := ln.Drain("mem:a~noauth", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := ln.Drain("mem:a~noauth;mem:b~noauth", 0); err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if err := ln.Drain("mem:b~noauth", time.Second); err == nil {
		t.Error("Drain after Close succeeded")
	}
}

// TestUsage has three peers: one speaks only the old cipher, one both,
// one only the new. The old stack's usage names the one peer dropping it
// would cut off.
func TestUsage(t *testing.T) {
	app := keys.OpenNetwork()
	peer := func(speaks ...string) (*multiserver.Network, ed25519.PublicKey) {
		id, err := keys.NewIdentity(keys.Generate(), app)
		if err != nil {
			t.Fatal(err)
		}
		var ts []multiserver.Transform
		for _, s := range speaks {
			var tr multiserver.Transform
			if s == "shs" {
				tr, err = shs.New(shs.Config{Identity: id})
			} else {
				tr, err = noise.New(noise.Config{Identity: id})
			}
			if err != nil {
				t.Fatal(err)
			}
			ts = append(ts, tr)
		}
		return newNetwork(t, multiserver.Config{Plugs: []multiserver.Plug{&tcp.Plug{}, mem.New()}, Transforms: ts}), id.Public()
	}
	server, _ := peer("shs", "noise")
	ln := listen(t, server, "net:127.0.0.1:0~shs;net:127.0.0.1:0~noise")
	echo(t, ln)
	oldOnly, oldKey := peer("shs")
	both, _ := peer("shs", "noise")
	newOnly, newKey := peer("noise")
	list := ln.Addresses(multiserver.ScopeDevice)
	ctx := context.Background()
	dial := func(n *multiserver.Network, addr string) {
		t.Helper()
		c, err := n.Dial(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, c, "x")
		c.Close()
	}
	begin := time.Now()
	dial(oldOnly, list.String())
	dial(oldOnly, list.String())
	dial(both, list[0].String())
	dial(both, list[1].String())
	dial(newOnly, list.String())

	u := ln.Usage()
	if len(u) != 2 {
		t.Fatalf("Usage = %+v, want 2 stacks", u)
	}
	old, nu := u[0], u[1]
	if old.Total != 3 || old.LastHour != 3 || old.LastDay != 3 || old.Peers != 2 || old.OnlyHere != 1 ||
		len(old.OnlyHereKeys) != 1 || !bytes.Equal(old.OnlyHereKeys[0], oldKey) {
		t.Errorf("old stack's usage %+v, want 3 conns from 2 peers, 1 of them (%x) only here", old, oldKey)
	}
	if nu.Total != 2 || nu.Peers != 2 || nu.OnlyHere != 1 || !bytes.Equal(nu.OnlyHereKeys[0], newKey) {
		t.Errorf("new stack's usage %+v, want 2 conns from 2 peers, 1 of them (%x) only here", nu, newKey)
	}
	if old.Reach.String() != list[0].String() || nu.Reach.String() != list[1].String() {
		t.Errorf("stacks reached at %q and %q, want %q and %q", old.Reach, nu.Reach, list[0], list[1])
	}
	if old.Last.Before(begin) || old.Since.After(begin) || !old.DrainUntil.IsZero() {
		t.Errorf("old stack's usage %+v: times wrong", old)
	}
	// Once the old stack is gone, the peer that used both is only the new one's.
	if err := ln.Drop(list[0].String()); err != nil {
		t.Fatal(err)
	}
	if u := ln.Usage(); len(u) != 1 || u[0].Peers != 2 || u[0].OnlyHere != 2 {
		t.Errorf("Usage after the drop = %+v, want the new stack with 2 peers, both only here", u)
	}
}

// TestDrainRandomized races drains with short grace periods against
// drops, adds, dials, Usage and Close, many times: the race detector and
// the leak check in TestMain judge, and every stack ends up served once
// or dropped once.
func TestDrainRandomized(t *testing.T) {
	for round := range 50 {
		n := newNetwork(t, multiserver.Config{})
		ln := listen(t, n, "mem:a~noauth;mem:b~noauth;mem:c~noauth")
		echo(t, ln)
		done := make(chan struct{})
		var ops []func()
		for i, name := range []string{"a", "b", "c"} {
			addr := "mem:" + name + "~noauth"
			ops = append(ops,
				func() { ln.Drain(addr, time.Duration((round+i)%4)*time.Millisecond) },
				func() { ln.Drop(addr) },
				func() { ln.Add(context.Background(), "mem:"+name+"2~noauth") },
				func() {
					if c, err := n.Dial(context.Background(), addr); err == nil {
						c.Close()
					}
				},
				func() { ln.Usage(); ln.Address(multiserver.ScopeDevice) },
			)
		}
		for range 4 {
			go func() {
				defer func() { done <- struct{}{} }()
				for range 20 {
					ops[rand.IntN(len(ops))]()
				}
			}()
		}
		if round%2 == 0 {
			ln.Close()
		}
		for range 4 {
			<-done
		}
		ln.Close()
	}
}

// TestDrainAgain drains a stack with no grace and at once again with a
// long one: once the second Drain has taken the stack, the first one's
// drop, whose timer may already have fired, must not drop it before the
// second's grace is over.
func TestDrainAgain(t *testing.T) {
	n := newNetwork(t, multiserver.Config{})
	ln := listen(t, n, "mem:a~noauth;mem:b~noauth")
	defer ln.Close()
	for round := range 200 {
		if err := ln.Drain("mem:a~noauth", 0); err != nil {
			t.Fatal(err)
		}
		if err := ln.Drain("mem:a~noauth", time.Hour); err != nil {
			// The first drop came first: serve the stack again, once
			// the drop, which runs on the timer's goroutine, has
			// closed the stack's plug listener and freed its name.
			var err error
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
				if err = ln.Add(context.Background(), "mem:a~noauth"); err == nil || time.Now().After(deadline) {
					break
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		time.Sleep(time.Millisecond) // the first timer's drop, if any, runs
		if u := ln.Usage(); len(u) != 2 {
			t.Fatalf("round %d: %d stacks served after a drain of an hour, want 2", round, len(u))
		}
	}
}

// TestDrainSessions drains a stack of sessions: through the grace period
// its sessions still take new streams; after the drop, the streams open
// carry on, and the session refuses new ones (the peer is told GoAway),
// as Drop does.
func TestDrainSessions(t *testing.T) {
	n := newNetwork(t, multiserver.Config{
		Plugs:      []multiserver.Plug{&tcp.Plug{}},
		Transforms: []multiserver.Transform{noauth.Transform{}},
		Muxers:     []multiserver.Muxer{&yamux.Muxer{}},
	})
	ln := listen(t, n, "net:127.0.0.1:0~noauth~yamux")
	echo(t, ln)
	addr := ln.Address(multiserver.ScopeDevice)
	ctx := context.Background()
	sess, err := n.DialSession(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	before, err := sess.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()
	roundTrip(t, before, "before")

	if err := ln.Drain(addr, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	during, err := sess.Open(ctx)
	if err != nil {
		t.Fatalf("a new stream while draining: %v", err)
	}
	defer during.Close()
	roundTrip(t, during, "during")
	for deadline := time.Now().Add(10 * time.Second); len(ln.Usage()) != 0; {
		if time.Now().After(deadline) {
			t.Fatal("stack not dropped 10s after a 500ms drain")
		}
		time.Sleep(10 * time.Millisecond)
	}
	roundTrip(t, before, "before, after the drop")
	roundTrip(t, during, "during, after the drop")
	// The drained session takes no new stream: its open fails, or the
	// stream is refused at once.
	if st, err := sess.Open(ctx); err == nil {
		st.Write([]byte("x"))
		st.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := st.Read(make([]byte, 1)); err == nil {
			t.Error("a drained session took a new stream")
		}
		st.Close()
	}
}

func TestDropAfterClose(t *testing.T) {
	n := newNetwork(t, multiserver.Config{})
	ln := listen(t, n, "mem:a~noauth")
	ln.Close()
	if err := ln.Drop("mem:a~noauth"); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Drop after Close = %v, want net.ErrClosed", err)
	}
	if err := ln.Drain("mem:a~noauth", time.Second); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Drain after Close = %v, want net.ErrClosed", err)
	}
}
