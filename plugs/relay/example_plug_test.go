//go:build !js

package relay_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
	"github.com/f7d52a8e/multiserver/transforms/noise"
)

// A peer behind NAT serves a noise stack through a relay; another dials
// it by the address it advertises, and learns that the conn is relayed.
func ExamplePlug() {
	srv, _ := relayserver.NewServer(relayserver.Config{})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Close()
	url := strings.Replace(ts.URL, "http:", "ws:", 1)
	ctx := context.Background()

	// Each peer's Network has the relay plug and noise, with one key.
	network := func(id *keys.Identity) *multiserver.Network {
		nz, _ := noise.New(noise.Config{Identity: id})
		n, _ := multiserver.New(multiserver.Config{
			Plugs:      []multiserver.Plug{&relay.Plug{Identity: id}},
			Transforms: []multiserver.Transform{nz},
		})
		return n
	}
	ln, err := network(identity()).Listen(ctx, "relay:"+url+"~noise")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	echoed := make(chan struct{})
	go func() {
		defer close(echoed)
		c, err := ln.Accept()
		if err == nil {
			io.Copy(c, c) // echo until the dialer closes
			c.Close()
		}
	}()

	addr := ln.Address(multiserver.ScopeDevice) // relay:ws://…~noise:KEY
	c, err := network(identity()).Dial(ctx, addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Fprint(c, "hello")
	b := make([]byte, 5)
	io.ReadFull(c, b)
	path := multiserver.Info(c).Path
	fmt.Println(string(b), path.Relayed, path.Carrier)
	c.Close()
	<-echoed // the listener's side saw the close while the relay was up
	// Output: hello true ws
}
