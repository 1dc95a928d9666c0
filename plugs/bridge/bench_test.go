//go:build !js

package bridge_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/plugs/ws"
	"github.com/f7d52a8e/multiserver/transforms/noise"
)

// BenchmarkThroughput sends 64 KiB writes through noise over sse, poll
// and, for comparison, ws, over loopback: "up" from a dialed conn to an
// accepted one (the bridge's POSTs), "down" from the accepted conn to
// the dialed one (its event streams or long-polls).
func BenchmarkThroughput(b *testing.B) {
	for _, dir := range []string{"up", "down"} {
		b.Run(dir, func(b *testing.B) {
			for _, scheme := range []string{"ws", "sse", "poll"} {
				b.Run(scheme, func(b *testing.B) { benchThroughput(b, scheme, dir == "down") })
			}
		})
	}
}

func benchThroughput(b *testing.B, scheme string, down bool) {
	var ln *multiserver.Listener
	var addr string
	if scheme == "ws" {
		ln, addr = serveWS(b)
	} else {
		ln, addr = serve(b, scheme, nil)
	}
	var c net.Conn
	if scheme == "ws" {
		c = dialWS(b, addr)
	} else {
		c = dial(b, scheme, addr, nil)
	}
	s, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	w, r := c, s
	if down {
		w, r = s, c
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, make([]byte, 64<<10))
		done <- err
	}()
	msg := make([]byte, 64<<10)
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for range b.N {
		if _, err := w.Write(msg); err != nil {
			b.Fatal(err)
		}
	}
	w.Close()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	c.Close()
}

func wsNet(b *testing.B) *multiserver.Network {
	nt, err := noise.New(noise.Config{Identity: newIdentity(b)})
	if err != nil {
		b.Fatal(err)
	}
	n, err := multiserver.New(multiserver.Config{Plugs: []multiserver.Plug{&ws.Plug{}}, Transforms: []multiserver.Transform{nt}})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

func serveWS(b *testing.B) (*multiserver.Listener, string) {
	ln, err := wsNet(b).Listen(context.Background(), "ws://127.0.0.1:0/ms~noise")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	return ln, ln.Address(multiserver.ScopeDevice)
}

func dialWS(b *testing.B, addr string) net.Conn {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := wsNet(b).Dial(ctx, addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}
