package tunnel_test

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/interop/roomtest"
)

// benchPair returns a dialer and the address of a listener that
// discards what it accepts: through the in-process room (tunnel), or
// straight over net~shs on loopback (direct), with the same keys and
// Networks.
func benchPair(b *testing.B, via string) (*peer, string, *multiserver.Listener) {
	room := roomtest.Start(b, roomtest.Config{})
	a, l := newPeer(b, room.Addr), newPeer(b, room.Addr)
	var ln *multiserver.Listener
	var addr string
	serve := func(c net.Conn) { io.Copy(io.Discard, c) }
	if strings.HasSuffix(via, "-ack") {
		via, serve = strings.TrimSuffix(via, "-ack"), ackWindow
	}
	switch via {
	case "tunnel":
		ln, addr = l.listen(b, room)
	default:
		var err error
		ln, err = l.n.Listen(ctxT(b, 10*time.Second), "net:127.0.0.1:0~shs")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ln.Close() })
		addr = ln.Address(multiserver.ScopeDevice)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { serve(c); c.Close() }()
		}
	}()
	return a, addr, ln
}

// BenchmarkSetup measures Dial up to a finished shs handshake: direct
// net~shs; a tunnel through a room session already open (warm); a
// tunnel that opens the room session first (cold: net~shs to the room,
// then tunnel.connect, then shs inside).
func BenchmarkSetup(b *testing.B) {
	for _, via := range []string{"direct", "tunnel-warm", "tunnel-cold"} {
		b.Run(via, func(b *testing.B) {
			kind := "direct"
			if via != "direct" {
				kind = "tunnel"
			}
			a, addr, _ := benchPair(b, kind)
			if via == "tunnel-warm" {
				// A tunnel left open keeps the room session.
				keep, err := a.n.Dial(ctxT(b, 20*time.Second), addr)
				if err != nil {
					b.Fatal(err)
				}
				defer keep.Close()
			}
			b.ResetTimer()
			for range b.N {
				c, err := a.n.Dial(ctxT(b, 20*time.Second), addr)
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}

// BenchmarkThroughput moves 1 MiB per op one way, direct and through
// the room; the receiver acknowledges each MiB with a byte before the
// next goes out. muxrpc has no flow control, so a sender that outruns
// the path would overflow a stream's buffer: applications that stream
// through rooms keep a window of their own, as this one does.
func BenchmarkThroughput(b *testing.B) {
	const window = 1 << 20
	for _, via := range []string{"direct", "tunnel"} {
		b.Run(via, func(b *testing.B) {
			a, addr, ln := benchPair(b, via+"-ack")
			_ = ln
			c, err := a.n.Dial(ctxT(b, 20*time.Second), addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			buf := make([]byte, window)
			ack := make([]byte, 1)
			b.SetBytes(window)
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, ack); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// ackWindow reads c and writes a byte back after every MiB.
func ackWindow(c net.Conn) {
	buf := make([]byte, 1<<20)
	for {
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		if _, err := c.Write([]byte{1}); err != nil {
			return
		}
	}
}
