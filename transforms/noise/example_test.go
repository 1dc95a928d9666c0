package noise_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"io"
	"net"

	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/transforms/noise"
)

func Example() {
	// Both sides share the app key; each has its own long-term key. The
	// client knows the server's public key, as "noise:KEY" tells it.
	appKey, _ := base64.StdEncoding.DecodeString("1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s=")
	server, err := keys.NewIdentity(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)), appKey)
	if err != nil {
		fmt.Println(err)
		return
	}
	client, err := keys.NewIdentity(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32)), appKey)
	if err != nil {
		fmt.Println(err)
		return
	}

	ctx := context.Background()
	c, s := net.Pipe()

	done := make(chan struct{})
	go func() {
		defer close(done)
		conn, err := noise.Server(ctx, s, noise.Config{Identity: server})
		if err != nil {
			s.Close()
			return
		}
		defer conn.Close()
		msg, _ := io.ReadAll(conn) // until the client's end of stream
		fmt.Fprintf(conn, "hello, %s", msg)
	}()

	conn, err := noise.Client(ctx, c, noise.Config{Identity: client}, server.Public())
	if err != nil {
		fmt.Println(err)
		c.Close()
		return
	}
	defer conn.Close()
	fmt.Println("server proved its key:", conn.RemoteKey().Equal(server.Public()))
	conn.Write([]byte("client"))
	conn.CloseWrite() // the end of stream: no more data from us
	reply, _ := io.ReadAll(conn)
	fmt.Println(string(reply))
	<-done
	// Output:
	// server proved its key: true
	// hello, client
}
