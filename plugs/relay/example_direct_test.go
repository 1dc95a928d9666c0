//go:build !js

package relay_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"net/netip"
	"strings"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
	"github.com/f7d52a8e/multiserver/transforms/noise"
)

// Two peers with Direct set: the dialed conn starts relayed, then moves
// to a punched path (here loopback, where no NAT is in the way), and
// the stream above goes on.
func ExampleDirect() {
	srv, _ := relayserver.NewServer(relayserver.Config{})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Close()
	url := strings.Replace(ts.URL, "http:", "ws:", 1)
	// The relay's STUN responder, on two UDP ports.
	direct := &relay.Direct{
		HostAddrs: func() ([]netip.Addr, error) { return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil },
	}
	for range 2 {
		pc, _ := net.ListenPacket("udp4", "127.0.0.1:0")
		served := make(chan struct{})
		go func() { srv.ServeSTUN(pc); close(served) }()
		defer func() { pc.Close(); <-served }()
		direct.STUN = append(direct.STUN, pc.LocalAddr().String())
	}
	ctx := context.Background()
	network := func(id *keys.Identity) *multiserver.Network {
		nz, _ := noise.New(noise.Config{Identity: id})
		n, _ := multiserver.New(multiserver.Config{
			Plugs:      []multiserver.Plug{&relay.Plug{Identity: id, Direct: direct}},
			Transforms: []multiserver.Transform{nz},
		})
		return n
	}
	ln, _ := network(identity()).Listen(ctx, "relay:"+url+"~noise")
	defer ln.Close()
	echoed := make(chan struct{})
	go func() {
		defer close(echoed)
		if c, err := ln.Accept(); err == nil {
			io.Copy(c, c)
			c.Close()
		}
	}()
	c, err := network(identity()).Dial(ctx, ln.Address(multiserver.ScopeDevice))
	if err != nil {
		fmt.Println(err)
		return
	}
	// c is relayed at first; on loopback the switch may come before
	// Dial even returns, so the path is read only once it has settled.
	for p := multiserver.Info(c).Path; p.Relayed && p.Reason == ""; p = multiserver.Info(c).Path {
		<-multiserver.PathChanged(c) // until the switch, or a reason why not
	}
	fmt.Fprint(c, "hello")
	b := make([]byte, 5)
	io.ReadFull(c, b)
	p := multiserver.Info(c).Path
	fmt.Println(string(b), "relayed:", p.Relayed, "over", p.Carrier)
	c.Close()
	<-echoed
	// Output:
	// hello relayed: false over quic
}
