//go:build !js

package relay

import (
	"errors"
	"net"
	"net/url"
	"testing"

	"github.com/f7d52a8e/multiserver/internal/proxytest"
)

// TestProxy registers and pairs through a real HTTP CONNECT proxy, and
// reports a proxy's refusal as an unreachable relay.
func TestProxy(t *testing.T) {
	r := startRelay(t, Config{})
	proxy := proxytest.Start(t, []int{r.ts.Listener.Addr().(*net.TCPAddr).Port}, "", "")
	via := func(u *url.URL) func(string, string) (*url.URL, error) {
		return func(string, string) (*url.URL, error) { return u, nil }
	}
	id := newIdentity(t)
	reg, err := (&Client{URL: r.url, Identity: id, Proxy: via(proxy.URL)}).Register(ctxT(t), []string{"noise"})
	if err != nil {
		t.Fatalf("Register through the proxy: %v", err)
	}
	t.Cleanup(func() { reg.Close() })
	pair(t, r.url, id, reg, "noise")

	other := proxytest.Start(t, []int{proxytest.FreePort(t)}, "", "") // allows another port only
	_, err = (&Client{URL: r.url, Identity: id, Proxy: via(other.URL)}).Register(ctxT(t), []string{"noise"})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Register through a proxy that refuses = %v, want ErrUnreachable", err)
	}
}
