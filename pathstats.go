package multiserver

import (
	"net"
	"sync"
	"sync/atomic"
)

// pathStats count the open conns (or sessions) of one stack by the path
// they take now, and the switches of path they made while open.
//
// A conn whose path cannot change costs two atomic adds, at its start
// and at its end. A conn that is a [PathWatcher] (through its layers)
// is also kept in watched until it ends: no goroutine follows it, and
// each read of the counters ([Stats.Stacks], [Stats.Dials]) and its end
// catch up with the changes of its path since the last look.
type pathStats struct {
	open     [2]atomic.Int64 // by the path of the moment
	switches [2]atomic.Int64 // by the path switched to

	mu      sync.Mutex
	watched map[*pathTrack]struct{}
}

// pathTrack follows one open conn for the pathStats of its stack.
type pathTrack struct {
	ps    *pathStats
	total *atomic.Int64 // ended with the track, when not nil
	w     PathWatcher   // nil: the path cannot change

	mu    sync.Mutex
	path  int             // the path counted in ps.open
	ch    <-chan struct{} // closed at the next change of w's path
	ended bool
}

// start counts a conn open on path relayed, or on the path of w if w is
// not nil, until the returned track ends; path says which. If total is
// not nil, the track's end also takes one from it.
func (ps *pathStats) start(relayed bool, w PathWatcher, total *atomic.Int64) (t *pathTrack, path int) {
	t = &pathTrack{ps: ps, total: total, w: w}
	if w != nil {
		t.ch = w.PathChanged() // before Path: a change after it closes ch
		relayed = w.Path().Relayed
	}
	t.path = pathIndex(relayed)
	path = t.path
	ps.open[path].Add(1)
	if w != nil {
		ps.mu.Lock()
		if ps.watched == nil {
			ps.watched = make(map[*pathTrack]struct{})
		}
		ps.watched[t] = struct{}{}
		ps.mu.Unlock()
	}
	return t, path
}

// refresh catches up with the paths of the conns watched.
func (ps *pathStats) refresh() {
	ps.mu.Lock()
	ts := make([]*pathTrack, 0, len(ps.watched))
	for t := range ps.watched {
		ts = append(ts, t)
	}
	ps.mu.Unlock()
	for _, t := range ts {
		t.mu.Lock()
		if !t.ended {
			t.look()
		}
		t.mu.Unlock()
	}
}

// look moves t's conn to the path of the moment if it changed since the
// last look, counting the switch. t.mu is held.
//
// A path that changes and changes back between two looks is seen
// unchanged: a switch counts as soon as something reads the counters
// or the conn ends, and not between.
func (t *pathTrack) look() {
	if t.w == nil {
		return
	}
	select {
	case <-t.ch:
	default:
		return
	}
	t.ch = t.w.PathChanged()
	p := pathIndex(t.w.Path().Relayed)
	if p == t.path {
		return // the reason of a relayed path changed, or it flapped
	}
	t.ps.open[t.path].Add(-1)
	t.ps.open[p].Add(1)
	t.ps.switches[p].Add(1)
	t.path = p
}

// end counts the end of t's conn, once, from the path it is on then.
// A nil track does nothing.
func (t *pathTrack) end() {
	if t == nil {
		return
	}
	t.mu.Lock()
	if t.ended {
		t.mu.Unlock()
		return
	}
	t.look()
	t.ended = true
	t.ps.open[t.path].Add(-1)
	t.mu.Unlock()
	if t.total != nil {
		t.total.Add(-1)
	}
	if t.w != nil {
		t.ps.mu.Lock()
		delete(t.ps.watched, t)
		t.ps.mu.Unlock()
	}
}

// watcherOf returns the layer of x (a conn or a session) whose path may
// change, looking through layers as [Info] does, or nil if there is
// none or a layer above it tells a path of its own that cannot change.
func watcherOf(x any) PathWatcher {
	for x != nil {
		if w, ok := x.(PathWatcher); ok {
			return w
		}
		if _, ok := x.(PathConn); ok {
			return nil
		}
		switch v := x.(type) {
		case interface{ NetConn() net.Conn }:
			x = v.NetConn()
		case StreamConn:
			x = v.Session()
		default:
			x = nil
		}
	}
	return nil
}
