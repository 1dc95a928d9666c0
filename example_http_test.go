package multiserver_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/mem"
	"github.com/f7d52a8e/multiserver/transforms/noise"
)

// peerKeyKey is the context key under which the server below keeps each
// connection's peer key.
type peerKeyKey struct{}

// An HTTP handler sees requests, not conns: http.Server.ConnContext
// puts each conn's [multiserver.RemoteKey] in the context of every
// request that comes over that conn.
func Example_httpPeerKey() {
	ctx := context.Background()
	app := bytes.Repeat([]byte{7}, 32) // the network's app key
	serverID := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	clientID := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32))
	plug := mem.New() // one in-memory plug, shared by both sides
	newNetwork := func(priv ed25519.PrivateKey) *multiserver.Network {
		id, _ := keys.NewIdentity(priv, app)
		nt, _ := noise.New(noise.Config{Identity: id})
		n, _ := multiserver.New(multiserver.Config{
			Plugs:      []multiserver.Plug{plug},
			Transforms: []multiserver.Transform{nt},
		})
		return n
	}
	server, client := newNetwork(serverID), newNetwork(clientID)

	ln, _ := server.Listen(ctx, "mem:web~noise")
	srv := &http.Server{
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if key, ok := multiserver.RemoteKey(c); ok {
				return context.WithValue(ctx, peerKeyKey{}, key)
			}
			return ctx
		},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key, ok := r.Context().Value(peerKeyKey{}).(ed25519.PublicKey)
			if !ok {
				http.Error(w, "who are you?", http.StatusUnauthorized)
				return
			}
			fmt.Fprintf(w, "hello %s", address.EncodeKey(key))
		}),
	}
	go srv.Serve(ln)
	defer srv.Close()

	// The client reaches every URL's host through the advertised address.
	addr := ln.Address(multiserver.ScopeDevice)
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return client.Dial(ctx, addr)
	}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("http://server/")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	fmt.Println("the client's key:", address.EncodeKey(clientID.Public().(ed25519.PublicKey)))
	// Output:
	// hello gTl3Dqh9F19Wo1Rmw0x+zMuNipG07jeiXfYPW4/Js5Q=
	// the client's key: gTl3Dqh9F19Wo1Rmw0x+zMuNipG07jeiXfYPW4/Js5Q=
}
