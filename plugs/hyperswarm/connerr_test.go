package hyperswarm_test

import (
	"context"
	"net"
	"os"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/internal/conntest"

	"github.com/f7d52a8e/multiserver/address"
)

// TestConnErrors checks that a conn's Read and Write errors are
// *net.OpError values, as a TCP conn's are, that wrap the cause.
func TestConnErrors(t *testing.T) {
	hs := sharedNet(t)
	_, p := newNetwork(t, hs.Relay)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := address.Parse(addr(hs.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Dial(ctx, a[0].Plug())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	check := func(op string, err, target error) { t.Helper(); conntest.OpError(t, err, op, "hyperswarm", target) }
	c.SetReadDeadline(time.Unix(1, 0))
	_, err = c.Read(make([]byte, 1))
	check("read", err, os.ErrDeadlineExceeded)
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Errorf("Read error %v is not a timeout", err)
	}
	c.Close()
	_, err = c.Read(make([]byte, 1))
	check("read", err, net.ErrClosed)
	_, err = c.Write([]byte("x"))
	check("write", err, net.ErrClosed)
}
