//go:build !js

package bridge_test

import (
	"context"
	"strings"
	"testing"

	"github.com/f7d52a8e/multiserver"
)

// TestMountAdvertisesDefaultPort: a listener on a mounted URL advertises
// the URL's port, or its scheme's default (80 or 443, which the address
// leaves out) if it has none.
func TestMountAdvertisesDefaultPort(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"http://example.org/ms", "sse:http://example.org/ms~"},
		{"https://example.org/ms", "sse:https://example.org/ms~"},
		{"https://example.org:8443/ms", "sse:https://example.org:8443/ms~"},
	} {
		n, p := peer(t, "sse", newIdentity(t), nil)
		if _, err := p.Mount(c.url); err != nil {
			t.Fatal(err)
		}
		ln, err := n.Listen(context.Background(), "sse:"+c.url+"~noise")
		if err != nil {
			t.Fatal(err)
		}
		got := ln.Address(multiserver.ScopePublic)
		ln.Close()
		if !strings.HasPrefix(got, c.want) {
			t.Errorf("%s advertises %q, want %q...", c.url, got, c.want)
		}
	}
}
