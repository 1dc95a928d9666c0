package multiserver_test

import (
	"context"
	"fmt"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/plugs/mem"
	"github.com/f7d52a8e/multiserver/transforms/noauth"
)

// A DialTrace tells which address was tried, and each layer's outcome.
func ExampleWithDialTrace() {
	n, _ := multiserver.New(multiserver.Config{
		Plugs:      []multiserver.Plug{mem.New()},
		Transforms: []multiserver.Transform{noauth.Transform{}},
	})
	trace := &multiserver.DialTrace{
		Skipped: func(addr string, err error) { fmt.Println("skipped", addr) },
		LayerDone: func(l multiserver.LayerTrace) {
			fmt.Printf("%s: %v\n", l.Layer, l.Err)
		},
	}
	ctx := multiserver.WithDialTrace(context.Background(), trace)
	_, err := n.Dial(ctx, "quic:203.0.113.9:1;mem:nobody~noauth") // a Network with no quic; nobody listens on mem:nobody
	fmt.Println(err != nil)
	// Output:
	// skipped quic:203.0.113.9:1
	// mem: dial mem nobody: connection refused
	// true
}

// Stats counts what a Network's listeners and dials do; package
// metrics exports it to Prometheus.
func ExampleStats() {
	ctx := context.Background()
	stats := multiserver.NewStats()
	n, _ := multiserver.New(multiserver.Config{
		Plugs:      []multiserver.Plug{mem.New()},
		Transforms: []multiserver.Transform{noauth.Transform{}},
		Stats:      stats,
	})
	ln, _ := n.Listen(ctx, "mem:a~noauth")
	defer ln.Close()
	go func() {
		c, _ := ln.Accept()
		fmt.Fprint(c, "hello")
		c.Close()
	}()
	c, _ := n.Dial(ctx, "mem:a~noauth")
	b := make([]byte, 5)
	c.Read(b)
	c.Close()
	for _, d := range stats.Dials() {
		fmt.Println(d.Stack, "attempts", d.Attempts, "wins", d.Wins)
	}
	// Output:
	// mem~noauth attempts 1 wins 1
}
