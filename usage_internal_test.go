package multiserver

import (
	"crypto/ed25519"
	"encoding/binary"
	"runtime"
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

// TestUsageGrouped merges stacks: a peer seen over two stacks of one
// group counts once there, and is only there; one seen over two groups
// is only in neither.
func TestUsageGrouped(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := t0
	u := newUsage()
	u.now = func() time.Time { return now }
	old, repl, other := &served{}, &served{}, &served{}
	u.serve(old)
	now = t0.Add(time.Minute)
	u.serve(repl)
	u.serve(other)
	key := func(b byte) ed25519.PublicKey {
		k := make([]byte, ed25519.PublicKeySize)
		k[0] = b
		return k
	}
	u.connected(old, key(1))
	u.connected(repl, key(1)) // over both stacks of the group
	u.connected(repl, key(2))
	u.connected(other, key(2)) // over both groups
	now = t0.Add(2 * time.Minute)
	u.connected(old, nil)
	drain := t0.Add(time.Hour)
	got := u.grouped([]*served{old, repl, other}, []time.Time{drain, {}, {}}, []int{0, 0, 1}, 2)
	g := got[0]
	if g.Total != 4 || g.LastDay != 4 || g.Peers != 2 || g.OnlyHere != 1 || len(g.OnlyHereKeys) != 1 || g.OnlyHereKeys[0][0] != 1 {
		t.Errorf("group 0: %+v, want 4 conns, 2 peers, 1 only here (key 1)", g)
	}
	if !g.Since.Equal(t0) || !g.Last.Equal(t0.Add(2*time.Minute)) || !g.DrainUntil.Equal(drain) {
		t.Errorf("group 0: since %v, last %v, drain %v; want the earliest, the latest, the draining stack's", g.Since, g.Last, g.DrainUntil)
	}
	if g := got[1]; g.Total != 1 || g.Peers != 1 || g.OnlyHere != 0 || !g.DrainUntil.IsZero() {
		t.Errorf("group 1: %+v, want 1 conn, 1 peer, none only here, not draining", g)
	}
	per := u.of([]*served{old, repl, other}, []time.Time{drain, {}, {}})
	if per[0].Peers != 1 || per[1].Peers != 2 || per[0].OnlyHere != 0 || per[1].OnlyHere != 0 {
		t.Errorf("per stack: %+v, want peers 1 and 2, none only here", per)
	}
}

// BenchmarkUsageConnected measures what the usage costs a connection
// accepted: from one of many peers, over one of two stacks.
func BenchmarkUsageConnected(b *testing.B) {
	u := newUsage()
	stacks := []*served{{}, {}}
	for _, s := range stacks {
		u.serve(s)
	}
	keys := make([]ed25519.PublicKey, 1<<12)
	for i := range keys {
		keys[i] = make([]byte, ed25519.PublicKeySize)
		binary.BigEndian.PutUint32(keys[i], uint32(i))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		u.connected(stacks[i&1], keys[i%len(keys)])
		i++
	}
}

// TestUsagePeersMemory fills the peer table and checks what it holds on
// to: about 140 bytes a peer (a map per peer took 420).
func TestUsagePeersMemory(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	u := newUsage()
	s := &served{}
	u.serve(s)
	for i := range maxUsagePeers {
		k := make([]byte, ed25519.PublicKeySize)
		binary.BigEndian.PutUint32(k, uint32(i))
		u.connected(s, k)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perPeer := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / maxUsagePeers
	if perPeer > 250 {
		t.Errorf("the usage of %d peers holds %d bytes a peer, want at most 250", maxUsagePeers, perPeer)
	}
	runtime.KeepAlive(u)
}
