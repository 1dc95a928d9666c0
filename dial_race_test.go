package multiserver_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/transforms/noauth"
)

// TestDialFirstRefusedSecondSlow is the crash of the first release: the
// first address is refused at once, the second accepts TCP and never
// answers, and the stagger timer armed before the refusal fires while
// the second still handshakes. The racer must not start a third attempt
// that does not exist.
func TestDialFirstRefusedSecondSlow(t *testing.T) {
	n := newNetwork(t, multiserver.Config{
		HandshakeTimeout: 400 * time.Millisecond,
		DialStagger:      50 * time.Millisecond,
	})
	refused := "net:127.0.0.1:1~hello"
	hang := silent(t)
	_, err := n.Dial(context.Background(), refused+";"+hang)
	if got := dialErrors(err); len(got) != 2 {
		t.Fatalf("Dial = %v, want one DialError per address", err)
	}
	if !errors.Is(err, multiserver.ErrHandshake) {
		t.Errorf("Dial = %v, want the slow address's handshake failure in it", err)
	}
}

// dialErrors returns the DialErrors that err joins, by address.
func dialErrors(err error) map[string]*multiserver.DialError {
	out := map[string]*multiserver.DialError{}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return out
	}
	for _, e := range j.Unwrap() {
		var de *multiserver.DialError
		if errors.As(e, &de) {
			out[de.Addr] = de
		}
	}
	return out
}

// scripted is a plug whose dials do what a script says: "fake:ID" waits
// the delay scripted for ID, then fails or connects. It records when
// each dial succeeded and every conn it made, to check that the racer
// keeps the first success and closes the rest.
type scripted struct {
	script map[string]outcome

	mu    sync.Mutex
	won   map[string]time.Time // when each successful dial returned
	conns map[string]*trackedConn
	order []string // the IDs dialed, in order
}

type outcome struct {
	delay time.Duration
	fail  bool
}

var errScripted = errors.New("scripted failure")

func (p *scripted) Name() string { return "fake" }

func (p *scripted) Listen(context.Context, address.Segment) (net.Listener, error) {
	return nil, errors.New("fake: no listening")
}

