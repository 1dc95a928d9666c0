//go:build !js

package relay_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/mux/yamux"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/relaytest"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
)

// countedNetwork is directNetwork with yamux, counting into s.
func countedNetwork(t *testing.T, id *keys.Identity, d *relay.Direct, s *multiserver.Stats) *multiserver.Network {
	t.Helper()
	return relayNetwork(t, id, d, multiserver.Config{Muxers: []multiserver.Muxer{&yamux.Muxer{}}, Stats: s})
}

// pathCounts are the counters of one side that follow paths.
type pathCounts struct {
	Open, OpenDirect, OpenRelayed, ToDirect, ToRelayed int64
	AtStartRelayed                                     int64 // accepted, or won, relayed
}

func served(t *testing.T, s *multiserver.Stats) pathCounts {
	t.Helper()
	st := s.Stacks()
	if len(st) != 1 {
		t.Fatalf("%d stacks served, want 1: %+v", len(st), st)
	}
	x := st[0]
	return pathCounts{x.Open, x.OpenDirect, x.OpenRelayed, x.ToDirect, x.ToRelayed, x.AcceptedRelayed}
}

func dialed(t *testing.T, s *multiserver.Stats) pathCounts {
	t.Helper()
	ds := s.Dials()
	if len(ds) != 1 {
		t.Fatalf("%d stacks dialed, want 1: %+v", len(ds), ds)
	}
	x := ds[0]
	return pathCounts{x.OpenDirect + x.OpenRelayed, x.OpenDirect, x.OpenRelayed, x.ToDirect, x.ToRelayed, x.WinsRelayed}
}

// waitCounts reads the counters until they are want, or fails t after d.
func waitCounts(t *testing.T, what string, read func(*testing.T, *multiserver.Stats) pathCounts, s *multiserver.Stats, want pathCounts, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		got := read(t, s)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: counters %+v after %v, want %+v", what, got, d, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDirectStats: the Stats of both ends follow a relayed conn as it
// goes direct and, when the direct path goes silent, back to the relay:
// the open conns by path move, each switch counts once, and closing
// leaves nothing open and nothing watched.
func TestDirectStats(t *testing.T) {
	t.Parallel()
	r := relaytest.Start(t, relayserver.Config{})
	d := loopbackDirect(t, r)
	dd, cut, _ := cuttableDirect(d)
	ls, ds := multiserver.NewStats(), multiserver.NewStats()
	c, a, echoed := pairNets(t, r, countedNetwork(t, relaytest.NewIdentity(t), d, ls), countedNetwork(t, relaytest.NewIdentity(t), dd, ds))

	// On loopback the punch may win before Dial or Accept counts the
	// conn: then it starts direct, and no switch is seen.
	lStart, dStart := served(t, ls).AtStartRelayed, dialed(t, ds).AtStartRelayed
	t.Logf("relayed at accept: %d, at the dial's win: %d", lStart, dStart)
	stop := make(chan struct{})
	res := make(chan error, 1)
	go func() {
		ok, err := echoCheck(c, stop, 64<<10)
		if err == nil && !ok {
			err = io.ErrUnexpectedEOF
		}
		res <- err
	}()
	waitPath(t, c, false, 15*time.Second)
	waitPath(t, a, false, 5*time.Second)
	waitCounts(t, "listener, direct", served, ls, pathCounts{Open: 1, OpenDirect: 1, ToDirect: lStart, AtStartRelayed: lStart}, 5*time.Second)
	waitCounts(t, "dialer, direct", dialed, ds, pathCounts{Open: 1, OpenDirect: 1, ToDirect: dStart, AtStartRelayed: dStart}, 5*time.Second)

	cut()
	waitPath(t, c, true, 40*time.Second)
	waitPath(t, a, true, 40*time.Second)
	waitCounts(t, "listener, back to the relay", served, ls, pathCounts{Open: 1, OpenRelayed: 1, ToDirect: lStart, ToRelayed: 1, AtStartRelayed: lStart}, 5*time.Second)
	waitCounts(t, "dialer, back to the relay", dialed, ds, pathCounts{Open: 1, OpenRelayed: 1, ToDirect: dStart, ToRelayed: 1, AtStartRelayed: dStart}, 5*time.Second)
	close(stop)
	if err := <-res; err != nil {
		t.Fatalf("echo through both switches: %v", err)
	}

	c.Close()
	<-echoed // the listener's side closed its conn
	waitCounts(t, "listener, closed", served, ls, pathCounts{ToDirect: lStart, ToRelayed: 1, AtStartRelayed: lStart}, 5*time.Second)
	waitCounts(t, "dialer, closed", dialed, ds, pathCounts{ToDirect: dStart, ToRelayed: 1, AtStartRelayed: dStart}, 5*time.Second)
}

// TestDirectStatsSessions: over a muxer, the session is what the Stats
// follow, on the dialer's side (DialSession) and the listener's: it
// counts open, relayed or direct, until it ends.
func TestDirectStatsSessions(t *testing.T) {
	t.Parallel()
	r := relaytest.Start(t, relayserver.Config{})
	d := loopbackDirect(t, r)
	ls, ds := multiserver.NewStats(), multiserver.NewStats()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ln, err := countedNetwork(t, relaytest.NewIdentity(t), d, ls).Listen(ctx, "relay:"+r.URL+"~noise~yamux")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	echoed := make(chan struct{})
	go func() {
		defer close(echoed)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c)
		c.Close()
	}()
	sess, err := countedNetwork(t, relaytest.NewIdentity(t), d, ds).DialSession(ctx, ln.Address(multiserver.ScopeDevice))
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	st, err := sess.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	res := make(chan error, 1)
	go func() {
		ok, err := echoCheck(st, stop, 64<<10)
		if err == nil && !ok {
			err = io.ErrUnexpectedEOF
		}
		res <- err
	}()
	waitPath(t, st, false, 15*time.Second)
	dStart := dialed(t, ds).AtStartRelayed
	waitCounts(t, "dialer, direct", dialed, ds, pathCounts{Open: 1, OpenDirect: 1, ToDirect: dStart, AtStartRelayed: dStart}, 5*time.Second)
	lStart := int64(-1)
	deadline := time.Now().Add(10 * time.Second)
	for lStart < 0 || served(t, ls).OpenDirect != 1 {
		if st := ls.Stacks(); len(st) == 1 && st[0].Accepted+st[0].AcceptedRelayed == 1 {
			lStart = st[0].AcceptedRelayed
		}
		if time.Now().After(deadline) {
			t.Fatalf("listener: %+v, want its session open direct", ls.Stacks())
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitCounts(t, "listener, direct", served, ls, pathCounts{Open: 1, OpenDirect: 1, ToDirect: lStart, AtStartRelayed: lStart}, 5*time.Second)
	close(stop)
	if err := <-res; err != nil {
		t.Fatalf("echo through the switch: %v", err)
	}
	st.Close()
	sess.Close()
	<-echoed
	waitCounts(t, "dialer, closed", dialed, ds, pathCounts{ToDirect: dStart, AtStartRelayed: dStart}, 5*time.Second)
	waitCounts(t, "listener, closed", served, ls, pathCounts{ToDirect: lStart, AtStartRelayed: lStart}, 10*time.Second)
}
