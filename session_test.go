package multiserver_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/nettest"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/mux/yamux"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/transforms/noauth"
	"github.com/f7d52a8e/multiserver/transforms/noise"
)

func sessionNetwork(t *testing.T, app []byte) (*multiserver.Network, ed25519.PublicKey) {
	t.Helper()
	id, err := keys.NewIdentity(keys.Generate(), app)
	if err != nil {
		t.Fatal(err)
	}
	pub := id.Public()
	nt, err := noise.New(noise.Config{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	return newNetwork(t, multiserver.Config{
		Plugs:      []multiserver.Plug{&tcp.Plug{}},
		Transforms: []multiserver.Transform{nt, noauth.Transform{}, hello{}},
		Muxers:     []multiserver.Muxer{&yamux.Muxer{}},
	}), pub
}

func TestSessions(t *testing.T) {
	app := make([]byte, 32)
	server, serverKey := sessionNetwork(t, app)
	client, clientKey := sessionNetwork(t, app)
	ln := listen(t, server, "net:127.0.0.1:0~noise~yamux;net:127.0.0.1:0~noise")
	adv := ln.Address(multiserver.ScopeDevice)
	if strings.Count(adv, "~yamux") != 1 {
		t.Fatalf("Address() = %q, want the muxed stack to end in ~yamux", adv)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				if k, ok := multiserver.RemoteKey(c); !ok || !k.Equal(clientKey) {
					fmt.Fprintf(c, "bad key %x", k)
					return
				}
				buf := make([]byte, 64)
				n, _ := c.Read(buf)
				c.Write(buf[:n])
			}()
		}
	}()

	// DialSession skips the unmuxed address and gives many streams.
	sess, err := client.DialSession(context.Background(), adv)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	for i := range 20 {
		s, err := sess.Open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if k, ok := multiserver.RemoteKey(s); !ok || !k.Equal(serverKey) {
			t.Fatalf("RemoteKey(stream) = %x, %v; want the server's key", k, ok)
		}
		if got, ok := multiserver.SessionOf(s); !ok || got != sess {
			t.Fatalf("SessionOf(stream) = %v, %v; want the session", got, ok)
		}
		roundTrip(t, s, fmt.Sprintf("stream %d", i))
		s.Close()
	}

	// Dial of the muxed address alone gives one stream; closing it ends
	// its session.
	muxed := ln.Addresses(multiserver.ScopeDevice)[0].String()
	c, err := client.Dial(context.Background(), muxed)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c, "sole stream")
	own, ok := multiserver.SessionOf(c)
	if !ok {
		t.Fatal("SessionOf(Dial's stream) found none")
	}
	c.Close()
	if _, err := own.Open(context.Background()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Open on the session of a closed sole stream = %v, want net.ErrClosed", err)
	}

	// No muxed address: DialSession says so.
	plain := ln.Addresses(multiserver.ScopeDevice)[1].String()
	if _, err := client.DialSession(context.Background(), plain); !errors.Is(err, multiserver.ErrUnsupportedAddress) {
		t.Errorf("DialSession(%q) = %v, want ErrUnsupportedAddress", plain, err)
	}
}

// TestListenerCloseEndsSessions checks that a stream Accept returned
// outlives Close, and its session ends when it closes; and that Shutdown
// cuts it when its ctx ends.
func TestListenerCloseEndsSessions(t *testing.T) {
	app := make([]byte, 32)
	server, _ := sessionNetwork(t, app)
	client, _ := sessionNetwork(t, app)
	open := func(ln *multiserver.Listener) (multiserver.Session, net.Conn, net.Conn) {
		t.Helper()
		sess, err := client.DialSession(context.Background(), ln.Address(multiserver.ScopeDevice))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sess.Close() })
		s, err := sess.Open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		s.Write([]byte("x"))
		in, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { in.Close() })
		in.Read(make([]byte, 1))
		return sess, s, in
	}

	ln, err := server.Listen(context.Background(), "net:127.0.0.1:0~noauth~yamux")
	if err != nil {
		t.Fatal(err)
	}
	sess, s, in := open(ln)
	ln.Close()
	for _, p := range [][2]net.Conn{{s, in}, {in, s}} {
		b := make([]byte, 1)
		if _, err := p[0].Write([]byte("!")); err != nil {
			t.Fatalf("Write on a stream after Close: %v", err)
		}
		if _, err := io.ReadFull(p[1], b); err != nil {
			t.Fatalf("Read on a stream after Close: %v", err)
		}
	}
	if _, err := sess.Open(context.Background()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Open on a session of a closed Listener = %v, want net.ErrClosed", err)
	}
	in.Close()
	select {
	case <-sess.(interface{ Done() <-chan struct{} }).Done():
	case <-time.After(5 * time.Second):
		t.Error("the session outlived its last stream after Close")
	}

	ln, err = server.Listen(context.Background(), "net:127.0.0.1:0~noauth~yamux")
	if err != nil {
		t.Fatal(err)
	}
	_, _, in = open(ln)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ln.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown with an ended ctx = %v, want context.Canceled", err)
	}
	if _, err := in.Read(make([]byte, 8)); err == nil {
		t.Error("a stream outlived Shutdown with an ended ctx")
	}
}

