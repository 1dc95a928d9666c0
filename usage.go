package multiserver

import (
	"bytes"
	"crypto/ed25519"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/f7d52a8e/multiserver/address"
)

// StackUsage says how much one stack of a [Listener] is used, enough to
// tell whether it can be dropped: when it last took a connection, how
// many it took lately, and which peers reached this Listener over no
// other stack (those that dropping it would cut off).
//
// A connection here is one whose whole stack succeeded (for a stack of
// sessions, a session). Counts are kept since the stack was served, at
// most for a day.
type StackUsage struct {
	// Addr is the stack's address as given to Listen or Add.
	Addr address.Addr
	// Reach lists the addresses peers reach it at, in every scope (as
	// they are advertised, with real ports and keys), draining or not.
	Reach address.List
	// Since is when the Listener started serving it.
	Since time.Time
	// DrainUntil is when a [Listener.Drain] in progress drops the stack;
	// zero if it is not draining. A draining stack is not advertised.
	DrainUntil time.Time
	// Last is when it last accepted a connection; zero if never.
	Last time.Time
	// Total counts its connections since it was served; LastHour and
	// LastDay those of the last hour and the last 24 hours, to the
	// minute.
	Total, LastHour, LastDay int64
	// Peers counts the peers (authenticated keys) that connected over it
	// in the last 24 hours. A stack that authenticates nobody has none.
	Peers int
	// OnlyHere counts those of Peers that connected over no other stack
	// of the Listener in the last 24 hours; OnlyHereKeys lists up to 16
	// of them, the least in byte order, in that order.
	OnlyHere     int
	OnlyHereKeys []ed25519.PublicKey
}

const (
	// usageBuckets holds a day of connection counts per minute.
	usageBuckets = 24 * 60
	// maxUsagePeers bounds the peers a Listener remembers. Past it, a new
	// peer is remembered only once one unseen for a day is forgotten.
	maxUsagePeers = 1 << 16
	// maxOnlyHereKeys bounds StackUsage.OnlyHereKeys.
	maxOnlyHereKeys = 16
)

// stackUse counts the connections of one stack served. Under usage.mu.
type stackUse struct {
	since, last time.Time
	total       int64
	minutes     [usageBuckets]struct {
		minute int64 // Unix minute the count is of
		n      int64
	}
}

// usage is what a Listener knows of how its stacks are used.
type usage struct {
	mu     sync.Mutex
	now    func() time.Time // time.Now; tests move it
	stacks map[*served]*stackUse
	peers  map[string]map[*served]time.Time // by key: when each stack last carried the peer
	swept  time.Time                        // the last sweep of peers unseen for a day
}

func newUsage() *usage {
	return &usage{now: time.Now, stacks: make(map[*served]*stackUse), peers: make(map[string]map[*served]time.Time)}
}

// serve starts counting s.
func (u *usage) serve(s *served) {
	if u == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.stacks[s] = &stackUse{since: u.now()}
}

// drop stops counting s, and forgets that peers used it.
func (u *usage) drop(s *served) {
	if u == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.stacks, s)
	for k, used := range u.peers {
		delete(used, s)
		if len(used) == 0 {
			delete(u.peers, k)
		}
	}
}

// connected counts a connection of s, from the peer whose key is key, if
// the stack authenticated one.
func (u *usage) connected(s *served, key ed25519.PublicKey) {
	if u == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	su := u.stacks[s]
	if su == nil {
		return // dropped meanwhile
	}
	now := u.now()
	su.last = now
	su.total++
	m := now.Unix() / 60
	b := &su.minutes[m%usageBuckets]
	if b.minute != m {
		b.minute, b.n = m, 0
	}
	b.n++
	if key == nil {
		return
	}
	used := u.peers[string(key)]
	if used == nil {
		if len(u.peers) >= maxUsagePeers && !u.sweep(now) {
			return
		}
		used = make(map[*served]time.Time, 1)
		u.peers[string(key)] = used
	}
	used[s] = now
}

// sweep forgets the peers unseen for a day, at most once a minute, and
// reports whether there is room for another.
func (u *usage) sweep(now time.Time) bool {
	if now.Sub(u.swept) >= time.Minute {
		u.swept = now
		for k, used := range u.peers {
			for s, t := range used {
				if now.Sub(t) >= 24*time.Hour {
					delete(used, s)
				}
			}
			if len(used) == 0 {
				delete(u.peers, k)
			}
		}
	}
	return len(u.peers) < maxUsagePeers
}

// of returns the usage of each of stacks, one each in their order, with
// drain their drain deadlines.
func (u *usage) of(stacks []*served, drain []time.Time) []StackUsage {
	if u == nil {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	now := u.now()
	nowMin := now.Unix() / 60
	out := make([]StackUsage, 0, len(stacks))
	index := make(map[*served]int, len(stacks))
	for j, s := range stacks {
		su := u.stacks[s]
		if su == nil {
			su = &stackUse{} // not started yet
		}
		x := StackUsage{Addr: s.addr, Since: su.since, Last: su.last, Total: su.total, DrainUntil: drain[j]}
		for _, b := range su.minutes {
			age := nowMin - b.minute
			if age < 0 || age >= usageBuckets {
				continue
			}
			x.LastDay += b.n
			if age < 60 {
				x.LastHour += b.n
			}
		}
		index[s] = len(out)
		out = append(out, x)
	}
	for k, used := range u.peers {
		var only *StackUsage
		n := 0
		for s, t := range used {
			i, ok := index[s]
			if !ok || now.Sub(t) >= 24*time.Hour {
				continue
			}
			out[i].Peers++
			only = &out[i]
			n++
		}
		if n == 1 {
			only.OnlyHere++
			only.OnlyHereKeys = keepLeast(only.OnlyHereKeys, ed25519.PublicKey(k))
		}
	}
	return out
}

// keepLeast inserts k into keys, kept in byte order, and keeps the
// maxOnlyHereKeys least: the same keys, in the same order, at every read.
func keepLeast(keys []ed25519.PublicKey, k ed25519.PublicKey) []ed25519.PublicKey {
	i, _ := slices.BinarySearchFunc(keys, k, func(a, b ed25519.PublicKey) int { return bytes.Compare(a, b) })
	if i >= maxOnlyHereKeys {
		return keys
	}
	keys = slices.Insert(keys, i, k)
	return keys[:min(len(keys), maxOnlyHereKeys)]
}

// Usage returns how much each stack the Listener serves is used, in the
// order they were served, draining stacks included (see [StackUsage]).
func (l *Listener) Usage() []StackUsage {
	l.mu.Lock()
	stacks := append([]*served(nil), l.serving...)
	drain := make([]time.Time, len(stacks))
	reach := make([]address.List, len(stacks))
	for i, s := range stacks {
		drain[i] = s.drainUntil
		for _, scope := range []Scope{ScopeDevice, ScopeLocal, ScopePublic} {
			for _, a := range s.addresses(scope) {
				if !slices.ContainsFunc(reach[i], a.Equal) {
					reach[i] = append(reach[i], a)
				}
			}
		}
	}
	l.mu.Unlock()
	out := l.use.of(stacks, drain)
	for i := range out {
		out[i].Reach = reach[i]
	}
	return out
}

// keyOf returns the key of the peer of sess, a session accepted, if its
// stack authenticated one.
func keyOf(sess Session) ed25519.PublicKey {
	if w, ok := sess.(interface{ NetConn() net.Conn }); ok {
		return Info(w.NetConn()).RemoteKey
	}
	if k, ok := sess.(interface{ RemoteKey() ed25519.PublicKey }); ok {
		return k.RemoteKey()
	}
	return nil
}
