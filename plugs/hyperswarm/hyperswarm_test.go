package hyperswarm_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/interop/hstest"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/hyperswarm"
)

func newNetwork(t *testing.T, relays ...string) (*multiserver.Network, *hyperswarm.Plug) {
	t.Helper()
	p, err := hyperswarm.New(hyperswarm.Config{Relays: relays, StallTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	n, err := multiserver.New(multiserver.Config{Plugs: []multiserver.Plug{p}})
	if err != nil {
		t.Fatal(err)
	}
	return n, p
}

func addr(key ed25519.PublicKey) string { return "hyperswarm:" + address.EncodeKey(key) }

func TestDialEcho(t *testing.T) {
	hs := sharedNet(t)
	n, _ := newNetwork(t, hs.Relay)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := n.Dial(ctx, addr(hs.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if k, _ := multiserver.RemoteKey(c); !bytes.Equal(k, hs.PublicKey) {
		t.Fatalf("RemoteKey %x, want %x", k, hs.PublicKey)
	}
	if p := multiserver.Info(c).Path; p != (multiserver.Path{Relayed: true, Carrier: "ws"}) {
		t.Fatalf("path %+v, want relayed over ws: every byte goes through the dht-relay", p)
	}
	data := make([]byte, 1<<20)
	rand.Read(data)
	go func() {
		c.Write(data)
		c.(interface{ CloseWrite() error }).CloseWrite()
	}()
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("echo: %v after %d bytes", err, len(got))
	}
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("echo of 1 MiB: %d bytes back, checksums differ", len(got))
	}
}

func TestPeerNotFound(t *testing.T) {
	hs := sharedNet(t)
	n, _ := newNetwork(t, hs.Relay)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := n.Dial(ctx, addr(keys.Generate().Public().(ed25519.PublicKey)))
	if err == nil {
		c.Close()
		t.Fatal("dialing an unknown key succeeded")
	}
	if !errors.Is(err, hyperswarm.ErrPeerNotFound) {
		t.Fatalf("dialing an unknown key: %v, want ErrPeerNotFound", err)
	}
}

// TestRelayFallback: the first relay is down, the second takes the dial.
func TestRelayFallback(t *testing.T) {
	hs := sharedNet(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "ws://" + ln.Addr().String()
	ln.Close()
	n, _ := newNetwork(t, dead, hs.Relay)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := n.Dial(ctx, addr(hs.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()

	n, _ = newNetwork(t, dead)
	_, err = n.Dial(ctx, addr(hs.PublicKey))
	if !errors.Is(err, hyperswarm.ErrRelayUnreachable) {
		t.Fatalf("dial through a dead relay: %v, want ErrRelayUnreachable", err)
	}
}

func TestListen(t *testing.T) {
	p, err := hyperswarm.New(hyperswarm.Config{Relays: []string{"ws://127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	s := address.Segment{Name: "hyperswarm", Fields: []string{address.EncodeKey(p.PublicKey())}}
	if _, err := p.Listen(context.Background(), s); !errors.Is(err, hyperswarm.ErrListen) {
		t.Fatalf("Listen: %v, want ErrListen", err)
	}
}

func TestConfig(t *testing.T) {
	for _, cfg := range []hyperswarm.Config{{}, {Relays: []string{"http://relay.example"}}} {
		if _, err := hyperswarm.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

func TestKind(t *testing.T) {
	key := address.EncodeKey(make([]byte, 32))
	p := &address.Parser{Kinds: []address.Kind{hyperswarm.Kind()}}
	if _, err := p.Parse("hyperswarm:" + key); err != nil {
		t.Fatalf("hyperswarm:%s: %v", key, err)
	}
	for _, bad := range []string{"hyperswarm", "hyperswarm:abc", "hyperswarm:" + key + ":x", "hyperswarm:" + address.EncodeKey(make([]byte, 31))} {
		if _, err := p.Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

func TestRefused(t *testing.T) {
	hs := sharedNet(t)
	n, _ := newNetwork(t, hs.Relay)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := n.Dial(ctx, addr(hs.RefusingKey))
	if err == nil {
		c.Close()
		t.Fatal("a peer whose firewall refuses everyone let us in")
	}
	if !errors.Is(err, hyperswarm.ErrRefused) || !errors.Is(err, multiserver.ErrHandshake) {
		t.Fatalf("dialing a refusing peer: %v, want ErrRefused and multiserver.ErrHandshake", err)
	}
}

// TestRelayKilled: the relay's process killed mid-transfer fails the
// conn's Read and Write with ErrRelayGone, at once.
func TestRelayKilled(t *testing.T) {
	hs := hstest.StartT(t)
	n, _ := newNetwork(t, hs.Relay)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := n.Dial(ctx, addr(hs.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	werr := make(chan error, 1)
	go func() {
		buf := make([]byte, 32<<10)
		for {
			if _, err := c.Write(buf); err != nil {
				werr <- err
				return
			}
		}
	}()
	time.AfterFunc(300*time.Millisecond, hs.Kill)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err = io.Copy(io.Discard, c)
	if !errors.Is(err, hyperswarm.ErrRelayGone) {
		t.Fatalf("read after the relay was killed: %v, want ErrRelayGone", err)
	}
	select {
	case err := <-werr:
		if !errors.Is(err, hyperswarm.ErrRelayGone) {
			t.Fatalf("write after the relay was killed: %v, want ErrRelayGone", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("write still blocked 10s after the relay was killed")
	}
}
