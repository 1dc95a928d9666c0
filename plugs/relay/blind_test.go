//go:build !js

package relay_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/f7d52a8e/multiserver/plugs/relay/internal/relaytest"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
	"github.com/f7d52a8e/multiserver/transforms/noise"
)

// recorder is a listener whose conns keep a copy of every byte the relay
// writes: what it forwards, in the clear of WebSocket framing (a server
// does not mask).
type recorder struct {
	net.Listener
	mu  sync.Mutex
	out bytes.Buffer
}

func (r *recorder) Accept() (net.Conn, error) {
	c, err := r.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &recordConn{Conn: c, r: r}, nil
}

type recordConn struct {
	net.Conn
	r *recorder
}

func (c *recordConn) Write(p []byte) (int, error) {
	c.r.mu.Lock()
	c.r.out.Write(p)
	c.r.mu.Unlock()
	return c.Conn.Write(p)
}

func (r *recorder) contains(b []byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Contains(r.out.Bytes(), b)
}

// TestBlind runs noise end to end over a pairing and checks that the
// plaintext appears nowhere in what the relay sent; the same bytes sent
// without noise do appear, so the recorder sees the forwarded bytes.
func TestBlind(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{Listener: ln}
	r := relaytest.StartOn(t, relayserver.Config{}, rec)
	id := relaytest.NewIdentity(t)
	reg := relaytest.Register(t, r.URL, id, "noise")
	secret := []byte("the plaintext the relay must never see, sent both ways")

	t.Run("noise", func(t *testing.T) {
		d, a := relaytest.Pair(t, r.URL, id, reg, "noise")
		ctx := context.Background()
		srv := make(chan *noise.Conn, 1)
		go func() {
			c, err := noise.Server(ctx, a, noise.Config{Identity: id})
			if err != nil {
				t.Error(err)
			}
			srv <- c
		}()
		cli, err := noise.Client(ctx, d, noise.Config{Identity: relaytest.NewIdentity(t)}, id.Public())
		if err != nil {
			t.Fatal(err)
		}
		sc := <-srv
		if sc == nil {
			t.FailNow()
		}
		go func() { cli.Write(secret); cli.Close() }()
		got, err := io.ReadAll(sc)
		if err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("the listener read %q, %v", got, err)
		}
		sc.Write(secret)
		sc.Close()
		if rec.contains(secret[:16]) {
			t.Fatal("the relay sent plaintext")
		}
	})
	t.Run("control: without noise", func(t *testing.T) {
		d, a := relaytest.Pair(t, r.URL, id, reg, "noise")
		go d.Write(secret)
		io.ReadFull(a, make([]byte, len(secret)))
		if !rec.contains(secret) {
			t.Fatal("the recorder did not see bytes the relay forwarded")
		}
	})
}
