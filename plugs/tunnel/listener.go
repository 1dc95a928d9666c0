package tunnel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/internal/muxrpc"
)

// A listener is a room membership: it joins the room, rejoins after
// losing it, and queues the tunnels the room opens to this peer.
type listener struct {
	r       *room
	admit   func(net.Addr) bool // the Network's handshake budget; may be nil
	pending chan *conn
	closed  chan struct{}
	once    sync.Once
	wg      sync.WaitGroup

	mu        sync.Mutex
	reachable bool
	changed   chan struct{}
}

var _ multiserver.ChangingListener = (*listener)(nil)

// listen starts the room's listener: one per room.
func (r *room) listen(admit func(net.Addr) bool) (*listener, error) {
	r.mu.Lock()
	if r.listener != nil {
		r.mu.Unlock()
		return nil, fmt.Errorf("tunnel: already listening through room %s", r.id)
	}
	l := &listener{
		r:       r,
		admit:   admit,
		pending: make(chan *conn, r.p.maxPending()),
		closed:  make(chan struct{}),
		changed: make(chan struct{}),
	}
	r.listener = l
	r.users++
	r.mu.Unlock()
	l.wg.Add(1)
	go l.run()
	return l, nil
}

// offer queues an accepted tunnel; false if the queue is full or the
// listener closed. It holds l.mu, under which Close closes l.closed, so
// that a tunnel it queues is one Close drains.
func (l *listener) offer(c *conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.closed:
		return false
	default:
	}
	select {
	case l.pending <- c:
		return true
	default:
		return false
	}
}

// Accept returns the next tunnel the room opened to this peer.
func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.pending:
		return c, nil
	case <-l.closed:
		return nil, fmt.Errorf("tunnel: accept: %w", net.ErrClosed)
	}
}

// Close leaves the room and closes the tunnels not yet accepted.
// Accepted tunnels stay open.
func (l *listener) Close() error {
	l.once.Do(func() {
		l.mu.Lock()
		close(l.closed)
		l.mu.Unlock()
		l.wg.Wait()
		r := l.r
		r.mu.Lock()
		r.listener = nil
		r.mu.Unlock()
		for {
			select {
			case c := <-l.pending:
				c.Close()
				continue
			default:
			}
			break
		}
		l.setReachable(false)
		r.release()
	})
	return nil
}

// Addr returns this peer's address in the room.
func (l *listener) Addr() net.Addr { return Addr{Room: l.r.key, Peer: l.r.self} }

// Advertise returns "tunnel:ROOM_ID:OUR_ID" while the room counts this
// peer among its members, in every scope, and nothing otherwise.
func (l *listener) Advertise(multiserver.Scope) []address.Segment {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.reachable {
		return nil
	}
	return []address.Segment{Segment{Room: l.r.key, Target: l.r.self}.Segment()}
}

// Changed returns a channel closed when the listener becomes reachable
// or stops being so.
func (l *listener) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

func (l *listener) setReachable(ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.reachable == ok {
		return
	}
	l.reachable = ok
	close(l.changed)
	l.changed = make(chan struct{})
}

// run joins the room and rejoins with backoff until Close.
func (l *listener) run() {
	defer l.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-l.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	wait := l.r.p.retryMin()
	for {
		joined, err := l.member(ctx)
		l.setReachable(false)
		if ctx.Err() != nil {
			return
		}
		if joined {
			wait = l.r.p.retryMin()
		}
		l.r.p.logger().Debug("tunnel: left room, rejoining", "room", l.r.id, "err", err, "after", wait)
		// Up to a fifth less, so that many members of a restarted room
		// do not come back all at once.
		d := wait - time.Duration(rand.Int64N(int64(wait)/5+1))
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
		wait = min(2*wait, l.r.p.retryMax())
	}
}

// member joins the room once and stays a member until the room ends
// the membership or ctx ends. joined reports whether the room sent its
// first membership event.
func (l *listener) member(ctx context.Context) (joined bool, err error) {
	r := l.r
	s, err := r.session(ctx)
	if err != nil {
		return false, err
	}
	st, err := l.join(ctx, s)
	if err != nil {
		return false, err
	}
	defer st.Close()
	first, cancel := context.WithTimeout(ctx, r.p.callTimeout())
	_, err = st.Read(first)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			s.Close() // a room that does not answer is of no use
		}
		return false, fmt.Errorf("tunnel: room %s: first membership event: %w", r.id, err)
	}
	l.setReachable(true)
	r.p.logger().Debug("tunnel: joined room", "room", r.id)
	for {
		// The events (attendants or endpoints) are not needed here: the
		// room calls tunnel.connect on this peer for every tunnel.
		if _, err := st.Read(ctx); err != nil {
			if ctx.Err() != nil {
				l.leave(s)
			}
			return true, err
		}
	}
}

// join asks the room for its membership events: room.attendants on a
// Room 2.0 server (one that answers room.metadata), else
// tunnel.announce and tunnel.endpoints on a Room 1.0 server (one that
// answers tunnel.isRoom).
func (l *listener) join(ctx context.Context, s *muxrpc.Session) (*muxrpc.Stream, error) {
	r := l.r
	call := func(name ...string) (json.RawMessage, error) {
		cctx, cancel := context.WithTimeout(ctx, r.p.callTimeout())
		defer cancel()
		return s.Async(cctx, name)
	}
	var re *muxrpc.Error
	_, err := call("room", "metadata")
	if err == nil {
		return s.Open(ctx, "source", []string{"room", "attendants"})
	}
	if !errors.As(err, &re) {
		return nil, l.noAnswer(s, "room.metadata", err)
	}
	res, err := call("tunnel", "isRoom")
	if err != nil {
		if !errors.As(err, &re) {
			return nil, l.noAnswer(s, "tunnel.isRoom", err)
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrNotRoom, r.id, err)
	}
	if string(res) == "false" || string(res) == "null" {
		return nil, fmt.Errorf("%w: %s answers tunnel.isRoom with %s", ErrNotRoom, r.id, res)
	}
	if _, err := call("tunnel", "announce"); err != nil && !errors.As(err, &re) {
		return nil, l.noAnswer(s, "tunnel.announce", err)
	}
	return s.Open(ctx, "source", []string{"tunnel", "endpoints"})
}

// noAnswer closes a session whose room did not answer a call in time.
func (l *listener) noAnswer(s *muxrpc.Session, call string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		s.Close()
	}
	return fmt.Errorf("tunnel: room %s: %s: %w", l.r.id, call, err)
}

// leave tells a Room 1.0 server that this peer leaves, when the session
// stays open for tunnels still in use. Room 2.0 servers see the end of
// the attendants stream.
func (l *listener) leave(s *muxrpc.Session) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s.Async(ctx, []string{"tunnel", "leave"})
}