func (p *scripted) Dial(ctx context.Context, s address.Segment) (net.Conn, error) {
	id := s.Value()
	p.mu.Lock()
	o := p.script[id]
	p.order = append(p.order, id)
	p.mu.Unlock()
	select {
	case <-time.After(o.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if o.fail {
		return nil, errScripted
	}
	a, b := net.Pipe()
	b.Close()
	c := &trackedConn{Conn: a}
	p.mu.Lock()
	p.won[id] = time.Now()
	p.conns[id] = c
	p.mu.Unlock()
	return c, nil
}

type trackedConn struct {
	net.Conn
	mu     sync.Mutex
	closed bool
}

func (c *trackedConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return c.Conn.Close()
}

func (c *trackedConn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// TestDialRaceRandomized races 1 to 6 addresses whose dials fail or
// succeed after random delays around the stagger, thousands of times, in
// a synctest bubble so that time is exact: the racer never panics, the
// earliest success wins, every other success is closed, a failed dial
// joins one DialError per address, and no goroutine is left behind.
func TestDialRaceRandomized(t *testing.T) {
	const stagger = 100 * time.Millisecond
	runs := 3000
	if testing.Short() {
		runs = 300
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for run := range runs {
		k := 1 + rng.IntN(6)
		script := make(map[string]outcome, k)
		var addrs []string
		for i := range k {
			id := strconv.Itoa(i)
			// Delays cluster around the stagger and its multiples, where
			// timer and result can arrive in the same instant.
			d := time.Duration(rng.IntN(4))*stagger + time.Duration(rng.IntN(3)-1)*time.Millisecond
			script[id] = outcome{delay: max(d, 0), fail: rng.IntN(3) > 0}
			addrs = append(addrs, "fake:"+id)
		}
		cancelAfter := time.Duration(0) // sometimes the caller gives up
		if rng.IntN(8) == 0 {
			cancelAfter = time.Duration(1+rng.IntN(300)) * time.Millisecond
		}
		synctest.Test(t, func(t *testing.T) {
			checkRace(t, run, script, addrs, stagger, cancelAfter)
		})
		if t.Failed() {
			t.Fatalf("run %d (seed %d): script %v, cancel after %v", run, seed, script, cancelAfter)
		}
	}
}

func checkRace(t *testing.T, run int, script map[string]outcome, addrs []string, stagger, cancelAfter time.Duration) {
	p := &scripted{script: script, won: map[string]time.Time{}, conns: map[string]*trackedConn{}}
	n, err := multiserver.New(multiserver.Config{
		Plugs:       []multiserver.Plug{p},
		Transforms:  []multiserver.Transform{noauth.Transform{}}, // "fake:ID" alone is plaintext
		DialStagger: stagger,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if cancelAfter > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cancelAfter)
		defer cancel()
	}
	c, err := n.Dial(ctx, strings.Join(addrs, ";"))
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.order) == 0 && ctx.Err() == nil {
		t.Fatalf("run %d: no address was dialed: %v", run, err)
	}
	if err != nil {
		if len(p.won) > 0 && cancelAfter == 0 {
			t.Errorf("run %d: Dial failed (%v) although %v succeeded", run, err, p.won)
		}
		if got := dialErrors(err); len(got) != len(addrs) {
			t.Errorf("run %d: Dial error joins %d DialErrors for %d addresses: %v", run, len(got), len(addrs), err)
		}
		for id, tc := range p.conns {
			if !tc.isClosed() {
				t.Errorf("run %d: the conn of %s is open after a failed Dial", run, id)
			}
		}
		return
	}
	defer c.Close()
	var (
		winner string
		made   = c.(multiserver.WrapperConn).NetConn()
	)
	for id, tc := range p.conns {
		if tc == made {
			winner = id
		} else if !tc.isClosed() {
			t.Errorf("run %d: loser %s was not closed", run, id)
		}
	}
	if winner == "" {
		t.Fatalf("run %d: Dial returned a conn the plug did not make", run)
	}
	for id, at := range p.won {
		if at.Before(p.won[winner]) {
			t.Errorf("run %d: %s won at %v, but %s succeeded earlier, at %v", run, winner, p.won[winner], id, at)
		}
	}
}

// relayed is a scripted plug that says it is a fallback, as a relay does.
type relayed struct{ *scripted }

func (relayed) Name() string   { return "relayfake" }
func (relayed) Fallback() bool { return true }

// TestDialMemoryKeepsDirectFirst: the address that worked last goes
// first among those of its class only. Before, a relay that once won a
// race went ahead of every direct address for good.
func TestDialMemoryKeepsDirectFirst(t *testing.T) {
	direct := &scripted{script: map[string]outcome{"d": {fail: true}}, won: map[string]time.Time{}, conns: map[string]*trackedConn{}}
	relay := relayed{&scripted{script: map[string]outcome{"r1": {fail: true}, "r2": {}}, won: map[string]time.Time{}, conns: map[string]*trackedConn{}}}
	n, err := multiserver.New(multiserver.Config{
		Plugs:       []multiserver.Plug{direct, relay},
		Transforms:  []multiserver.Transform{noauth.Transform{}},
		DialStagger: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	const addr = "relayfake:r1;fake:d;relayfake:r2" // a relay advertised first
	for i := range 2 {
		c, err := n.Dial(context.Background(), addr)
		if err != nil {
			t.Fatalf("Dial %d: %v", i, err)
		}
		c.Close()
	}
	// First dial: d, then the relays in advertised order: r1, r2; r2
	// wins. Second: d, then r2 first among the relays.
	if got, want := strings.Join(relay.order, ","), "r1,r2,r2"; got != want {
		t.Errorf("relay dials %s, want %s", got, want)
	}
	if got := strings.Join(direct.order, ","); got != "d,d" {
		t.Errorf("direct dials %s, want d twice, first each time", got)
	}
	// Direct wins from then on; the relays are not tried.
	direct.mu.Lock()
	direct.script["d"] = outcome{}
	direct.mu.Unlock()
	for range 2 {
		c, err := n.Dial(context.Background(), addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	if got, want := strings.Join(direct.order, ","), "d,d,d,d"; got != want {
		t.Errorf("direct dials %s, want %s", got, want)
	}
}

func TestDialMemoryReordersWithinClass(t *testing.T) {
	relay := relayed{&scripted{script: map[string]outcome{"r1": {fail: true}, "r2": {}, "r3": {}}, won: map[string]time.Time{}, conns: map[string]*trackedConn{}}}
	n, err := multiserver.New(multiserver.Config{
		Plugs:       []multiserver.Plug{relay},
		Transforms:  []multiserver.Transform{noauth.Transform{}},
		DialStagger: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		c, err := n.Dial(context.Background(), "relayfake:r1;relayfake:r2;relayfake:r3")
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	if got, want := strings.Join(relay.order, ","), "r1,r2,r2"; got != want {
		t.Errorf("relay dials %s, want %s", got, want)
	}
}
