package hyperswarm_test

import (
	"context"
	"fmt"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/plugs/hyperswarm"
)

// What Example dials: a dht-relay's URL and a peer's key (base64).
// TestExample points them at a local testnet and runs Example there.
var (
	relayURL = "wss://dht-relay.example"
	peerKey  = "PEERKEYBASE64PEERKEYBASE64PEERKEYBASE64PEE="
)

// Dial a Hyperswarm peer by its key through a dht-relay. (go test does
// not run it, since it needs a relay and a peer; TestExample runs it
// against a local testnet when Node.js is installed.)
func Example() {
	p, err := hyperswarm.New(hyperswarm.Config{Relays: []string{relayURL}})
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
	c, err := n.Dial(ctx, "hyperswarm:"+peerKey)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	key, _ := multiserver.RemoteKey(c)
	fmt.Printf("connected to %x\n", key)
}
