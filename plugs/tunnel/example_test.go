package tunnel_test

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/interop/roomtest"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/plugs/tunnel"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

// exampleT runs the cleanups of the in-process room at the end of an
// Example.
type exampleT struct{ cleanups []func() }

func (t *exampleT) Helper()           {}
func (t *exampleT) Fatal(args ...any) { panic(fmt.Sprint(args...)) }
func (t *exampleT) Cleanup(f func())  { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) done() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// member returns a Network that reaches rooms through its own net~shs
// stack, on the SSB network.
func member(room string) (*multiserver.Network, *keys.Identity) {
	id, _ := keys.NewIdentity(keys.Generate(), roomtest.SSBAppKey)
	secret, _ := shs.New(shs.Config{Identity: id})
	p := &tunnel.Plug{Identity: id, Rooms: []string{room}}
	n, _ := multiserver.New(multiserver.Config{
		Plugs:      []multiserver.Plug{&tcp.Plug{}, p},
		Transforms: []multiserver.Transform{secret},
	})
	p.Dialer = n // the room is dialed through the Network's own stacks
	return n, id
}

// A member listens through a room (here one in this process, on
// loopback) and another dials the address it advertises.
func Example() {
	t := &exampleT{}
	defer t.done()
	room := roomtest.Start(t, roomtest.Config{})
	ctx := context.Background()

	b, _ := member(room.Addr)
	ln, _ := b.Listen(ctx, "tunnel:"+room.ID+"~shs")
	defer ln.Close()
	for ln.Address(multiserver.ScopePublic) == "" { // reachable once the room lists it
		select {
		case <-ln.Changed():
		case <-time.After(10 * time.Second):
			panic("not in the room")
		}
	}
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c)
		c.Close()
	}()

	a, _ := member(room.Addr)
	c, err := a.Dial(ctx, ln.Address(multiserver.ScopePublic))
	if err != nil {
		panic(err)
	}
	defer c.Close()
	fmt.Fprint(c, "hi")
	buf := make([]byte, 2)
	io.ReadFull(c, buf)
	fmt.Println(string(buf), multiserver.Info(c).Path.Relayed)
	// Output: hi true
}
