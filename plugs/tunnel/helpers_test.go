package tunnel_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/internal/frametest"
	"github.com/f7d52a8e/multiserver/interop/roomtest"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/plugs/tunnel"
	"github.com/f7d52a8e/multiserver/plugs/ws"
	"github.com/f7d52a8e/multiserver/transforms/noauth"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

// A peer is a member: a Network with net, tunnel and shs.
type peer struct {
	id   *keys.Identity
	plug *tunnel.Plug
	n    *multiserver.Network
}

func newPeer(t testing.TB, rooms ...string) *peer {
	t.Helper()
	id := roomtest.SSBIdentity(t)
	return newPeerWith(t, id, func(p *tunnel.Plug) {}, rooms...)
}

// newPeerWS is newPeer with the ws plug too.
func newPeerWS(t testing.TB, rooms ...string) *peer {
	t.Helper()
	return newPeerPlugs(t, roomtest.SSBIdentity(t), []multiserver.Plug{&ws.Plug{}}, func(p *tunnel.Plug) {}, rooms...)
}

func newPeerWith(t testing.TB, id *keys.Identity, edit func(*tunnel.Plug), rooms ...string) *peer {
	t.Helper()
	return newPeerPlugs(t, id, nil, edit, rooms...)
}

// newPeerPlugs makes a peer with net, tunnel and the extra plugs.
func newPeerPlugs(t testing.TB, id *keys.Identity, extra []multiserver.Plug, edit func(*tunnel.Plug), rooms ...string) *peer {
	t.Helper()
	return newPeerNet(t, id, extra, edit, multiserver.Config{}, rooms...)
}

// newPeerNet is newPeerPlugs with the Network's settings in cfg (its
// plugs and transforms are the peer's).
func newPeerNet(t testing.TB, id *keys.Identity, extra []multiserver.Plug, edit func(*tunnel.Plug), cfg multiserver.Config, rooms ...string) *peer {
	t.Helper()
	st, err := shs.New(shs.Config{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	plugs := append([]multiserver.Plug{&tcp.Plug{}}, extra...)
	p := &tunnel.Plug{Identity: id, Rooms: rooms, RetryMin: 50 * time.Millisecond, RetryMax: 400 * time.Millisecond, CallTimeout: 10 * time.Second}
	edit(p)
	cfg.Plugs = append(plugs, p)
	cfg.Transforms = []multiserver.Transform{st, &noauth.Transform{}}
	n, err := multiserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.Dialer = n
	return &peer{id: id, plug: p, n: n}
}

func (p *peer) tunnelID() string { return tunnel.ID(p.id.Public()) }

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// listen listens through room and waits until the listener advertises.
func (p *peer) listen(t testing.TB, room *roomtest.Room) (*multiserver.Listener, string) {
	t.Helper()
	ln, err := p.n.Listen(ctxT(t, 10*time.Second), "tunnel:"+room.ID+"~shs")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, waitAddr(t, ln)
}

// waitAddr waits until ln advertises a public address.
func waitAddr(t testing.TB, ln *multiserver.Listener) string {
	t.Helper()
	return roomtest.WaitAddress(t, ln, 30*time.Second)
}

// waitGone waits until ln advertises nothing.
func waitGone(t testing.TB, ln *multiserver.Listener) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for ln.Address(multiserver.ScopePublic) != "" {
		if time.Now().After(deadline) {
			t.Fatal("the listener still advertises")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exchange sends n bytes each way at once over both conns and checks
// them by SHA-256.
func exchange(t testing.TB, a, b net.Conn, n int) {
	t.Helper()
	da, db := frametest.RandomBytes(1, n), frametest.RandomBytes(2, n)
	errs := make(chan error, 4)
	sum := make(chan [32]byte, 2)
	send := func(c net.Conn, d []byte) { _, err := c.Write(d); errs <- err }
	recv := func(c net.Conn) {
		h := sha256.New()
		_, err := io.CopyN(h, c, int64(n))
		var s [32]byte
		copy(s[:], h.Sum(nil))
		sum <- s
		errs <- err
	}
	go send(a, da)
	go send(b, db)
	go recv(a)
	go recv(b)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got := map[[32]byte]bool{<-sum: true, <-sum: true}
	if !got[sha256.Sum256(da)] || !got[sha256.Sum256(db)] {
		t.Fatal("checksums differ")
	}
}

func accept(t testing.TB, ln net.Listener) net.Conn {
	t.Helper()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() { c, err := ln.Accept(); ch <- res{c, err} }()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatal(r.err)
		}
		t.Cleanup(func() { r.c.Close() })
		return r.c
	case <-time.After(30 * time.Second):
		t.Fatal("Accept timed out")
	}
	return nil
}

var _ = bytes.Equal
