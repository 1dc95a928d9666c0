package noauth_test

import (
	"context"
	"net"
	"testing"

	"go.uber.org/goleak"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/transforms/noauth"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestPassesConnThrough(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	var tr noauth.Transform
	if c, err := tr.Client(context.Background(), a, address.Segment{Name: "noauth"}); c != a || err != nil {
		t.Errorf("Client = %v, %v; want the conn itself", c, err)
	}
	if c, err := tr.Server(context.Background(), b); c != b || err != nil {
		t.Errorf("Server = %v, %v; want the conn itself", c, err)
	}
	if _, ok := multiserver.RemoteKey(a); ok {
		t.Error("a noauth conn claims a remote key")
	}
}

func TestScopes(t *testing.T) {
	for _, tr := range []noauth.Transform{{}, {Scope: multiserver.ScopeLocal}, {Scope: multiserver.ScopePublic}} {
		for _, scope := range []multiserver.Scope{multiserver.ScopeDevice, multiserver.ScopeLocal, multiserver.ScopePublic} {
			got := tr.Advertise(scope)
			if scope <= tr.Scope && (len(got) != 1 || got[0].String() != "noauth") {
				t.Errorf("Transform{Scope: %v}.Advertise(%v) = %v, want noauth", tr.Scope, scope, got)
			}
			if scope > tr.Scope && got != nil {
				t.Errorf("Transform{Scope: %v}.Advertise(%v) = %v, want nil", tr.Scope, scope, got)
			}
		}
	}
	if (noauth.Transform{}).Authenticates() {
		t.Error("noauth says it authenticates")
	}
}
