package multiserver

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/f7d52a8e/multiserver/address"
)

// Stats counts what the listeners and dials of the Networks it is given
// to ([Config.Stats]) do: per stack served, the connections accepted,
// the handshakes that failed and why, the bytes carried and what is open
// now; per stack dialed, the attempts, the wins and the failures by
// layer; and whether each connection's path is direct or relayed, at
// its start and for as long as it is open.
//
// Counting is off unless a Network has a Stats: a Network without one
// pays nothing for it (a Listener's [Listener.Usage] is kept apart, Stats
// or not). With one, a connection's reads and writes each add to an
// atomic counter, and nothing else on the data path. Stats keeps no
// goroutine and logs nothing: the open connections whose path can
// change ([PathWatcher]) are looked at when the counters are read
// (Stacks, Dials) and when they close. Package metrics turns it into a Prometheus
// collector; Stacks and Dials read it directly.
//
// Stacks are named by their address as given to Listen or Add (seeds
// redacted) when served, and by their layer names ("net~shs") when
// dialed, so the number of series is bounded by the stacks a program
// uses, never by its peers. A Stats may be shared by several Networks;
// the counters of a stack served by two of them add up.
type Stats struct {
	mu     sync.Mutex
	stacks map[string]*stackStats
	dials  map[dialKey]*dialStats
}

// NewStats returns an empty Stats.
func NewStats() *Stats {
	return &Stats{stacks: make(map[string]*stackStats), dials: make(map[dialKey]*dialStats)}
}

// A Reason is why an inbound handshake failed, one of a fixed set so
// that it can label a metric.
type Reason int

const (
	// ReasonTimeout: the handshake ran out of [Config.HandshakeTimeout].
	ReasonTimeout Reason = iota
	// ReasonClosed: the peer hung up or reset the connection.
	ReasonClosed
	// ReasonWrongKey: the peer proved a key other than the one expected
	// ([ErrWrongKey]).
	ReasonWrongKey
	// ReasonProtocol: the transform refused what the peer sent (a wrong
	// app key, a bad signature, a malformed message).
	ReasonProtocol
	// ReasonOverBudget: the connection arrived while too many handshakes
	// were in progress ([Config.MaxHandshakes]) and was closed at once.
	ReasonOverBudget
	// ReasonMuxer: the handshakes succeeded and the muxer failed to start.
	ReasonMuxer
	numReasons
)

var reasonNames = [numReasons]string{"timeout", "closed", "wrong_key", "protocol", "over_budget", "muxer"}

// String returns the reason's label: "timeout", "closed", "wrong_key",
// "protocol", "over_budget" or "muxer".
func (r Reason) String() string {
	if r < 0 || r >= numReasons {
		return "unknown"
	}
	return reasonNames[r]
}

// Reasons returns every Reason, in order.
func Reasons() []Reason {
	out := make([]Reason, numReasons)
	for i := range out {
		out[i] = Reason(i)
	}
	return out
}

// reasonOf classifies err, the error of a failed inbound handshake.
func reasonOf(err error) Reason {
	var t interface{ Timeout() bool }
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &t) && t.Timeout():
		return ReasonTimeout
	case errors.Is(err, ErrWrongKey):
		return ReasonWrongKey
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, context.Canceled):
		return ReasonClosed
	}
	return ReasonProtocol
}

// path indexes counters by a connection's path.
const (
	pathDirect = iota
	pathRelayed
)

// stackStats are the counters of one stack served.
type stackStats struct {
	name     string
	accepted [2]atomic.Int64 // by path
	failed   [numReasons]atomic.Int64
	in, out  atomic.Int64 // bytes
	open     atomic.Int64 // conns, or sessions, accepted and not yet closed
	paths    pathStats    // the open ones by path, and their switches
	streams  atomic.Int64 // streams of its sessions accepted and not yet closed
}

// dialKey names the counters of one stack dialed.
type dialKey struct {
	stack    string // layer names, "net~shs"
	fallback bool
}

// dialStats are the counters of one stack dialed.
type dialStats struct {
	attempts atomic.Int64
	wins     [2]atomic.Int64 // by path
	paths    pathStats       // the winners still open, by path, and their switches
	mu       sync.Mutex
	failed   map[string]int64 // by layer
}

