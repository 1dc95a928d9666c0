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
