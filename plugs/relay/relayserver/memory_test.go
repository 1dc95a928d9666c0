//go:build !js

package relayserver_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/relaytest"
)

// TestIdlePairingMemory opens 1,000 idle pairings through a relay in a
// process of its own and reports what each costs the relay: Go heap and
// stacks (asserted to stay within 32 KiB) and RSS.
func TestIdlePairingMemory(t *testing.T) {
	if testing.Short() || relaytest.RaceEnabled {
		t.Skip("1,000 pairings; memory figures mean nothing under -race")
	}
	const n = 1000
	child := relaytest.StartChild(t, "")
	url := child.URL
	mem := func() relaytest.MemStats {
		resp, err := http.Get(child.Base + "/mem")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m relaytest.MemStats
		json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	id := relaytest.NewIdentity(t)
	reg := relaytest.Register(t, url, id, "noise")
	dialer := &relay.Client{URL: url, Identity: relaytest.NewIdentity(t)}
	listener := &relay.Client{URL: url, Identity: id}
	// Warm up (pools, the first pairing's allocations), then measure.
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	open := func(k int) {
		for range k {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			done := make(chan error, 1)
			go func() {
				c, err := dialer.Connect(ctx, id.Public(), "noise", relaytest.RandomStream())
				if err == nil {
					conns = append(conns, c)
				}
				done <- err
			}()
			a, err := listener.Accept(ctx, <-reg.Incoming())
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, a)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			cancel()
		}
	}
	open(10)
	time.Sleep(100 * time.Millisecond)
	before := mem()
	open(n)
	time.Sleep(500 * time.Millisecond) // the handshakes' goroutines end
	after := mem()
	heap := (int64(after.Heap) - int64(before.Heap)) / n
	stack := (int64(after.Stack) - int64(before.Stack)) / n
	rssPer := (int64(after.RSS) - int64(before.RSS)) / n
	t.Logf("per idle pairing on the relay: heap %d B, stacks %d B, heap+stacks %d B, RSS %d B; goroutines %d → %d",
		heap, stack, heap+stack, rssPer, before.Goroutines, after.Goroutines)
	if heap+stack > 32<<10 {
		t.Errorf("an idle pairing costs the relay %d B of heap and stacks, want at most 32 KiB", heap+stack)
	}
	if g := (after.Goroutines - before.Goroutines) / n; g > 2 {
		t.Errorf("%d goroutines per idle pairing, want at most 2", g)
	}
}