// stack returns the counters of the stack served at addr, made on first
// use. A nil Stats returns nil.
func (s *Stats) stack(addr string) *stackStats {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stacks[addr]
	if st == nil {
		st = &stackStats{name: addr}
		s.stacks[addr] = st
	}
	return st
}

// dial returns the counters of stack st dialed, made on first use. A
// nil Stats returns nil.
func (s *Stats) dial(st stack, fallback bool) *dialStats {
	if s == nil {
		return nil
	}
	k := dialKey{stack: layerNames(st.addr), fallback: fallback}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.dials[k]
	if d == nil {
		d = &dialStats{failed: make(map[string]int64)}
		s.dials[k] = d
	}
	return d
}

// layerNames returns the names of a's layers joined by "~": "net~shs".
func layerNames(a address.Addr) string {
	var b strings.Builder
	for i, s := range a {
		if i > 0 {
			b.WriteByte('~')
		}
		b.WriteString(s.Name)
	}
	return b.String()
}

func (d *dialStats) fail(layer string) {
	if d == nil {
		return
	}
	d.mu.Lock()
	d.failed[layer]++
	d.mu.Unlock()
}

func (st *stackStats) fail(r Reason) {
	if st != nil {
		st.failed[r].Add(1)
	}
}

// accept counts x, a conn or session accepted on st with path relayed
// (or the path of the moment, if it can change), open from now on until
// the returned track ends (nil if st is nil).
func (st *stackStats) accept(relayed bool, x any) *pathTrack {
	if st == nil {
		return nil
	}
	st.open.Add(1)
	t, path := st.paths.start(relayed, watcherOf(x), &st.open)
	st.accepted[path].Add(1)
	return t
}

func pathIndex(relayed bool) int {
	if relayed {
		return pathRelayed
	}
	return pathDirect
}

// StackStats are the counters of one stack served, as [Stats.Stacks]
// reads them.
type StackStats struct {
	// Stack is the address served, as given to Listen or Add.
	Stack string
	// Accepted counts the connections (or, on a stack of sessions, the
	// sessions) whose whole stack succeeded, by path: direct, relayed.
	Accepted, AcceptedRelayed int64
	// Failed counts the inbound connections dropped before Accept, by
	// reason; every Reason is there, zero or not.
	Failed map[Reason]int64
	// BytesIn and BytesOut count the bytes read from and written to the
	// stack's connections, above its transforms (plaintext; on a stack of
	// sessions, the muxer's frames included).
	BytesIn, BytesOut int64
	// Open is the number of connections (sessions) accepted and not yet
	// closed, and Streams the number of their streams that Accept
	// returned and that are not yet closed.
	Open, Streams int64
	// OpenDirect and OpenRelayed divide Open by the path each
	// connection takes now, which may have changed since Accept
	// ([PathWatcher]).
	OpenDirect, OpenRelayed int64
	// ToDirect and ToRelayed count the switches of path that open
	// connections made: relayed to direct, and direct to relayed. A
	// path that changes and changes back between two reads of the
	// counters, with the connection open, counts neither switch.
	ToDirect, ToRelayed int64
}

// DialStats are the counters of one stack dialed, as [Stats.Dials] reads
// them.
type DialStats struct {
	// Stack names the layers dialed: "net~shs", "relay~noise~yamux".
	Stack string
	// Fallback reports whether the stack's plug reaches peers through a
	// third party ([FallbackPlug]).
	Fallback bool
	// Attempts counts the addresses of the stack dialed, winners,
	// losers and failures alike.
	Attempts int64
	// Wins counts the attempts that won their dial, by the path of the
	// connection: direct, relayed.
	Wins, WinsRelayed int64
	// Failed counts the attempts that failed, by the layer that failed,
	// those that ran out of time included. Attempts abandoned because
	// another won, or because the caller cancelled the dial, are not
	// failures.
	Failed map[string]int64
	// OpenDirect and OpenRelayed count the connections that won, by the
	// path each takes now, until they close: what [Network.Dial] returned,
	// and the sessions of [Network.DialSession] over a muxer (those of a
	// SessionPlug without one, quic, are not counted).
	OpenDirect, OpenRelayed int64
	// ToDirect and ToRelayed count the switches of path of those open
	// connections, as [StackStats] counts them.
	ToDirect, ToRelayed int64
}

