package tunnel_test

import (
	"net"
	"testing"
	"time"

	"golang.org/x/net/nettest"

	"github.com/f7d52a8e/multiserver/interop/roomtest"
)

// TestConnConformance runs x/net/nettest over tunnels through the room:
// the shs conn the Network returns, over a tunnel conn.
func TestConnConformance(t *testing.T) {
	room := roomtest.Start(t, roomtest.Config{})
	a, b := newPeer(t, room.Addr), newPeer(t, room.Addr)
	ln, addr := b.listen(t, room)
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		c1, err = a.n.Dial(ctxT(t, 20*time.Second), addr)
		if err != nil {
			return nil, nil, nil, err
		}
		c2, err = ln.Accept()
		if err != nil {
			c1.Close()
			return nil, nil, nil, err
		}
		return c1, c2, func() { c1.Close(); c2.Close() }, nil
	})
}
