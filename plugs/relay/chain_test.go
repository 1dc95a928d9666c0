//go:build !js

package relay_test

import (
	"io"
	"net"
	"strings"
	"testing"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/relaytest"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
)

// TestChain is the seed's automatic chain, with no code of its own: a
// listener advertises "net:A~noise:K;relay:R1~noise:K;relay:R2~noise:K"
// and a dialer takes the first that works, direct before relayed.
func TestChain(t *testing.T) {
	r1, r2 := relaytest.Start(t, relayserver.Config{}), relaytest.Start(t, relayserver.Config{})
	srv, _ := peerNet(t, relaytest.NewIdentity(t))
	hold, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	direct := "net:" + hold.Addr().String() + "~noise"
	hold.Close()
	ln, err := srv.Listen(relaytest.Context(t), direct+";relay:"+r1.URL+"~noise;relay:"+r2.URL+"~noise")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	echo(t, ln)
	addr := ln.Address(multiserver.ScopeDevice)
	if n := strings.Count(addr, ";"); n != 2 {
		t.Fatalf("advertised %q, want three stacks", addr)
	}
	cli, _ := peerNet(t, relaytest.NewIdentity(t))
	dial := func(want string, relayed bool) {
		t.Helper()
		c, err := cli.Dial(relaytest.Context(t), addr)
		if err != nil {
			t.Fatalf("dial, want %s: %v", want, err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, make([]byte, 4)); err != nil {
			t.Fatal(err)
		}
		info := multiserver.Info(c)
		if !strings.HasPrefix(info.Stack.String(), want) || info.Path.Relayed != relayed {
			t.Fatalf("came through %s (%+v), want %s, relayed %v", info.Stack, info.Path, want, relayed)
		}
	}

	dial("net:", false) // (a) direct when it works

	if err := ln.Drop(direct); err != nil { // (b) the direct port closes
		t.Fatal(err)
	}
	dial("relay:"+r1.URL, true)

	r1.Close() // (c) the primary relay goes down too
	r1.HTTP.Close()
	dial("relay:"+r2.URL, true)

	// The direct port opens again: a relay won last, but a direct
	// address that works goes first all the same.
	if err := ln.Add(relaytest.Context(t), direct); err != nil {
		t.Fatal(err)
	}
	dial("net:", false)
}