// Stacks returns the counters of every stack served, ordered by name,
// the open connections counted by the path they take now.
func (s *Stats) Stacks() []StackStats {
	s.mu.Lock()
	stacks := make([]*stackStats, 0, len(s.stacks))
	for _, st := range s.stacks {
		stacks = append(stacks, st)
	}
	s.mu.Unlock()
	out := make([]StackStats, 0, len(stacks))
	for _, st := range stacks {
		st.paths.refresh()
		x := StackStats{
			Stack:           st.name,
			Accepted:        st.accepted[pathDirect].Load(),
			AcceptedRelayed: st.accepted[pathRelayed].Load(),
			BytesIn:         st.in.Load(),
			BytesOut:        st.out.Load(),
			Open:            st.open.Load(),
			Streams:         st.streams.Load(),
			OpenDirect:      st.paths.open[pathDirect].Load(),
			OpenRelayed:     st.paths.open[pathRelayed].Load(),
			ToDirect:        st.paths.switches[pathDirect].Load(),
			ToRelayed:       st.paths.switches[pathRelayed].Load(),
		}
		x.Failed = make(map[Reason]int64, numReasons)
		for i := range st.failed {
			x.Failed[Reason(i)] = st.failed[i].Load()
		}
		out = append(out, x)
	}
	slices.SortFunc(out, func(a, b StackStats) int { return strings.Compare(a.Stack, b.Stack) })
	return out
}

// Dials returns the counters of every stack dialed, ordered by name,
// the open connections counted by the path they take now.
func (s *Stats) Dials() []DialStats {
	s.mu.Lock()
	keys := make([]dialKey, 0, len(s.dials))
	dials := make([]*dialStats, 0, len(s.dials))
	for k, d := range s.dials {
		keys, dials = append(keys, k), append(dials, d)
	}
	s.mu.Unlock()
	out := make([]DialStats, 0, len(dials))
	for i, d := range dials {
		k := keys[i]
		d.paths.refresh()
		x := DialStats{
			Stack:       k.stack,
			Fallback:    k.fallback,
			Attempts:    d.attempts.Load(),
			Wins:        d.wins[pathDirect].Load(),
			WinsRelayed: d.wins[pathRelayed].Load(),
			OpenDirect:  d.paths.open[pathDirect].Load(),
			OpenRelayed: d.paths.open[pathRelayed].Load(),
			ToDirect:    d.paths.switches[pathDirect].Load(),
			ToRelayed:   d.paths.switches[pathRelayed].Load(),
		}
		d.mu.Lock()
		x.Failed = make(map[string]int64, len(d.failed))
		for l, n := range d.failed {
			x.Failed[l] = n
		}
		d.mu.Unlock()
		out = append(out, x)
	}
	slices.SortFunc(out, func(a, b DialStats) int {
		if c := strings.Compare(a.Stack, b.Stack); c != 0 {
			return c
		}
		return cmpBool(a.Fallback, b.Fallback)
	})
	return out
}

func (st *stackStats) streamOpened() {
	if st != nil {
		st.streams.Add(1)
	}
}

func (st *stackStats) streamClosed() {
	if st != nil {
		st.streams.Add(-1)
	}
}

// sessionRelayed reports whether the path of sess, a SessionPlug's
// session, is relayed, as far as [Info] can tell through it.
func sessionRelayed(sess Session) bool {
	if w, ok := sess.(interface{ NetConn() net.Conn }); ok {
		return Info(w.NetConn()).Path.Relayed
	}
	if p, ok := sess.(interface{ Path() Path }); ok {
		return p.Path().Relayed
	}
	return false
}

func (d *dialStats) attempt() {
	if d != nil {
		d.attempts.Add(1)
	}
}

// win counts an attempt that won, with x its conn or session, and
// returns a track that counts x open until it ends (nil if d is nil).
func (d *dialStats) win(x io.Closer) *pathTrack {
	if d == nil {
		return nil
	}
	relayed := false
	switch v := x.(type) {
	case net.Conn:
		relayed = Info(v).Path.Relayed
	case Session:
		relayed = sessionRelayed(v)
	}
	t, path := d.paths.start(relayed, watcherOf(x), nil)
	d.wins[path].Add(1)
	return t
}
