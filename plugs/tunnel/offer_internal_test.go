package tunnel

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/internal/muxrpc"
)

// TestOfferRacesClose races a tunnel the room hands the listener with
// the listener's Close, many times: a tunnel offer took must be closed
// by Close (or accepted), never left in the queue, where it would hold
// the room's session and its origin's share for good.
func TestOfferRacesClose(t *testing.T) {
	ca, cb := net.Pipe()
	a := muxrpc.New(ca, muxrpc.Config{})
	b := muxrpc.New(cb, muxrpc.Config{Handlers: map[string]muxrpc.Handler{
		"x": func(context.Context, *muxrpc.Request) (any, error) { return nil, nil },
	}})
	defer a.Close()
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := &room{p: &Plug{}, id: "room"}
	lost := 0
	for range 2000 {
		st, err := a.Open(ctx, "duplex", []string{"x"})
		if err != nil {
			t.Fatal(err)
		}
		l := &listener{r: r, pending: make(chan *conn, 1), closed: make(chan struct{}), changed: make(chan struct{})}
		r.mu.Lock()
		r.users += 2 // the listener and the tunnel
		r.listener = l
		r.mu.Unlock()
		c := newConn(st, r, Addr{}, Addr{})
		var wg sync.WaitGroup
		var took bool
		wg.Go(func() { took = l.offer(c) })
		l.Close()
		wg.Wait()
		if !took {
			c.Close()
		}
		if len(l.pending) != 0 {
			lost++
			(<-l.pending).Close()
		}
	}
	if lost > 0 {
		t.Fatalf("%d of 2000 tunnels were offered to a closing listener and left in its queue", lost)
	}
	if r.users != 0 {
		t.Fatalf("the room counts %d users, want 0", r.users)
	}
}
