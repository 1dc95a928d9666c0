package quic_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/mux/yamux"
	"github.com/f7d52a8e/multiserver/plugs/quic"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/plugs/ws"
	"github.com/f7d52a8e/multiserver/transforms/noise"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

// node is a Network whose plugs and transforms share one identity.
type node struct {
	*multiserver.Network
	key ed25519.PublicKey
}

// newNode returns a Network with the quic, net and ws plugs, the noise
// and shs transforms and the yamux muxer, all under one new identity and
// one app key.
func newNode(t testing.TB) node {
	t.Helper()
	id := newIdentity(t, keys.OpenNetwork())
	pub := id.Public()
	qp := newPlug(t, quic.Config{Identity: id})
	nt, err := noise.New(noise.Config{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	st, err := shs.New(shs.Config{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	n, err := multiserver.New(multiserver.Config{
		Plugs:      []multiserver.Plug{qp, &tcp.Plug{}, &ws.Plug{}},
		Transforms: []multiserver.Transform{nt, st},
		Muxers:     []multiserver.Muxer{&yamux.Muxer{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return node{n, pub}
}

// serveKeys echoes on every conn of ln, after writing the client's key
// as the server sees it, until ln closes.
func serveKeys(t *testing.T, ln *multiserver.Listener) {
	t.Helper()
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				k, _ := multiserver.RemoteKey(c)
				io.WriteString(c, address.EncodeKey(k))
				echo(c)
			})
		}
	})
}

// checkPeer reads the key the server saw, checks it and the server's
// key, and echoes a message.
func checkPeer(t *testing.T, c net.Conn, client, server node) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 44)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != address.EncodeKey(client.key) {
		t.Fatalf("the server saw key %q, %v; want the client's", b, err)
	}
	if k, ok := multiserver.RemoteKey(c); !ok || !k.Equal(server.key) {
		t.Fatalf("RemoteKey = %x, %v; want the server's", k, ok)
	}
	roundTrip(t, c, "through "+c.LocalAddr().Network())
}

// TestOneListenerThreeStacks serves quic, net~noise and ws~shs on one
// multiserver Listener, which advertises all three; each can be dialed,
// and both ends see each other's key.
func TestOneListenerThreeStacks(t *testing.T) {
	server, client := newNode(t), newNode(t)
	ln, err := server.Listen(context.Background(), "quic:127.0.0.1:0;net:127.0.0.1:0~noise;ws://127.0.0.1:0~shs")
	if err != nil {
		t.Fatal(err)
	}
	serveKeys(t, ln)
	adv := ln.Addresses(multiserver.ScopeDevice)
	var kinds []string
	for _, a := range adv {
		kinds = append(kinds, a[0].Name+"~"+func() string {
			if len(a) > 1 {
				return a[1].Name
			}
			return ""
		}())
	}
	if got := strings.Join(kinds, " "); got != "quic~ net~noise ws~shs" {
		t.Fatalf("Address(device) = %s: stacks %s, want quic, net~noise and ws~shs", adv, got)
	}
	if k := adv[0][0].Fields[len(adv[0][0].Fields)-1]; k != address.EncodeKey(server.key) {
		t.Errorf("quic address %s carries key %s, want the server's", adv[0], k)
	}
	for _, a := range adv {
		t.Run(a[0].Name, func(t *testing.T) {
			c, err := client.Dial(context.Background(), a.String())
			if err != nil {
				t.Fatalf("Dial(%s): %v", a, err)
			}
			defer c.Close()
			checkPeer(t, c, client, server)
		})
	}
	// The whole address, from a client that has not dialed this server
	// before (a Network tries first what worked last): quic, the first
	// stack, wins.
	client = newNode(t)
	c, err := client.Dial(context.Background(), ln.Address(multiserver.ScopeDevice))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.LocalAddr().(*net.UDPAddr); !ok {
		t.Errorf("Dial of all three went over %v, want quic", c.LocalAddr())
	}
	checkPeer(t, c, client, server)
}

// TestNetworkSession opens many streams on one QUIC connection through
// Network.DialSession, which skips the stacks that carry no sessions.
func TestNetworkSession(t *testing.T) {
	server, client := newNode(t), newNode(t)
	ln, err := server.Listen(context.Background(), "net:127.0.0.1:0~noise;quic:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveKeys(t, ln)
	sess, err := client.DialSession(context.Background(), ln.Address(multiserver.ScopeDevice))
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if _, ok := sess.(*quic.Conn); !ok {
		t.Fatalf("DialSession gave a %T, want a *quic.Conn", sess)
	}
	var streams []net.Conn
	for i := range 8 {
		s, err := sess.Open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := multiserver.SessionOf(s); !ok || got != sess {
			t.Fatalf("SessionOf(stream %d) = %v, %v", i, got, ok)
		}
		checkPeer(t, s, client, server)
		streams = append(streams, s)
	}
	// The streams are independent: each still echoes its own bytes.
	for i, s := range streams {
		roundTrip(t, s, fmt.Sprintf("stream %d again", i))
		s.Close()
	}
	// Network.Dial of the quic address gives one stream, whose Close ends
	// its connection.
	quicAddr := ln.Addresses(multiserver.ScopeDevice)[1].String()
	c, err := client.Dial(context.Background(), quicAddr)
	if err != nil {
		t.Fatal(err)
	}
	checkPeer(t, c, client, server)
	own, _ := multiserver.SessionOf(c)
	c.Close()
	<-own.(*quic.Conn).Done()
}

// TestAcceptedStreamInfo checks that a stream the Listener accepts from a
// quic connection, which it serves as a session, tells its stack, its
// peer and its connection, and that Listener.Shutdown ends the
// connection with the stream.
func TestAcceptedStreamInfo(t *testing.T) {
	server, client := newNode(t), newNode(t)
	ln, err := server.Listen(context.Background(), "quic:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(context.Background(), ln.Address(multiserver.ScopeDevice))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("x"))
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	info := multiserver.Info(s)
	if got := info.Stack.String(); got != "quic:127.0.0.1:0" {
		t.Errorf("Info(accepted).Stack = %q, want the listen address", got)
	}
	if !info.RemoteKey.Equal(client.key) {
		t.Errorf("Info(accepted).RemoteKey = %x, want the client's", info.RemoteKey)
	}
	own, ok := multiserver.SessionOf(s)
	if _, isConn := own.(*quic.Conn); !ok || !isConn {
		t.Fatalf("SessionOf(accepted) = %T, %v; want a *quic.Conn", own, ok)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- ln.Shutdown(ctx) }()
	roundTripOne(t, s, c)
	s.Close()
	c.Close()
	if err := <-shut; err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	<-own.(*quic.Conn).Done()
}

// roundTripOne writes a byte on s and reads it on c.
func roundTripOne(t *testing.T, s, c net.Conn) {
	t.Helper()
	s.Write([]byte("y"))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 1)
	if _, err := io.ReadFull(c, b); err != nil || b[0] != 'y' {
		t.Fatalf("read %q, %v; want y on a stream open during Shutdown", b, err)
	}
}
