package multiserver_test

import (
	"context"
	"fmt"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/plugs/mem"
	"github.com/f7d52a8e/multiserver/transforms/noauth"
)

// Drain retires a stack gently: it leaves the advertised address at
// once, and is dropped after the grace period. Usage tells when it was
// last used.
func ExampleListener_Drain() {
	ctx := context.Background()
	n, _ := multiserver.New(multiserver.Config{
		Plugs:      []multiserver.Plug{mem.New()},
		Transforms: []multiserver.Transform{noauth.Transform{}},
	})
	ln, _ := n.Listen(ctx, "mem:old~noauth;mem:new~noauth")
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	c, _ := n.Dial(ctx, "mem:old~noauth")
	c.Read(make([]byte, 1)) // until the Listener has taken it
	c.Close()

	for _, u := range ln.Usage() {
		fmt.Println(u.Addr, "connections in the last hour:", u.LastHour)
	}
	ln.Drain("mem:old~noauth", 50*time.Millisecond)
	fmt.Println("advertised:", ln.Address(multiserver.ScopeDevice))
	for len(ln.Usage()) > 1 {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("served:", ln.Usage()[0].Addr)
	// Output:
	// mem:old~noauth connections in the last hour: 1
	// mem:new~noauth connections in the last hour: 0
	// advertised: mem:new~noauth
	// served: mem:new~noauth
}
