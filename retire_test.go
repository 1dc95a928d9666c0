package multiserver_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/f7d52a8e/multiserver"
)

func TestAddAndDropStacksLive(t *testing.T) {
	n := newNetwork(t, multiserver.Config{})
	ln := listen(t, n, "net:127.0.0.1:0~hello")
	echo(t, ln)
	old := ln.Address(multiserver.ScopeDevice)
	before, err := n.Dial(context.Background(), old)
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()
	roundTrip(t, before, "before")

	// Serve the new stack beside the old and advertise both.
	if err := ln.Add(context.Background(), "mem:new~noauth"); err != nil {
		t.Fatal(err)
	}
	both := ln.Address(multiserver.ScopeDevice)
	if want := old + ";mem:new~noauth"; both != want {
		t.Fatalf("Address after Add = %q, want %q", both, want)
	}
	// Retire the old one by the address it advertised.
	if err := ln.Drop(old); err != nil {
		t.Fatal(err)
	}
	if got := ln.Address(multiserver.ScopeDevice); got != "mem:new~noauth" {
		t.Fatalf("Address after Drop = %q, want only the new stack", got)
	}
	if _, err := n.Dial(context.Background(), old); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("Dial of a dropped stack = %v, want connection refused", err)
	}
	c, err := n.Dial(context.Background(), both)
	if err != nil {
		t.Fatalf("Dial(%q) after Drop: %v", both, err)
	}
	roundTrip(t, c, "new")
	c.Close()
	// The connection made over the old stack was not touched.
	roundTrip(t, before, "still there")

	if err := ln.Drop(old); err == nil {
		t.Error("second Drop of the same stack succeeded")
	}
	if err := ln.Add(context.Background(), "mem:x~noauth;mem:new~noauth"); err == nil {
		t.Error("Add of a name in use succeeded")
	}
	if got := ln.Address(multiserver.ScopeDevice); got != "mem:new~noauth" {
		t.Errorf("a failed Add changed the address to %q", got)
	}
	ln.Close()
	if err := ln.Add(context.Background(), "mem:late~noauth"); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Add after Close = %v, want net.ErrClosed", err)
	}
}
