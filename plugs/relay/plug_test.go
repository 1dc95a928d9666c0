//go:build !js

package relay_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"strings"
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
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/transforms/noauth"
	"github.com/f7d52a8e/multiserver/transforms/noise"
)

// peerNet is a Network with the relay plug, net and noise, for id.
func peerNet(t testing.TB, id *keys.Identity) (*multiserver.Network, *relay.Plug) {
	t.Helper()
	nt, err := noise.New(noise.Config{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	p := &relay.Plug{Identity: id}
	n, err := multiserver.New(multiserver.Config{
		Plugs:      []multiserver.Plug{p, &tcp.Plug{}},
		Transforms: []multiserver.Transform{nt},
	})
	if err != nil {
		t.Fatal(err)
	}
	return n, p
}

// echo serves ln until it closes, echoing each conn, and closes the
// conns it accepted when the test ends: a conn whose dialer left while
// its relay was down waits for a carrier until its resume timeout.
func echo(t testing.TB, ln net.Listener) {
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
}

func TestPlugDialThroughRelay(t *testing.T) {
	r := relaytest.Start(t, relayserver.Config{})
	srvID, cliID := relaytest.NewIdentity(t), relaytest.NewIdentity(t)
	srv, _ := peerNet(t, srvID)
	ln, err := srv.Listen(relaytest.Context(t), "relay:"+r.URL+"~noise")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	echo(t, ln)
	addr := ln.Address(multiserver.ScopeDevice)
	want := "relay:" + r.URL + "~noise:" + address.EncodeKey(srvID.Public())
	if addr != want {
		t.Fatalf("advertised %q, want %q", addr, want)
	}

	cli, _ := peerNet(t, cliID)
	c, err := cli.Dial(relaytest.Context(t), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := []byte("through the relay and back")
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("read %q, %v", got, err)
	}
	info := multiserver.Info(c)
	if !info.Path.Relayed || info.Path.Carrier != "ws" {
		t.Errorf("path %+v, want relayed over ws", info.Path)
	}
	if !info.RemoteKey.Equal(srvID.Public()) {
		t.Errorf("remote key %s, want the listener's", keys.ID(info.RemoteKey))
	}
	if info.Stack.String() != addr {
		t.Errorf("stack %s, want %s", info.Stack, addr)
	}
}

func TestPlugNoPeer(t *testing.T) {
	r := relaytest.Start(t, relayserver.Config{})
	cli, _ := peerNet(t, relaytest.NewIdentity(t))
	start := time.Now()
	_, err := cli.Dial(relaytest.Context(t), "relay:"+r.URL+"~noise:"+address.EncodeKey(relaytest.NewIdentity(t).Public()))
	if !errors.Is(err, relay.ErrNoPeer) {
		t.Fatalf("dial: %v, want ErrNoPeer", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("NO_PEER took %v", d)
	}
}

func TestPlugRefusesPlaintext(t *testing.T) {
	r := relaytest.Start(t, relayserver.Config{})
	p := &relay.Plug{Identity: relaytest.NewIdentity(t)}
	n, err := multiserver.New(multiserver.Config{
		Plugs:      []multiserver.Plug{p},
		Transforms: []multiserver.Transform{&noauth.Transform{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"relay:" + r.URL + "~noauth", "relay:" + r.URL} {
		_, err := n.Listen(relaytest.Context(t), a)
		if err == nil || !strings.Contains(err.Error(), "authenticates the peer end to end") {
			t.Errorf("listen %s: %v", a, err)
		}
		_, err = n.Dial(relaytest.Context(t), a)
		if err == nil || !strings.Contains(err.Error(), "authenticates the peer end to end") {
			t.Errorf("dial %s: %v", a, err)
		}
	}
}

// TestPlugRelayDownAtListen: a relay that is down does not fail the
// other stacks; the listener registers once the relay comes up, and its
// address says so.
func TestPlugRelayDownAtListen(t *testing.T) {
	hold, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := hold.Addr().String()
	hold.Close() // nothing listens there now
	url := "ws://" + port + "/relay"

	srv, _ := peerNet(t, relaytest.NewIdentity(t))
	ctx, cancel := context.WithTimeout(relaytest.Context(t), time.Second)
	defer cancel()
	ln, err := srv.Listen(ctx, "net:127.0.0.1:0~noise;relay:"+url+"~noise")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	changed := ln.Changed()
	if a := ln.Address(multiserver.ScopeDevice); strings.Contains(a, "relay:") || !strings.HasPrefix(a, "net:") {
		t.Fatalf("address %q before the relay is up", a)
	}
	rl, err := net.Listen("tcp", port)
	if err != nil {
		t.Skipf("port taken meanwhile: %v", err)
	}
	relaytest.StartOn(t, relayserver.Config{}, rl)
	for {
		select {
		case <-changed:
		case <-time.After(5 * time.Second):
			t.Fatal("no change within 5s of the relay coming up")
		}
		changed = ln.Changed()
		if a := ln.Address(multiserver.ScopeDevice); strings.Contains(a, "relay:"+url+"~noise:") {
			return
		}
	}
}

// TestPlugResumesAcrossRelayRestart moves checksummed data both ways
// while the relay is killed and started again on the same port: the
// conn goes on, nothing lost, nothing twice.
func TestPlugResumesAcrossRelayRestart(t *testing.T) {
	c, ln, r, port := echoBehindRelay(t, nil, nil)
	defer ln.Close()
	defer c.Close()

	echoAcrossRestart(t, c, r, port, 4<<20, 32<<10, 20*time.Second)
}

// echoBehindRelay starts a relay on a port kept for echoAcrossRestart, a
// listener through it that echoes and a conn dialed to that listener,
// their plugs reaching the relay by srv and cli (nil: every carrier). It
// returns the conn, the listener, the relay and the relay's address;
// the caller closes the conn and the listener.
func echoBehindRelay(t *testing.T, srv, cli []string) (net.Conn, *multiserver.Listener, *relaytest.Relay, string) {
	t.Helper()
	rl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := rl.Addr().String()
	r := relaytest.StartOn(t, relayserver.Config{}, rl)

	sn, sp := peerNet(t, relaytest.NewIdentity(t))
	sp.Carriers = srv
	ln, err := sn.Listen(relaytest.Context(t), "relay:"+r.URL+"~noise")
	if err != nil {
		t.Fatal(err)
	}
	echo(t, ln)
	cn, cp := peerNet(t, relaytest.NewIdentity(t))
	cp.Carriers = cli
	c, err := cn.Dial(relaytest.Context(t), ln.Address(multiserver.ScopeDevice))
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	return c, ln, r, port
}

// echoAcrossRestart writes total random bytes to c, whose far end echoes
// them, chunk bytes at a time; halfway it kills relay r and starts a new
// one on addr. It fails t unless exactly what went comes back within
// wait, and returns the new relay.
func echoAcrossRestart(t *testing.T, c net.Conn, r *relaytest.Relay, addr string, total, chunk int, wait time.Duration) *relaytest.Relay {
	t.Helper()
	data := make([]byte, total)
	rand.Read(data)
	sum := sha256.Sum256(data)
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(c, int64(total)))
		got <- b
	}()
	var r2 atomic.Pointer[relaytest.Relay]
	written := make(chan error, 1)
	go func() {
		for i := 0; i < total; i += chunk {
			if _, err := c.Write(data[i : i+chunk]); err != nil {
				written <- err
				return
			}
			if i == total/2 {
				r.Close() // the relay dies halfway
				r.HTTP.Close()
				nl, err := net.Listen("tcp", addr)
				if err != nil {
					written <- err
					return
				}
				r2.Store(relaytest.StartOn(t, relayserver.Config{}, nl))
			}
		}
		written <- nil
	}()
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if len(b) != total || sha256.Sum256(b) != sum {
			t.Fatalf("read %d bytes, checksum equal: %v", len(b), sha256.Sum256(b) == sum)
		}
	case <-time.After(wait):
		t.Fatalf("no echo within %v of the restart", wait)
	}
	return r2.Load()
}

// TestRegistrationLivesOnPings: an idle control conn that the relay
// pings stays up past three ping intervals, and one the relay stops
// answering ends.
func TestRegistrationLivesOnPings(t *testing.T) {
	r := relaytest.Start(t, relayserver.Config{PingInterval: 100 * time.Millisecond})
	id := relaytest.NewIdentity(t)
	reg, err := (&relay.Client{URL: r.URL, Identity: id}).Register(relaytest.Context(t), []string{"noise"})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	select {
	case <-reg.Done():
		t.Fatalf("registration ended while pinged: %v", reg.Err())
	case <-time.After(700 * time.Millisecond):
	}
}
