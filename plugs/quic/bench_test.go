package quic

import (
	"context"
	"crypto/ed25519"
	"io"
	"net"
	"sync"
	"testing"

	quicgo "github.com/quic-go/quic-go"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/mux/yamux"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/transforms/noise"
)

// The benchmarks compare, on loopback: quic-go used directly with this
// plug's TLS and QUIC settings ("quic-go"), this plug ("plug", and
// through a multiserver.Network, "network"), and the net~noise~yamux
// stack through a Network ("net~noise~yamux"). Run them together, so
// that the machine is the same for all:
//
//	go test -run '^$' -bench . -benchtime 2s -count 3 ./plugs/quic/

// chunk is what one iteration of BenchmarkThroughput writes.
const chunk = 1 << 20

func benchPlug(b *testing.B) *Plug {
	b.Helper()
	p, err := New(Config{Identity: testIdentity(b)})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// benchNetwork is a Network with the quic and net plugs, noise and
// yamux, all under a new identity.
func benchNetwork(b *testing.B) *multiserver.Network {
	b.Helper()
	id := testIdentity(b)
	qp, err := New(Config{Identity: id})
	if err != nil {
		b.Fatal(err)
	}
	nt, err := noise.New(noise.Config{Identity: id})
	if err != nil {
		b.Fatal(err)
	}
	n, err := multiserver.New(multiserver.Config{
		Plugs:      []multiserver.Plug{qp, &tcp.Plug{}},
		Transforms: []multiserver.Transform{nt},
		Muxers:     []multiserver.Muxer{&yamux.Muxer{}},
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// rawServer is a quic-go listener with the plug's TLS and QUIC settings
// and nothing of this package on top: each stream is served by handle.
type rawServer struct {
	ln   *quicgo.Listener
	addr string
	wg   sync.WaitGroup
}

func newRawServer(b *testing.B, p *Plug, handle func(*quicgo.Stream)) *rawServer {
	b.Helper()
	ln, err := quicgo.ListenAddr("127.0.0.1:0", p.serverTLS(), p.qconf)
	if err != nil {
		b.Fatal(err)
	}
	s := &rawServer{ln: ln, addr: ln.Addr().String()}
	s.wg.Go(func() {
		for {
			qc, err := ln.Accept(context.Background())
			if err != nil {
				return
			}
			s.wg.Go(func() {
				defer qc.CloseWithError(0, "")
				for {
					st, err := qc.AcceptStream(context.Background())
					if err != nil {
						return
					}
					s.wg.Go(func() { handle(st) })
				}
			})
		}
	})
	b.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

// rawDial dials the raw server from a new socket, checking its key as
// the plug does.
func rawDial(b *testing.B, p *Plug, addr string, key ed25519.PublicKey) *quicgo.Conn {
	var refused refusal
	qc, err := quicgo.DialAddr(context.Background(), addr, p.clientTLS(key, &refused), p.qconf)
	if err != nil {
		b.Fatal(err)
	}
	return qc
}

// serveNetwork runs handle on every conn ln accepts.
func serveNetwork(b *testing.B, ln *multiserver.Listener, handle func(net.Conn)) {
	var wg sync.WaitGroup
	b.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { handle(c) })
		}
	})
}

func discard(c io.ReadCloser) {
	io.Copy(io.Discard, c)
	c.Close()
}

// BenchmarkThroughput writes b.N MiB over one stream, one way; the
// reader discards them. The clock stops once the reader has it all.
func BenchmarkThroughput(b *testing.B) {
	b.Run("quic-go", func(b *testing.B) {
		server, client := benchPlug(b), benchPlug(b)
		done := make(chan struct{})
		srv := newRawServer(b, server, func(st *quicgo.Stream) {
			io.Copy(io.Discard, st)
			close(done)
		})
		qc := rawDial(b, client, srv.addr, server.pub)
		defer qc.CloseWithError(0, "")
		st, err := qc.OpenStreamSync(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		pump(b, st, st.Close, done)
	})
	b.Run("plug", func(b *testing.B) {
		server, client := benchPlug(b), benchPlug(b)
		ln, err := server.Listen(context.Background(), Segment("127.0.0.1", 0, nil))
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			if c, err := ln.Accept(); err == nil {
				discard(c)
			}
			close(done)
		}()
		defer ln.Close()
		c, err := client.Dial(context.Background(), ln.(multiserver.Advertiser).Advertise(multiserver.ScopeDevice)[0])
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		pump(b, c, c.(*Stream).CloseWrite, done)
	})
	b.Run("net~noise~yamux", func(b *testing.B) {
		server, client := benchNetwork(b), benchNetwork(b)
		ln, err := server.Listen(context.Background(), "net:127.0.0.1:0~noise~yamux")
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		serveNetwork(b, ln, func(c net.Conn) { discard(c); close(done) })
		c, err := client.Dial(context.Background(), ln.Address(multiserver.ScopeDevice))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		pump(b, c, c.(interface{ CloseWrite() error }).CloseWrite, done)
	})
}

// pump writes b.N chunks to w, ends the stream with closeWrite, and
// waits for the reader to be done.
func pump(b *testing.B, w io.Writer, closeWrite func() error, done <-chan struct{}) {
	buf := make([]byte, chunk)
	b.SetBytes(chunk)
	b.ResetTimer()
	for range b.N {
		if _, err := w.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	closeWrite()
	<-done
	b.StopTimer()
}

// BenchmarkConnect makes one connection per iteration: dial, handshake,
// a one-byte echo on a stream, and close. The plug and net~noise~yamux
// run through a Network, as applications use them; the plug's close
// includes its GOAWAY exchange, quic-go's close is abrupt.
func BenchmarkConnect(b *testing.B) {
	echoByte := func(c io.ReadWriter) error {
		if _, err := c.Write([]byte{1}); err != nil {
			return err
		}
		_, err := io.ReadFull(c, make([]byte, 1))
		return err
	}
	b.Run("quic-go", func(b *testing.B) {
		server, client := benchPlug(b), benchPlug(b)
		srv := newRawServer(b, server, func(st *quicgo.Stream) {
			io.Copy(st, st)
			st.Close()
		})
		b.ResetTimer()
		for range b.N {
			qc := rawDial(b, client, srv.addr, server.pub)
			st, err := qc.OpenStreamSync(context.Background())
			if err == nil {
				err = echoByte(st)
			}
			if err != nil {
				b.Fatal(err)
			}
			qc.CloseWithError(0, "")
		}
	})
	for _, tt := range []struct{ name, listen string }{
		{"network", "quic:127.0.0.1:0"},
		{"net~noise~yamux", "net:127.0.0.1:0~noise~yamux"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			server, client := benchNetwork(b), benchNetwork(b)
			ln, err := server.Listen(context.Background(), tt.listen)
			if err != nil {
				b.Fatal(err)
			}
			serveNetwork(b, ln, func(c net.Conn) {
				io.Copy(c, c)
				c.Close()
			})
			addr := ln.Address(multiserver.ScopeDevice)
			if _, err := address.Parse(addr); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				c, err := client.Dial(context.Background(), addr)
				if err == nil {
					err = echoByte(c)
				}
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}
