//go:build !js

package relay_test

import (
	"errors"
	"net"
	"net/url"
	"testing"

	"github.com/f7d52a8e/multiserver/internal/proxytest"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/relaytest"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
)

// TestProxy registers and pairs through a real HTTP CONNECT proxy, and
// reports a proxy's refusal as an unreachable relay.
func TestProxy(t *testing.T) {
	r := relaytest.Start(t, relayserver.Config{})
	proxy := proxytest.Start(t, []int{r.HTTP.Listener.Addr().(*net.TCPAddr).Port}, "", "")
	via := func(u *url.URL) func(string, string) (*url.URL, error) {
		return func(string, string) (*url.URL, error) { return u, nil }
	}
	id := relaytest.NewIdentity(t)
	reg, err := (&relay.Client{URL: r.URL, Identity: id, Proxy: via(proxy.URL)}).Register(relaytest.Context(t), []string{"noise"})
	if err != nil {
		t.Fatalf("Register through the proxy: %v", err)
	}
	t.Cleanup(func() { reg.Close() })
	relaytest.Pair(t, r.URL, id, reg, "noise")

	// A proxy that refuses CONNECT to the relay's port but forwards plain
	// HTTP requests: the WebSocket fails, the bridge passes.
	other := proxytest.Start(t, []int{proxytest.FreePort(t)}, "", "") // allows another port only
	_, err = (&relay.Client{URL: r.URL, Identity: id, Proxy: via(other.URL), Carriers: []string{"ws"}}).Register(relaytest.Context(t), []string{"noise"})
	if !errors.Is(err, relay.ErrUnreachable) {
		t.Fatalf("Register over ws through a proxy that refuses = %v, want ErrUnreachable", err)
	}
	reg2, err := (&relay.Client{URL: r.URL, Identity: id, Proxy: via(other.URL)}).Register(relaytest.Context(t), []string{"noise"})
	if err != nil {
		t.Fatalf("Register by the ladder through a proxy that refuses CONNECT: %v", err)
	}
	defer reg2.Close()
	if c := reg2.Carrier(); c != "sse" {
		t.Fatalf("the ladder settled on %q, want sse", c)
	}
}
