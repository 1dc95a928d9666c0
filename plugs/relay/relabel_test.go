//go:build !js

package relay_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/relaytest"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
	"github.com/f7d52a8e/multiserver/transforms/noise"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

// TestRelabelKeepsServing: a listener that adds a stack registers its
// labels again on a new control connection; until the relay has that
// one, it announces dialers on the old one, and they are accepted then,
// not left queued there to wait out the pairing timeout although their
// stack was served all along. The new registration is held in its dial
// for as long as the test likes, as a slow carrier or a loaded machine
// would hold it.
func TestRelabelKeepsServing(t *testing.T) {
	r := relaytest.Start(t, relayserver.Config{PairingTimeout: 5 * time.Second})
	id := relaytest.NewIdentity(t)

	var arm atomic.Bool
	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	let := func() { once.Do(func() { close(release) }) }
	defer let()
	var d net.Dialer
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil || !arm.CompareAndSwap(true, false) {
				return c, err
			}
			close(held)
			select {
			case <-release:
				return c, nil
			case <-ctx.Done():
				c.Close()
				return nil, ctx.Err()
			}
		},
	}}
	nz, err := noise.New(noise.Config{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	sid, err := keys.NewIdentity(id.Private(), make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	sh, err := shs.New(shs.Config{Identity: sid})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := multiserver.New(multiserver.Config{
		Plugs:      []multiserver.Plug{&relay.Plug{Identity: id, HTTPClient: hc, Carriers: []string{"ws"}}},
		Transforms: []multiserver.Transform{nz, sh},
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := srv.Listen(relaytest.Context(t), "relay:"+r.URL+"~noise")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	echo(t, ln)

	arm.Store(true)
	added := make(chan error, 1)
	go func() { added <- ln.Add(relaytest.Context(t), "relay:"+r.URL+"~shs") }()
	<-held // the registration of noise and shs is under way, and stays so

	cli, _ := peerNet(t, relaytest.NewIdentity(t))
	c, err := cli.Dial(relaytest.Context(t), "relay:"+r.URL+"~noise:"+address.EncodeKey(id.Public()))
	if err != nil {
		t.Fatalf("dial of the served stack while the listener registers again: %v", err)
	}
	defer c.Close()
	msg := []byte("served while the labels change")
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo %q, %v", got, err)
	}

	let()
	if err := <-added; err != nil {
		t.Fatalf("Add: %v", err)
	}
	if a := ln.Address(multiserver.ScopeDevice); !bytes.Contains([]byte(a), []byte("~shs:")) {
		t.Fatalf("advertised %q after Add, want the shs stack too", a)
	}
	// The conn paired through the old registration lives on.
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo after the new registration: %q, %v", got, err)
	}
}
