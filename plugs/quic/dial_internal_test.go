package quic

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
)

// TestRace dials a name's addresses as race does, with the first of
// them dead: the live one wins; a refused handshake is the race's error.
func TestRace(t *testing.T) {
	newPlug := func() *Plug {
		p, err := New(Config{Identity: testIdentity(t)})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	server, client := newPlug(), newPlug()
	ln, err := server.Listen(context.Background(), Segment("127.0.0.1", 0, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	port := uint16(ln.Addr().(*net.UDPAddr).Port)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Nothing listens on 127.0.0.2 (the server is bound to 127.0.0.1).
	ips := []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.1")}
	c, err := client.race(ctx, ips, port, server.pub)
	if err != nil {
		t.Fatalf("race = %v, want the live address to win", err)
	}
	if got := c.RemoteAddr().String(); got != ln.Addr().String() {
		t.Errorf("won with %s, want %s", got, ln.Addr())
	}
	c.Close()

	other := newPlug()
	_, err = client.race(ctx, []netip.Addr{ips[1], ips[1], ips[1]}, port, other.pub)
	if !errors.Is(err, multiserver.ErrWrongKey) {
		t.Fatalf("race to the wrong key = %v, want ErrWrongKey", err)
	}
}

// testIdentity returns a fresh identity on the open network.
func testIdentity(tb testing.TB) *keys.Identity {
	tb.Helper()
	id, err := keys.NewIdentity(keys.Generate(), keys.OpenNetwork())
	if err != nil {
		tb.Fatal(err)
	}
	return id
}
