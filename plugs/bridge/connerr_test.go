package bridge_test

import (
	"context"
	"net"
	"os"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/internal/conntest"

	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/plugs/bridge"
)

// TestConnErrors checks that a session's Read and Write errors are
// *net.OpError values, as a TCP conn's are, that wrap the cause.
func TestConnErrors(t *testing.T) {
	ln, addr := serve(t, "sse", nil)
	echo(t, ln)
	a, err := address.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	u, err := address.InnerURL(a[0].Plug(), "http")
	if err != nil {
		t.Fatal(err)
	}
	p := &bridge.Plug{Identity: newIdentity(t)}
	for _, poll := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := p.DialSession(ctx, u, poll)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		carrier := map[bool]string{false: "sse", true: "poll"}[poll]
		check := func(op string, err, target error) { t.Helper(); conntest.OpError(t, err, op, carrier, target) }
		c.SetDeadline(time.Unix(1, 0))
		_, err = c.Read(make([]byte, 1))
		check("read", err, os.ErrDeadlineExceeded)
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			t.Errorf("%s: Read error %v is not a timeout", carrier, err)
		}
		big := make([]byte, 8<<20) // more than the window: the write waits, and times out
		_, err = c.Write(big)
		check("write", err, os.ErrDeadlineExceeded)
		c.Close()
		_, err = c.Read(make([]byte, 1))
		check("read", err, net.ErrClosed)
		_, err = c.Write([]byte("x"))
		check("write", err, net.ErrClosed)
	}
}
