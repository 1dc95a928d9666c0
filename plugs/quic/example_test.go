package quic_test

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/quic"
)

// A server and a client on loopback: the server listens on quic and
// advertises its address with its key; the client dials it and opens
// two streams on one connection.
func Example() {
	ctx := context.Background()
	newNetwork := func() *multiserver.Network {
		// Each node has its own key; all are on the open network.
		id, err := keys.NewIdentity(keys.Generate(), keys.OpenNetwork())
		if err != nil {
			panic(err)
		}
		p, err := quic.New(quic.Config{Identity: id})
		if err != nil {
			panic(err)
		}
		n, err := multiserver.New(multiserver.Config{Plugs: []multiserver.Plug{p}})
		if err != nil {
			panic(err)
		}
		return n
	}
	server, client := newNetwork(), newNetwork()

	ln, err := server.Listen(ctx, "quic:127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				b, _ := io.ReadAll(c)
				fmt.Fprintf(c, "%s, back", b)
				c.Close()
			}()
		}
	}()
	addr := ln.Address(multiserver.ScopeDevice) // quic:127.0.0.1:PORT:KEY
	fmt.Println(strings.HasPrefix(addr, "quic:127.0.0.1:"))

	sess, err := client.DialSession(ctx, addr)
	if err != nil {
		panic(err)
	}
	defer sess.Close()
	for _, msg := range []string{"one", "two"} {
		s, err := sess.Open(ctx)
		if err != nil {
			panic(err)
		}
		io.WriteString(s, msg)
		s.(*quic.Stream).CloseWrite()
		b, _ := io.ReadAll(s)
		fmt.Println(string(b))
		s.Close()
	}
	// Output:
	// true
	// one, back
	// two, back
}
