package multiserver_test

import (
	"context"
	"fmt"
	"io"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/plugs/mem"
	"github.com/f7d52a8e/multiserver/transforms/noauth"
)

func Example() {
	ctx := context.Background()
	n, _ := multiserver.New(multiserver.Config{
		Plugs:      []multiserver.Plug{mem.New()},
		Transforms: []multiserver.Transform{noauth.Transform{}},
	})
	ln, _ := n.Listen(ctx, "mem:a~noauth;mem:b")
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.Copy(c, c)
			c.Close()
		}
	}()
	fmt.Println(ln.Address(multiserver.ScopeDevice))

	c, _ := n.Dial(ctx, ln.Address(multiserver.ScopeDevice))
	defer c.Close()
	fmt.Fprint(c, "hi")
	b, _ := io.ReadAll(io.LimitReader(c, 2))
	fmt.Println(string(b))
	// Output:
	// mem:a~noauth;mem:b
	// hi
}

func ExampleNetwork_Dial() {
	ctx := context.Background()
	n, _ := multiserver.New(multiserver.Config{
		Plugs:      []multiserver.Plug{mem.New()},
		Transforms: []multiserver.Transform{noauth.Transform{}}, // mem:NAME alone is plaintext
	})
	// Neither address can be dialed: the first names a plug this Network
	// lacks, the second has no listener.
	_, err := n.Dial(ctx, "net:192.0.2.1:8008;mem:nobody")
	fmt.Println(err)
	// Output:
	// dial net:192.0.2.1:8008: multiserver: no plug or transform for address: no plug "net"
	// dial mem:nobody: mem: dial mem nobody: connection refused
}

// Info tells the stack a conn came through, the peer's key (none here:
// noauth authenticates nobody) and its path, on either side.
func ExampleInfo() {
	ctx := context.Background()
	n, _ := multiserver.New(multiserver.Config{
		Plugs:      []multiserver.Plug{mem.New()},
		Transforms: []multiserver.Transform{noauth.Transform{}},
	})
	ln, _ := n.Listen(ctx, "mem:a~noauth")
	defer ln.Close()
	accepted := make(chan multiserver.ConnInfo)
	go func() {
		c, _ := ln.Accept()
		accepted <- multiserver.Info(c)
		c.Close()
	}()
	c, _ := n.Dial(ctx, "mem:a~noauth")
	defer c.Close()
	dialed := multiserver.Info(c)
	fmt.Println(dialed.Stack, dialed.RemoteKey == nil, dialed.Path.Relayed, dialed.Path.Carrier)
	in := <-accepted
	fmt.Println(in.Stack, in.Path.Carrier)
	// Output:
	// mem:a~noauth true false mem
	// mem:a~noauth mem
}

// Changed tells when a Listener's address changes: here a stack is added
// beside the first, as when a new cipher is served beside the old.
func ExampleListener_Changed() {
	ctx := context.Background()
	n, _ := multiserver.New(multiserver.Config{
		Plugs:      []multiserver.Plug{mem.New()},
		Transforms: []multiserver.Transform{noauth.Transform{}},
	})
	ln, _ := n.Listen(ctx, "mem:old~noauth")
	defer ln.Close()
	changed := ln.Changed()
	fmt.Println(ln.Address(multiserver.ScopeDevice))
	ln.Add(ctx, "mem:new~noauth")
	<-changed
	fmt.Println(ln.Address(multiserver.ScopeDevice))
	// Output:
	// mem:old~noauth
	// mem:old~noauth;mem:new~noauth
}
