package hyperswarm_test

import (
	"context"
	"fmt"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/plugs/hyperswarm"
)

// Dial a Hyperswarm peer by its key through a dht-relay. (Not run: it
// needs a relay and a peer.)
func Example() {
	p, err := hyperswarm.New(hyperswarm.Config{Relays: []string{"wss://dht-relay.example"}})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	n, err := multiserver.New(multiserver.Config{Plugs: []multiserver.Plug{p}})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := n.Dial(ctx, "hyperswarm:PEERKEYBASE64PEERKEYBASE64PEERKEYBASE64PEE=")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	key, _ := multiserver.RemoteKey(c)
	fmt.Printf("connected to %x\n", key)
}
