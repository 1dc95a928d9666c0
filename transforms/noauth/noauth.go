// Package noauth is the "noauth" transform: an explicit statement that a
// stack has no authentication and no encryption.
//
// It exists for loopback, unix sockets and tests, where the transport is
// already private. It is never advertised in [multiserver.ScopePublic],
// and a Listener refuses to serve it on an address reachable there.
package noauth

import (
	"context"
	"net"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
)

// Transform is the "noauth" transform. Its zero value is ready to use.
type Transform struct{}

var (
	_ multiserver.Transform  = Transform{}
	_ multiserver.Advertiser = Transform{}
)

// Name returns "noauth".
func (Transform) Name() string { return "noauth" }

// Client returns c as it is.
func (Transform) Client(_ context.Context, c net.Conn, _ address.Segment) (net.Conn, error) {
	return c, nil
}

// Server returns c as it is.
func (Transform) Server(_ context.Context, c net.Conn) (net.Conn, error) { return c, nil }

// Advertise returns "noauth" in the device and local scopes, and nil in
// the public scope, where plaintext is refused.
func (Transform) Advertise(scope multiserver.Scope) []address.Segment {
	if scope == multiserver.ScopePublic {
		return nil
	}
	return []address.Segment{{Name: "noauth"}}
}