func TestSoleStreamConformance(t *testing.T) {
	app := make([]byte, 32)
	server, _ := sessionNetwork(t, app)
	client, _ := sessionNetwork(t, app)
	for _, stack := range []string{"net:127.0.0.1:0~noise~yamux", "net:127.0.0.1:0~noise"} {
		t.Run(stack, func(t *testing.T) {
			ln := listen(t, server, stack)
			nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
				c1, err = client.Dial(context.Background(), ln.Address(multiserver.ScopeDevice))
				if err != nil {
					return nil, nil, nil, err
				}
				c1.Write([]byte{1}) // a stream reaches Accept once it carries data
				c2, err = ln.Accept()
				if err != nil {
					c1.Close()
					return nil, nil, nil, err
				}
				c2.Read(make([]byte, 1))
				return c1, c2, func() { c1.Close(); c2.Close() }, nil
			})
		})
	}
}

// flaky is a muxer that runs yamux, except that its Client fails if fail
// is set.
type flaky struct {
	yamux.Muxer
	fail bool
}

func (*flaky) Name() string { return "flaky" }

func (m *flaky) Client(ctx context.Context, c net.Conn) (multiserver.Session, error) {
	if m.fail {
		return nil, errors.New("flaky: refused to start")
	}
	return m.Muxer.Client(ctx, c)
}

// TestMuxerFailureFallsThrough checks that a muxer that fails to start
// is a failed attempt of the dial race, as a failed handshake is: the
// dial goes on to the next address.
func TestMuxerFailureFallsThrough(t *testing.T) {
	app := make([]byte, 32)
	network := func(fail bool) *multiserver.Network {
		_, priv, _ := ed25519.GenerateKey(nil)
		id, err := keys.NewIdentity(priv, app)
		if err != nil {
			t.Fatal(err)
		}
		nt, err := noise.New(noise.Config{Identity: id})
		if err != nil {
			t.Fatal(err)
		}
		return newNetwork(t, multiserver.Config{
			Plugs:      []multiserver.Plug{&tcp.Plug{}},
			Transforms: []multiserver.Transform{nt},
			Muxers:     []multiserver.Muxer{&yamux.Muxer{}, &flaky{fail: fail}},
		})
	}
	server, client := network(false), network(true)
	ln := listen(t, server, "net:127.0.0.1:0~noise~flaky;net:127.0.0.1:0~noise~yamux")
	echo(t, ln)
	adv := ln.Address(multiserver.ScopeDevice)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, adv)
	if err != nil {
		t.Fatalf("Dial(%q) = %v, want the yamux address after the flaky one", adv, err)
	}
	defer c.Close()
	if stack := multiserver.Info(c).Stack.String(); !strings.HasSuffix(stack, "~yamux") {
		t.Errorf("Dial went through %s, want the yamux stack", stack)
	}
	sess, err := client.DialSession(ctx, adv)
	if err != nil {
		t.Fatalf("DialSession(%q) = %v", adv, err)
	}
	sess.Close()
	flakyOnly := ln.Addresses(multiserver.ScopeDevice)[0].String()
	_, err = client.Dial(ctx, flakyOnly)
	if de := dialErrors(err)[flakyOnly]; de == nil || de.Layer != "flaky" {
		t.Errorf("Dial(%q) = %v, want a DialError of layer flaky", flakyOnly, err)
	}
}
