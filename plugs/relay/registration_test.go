//go:build !js

package relay_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/internal/logtest"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/relaytest"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
)

// TestRegistrationDrops: dialers announced while a Registration's queue
// is full are dropped visibly, counted by Dropped and logged, and those
// queued before are still there to take.
func TestRegistrationDrops(t *testing.T) {
	const queue, dialers = 2, 5
	r := relaytest.Start(t, relayserver.Config{})
	id := relaytest.NewIdentity(t)
	var logs logtest.Buffer
	lc := &relay.Client{URL: r.URL, Identity: id, Logger: logtest.Debug(&logs)}
	relay.SetIncomingQueue(lc, queue)
	reg, err := lc.Register(relaytest.Context(t), []string{"noise"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })

	// Dialers nobody accepts; they give up when the test has counted.
	ctx, cancel := context.WithCancel(relaytest.Context(t))
	var wg sync.WaitGroup
	for range dialers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dc := &relay.Client{URL: r.URL, Identity: relaytest.NewIdentity(t), Carriers: []string{"ws"}}
			dc.Connect(ctx, id.Public(), "noise", relaytest.RandomStream())
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for reg.Dropped() < dialers-queue {
		if time.Now().After(deadline) {
			t.Fatalf("Dropped() = %d after %d dialers, want %d", reg.Dropped(), dialers, dialers-queue)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if got := reg.Dropped(); got != dialers-queue {
		t.Errorf("Dropped() = %d, want %d", got, dialers-queue)
	}
	if n := len(reg.Incoming()); n != queue {
		t.Errorf("%d dialers queued, want %d", n, queue)
	}
	if got := strings.Count(logs.String(), "incoming queue full"); got != dialers-queue {
		t.Errorf("%d drops logged, want %d:\n%s", got, dialers-queue, logs.String())
	}
	if !strings.Contains(logs.String(), "dropped=3") {
		t.Errorf("the log does not count the drops:\n%s", logs.String())
	}
}
