//go:build !js

package relay_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
)

func Example() {
	srv, _ := relayserver.NewServer(relayserver.Config{})
	mux := http.NewServeMux()
	mux.Handle("/relay", srv)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	defer srv.Close()
	url := strings.Replace(ts.URL, "http:", "ws:", 1) + "/relay"
	ctx := context.Background()

	// The listener registers its stack and accepts what comes.
	listener := &relay.Client{URL: url, Identity: identity()}
	reg, _ := listener.Register(ctx, []string{"noise"})
	defer reg.Close()
	go func() {
		for in := range reg.Incoming() {
			c, err := listener.Accept(ctx, in)
			if err == nil {
				io.Copy(c, c) // echo
				c.Close()
			}
		}
	}()

	// The dialer knows the listener's key and stack.
	dialer := &relay.Client{URL: url, Identity: identity()}
	c, err := dialer.Connect(ctx, listener.Identity.Public(), "noise", relay.StreamID{1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Fprint(c, "hello through the relay")
	b := make([]byte, 23)
	io.ReadFull(c, b)
	fmt.Println(string(b))
	c.Close()

	// Output: hello through the relay
}

func identity() *keys.Identity {
	_, priv, _ := ed25519.GenerateKey(nil)
	id, _ := keys.NewIdentity(priv, keys.OpenNetwork())
	return id
}
