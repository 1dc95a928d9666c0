package holepunch_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/holepunch"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
	"github.com/f7d52a8e/multiserver/transforms/noise"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rendezvous serves a relay with STUN on loopback until the test ends,
// and returns its URL and Direct settings for its peers.
func rendezvous(t *testing.T) (string, *relay.Direct) {
	t.Helper()
	srv, err := relayserver.NewServer(relayserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	d := &relay.Direct{HostAddrs: func() ([]netip.Addr, error) { return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil }}
	var done []chan struct{}
	for range 2 {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ch := make(chan struct{})
		done = append(done, ch)
		go func() { srv.ServeSTUN(pc); pc.Close(); close(ch) }()
		d.STUN = append(d.STUN, pc.LocalAddr().String())
	}
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
		for _, ch := range done {
			<-ch
		}
	})
	return "ws" + strings.TrimPrefix(ts.URL, "http"), d
}

func network(t *testing.T, d *relay.Direct) *multiserver.Network {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(nil)
	id, err := keys.NewIdentity(priv, keys.OpenNetwork())
	if err != nil {
		t.Fatal(err)
	}
	hp, err := holepunch.New(holepunch.Config{Rendezvous: &relay.Plug{Identity: id, Direct: d}})
	if err != nil {
		t.Fatal(err)
	}
	nz, err := noise.New(noise.Config{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	n, err := multiserver.New(multiserver.Config{Plugs: []multiserver.Plug{hp}, Transforms: []multiserver.Transform{nz}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDirectOrNothing: a holepunch dial returns a conn whose path is
// already direct, and the noise handshake and the bytes run over it.
func TestDirectOrNothing(t *testing.T) {
	url, d := rendezvous(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ln, err := network(t, d).Listen(ctx, "holepunch:"+url+"~noise")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Address(multiserver.ScopeDevice)
	if !strings.HasPrefix(addr, "holepunch:"+url+"~noise:") {
		t.Fatalf("listener advertises %q", addr)
	}
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.Copy(c, c)
			c.Close()
		}
	}()
	c, err := network(t, d).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if p := multiserver.Info(c).Path; p.Relayed || p.Carrier != "quic" {
		t.Fatalf("path %+v, want direct over quic", p)
	}
	c.Write([]byte("punched"))
	b := make([]byte, 7)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "punched" {
		t.Fatalf("echo %q, %v", b, err)
	}
}

// TestNoDirectPath: a peer that does not punch (its relay plug has no
// Direct) declines; the dial fails with ErrNoDirectPath and says why,
// and no conn is handed out relayed.
func TestNoDirectPath(t *testing.T) {
	url, d := rendezvous(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ln, err := network(t, nil).Listen(ctx, "holepunch:"+url+"~noise")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = network(t, d).Dial(ctx, ln.Address(multiserver.ScopeDevice))
	if !errors.Is(err, holepunch.ErrNoDirectPath) || !strings.Contains(err.Error(), "declined") {
		t.Fatalf("Dial: %v, want ErrNoDirectPath, declined", err)
	}
}
