package multiserver_test

import (
	"context"
	"net"
	"sync"
	"testing"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
)

// seeing is the tcp plug as a StackPlug, recording what it is told.
type seeing struct {
	tcp.Plug
	mu     sync.Mutex
	listen []multiserver.ListenOptions
	dial   []multiserver.DialOptions
}

func (p *seeing) ListenStack(ctx context.Context, o multiserver.ListenOptions) (net.Listener, error) {
	p.mu.Lock()
	p.listen = append(p.listen, o)
	p.mu.Unlock()
	return p.Plug.Listen(ctx, o.Addr.Plug())
}

func (p *seeing) DialStack(ctx context.Context, o multiserver.DialOptions) (net.Conn, error) {
	p.mu.Lock()
	p.dial = append(p.dial, o)
	p.mu.Unlock()
	return p.Plug.Dial(ctx, o.Addr.Plug())
}

// TestStackPlugSeesTheWholeAddress: a StackPlug is given the whole
// address it serves and dials, and whether it authenticates; before, a
// plug saw only its own segment, so a relay could not know the key
// behind "~noise:KEY".
func TestStackPlugSeesTheWholeAddress(t *testing.T) {
	p := &seeing{}
	n := newNetwork(t, multiserver.Config{Plugs: []multiserver.Plug{p}})
	ln := listen(t, n, "net:127.0.0.1:0~hello;net:127.0.0.1:0~noauth")
	echo(t, ln)
	for _, a := range ln.Addresses(multiserver.ScopeDevice) {
		c, err := n.Dial(context.Background(), a.String())
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, c, "seen")
		c.Close()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.listen) != 2 || len(p.dial) != 2 {
		t.Fatalf("ListenStack called %d times, DialStack %d, want 2 each", len(p.listen), len(p.dial))
	}
	for i, want := range []struct {
		last string
		auth bool
	}{{"hello", true}, {"noauth", false}} {
		lo, do := p.listen[i], p.dial[i]
		if len(lo.Addr) != 2 || lo.Addr[1].Name != want.last || lo.Authenticated != want.auth || lo.Admit == nil {
			t.Errorf("ListenStack %d got %v authenticated %v, want ~%s and %v", i, lo.Addr, lo.Authenticated, want.last, want.auth)
		}
		if len(do.Addr) != 2 || do.Addr[1].Name != want.last || do.Authenticated != want.auth {
			t.Errorf("DialStack %d got %v authenticated %v, want ~%s and %v", i, do.Addr, do.Authenticated, want.last, want.auth)
		}
	}
}
