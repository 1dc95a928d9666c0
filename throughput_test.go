package multiserver_test

import (
	"context"
	"io"
	"net"
	"testing"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/mux/yamux"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/transforms/noauth"
	"github.com/f7d52a8e/multiserver/transforms/noise"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

// BenchmarkThroughput moves data one way over one stream of each stack
// on loopback, raw TCP first as the reference, and each stack again on a
// Network that counts ([multiserver.Stats]) to show what counting costs.
// Compare the MB/s of one run: `go test -run '^$' -bench Throughput .`
func BenchmarkThroughput(b *testing.B) {
	b.Run("tcp", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		pump(b, c, s)
	})
	for _, stack := range []string{"net:127.0.0.1:0~noauth", "net:127.0.0.1:0~shs", "net:127.0.0.1:0~noise", "net:127.0.0.1:0~noise~yamux"} {
		for _, counted := range []bool{false, true} {
			name := stack[len("net:127.0.0.1:0~"):]
			var stats *multiserver.Stats
			if counted {
				name, stats = name+"/counted", multiserver.NewStats()
			}
			b.Run(name, func(b *testing.B) { benchStack(b, stack, stats) })
		}
	}
}

// benchStack pumps data over one stream of stack between Networks that
// count into stats (nil: they do not count).
func benchStack(b *testing.B, stack string, stats *multiserver.Stats) {
	server, client := benchNetwork(b, stats), benchNetwork(b, stats)
	ln, err := server.Listen(context.Background(), stack)
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := client.Dial(context.Background(), ln.Address(multiserver.ScopeDevice))
	if err != nil {
		b.Fatal(err)
	}
	c.Write([]byte{0}) // a yamux stream reaches Accept once it carries data
	s := <-accepted
	s.Read(make([]byte, 1))
	pump(b, c, s)
}

// pump writes b.N times 1 MiB from c to s and closes both.
func pump(b *testing.B, c, s net.Conn) {
	const chunk = 1 << 20
	buf := make([]byte, chunk)
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, s)
		close(done)
	}()
	b.SetBytes(chunk)
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	c.Close()
	<-done
	s.Close()
}

func benchNetwork(b *testing.B, stats *multiserver.Stats) *multiserver.Network {
	id, err := keys.NewIdentity(keys.Generate(), keys.OpenNetwork())
	if err != nil {
		b.Fatal(err)
	}
	st, err := shs.New(shs.Config{Identity: id})
	if err != nil {
		b.Fatal(err)
	}
	nt, err := noise.New(noise.Config{Identity: id})
	if err != nil {
		b.Fatal(err)
	}
	n, err := multiserver.New(multiserver.Config{
		Plugs:      []multiserver.Plug{&tcp.Plug{}},
		Transforms: []multiserver.Transform{st, nt, noauth.Transform{}},
		Muxers:     []multiserver.Muxer{&yamux.Muxer{}},
		Stats:      stats,
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}
