//go:build !js

package relay_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/relaytest"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
	"github.com/f7d52a8e/multiserver/transforms/noise"
)

// TestWSS reaches a relay over TLS whose self-signed certificate the
// plugs pin through TLSConfig.RootCAs; a plug that does not pin it
// verifies normally and refuses the relay.
func TestWSS(t *testing.T) {
	s, err := relayserver.NewServer(relayserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/relay", s)
	ts := httptest.NewTLSServer(mux)
	defer ts.Close()
	defer s.Close()
	url := "wss" + strings.TrimPrefix(ts.URL, "https") + "/relay"
	pin := &tls.Config{RootCAs: x509.NewCertPool()}
	pin.RootCAs.AddCert(ts.Certificate())

	withTLS := func(id *keys.Identity, cfg *tls.Config) *multiserver.Network {
		nt, err := noise.New(noise.Config{Identity: id})
		if err != nil {
			t.Fatal(err)
		}
		n, err := multiserver.New(multiserver.Config{
			Plugs:      []multiserver.Plug{&relay.Plug{Identity: id, TLSConfig: cfg}},
			Transforms: []multiserver.Transform{nt},
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	srv := withTLS(relaytest.NewIdentity(t), pin)
	ln, err := srv.Listen(relaytest.Context(t), "relay:"+url+"~noise")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	echo(t, ln)
	addr := ln.Address(multiserver.ScopeDevice)
	if !strings.HasPrefix(addr, "relay:"+url+"~noise:") {
		t.Fatalf("advertised %q: not registered over wss", addr)
	}

	c, err := withTLS(relaytest.NewIdentity(t), pin).Dial(relaytest.Context(t), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("tls"))
	if _, err := io.ReadFull(c, make([]byte, 3)); err != nil {
		t.Fatal(err)
	}
	if p := multiserver.Info(c).Path; !p.Relayed || p.Carrier != "wss" {
		t.Errorf("path %+v, want relayed over wss", p)
	}

	_, err = withTLS(relaytest.NewIdentity(t), nil).Dial(relaytest.Context(t), addr)
	var unknown x509.UnknownAuthorityError
	if !errors.Is(err, relay.ErrUnreachable) || !errors.As(err, &unknown) {
		t.Errorf("dial without the pin: %v, want ErrUnreachable for an unknown authority", err)
	}
}
