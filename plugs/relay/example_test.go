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

// A relay behind a front that refuses WebSocket upgrades, as a proxy
// that breaks WebSocket would: the clients reach it by its HTTP bridge,
// at the same URL; the listener, climbing down the whole ladder, over
// SSE, and the dialer, which asks for long-poll only, over long-poll.
func ExampleClient_Carriers() {
	srv, _ := relayserver.NewServer(relayserver.Config{})
	front := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "no WebSocket here", http.StatusForbidden)
			return
		}
		srv.ServeHTTP(w, r)
	})
	ts := httptest.NewServer(front)
	defer ts.Close()
	defer srv.Close()
	url := ts.URL + "/relay" // http:// means ws://, and the bridge's http://
	ctx := context.Background()

	listener := &relay.Client{URL: url, Identity: identity()} // the whole ladder
	reg, err := listener.Register(ctx, []string{"noise"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer reg.Close()
	go func() {
		for in := range reg.Incoming() {
			if c, err := listener.Accept(ctx, in); err == nil {
				io.Copy(c, c)
				c.Close()
			}
		}
	}()
	dialer := &relay.Client{URL: url, Identity: identity(), Carriers: []string{relay.CarrierPoll}}
	c, err := dialer.Connect(ctx, listener.Identity.Public(), "noise", relay.StreamID{2})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Fprint(c, "hello")
	b := make([]byte, 5)
	io.ReadFull(c, b)
	c.Close()
	fmt.Printf("registered over %s, dialed over %s: %s\n", reg.Carrier(), c.Carrier(), b)

	// Output: registered over sse, dialed over poll: hello
}
