//go:build !js

package bridge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// chaos is an HTTP transport whose conns break at random points while
// it is armed: a response cut after a random number of bytes (inside an
// event, inside a base64 line, inside a poll's body, inside the
// headers), a request cut after a random number of bytes (inside a
// send's body).
type chaos struct {
	armed atomic.Bool
	cuts  atomic.Int64

	mu  sync.Mutex
	rng *rand.Rand
}

// limits draws a new conn's read and write limits; -1 is none.
func (k *chaos) limits() (read, write int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	read, write = -1, -1
	switch k.rng.IntN(4) {
	case 0: // uncut
	case 1:
		read = k.rng.Int64N(4 << 10) // the SSE padding and headers, or just past them
	case 2:
		read = k.rng.Int64N(64 << 10)
	default:
		read = k.rng.Int64N(512 << 10)
	}
	if k.rng.IntN(3) == 0 {
		write = k.rng.Int64N([]int64{4 << 10, 64 << 10, 300 << 10}[k.rng.IntN(3)])
	}
	return read, write
}

type chaosConn struct {
	net.Conn
	k *chaos

	mu            sync.Mutex
	rlimit, wlim  int64
	read, written int64
}

func (c *chaosConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	limit, done := c.rlimit, c.read
	c.mu.Unlock()
	cut := limit >= 0 && c.k.armed.Load()
	if cut && int64(len(p)) > limit-done {
		p = p[:max(limit-done, 0)]
	}
	if cut && len(p) == 0 {
		c.k.cuts.Add(1)
		c.Conn.Close()
		return 0, errors.New("chaos: cut")
	}
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.read += int64(n)
	c.mu.Unlock()
	return n, err
}

func (c *chaosConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	limit, done := c.wlim, c.written
	c.mu.Unlock()
	if limit >= 0 && c.k.armed.Load() && int64(len(p)) > limit-done {
		n, _ := c.Conn.Write(p[:max(limit-done, 0)])
		c.mu.Lock()
		c.written += int64(n)
		c.mu.Unlock()
		c.k.cuts.Add(1)
		c.Conn.Close()
		return n, errors.New("chaos: cut")
	}
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	c.written += int64(n)
	c.mu.Unlock()
	return n, err
}

func (k *chaos) transport(keepAlive bool) *http.Transport {
	return &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			r, w := k.limits()
			return &chaosConn{Conn: c, k: k, rlimit: r, wlim: w}, nil
		},
		DisableKeepAlives: !keepAlive,
	}
}

