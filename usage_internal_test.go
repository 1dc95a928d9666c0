package multiserver

import (
	"crypto/ed25519"
	"encoding/binary"
	"testing"
	"time"
)

// TestUsageWindows moves the clock through a day: counts leave the last
// hour and the last day as they age, and so do peers.
func TestUsageWindows(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := t0
	u := newUsage()
	u.now = func() time.Time { return now }
	s := &served{}
	u.serve(s)
	key := ed25519.PublicKey(make([]byte, ed25519.PublicKeySize))
	for _, at := range []time.Duration{0, 30 * time.Minute, 2 * time.Hour, 23 * time.Hour} {
		now = t0.Add(at)
		u.connected(s, key)
	}
	check := func(at time.Duration, hour, day int64, peers int) {
		t.Helper()
		now = t0.Add(at)
		got := u.of([]*served{s}, []time.Time{{}})[0]
		if got.LastHour != hour || got.LastDay != day || got.Total != 4 || got.Peers != peers {
			t.Errorf("at +%v: hour %d, day %d, total %d, peers %d; want %d, %d, 4, %d", at, got.LastHour, got.LastDay, got.Total, got.Peers, hour, day, peers)
		}
	}
	check(23*time.Hour+30*time.Minute, 1, 4, 1)
	check(25*time.Hour, 0, 2, 1)
	check(46*time.Hour+59*time.Minute, 0, 1, 1) // the last conn, at +23h, is not a day old yet
	check(48*time.Hour, 0, 0, 0)
}

// TestUsagePeersBounded fills the peer table: a new peer is remembered
// only once one unseen for a day can be forgotten.
func TestUsagePeersBounded(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := t0
	u := newUsage()
	u.now = func() time.Time { return now }
	s := &served{}
	u.serve(s)
	key := func(i int) ed25519.PublicKey {
		k := make([]byte, ed25519.PublicKeySize)
		binary.BigEndian.PutUint32(k, uint32(i))
		return k
	}
	for i := range maxUsagePeers {
		u.connected(s, key(i))
	}
	u.connected(s, key(maxUsagePeers))
	if len(u.peers) != maxUsagePeers {
		t.Fatalf("%d peers remembered, want at most %d", len(u.peers), maxUsagePeers)
	}
	now = t0.Add(25 * time.Hour)
	u.connected(s, key(maxUsagePeers+1))
	if len(u.peers) != 1 {
		t.Fatalf("%d peers remembered after a day, want the newest alone", len(u.peers))
	}
	if got := u.of([]*served{s}, []time.Time{{}})[0]; got.Total != maxUsagePeers+2 || got.Peers != 1 {
		t.Errorf("usage %+v, want every conn counted and 1 peer", got)
	}
}

// TestUsageOnlyHereKeysStable: the peers reached over one stack alone
// are listed in the same order at every read, not in the map's: the 16
// least in byte order.
func TestUsageOnlyHereKeysStable(t *testing.T) {
	u := newUsage()
	s := &served{}
	u.serve(s)
	for i := range 20 {
		k := make([]byte, ed25519.PublicKeySize)
		k[0] = byte(20 - i)
		u.connected(s, k)
	}
	first := u.of([]*served{s}, []time.Time{{}})[0].OnlyHereKeys
	if len(first) != maxOnlyHereKeys {
		t.Fatalf("%d keys listed, want %d", len(first), maxOnlyHereKeys)
	}
	for i, k := range first {
		if k[0] != byte(i+1) {
			t.Fatalf("key %d starts with %d, want %d: the least, in order", i, k[0], i+1)
		}
	}
	for range 20 {
		again := u.of([]*served{s}, []time.Time{{}})[0].OnlyHereKeys
		for i := range first {
			if !first[i].Equal(again[i]) {
				t.Fatalf("OnlyHereKeys in another order from one read to the next: %x then %x", first, again)
			}
		}
	}
}
