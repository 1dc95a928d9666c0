package multiserver_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/mem"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/transforms/noauth"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

// An invite address carries the seed of a one-time identity
// ("shs:KEY:SEED"). However its dial fails, the error shows the address
// with the seed redacted and never the seed.
func TestDialErrorsHideInviteSeed(t *testing.T) {
	id, err := keys.NewIdentity(keys.Generate(), keys.OpenNetwork())
	if err != nil {
		t.Fatal(err)
	}
	_, invite, _ := ed25519.GenerateKey(nil)
	key, seed := address.EncodeKey(id.Public()), address.EncodeKey(invite.Seed())
	st, err := shs.New(shs.Config{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	m := mem.New()
	n := newNetwork(t, multiserver.Config{
		Plugs:            []multiserver.Plug{&tcp.Plug{}, m},
		Transforms:       []multiserver.Transform{st, noauth.Transform{}},
		HandshakeTimeout: 200 * time.Millisecond,
	})
	// A server that never answers the handshake: the shs client times out.
	ln := listen(t, n, "mem:mute~noauth")
	echo(t, ln)
	noShs := newNetwork(t, multiserver.Config{Plugs: []multiserver.Plug{&tcp.Plug{}}})
	tests := []struct {
		name string
		n    *multiserver.Network
		addr string
	}{
		{"refused", n, "net:127.0.0.1:1~shs:" + key + ":" + seed},
		{"handshake", n, "mem:mute~shs:" + key + ":" + seed},
		{"parse", n, "net:127.0.0.1:1~shs:" + key + ":" + seed + "~bogus"},
		{"bad seed", n, "net:127.0.0.1:1~shs:" + key + ":" + seed[:40]},
		{"no transform", noShs, "net:127.0.0.1:1~shs:" + key + ":" + seed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := tt.n.Dial(ctx, tt.addr+";net:127.0.0.1:1~noauth")
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			if strings.Contains(err.Error(), seed[:20]) {
				t.Errorf("Dial error %q shows the seed", err)
			}
			var de *multiserver.DialError
			if !errors.As(err, &de) {
				t.Fatalf("Dial error %v holds no *DialError", err)
			}
			if strings.Contains(de.Addr, seed[:20]) || !strings.Contains(de.Addr, "shs:"+key+":<redacted>") {
				t.Errorf("DialError.Addr = %q, want the address with its seed redacted", de.Addr)
			}
		})
	}
	hand := &multiserver.DialError{Addr: "net:h:1~shs:" + key + ":" + seed, Layer: "net", Err: errors.New("x")}
	if strings.Contains(hand.Error(), seed[:20]) {
		t.Errorf("a DialError built by hand shows the seed: %q", hand)
	}
}

// TestDialErrorNamesTheLayerOnce: a layer whose error already starts
// with its name is not named twice.
func TestDialErrorNamesTheLayerOnce(t *testing.T) {
	for _, c := range []struct {
		layer, err, want string
	}{
		{"relay", "relay: denied: NO_PEER", "dial relay:ws://h/r~noise:K: relay: denied: NO_PEER"},
		{"net", "connection refused", "dial relay:ws://h/r~noise:K: net: connection refused"},
		{"ws", "wsx: odd", "dial relay:ws://h/r~noise:K: ws: wsx: odd"},
	} {
		e := &multiserver.DialError{Addr: "relay:ws://h/r~noise:K", Layer: c.layer, Err: errors.New(c.err)}
		if got := e.Error(); got != c.want {
			t.Errorf("%q", got)
		}
	}
}
