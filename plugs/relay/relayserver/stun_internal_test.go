//go:build !js

package relayserver

import (
	"net/netip"
	"testing"
	"time"
)

// TestSTUNLimiter: sources are IPv4 addresses and IPv6 /64s, each with
// its bucket; the table is bounded, and sources whose bucket is full
// again are forgotten when room is needed.
func TestSTUNLimiter(t *testing.T) {
	l := newSTUNLimiter(1, 2, 3)
	now := time.Unix(1000, 0)
	allow := func(ip string) stunDrop {
		t.Helper()
		why, ok := l.allow(netip.MustParseAddr(ip), now)
		if ok {
			return -1
		}
		return why
	}
	for i, want := range []stunDrop{-1, -1, stunRate} {
		if got := allow("192.0.2.1"); got != want {
			t.Errorf("request %d from 192.0.2.1: %v, want %v", i, got, want)
		}
	}
	if got := allow("::ffff:192.0.2.1"); got != stunRate {
		t.Errorf("the same address, IPv4-mapped: %v, want rate", got)
	}
	// Two addresses of one /64 share a bucket.
	allow("2001:db8::1")
	allow("2001:db8::2")
	if got := allow("2001:db8::3"); got != stunRate {
		t.Errorf("third request from one /64: %v, want rate", got)
	}
	allow("198.51.100.1")
	if got := allow("198.51.100.2"); got != stunSources {
		t.Errorf("a fourth source in a table of 3: %v, want sources", got)
	}
	now = now.Add(3 * time.Second) // every bucket is full again
	if got := allow("198.51.100.2"); got != -1 {
		t.Errorf("after the buckets refilled: %v, want allowed", got)
	}
	if len(l.sources) != 1 {
		t.Errorf("%d sources after the sweep, want 1", len(l.sources))
	}
}
