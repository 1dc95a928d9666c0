// Package noauth is the "noauth" transform: an explicit statement that a
// stack has no authentication and no encryption.
//
// It exists for loopback, unix sockets and tests, where the transport is
// already private. By default a Listener serves it only on addresses
// reachable from this device alone (loopback, unix, mem) and refuses it
// on any address that the local network or the public can reach; a
// [Transform.Scope] of [multiserver.ScopeLocal] opts in to the local
// network. An address with no transform at all is plaintext too, and is
// served and dialed only by a Network that has this transform, under the
// same rules.
package noauth

import (
	"context"
	"fmt"
	"net"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
)

// Transform is the "noauth" transform. Its zero value serves the device
// scope only.
type Transform struct {
	// Scope is the widest scope in which noauth stacks are served and
	// advertised: [multiserver.ScopeDevice] (the zero value) for loopback,
	// unix and mem; [multiserver.ScopeLocal] adds private and link-local
	// addresses, where anyone on the network can connect and read
	// everything; [multiserver.ScopePublic] adds the whole Internet.
	Scope multiserver.Scope
}

var (
	_ multiserver.Transform  = Transform{}
	_ multiserver.Advertiser = Transform{}
)

// Name returns "noauth".
func (Transform) Name() string { return "noauth" }

// Kind returns the grammar of the "noauth" layer for an
// [address.Parser]: a transform without fields.
func Kind() address.Kind {
	return address.Kind{Name: "noauth", Role: address.Transform, Check: checkSegment}
}

// CheckSegment reports what is wrong with s, a "noauth" segment, by the
// rules of [Kind].
func (Transform) CheckSegment(s address.Segment) error { return checkSegment(s) }

func checkSegment(s address.Segment) error {
	if s.Fields != nil {
		return fmt.Errorf("takes no fields, got %q", s.Value())
	}
	return nil
}

// Client returns c as it is.
func (Transform) Client(_ context.Context, c net.Conn, _ address.Segment) (net.Conn, error) {
	return c, nil
}

// Server returns c as it is.
func (Transform) Server(_ context.Context, c net.Conn) (net.Conn, error) { return c, nil }

// Advertise returns "noauth" in the scopes up to t.Scope, and nil in
// wider ones, where plaintext is refused.
func (t Transform) Advertise(scope multiserver.Scope) []address.Segment {
	if scope > t.Scope {
		return nil
	}
	return []address.Segment{{Name: "noauth"}}
}

// Authenticates returns false: noauth tells nobody who the peer is.
func (Transform) Authenticates() bool { return false }
