package resume

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// faulty is a carrier end that a test can stall: from then on it
// delivers nothing and drops what it reads, without closing, as a
// half-dead NAT mapping or a hung relay would. Deadlines still work.
type faulty struct {
	net.Conn
	stalled chan struct{}
}

func newFaulty(c net.Conn) *faulty {
	return &faulty{Conn: c, stalled: make(chan struct{})}
}

func (f *faulty) Read(p []byte) (int, error) {
	for {
		n, err := f.Conn.Read(p)
		if err != nil || !isClosed(f.stalled) {
			return n, err
		}
	}
}

// faultNet makes carriers for one pair of Conns and breaks them.
type faultNet struct {
	pipe func() (net.Conn, net.Conn)
	srv  chan net.Conn // the accepting ends of redialed carriers

	mu   sync.Mutex
	live []*faulty // the ends of the carriers made so far, two per carrier
}

func (n *faultNet) carrier() (*faulty, *faulty) {
	x, y := n.pipe()
	fx, fy := newFaulty(x), newFaulty(y)
	n.mu.Lock()
	n.live = append(n.live, fx, fy)
	n.mu.Unlock()
	return fx, fy
}

func (n *faultNet) redial(ctx context.Context) (net.Conn, error) {
	x, y := n.carrier()
	select {
	case n.srv <- y:
		return x, nil
	case <-ctx.Done():
		x.Close()
		y.Close()
		return nil, ctx.Err()
	}
}

// fault breaks the newest carrier: cuts it or stalls it.
func (n *faultNet) fault(rng *rand.Rand) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := len(n.live)
	x, y := n.live[k-2], n.live[k-1]
	if rng.IntN(2) == 0 {
		x.Close()
		y.Close()
		return "cut"
	}
	if !isClosed(x.stalled) {
		close(x.stalled)
		close(y.stalled)
	}
	return "stall"
}

func (n *faultNet) closeAll() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, f := range n.live {
		f.Close()
	}
}

// runFaults sends random data both ways between two Conns while their
// carriers are cut, stalled, redialed and switched at random, and checks
// that each side reads exactly what the other wrote, then io.EOF.
func runFaults(t *testing.T, seed uint64, pipe func() (net.Conn, net.Conn), faults int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	fn := &faultNet{pipe: pipe, srv: make(chan net.Conn)}
	defer fn.closeAll()
	window := 4<<10 + rng.IntN(128<<10)
	base := Config{
		Window:        window,
		KeepAlive:     50 * time.Millisecond,
		ResumeTimeout: time.Minute,
	}
	acfg, bcfg := base, base
	acfg.Redial = fn.redial
	x, y := fn.carrier()
	a, b := New(x, &acfg), New(y, &bcfg)
	defer a.Close()
	defer b.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // the accepting side's listener
		for {
			select {
			case c := <-fn.srv:
				b.Attach(c)
			case <-stop:
				return
			}
		}
	})
	wg.Go(func() { // the faults, and switches while healthy
		r := rand.New(rand.NewPCG(seed, 2))
		for range faults {
			select {
			case <-time.After(time.Duration(r.IntN(20_000)) * time.Microsecond):
			case <-stop:
				return
			}
			if r.IntN(4) == 0 {
				x, y := fn.carrier()
				a.Attach(x)
				b.Attach(y)
				continue
			}
			fn.fault(r)
		}
	})
	sizes := [2]int{rng.IntN(300 << 10), rng.IntN(300 << 10)}
	errs := make(chan error, 2)
	for i, c := range []*Conn{a, b} {
		msg := make([]byte, sizes[i])
		for j := range msg {
			msg[j] = byte(rng.Uint32())
		}
		peer := []*Conn{b, a}[i]
		go func() {
			for p := msg; len(p) > 0; {
				n, err := c.Write(p[:min(len(p), 1+rand.IntN(40<<10))])
				if err != nil {
					errs <- fmt.Errorf("write: %w", err)
					return
				}
				p = p[n:]
			}
			errs <- c.CloseWrite()
		}()
		wg.Go(func() {
			got, err := io.ReadAll(peer)
			if err != nil {
				errs <- fmt.Errorf("read: %w", err)
				return
			}
			if !bytes.Equal(got, msg) {
				errs <- fmt.Errorf("read %d bytes, want %d; first difference at %d", len(got), len(msg), firstDiff(got, msg))
				return
			}
			errs <- nil
		})
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("seed %d, window %d: %v", seed, window, err)
		}
	}
	close(stop)
	a.Close()
	b.Close()
	wg.Wait()
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestFaults runs the fault test over net.Pipe carriers in fake time.
func TestFaults(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 30
	}
	for seed := range uint64(n) {
		synctest.Test(t, func(t *testing.T) {
			runFaults(t, seed, net.Pipe, 6)
		})
		if t.Failed() {
			return
		}
	}
}

// TestFaultsTCP runs it over loopback TCP carriers, in real time.
func TestFaultsTCP(t *testing.T) {
	for seed := range uint64(10) {
		runFaults(t, seed, func() (net.Conn, net.Conn) {
			x, y, err := tcpPair()
			if err != nil {
				t.Fatal(err)
			}
			return x, y
		}, 4)
	}
}

func tcpPair() (net.Conn, net.Conn, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	x, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return nil, nil, err
	}
	y, err := ln.Accept()
	if err != nil {
		x.Close()
		return nil, nil, err
	}
	return x, y, nil
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
