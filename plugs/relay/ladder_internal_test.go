package relay

import (
	"testing"
	"time"
)

// TestLadderMemory: where a call starts on the ladder. Nothing known:
// the top. A carrier that worked: there, for fresh calls and redials
// alike, until RetryBetter has passed since it settled there; then a
// fresh call starts at the top again and a redial still where it was.
// Settling again (or on another carrier) restarts the wait.
func TestLadderMemory(t *testing.T) {
	rungs := []string{CarrierWS, CarrierSSE, CarrierPoll}
	const u = "wss://relay.example/ms"
	m := newMemos()
	check := func(what string, fresh bool, want int, wantRetry bool) {
		t.Helper()
		if got, retry := m.start(u, rungs, fresh); got != want || retry != wantRetry {
			t.Errorf("%s: start %d (retry %v), want %d (retry %v)", what, got, retry, want, wantRetry)
		}
	}
	check("nothing known", true, 0, false)
	m.settle(u, CarrierSSE, true)
	check("fresh, sse just settled", true, 1, false)
	check("redial, sse just settled", false, 1, false)
	if got := m.m[u].carrier; got != CarrierSSE {
		t.Fatalf("remembered %q", got)
	}

	// A while later.
	e := m.m[u]
	e.since = time.Now().Add(-RetryBetter - time.Second)
	m.m[u] = e
	check("fresh, sse settled long ago", true, 0, true)
	check("redial, sse settled long ago", false, 1, false)
	if got, retry := m.start(u, []string{CarrierSSE, CarrierPoll}, true); got != 0 || retry {
		t.Errorf("fresh, on a ladder that starts at sse: start %d (retry %v), want 0, no retry: nothing better to try", got, retry)
	}

	// Using sse again without trying better does not renew; the retry
	// that settles on sse again does.
	m.settle(u, CarrierSSE, false)
	check("fresh, after a plain use of sse", true, 0, true)
	m.settle(u, CarrierSSE, true)
	check("fresh, after the retry settled on sse again", true, 1, false)

	// A ladder that does not hold the remembered carrier starts at its top.
	if got, _ := m.start(u, []string{CarrierPoll}, true); got != 0 {
		t.Errorf("a one-rung ladder starts at %d", got)
	}
	m.settle(u, CarrierWS, false)
	check("ws remembered", true, 0, false)
	if got, _ := m.start(u, []string{CarrierSSE, CarrierPoll}, false); got != 0 {
		t.Errorf("a ladder without the remembered carrier starts at %d", got)
	}
}

// TestLadderMemoryBounded: the memory forgets some URL rather than grow
// past maxMemos.
func TestLadderMemoryBounded(t *testing.T) {
	m := newMemos()
	for i := range maxMemos + 10 {
		m.settle("ws://r"+string(rune('a'+i%26))+time.Duration(i).String(), CarrierWS, true)
	}
	if n := len(m.m); n > maxMemos {
		t.Fatalf("%d URLs remembered, the bound is %d", n, maxMemos)
	}
}
