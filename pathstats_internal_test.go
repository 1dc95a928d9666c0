package multiserver

import (
	"math/rand/v2"
	"net"
	"sync"
	"testing"
)

// flipConn is a conn whose path a test changes, as hole punching
// changes a relayed conn's.
type flipConn struct {
	net.Conn
	mu      sync.Mutex
	relayed bool
	changed chan struct{}
}

func newFlipConn(t *testing.T) *flipConn {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return &flipConn{Conn: a, relayed: true, changed: make(chan struct{})}
}

func (c *flipConn) Path() Path {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Path{Relayed: c.relayed}
}

func (c *flipConn) PathChanged() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

// set sets the path; the channel closes even if only the reason would
// have changed, as a relayed conn's does.
func (c *flipConn) set(relayed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.relayed = relayed
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *flipConn) isRelayed() bool { return c.Path().Relayed }

func openByPath(st *stackStats) (direct, relayed int64) {
	st.paths.refresh()
	return st.paths.open[pathDirect].Load(), st.paths.open[pathRelayed].Load()
}

func watching(ps *pathStats) int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return len(ps.watched)
}

// TestPathTrackSwitches: each switch seen between two reads counts
// once; a change that leaves the path as it was counts none; closing
// ends the count from the path of the moment, once.
func TestPathTrackSwitches(t *testing.T) {
	st := &stackStats{}
	fc := newFlipConn(t)
	c := newCountedConn(fc, nil, st, st.accept(true, fc))
	if d, r := openByPath(st); d != 0 || r != 1 || st.accepted[pathRelayed].Load() != 1 {
		t.Fatalf("open direct %d, relayed %d, want 0, 1", d, r)
	}
	fc.set(false)
	if d, r := openByPath(st); d != 1 || r != 0 || st.paths.switches[pathDirect].Load() != 1 {
		t.Fatalf("after the switch: open direct %d, relayed %d, to direct %d", d, r, st.paths.switches[pathDirect].Load())
	}
	fc.set(false) // no switch
	openByPath(st)
	fc.set(true)
	if d, r := openByPath(st); d != 0 || r != 1 || st.paths.switches[pathRelayed].Load() != 1 || st.paths.switches[pathDirect].Load() != 1 {
		t.Fatalf("back: open direct %d, relayed %d, switches %d, %d", d, r, st.paths.switches[pathDirect].Load(), st.paths.switches[pathRelayed].Load())
	}
	fc.set(false) // seen by Close only
	c.Close()
	c.Close()
	if d, r := openByPath(st); d != 0 || r != 0 || st.open.Load() != 0 || watching(&st.paths) != 0 {
		t.Fatalf("closed: open direct %d, relayed %d, total %d, watched %d", d, r, st.open.Load(), watching(&st.paths))
	}
	if n := st.paths.switches[pathDirect].Load(); n != 2 {
		t.Errorf("%d switches to direct, want 2", n)
	}
}

// TestPathTrackRace changes the paths of many conns while the counters
// are read and the conns close, in random orders: the open gauges match
// the paths whenever nothing moves, come back to zero, nothing stays
// watched, and per conn the switches to direct exceed those to relayed
// by one if it ended direct, else match them.
func TestPathTrackRace(t *testing.T) {
	for round := range 20 {
		st := &stackStats{}
		const conns = 16
		fcs := make([]*flipConn, conns)
		cs := make([]*conn, conns)
		for i := range fcs {
			fcs[i] = newFlipConn(t)
			cs[i] = newCountedConn(fcs[i], nil, st, st.accept(true, fcs[i]))
		}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					st.paths.refresh()
				}
			}
		})
		var flips sync.WaitGroup
		for _, fc := range fcs {
			flips.Go(func() {
				for range 1 + rand.IntN(50) {
					fc.set(rand.IntN(2) == 0)
				}
			})
		}
		flips.Wait()
		var want int64
		for _, fc := range fcs {
			if !fc.isRelayed() {
				want++
			}
		}
		if d, r := openByPath(st); d != want || r != conns-want {
			t.Fatalf("round %d: open direct %d, relayed %d, want %d, %d", round, d, r, want, conns-want)
		}
		for i, c := range cs {
			wg.Go(func() {
				if rand.IntN(2) == 0 {
					fcs[i].set(rand.IntN(2) == 0)
				}
				c.Close()
			})
		}
		close(stop)
		wg.Wait()
		var ended int64
		for _, fc := range fcs {
			if !fc.isRelayed() {
				ended++
			}
		}
		d, r := openByPath(st)
		if d != 0 || r != 0 || st.open.Load() != 0 || watching(&st.paths) != 0 {
			t.Fatalf("round %d: closed: open direct %d, relayed %d, total %d, watched %d", round, d, r, st.open.Load(), watching(&st.paths))
		}
		if diff := st.paths.switches[pathDirect].Load() - st.paths.switches[pathRelayed].Load(); diff != ended {
			t.Fatalf("round %d: switches to direct less to relayed %d, want %d (conns that ended direct)", round, diff, ended)
		}
	}
}