// TestRandomSessions runs bridge sessions, many at once and one after
// another for a few seconds, each with a seed that picks its carrier,
// its window, how soon SSE answers end, how long polls are held, how
// often heartbeats come, the sizes of the writes and reads both ways,
// where its HTTP conns are cut (responses and sends), and when a
// request of its own kind, as a proxy that replays one would make,
// supersedes its SSE stream or long-poll. Every byte must arrive once,
// in order, both ways, and every session must end at the server once
// the client closes it; TestMain checks for goroutines left.
// BRIDGE_SEED=N replays one session.
func TestRandomSessions(t *testing.T) {
	if s := os.Getenv("BRIDGE_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		// A replay logs what the client does.
		log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		if err := randomSession(t, seed, log); err != nil {
			t.Fatalf("BRIDGE_SEED=%d: %v", seed, err)
		}
		return
	}
	const workers = 6
	cuts.Store(0)
	superseded.Store(0)
	cutShort.Store(0)
	budget := 5 * time.Second
	stop := time.Now().Add(budget)
	base := uint64(time.Now().UnixNano())
	var done atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := uint64(0); time.Now().Before(stop); i++ {
				seed := base + uint64(w)<<32 + i
				if err := randomSession(t, seed, nil); err != nil {
					errs <- fmt.Errorf("BRIDGE_SEED=%d: %w", seed, err)
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d sessions (%d closed by the client midway), %d conns cut, %d downstream requests superseded", done.Load(), cutShort.Load(), cuts.Load(), superseded.Load())
}

// randomSession runs the session of one seed to its end.
func randomSession(t *testing.T, seed uint64, log *slog.Logger) error {
	rng := rand.New(rand.NewPCG(seed, 1))
	carrier := []string{"sse", "poll"}[rng.IntN(2)]
	window := []int{16 << 10, 64 << 10, 256 << 10, 1 << 20}[rng.IntN(4)]
	// Either end may be configured with another window than the other.
	clientWindow := window * []int{1, 1, 4, 1}[rng.IntN(4)] / []int{1, 1, 1, 4}[rng.IntN(4)]
	cfg := ServerConfig{
		Window:   window,
		SSEBytes: 256 + rng.IntN(128<<10),
		PollHold: time.Duration(5+rng.IntN(200)) * time.Millisecond,
	}.withDefaults()
	cfg.heartbeat = time.Duration(2+rng.IntN(100)) * time.Millisecond
	h := newHandler(cfg, URLAddr("test"))
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.endSessions()
	defer h.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := h.Accept(); err == nil {
			accepted <- c
		}
	}()

	k := &chaos{rng: rand.New(rand.NewPCG(seed, 2))}
	tr := k.transport(rng.IntN(2) == 0)
	defer tr.CloseIdleConnections()
	id := testIdentity(t)
	u, _ := url.Parse(srv.URL + "/ms")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	cc, err := (&Client{Identity: id, HTTPClient: &http.Client{Transport: tr}, Window: clientWindow, Logger: log, firstBackoff: 5 * time.Millisecond}).Dial(ctx, u, carrier)
	cancel()
	if err != nil {
		return fmt.Errorf("%s: dial: %w", carrier, err)
	}
	c := cc.(*clientConn)
	defer c.Close()
	var s net.Conn
	select {
	case s = <-accepted:
	case <-time.After(10 * time.Second):
		return errors.New("no session accepted")
	}
	defer s.Close()
	k.armed.Store(true)

	size := func() int {
		if rng.IntN(4) == 0 {
			return rng.IntN(512 << 10)
		}
		return rng.IntN(64 << 10)
	}
	up, down := make([]byte, size()), make([]byte, size())
	fill(rng, up)
	fill(rng, down)
	deadline := time.Now().Add(60 * time.Second)
	c.SetDeadline(deadline)
	s.SetDeadline(deadline)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	// A sixth of the sessions are closed by the client at a random
	// moment, cut short: the bytes that arrive before must still be
	// right, and everything must stop.
	var aborted atomic.Bool
	abortDone := make(chan struct{})
	abortOn, abortAfter, abortHard := rng.IntN(6) == 0, time.Duration(rng.IntN(100))*time.Millisecond, rng.IntN(2) == 0
	abort := time.AfterFunc(abortAfter, func() {
		defer close(abortDone)
		k.armed.Store(false) // the close must reach the server
		aborted.Store(true)
		cutShort.Add(1)
		if abortHard {
			c.Abort()
		} else {
			c.Close()
		}
	})
	if !abortOn && abort.Stop() {
		close(abortDone)
	}
	run := func(name string, f func(*rand.Rand) error, stream uint64) {
		r := rand.New(rand.NewPCG(seed, stream))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(r); err != nil && (!aborted.Load() || errors.Is(err, errCorrupt)) {
				errs <- fmt.Errorf("%s: %s: %w", carrier, name, err)
				c.Abort() // the others stop too
				s.Close()
			}
		}()
	}
	// Half the sessions end at the server: it closes once it has read
	// and written everything, and the client must read the end of the
	// stream right after the last byte.
	serverCloses := rng.IntN(2) == 0
	var serverRead, serverWrote sync.WaitGroup
	serverRead.Add(1)
	serverWrote.Add(1)
	run("client writes", func(r *rand.Rand) error { return writeRandom(r, c, up) }, 3)
	run("server reads", func(r *rand.Rand) error {
		defer serverRead.Done()
		return readExact(r, s, up)
	}, 4)
	run("server writes", func(r *rand.Rand) error {
		defer serverWrote.Done()
		return writeRandom(r, s, down)
	}, 5)
	run("client reads", func(r *rand.Rand) error {
		if err := readExact(r, c, down); err != nil || !serverCloses {
			return err
		}
		if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			return fmt.Errorf("after the last byte, Read = %d, %v; want the end of the stream", n, err)
		}
		return nil
	}, 6)
	if serverCloses {
		go func() {
			serverRead.Wait()
			serverWrote.Wait()
			s.Close()
		}()
	}

	// Requests of the session's own kind, at random, that take its
	// downstream over until the client asks again.
	rogueStop := make(chan struct{})
	rogueDone := make(chan struct{})
	go func() {
		defer close(rogueDone)
		r := rand.New(rand.NewPCG(seed, 7))
		plain := &http.Client{}
		defer plain.CloseIdleConnections()
		for {
			select {
			case <-rogueStop:
				return
			case <-time.After(time.Duration(5+r.IntN(100)) * time.Millisecond):
			}
			supersede(r, plain, u, c, carrier)
		}
	}()
	wg.Wait()
	close(rogueStop)
	<-rogueDone
	if abort.Stop() {
		close(abortDone)
	}
	<-abortDone
	close(errs)
	cuts.Add(k.cuts.Load())
	if err := <-errs; err != nil {
		return fmt.Errorf("%w (windows %d at the server, %d at the client; %d cuts)", err, window, clientWindow, k.cuts.Load())
	}

	// Both ways done: the client's close ends the session at the server.
	k.armed.Store(false)
	c.Close()
	s.Close()
	for end := time.Now().Add(10 * time.Second); ; {
		h.mu.Lock()
		n := len(h.sessions)
		h.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(end) {
			return fmt.Errorf("%s: the server still holds the session after the client closed it", carrier)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// Totals over the sessions of a run, for its log.
var cuts, superseded, cutShort atomic.Int64

// supersede sends a downstream request of the session's kind from the
// client's cursor, reads a little of its answer, and drops it.
func supersede(r *rand.Rand, hc *http.Client, u *url.URL, c *clientConn, carrier string) {
	c.mu.Lock()
	cursor := c.in.end()
	c.mu.Unlock()
	if r.IntN(4) == 0 { // an older one, which the server may no longer hold
		cursor -= min(cursor, r.Uint64N(64<<10))
	}
	req := request{Kind: carrier, Session: c.session, Offset: cursor, Time: time.Now().Unix()}
	req.sign(c.priv)
	q := *u
	q.RawQuery = req.query().Encode()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(1+r.IntN(50))*time.Millisecond)
	defer cancel()
	hr, _ := http.NewRequestWithContext(ctx, http.MethodGet, q.String(), nil)
	if carrier == kindSSE {
		hr.Header.Set("Last-Event-ID", strconv.FormatUint(cursor, 10))
	}
	resp, err := hc.Do(hr)
	if err != nil {
		return
	}
	if resp.StatusCode == http.StatusOK {
		superseded.Add(1)
	}
	io.CopyN(io.Discard, resp.Body, r.Int64N(8<<10))
	resp.Body.Close()
}

func fill(r *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}

// writeRandom writes data in pieces of random sizes.
func writeRandom(r *rand.Rand, c net.Conn, data []byte) error {
	for len(data) > 0 {
		n := 1 + r.IntN([]int{16, 1 << 10, 64 << 10, 300 << 10}[r.IntN(4)])
		n = min(n, len(data))
		if _, err := c.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// errCorrupt marks a byte lost, repeated or out of order.
var errCorrupt = errors.New("corrupt stream")

// readExact reads len(want) bytes in reads of random sizes and checks
// each against want, so that a byte lost, repeated or out of order is
// found where it happens.
func readExact(r *rand.Rand, c net.Conn, want []byte) error {
	buf := make([]byte, 300<<10)
	got := 0
	for got < len(want) {
		n := 1 + r.IntN([]int{7, 1 << 10, 64 << 10, 300 << 10}[r.IntN(4)])
		m, err := c.Read(buf[:min(n, len(buf))])
		if m > len(want)-got {
			return fmt.Errorf("%w: read %d bytes past the %d sent", errCorrupt, m-(len(want)-got), len(want))
		}
		if !bytes.Equal(buf[:m], want[got:got+m]) {
			i := 0
			for buf[i] == want[got+i] {
				i++
			}
			return fmt.Errorf("%w: byte %d of %d differs", errCorrupt, got+i, len(want))
		}
		got += m
		if err != nil {
			return fmt.Errorf("after %d of %d bytes: %w", got, len(want), err)
		}
	}
	return nil
}
