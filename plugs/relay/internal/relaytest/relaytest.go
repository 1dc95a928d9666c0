//go:build !js

// Package relaytest serves relays for the tests of plugs/relay and
// plugs/relay/relayserver: on loopback in the test's process ([Start]),
// or alone in a child process that a test can kill ([StartChild]); and
// registers and pairs clients through them.
package relaytest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
)

// Relay is a relay served on loopback at /relay, with /readyz.
type Relay struct {
	*relayserver.Server
	URL  string           // ws://127.0.0.1:PORT/relay
	HTTP *httptest.Server // what serves it
}

// Start serves a relay with cfg until the test ends.
func Start(t testing.TB, cfg relayserver.Config) *Relay {
	t.Helper()
	return StartOn(t, cfg, nil)
}

// StartOn is Start on ln, if not nil.
func StartOn(t testing.TB, cfg relayserver.Config, ln net.Listener) *Relay {
	t.Helper()
	return start(t, cfg, ln, nil)
}

// StartWrapped is Start with the relay's handler wrapped by wrap: to
// watch the requests it serves.
func StartWrapped(t testing.TB, cfg relayserver.Config, wrap func(http.Handler) http.Handler) *Relay {
	t.Helper()
	return start(t, cfg, nil, wrap)
}

func start(t testing.TB, cfg relayserver.Config, ln net.Listener, wrap func(http.Handler) http.Handler) *Relay {
	t.Helper()
	s, err := relayserver.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = s
	if wrap != nil {
		h = wrap(h)
	}
	mux := http.NewServeMux()
	mux.Handle("/relay", h)
	mux.HandleFunc("/readyz", s.Readyz)
	ts := httptest.NewUnstartedServer(mux)
	if ln != nil {
		ts.Listener.Close()
		ts.Listener = ln
	}
	ts.Start()
	r := &Relay{Server: s, URL: "ws" + strings.TrimPrefix(ts.URL, "http") + "/relay", HTTP: ts}
	t.Cleanup(func() { s.Close(); ts.Close() })
	return r
}

// NewIdentity returns a new identity on the open network.
func NewIdentity(t testing.TB) *keys.Identity {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	id, err := keys.NewIdentity(priv, keys.OpenNetwork())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Context returns a context that ends after 10s or with the test.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// RandomStream returns a random stream id.
func RandomStream() relay.StreamID {
	var s relay.StreamID
	rand.Read(s[:])
	return s
}

// Register registers labels for id and closes the registration when the
// test ends.
func Register(t testing.TB, url string, id *keys.Identity, labels ...string) *relay.Registration {
	t.Helper()
	reg, err := (&relay.Client{URL: url, Identity: id}).Register(Context(t), labels)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	t.Cleanup(func() { reg.Close() })
	return reg
}

// Pair connects a dialer to a registered listener and returns both ends.
func Pair(t testing.TB, url string, listener *keys.Identity, reg *relay.Registration, label string) (dialed, accepted *relay.Conn) {
	t.Helper()
	ctx := Context(t)
	dialer := &relay.Client{URL: url, Identity: NewIdentity(t)}
	stream := RandomStream()
	type result struct {
		c   *relay.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := dialer.Connect(ctx, listener.Public(), label, stream)
		done <- result{c, err}
	}()
	var in *relay.Incoming
	select {
	case in = <-reg.Incoming():
	case r := <-done:
		t.Fatalf("Connect returned before INCOMING: %v", r.err)
	}
	if in.Label != label || in.StreamID != stream || !bytes.Equal(in.Key, dialer.Identity.Public()) {
		t.Fatalf("INCOMING = %+v, want label %q, stream %x and the dialer's key", in, label, stream)
	}
	a, err := (&relay.Client{URL: url, Identity: listener}).Accept(ctx, in)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("Connect: %v", r.err)
	}
	if !bytes.Equal(r.c.Peer(), listener.Public()) || !bytes.Equal(a.Peer(), dialer.Identity.Public()) || a.StreamID() != stream {
		t.Fatalf("PAIRED told the wrong keys or stream")
	}
	t.Cleanup(func() { r.c.Close(); a.Close() })
	return r.c, a
}
