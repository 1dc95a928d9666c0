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

func TestNeverPublic(t *testing.T) {
	var tr noauth.Transform
	for _, scope := range []multiserver.Scope{multiserver.ScopeDevice, multiserver.ScopeLocal} {
		if got := tr.Advertise(scope); len(got) != 1 || got[0].String() != "noauth" {
			t.Errorf("Advertise(%v) = %v, want noauth", scope, got)
		}
	}
	if got := tr.Advertise(multiserver.ScopePublic); got != nil {
		t.Errorf("Advertise(public) = %v, want nil", got)
	}
}
