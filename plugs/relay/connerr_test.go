package relay_test

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/internal/conntest"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/relaytest"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
)

// TestConnErrors checks that a relayed conn's Read and Write errors are
// *net.OpError values, as a TCP conn's are, that wrap the cause.
func TestConnErrors(t *testing.T) {
	r := relaytest.Start(t, relayserver.Config{})
	srv, _ := peerNet(t, relaytest.NewIdentity(t))
	ln, err := srv.Listen(relaytest.Context(t), "relay:"+r.URL+"~noise")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	echo(t, ln)
	a, err := address.Parse(ln.Address(multiserver.ScopeDevice))
	if err != nil {
		t.Fatal(err)
	}
	_, p := peerNet(t, relaytest.NewIdentity(t))
	c, err := p.DialStack(relaytest.Context(t), multiserver.DialOptions{Addr: a[0], Authenticated: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	check := func(op string, err, target error) { t.Helper(); conntest.OpError(t, err, op, "relay", target) }
	c.SetDeadline(time.Unix(1, 0))
	_, err = c.Read(make([]byte, 1))
	check("read", err, os.ErrDeadlineExceeded)
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Errorf("Read error %v is not a timeout", err)
	}
	_, err = c.Write([]byte("x"))
	check("write", err, os.ErrDeadlineExceeded)
	c.Close()
	_, err = c.Read(make([]byte, 1))
	check("read", err, net.ErrClosed)
	_, err = c.Write([]byte("x"))
	check("write", err, net.ErrClosed)
}
