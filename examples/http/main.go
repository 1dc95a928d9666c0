// Command http serves net/http over a multiserver Listener and fetches a
// page through it with a plain http.Client whose transport dials through
// multiserver: once over net~shs, once over net~noise~yamux, where every
// HTTP connection is a stream of one session.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/mux/yamux"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/transforms/noise"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// NewNetwork returns a Network speaking shs, noise and yamux over TCP.
func NewNetwork(appKey []byte) (*multiserver.Network, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	id, err := keys.NewIdentity(key, appKey)
	if err != nil {
		return nil, err
	}
	st, err := shs.New(shs.Config{Identity: id})
	if err != nil {
		return nil, err
	}
	nt, err := noise.New(noise.Config{Identity: id})
	if err != nil {
		return nil, err
	}
	return multiserver.New(multiserver.Config{
		Plugs:      []multiserver.Plug{&tcp.Plug{}},
		Transforms: []multiserver.Transform{st, nt},
		Muxers:     []multiserver.Muxer{&yamux.Muxer{}},
	})
}

// Client returns an http.Client that reaches every host at addr, a
// multiserver address: the URL's host is only a name.
func Client(n *multiserver.Network, addr string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return n.Dial(ctx, addr)
		},
	}}
}

// SessionClient returns an http.Client whose connections are streams of
// one session to sess's peer.
func SessionClient(sess multiserver.Session) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return sess.Open(ctx)
		},
	}}
}

// Serve serves on ln a page that greets the peer by its authenticated
// key, which the handler finds through the conn it runs on.
func Serve(ln net.Listener) *http.Server {
	type connKey struct{}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c := r.Context().Value(connKey{}).(net.Conn)
			key, _ := multiserver.RemoteKey(c)
			fmt.Fprintf(w, "hello, %x", key[:4])
		}),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
	}
	go srv.Serve(ln)
	return srv
}

func get(c *http.Client) (string, error) {
	resp, err := c.Get("http://peer/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func run(ctx context.Context, out io.Writer) error {
	app := make([]byte, 32)
	rand.Read(app)
	server, err := NewNetwork(app)
	if err != nil {
		return err
	}
	client, err := NewNetwork(app)
	if err != nil {
		return err
	}
	ln, err := server.Listen(ctx, "net:127.0.0.1:0~shs;net:127.0.0.1:0~noise~yamux")
	if err != nil {
		return err
	}
	srv := Serve(ln)
	defer srv.Close()

	list := ln.Addresses(multiserver.ScopeDevice)
	c := Client(client, list[0].String())
	defer c.CloseIdleConnections()
	body, err := get(c)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "over %s: %s\n", "net~shs", body)

	sess, err := client.DialSession(ctx, list.String())
	if err != nil {
		return err
	}
	defer sess.Close()
	sc := SessionClient(sess)
	defer sc.CloseIdleConnections()
	if body, err = get(sc); err != nil {
		return err
	}
	fmt.Fprintf(out, "over %s: %s\n", "net~noise~yamux", body)
	return nil
}
