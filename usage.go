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
	peers  map[string]*peerUse // by key
	swept  time.Time           // the last sweep of peers unseen for a day
}

// peerUse says when each stack last carried one peer. Most peers use one
// stack or two: a slice is smaller than a map.
type peerUse []seen

// seen is when stack s last carried a peer.
type seen struct {
	s *served
	t time.Time
}

// remove removes the entries for which gone is true.
func (p *peerUse) remove(gone func(s *served, t time.Time) bool) {
	*p = slices.DeleteFunc(*p, func(e seen) bool { return gone(e.s, e.t) })
}

func newUsage() *usage {
	return &usage{now: time.Now, stacks: make(map[*served]*stackUse), peers: make(map[string]*peerUse)}
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
		used.remove(func(x *served, _ time.Time) bool { return x == s })
		if len(*used) == 0 {
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
		used = &peerUse{}
		u.peers[string(key)] = used
	}
	for i := range *used {
		if (*used)[i].s == s {
			(*used)[i].t = now
			return
		}
	}
	*used = append(*used, seen{s, now})
}

// sweep forgets the peers unseen for a day, at most once a minute, and
// reports whether there is room for another.
func (u *usage) sweep(now time.Time) bool {
	if now.Sub(u.swept) >= time.Minute {
		u.swept = now
		for k, used := range u.peers {
			used.remove(func(_ *served, t time.Time) bool { return now.Sub(t) >= 24*time.Hour })
			if len(*used) == 0 {
				delete(u.peers, k)
			}
		}
	}
	return len(u.peers) < maxUsagePeers
}

// of returns the usage of each of stacks, one each in their order, with
// drain their drain deadlines.
func (u *usage) of(stacks []*served, drain []time.Time) []StackUsage {
	group := make([]int, len(stacks))
	for j := range group {
		group[j] = j
	}
	return u.grouped(stacks, drain, group, len(stacks))
}

// grouped returns the usage of n groups of stacks: stacks[j], whose
// drain deadline is drain[j], is in group group[j], and the groups are
// numbered in the order of their first stack. A group's counts are its
// stacks' added up, its Last the latest, its Since the earliest, its
// DrainUntil the earliest of those draining; a peer counts once in its
// Peers, and in its OnlyHere if no stack of another group carried it.
func (u *usage) grouped(stacks []*served, drain []time.Time, group []int, n int) []StackUsage {
	if u == nil {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	now := u.now()
	nowMin := now.Unix() / 60
	out := make([]StackUsage, n)
	started := make([]bool, n)
	index := make(map[*served]int, len(stacks))
	for j, s := range stacks {
		x := &out[group[j]]
		index[s] = group[j]
		if !started[group[j]] {
			started[group[j]] = true
			x.Addr = s.addr
		}
		if d := drain[j]; !d.IsZero() && (x.DrainUntil.IsZero() || d.Before(x.DrainUntil)) {
			x.DrainUntil = d
		}
		su := u.stacks[s]
		if su == nil {
			continue // not started yet
		}
		if x.Since.IsZero() || su.since.Before(x.Since) {
			x.Since = su.since
		}
		if su.last.After(x.Last) {
			x.Last = su.last
		}
		x.Total += su.total
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
	}
	carried := make([]bool, n) // the groups that carried one peer
	for k, used := range u.peers {
		clear(carried)
		only, groups := -1, 0
		for _, e := range *used {
			i, ok := index[e.s]
			if !ok || now.Sub(e.t) >= 24*time.Hour || carried[i] {
				continue
			}
			carried[i] = true
			out[i].Peers++
			only = i
			groups++
		}
		if groups == 1 {
			out[only].OnlyHere++
			out[only].OnlyHereKeys = keepLeast(out[only].OnlyHereKeys, ed25519.PublicKey(k))
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
//
// Every Listener keeps its usage, with or without [Config.Stats]: the
// answer to "can I drop this stack?" needs the day before the question
// is asked. It is bounded: counts per minute for a day per stack (23 KiB
// each), and the keys of at most 65536 peers seen in the last day (about
// 140 bytes each, 9 MiB at most, swept as they age), which costs an
// accepted connection one short critical section and no allocation for
// a peer already known.
func (l *Listener) Usage() []StackUsage {
	stacks, drain, reach := l.usageStacks()
	out := l.use.of(stacks, drain)
	for i := range out {
		out[i].Reach = reach[i]
	}
	return out
}

// UsageByAddr is [Listener.Usage] with the stacks of one address (as
// [address.Addr.Redacted] writes it) merged into one StackUsage, in the
// order of their first stack: a draining stack and the one added with
// the same address to replace it. The merged counts are the stacks'
// added up, Since the earliest, Last the latest, DrainUntil the earliest
// of those draining (zero if none is), Reach every address of them; a
// peer that connected over several of them counts once in Peers, and in
// OnlyHere if it connected over no stack of another address.
func (l *Listener) UsageByAddr() []StackUsage {
	stacks, drain, reach := l.usageStacks()
	group := make([]int, len(stacks))
	byAddr := make(map[string]int)
	for j, s := range stacks {
		a := s.addr.Redacted()
		i, ok := byAddr[a]
		if !ok {
			i = len(byAddr)
			byAddr[a] = i
		}
		group[j] = i
	}
	out := l.use.grouped(stacks, drain, group, len(byAddr))
	if out == nil {
		return nil
	}
	for j, i := range group {
		for _, a := range reach[j] {
			if !slices.ContainsFunc(out[i].Reach, a.Equal) {
				out[i].Reach = append(out[i].Reach, a)
			}
		}
	}
	return out
}

// usageStacks returns the stacks served, their drain deadlines and the
// addresses each is reached at.
func (l *Listener) usageStacks() ([]*served, []time.Time, []address.List) {
	l.mu.Lock()
	defer l.mu.Unlock()
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
	return stacks, drain, reach
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
