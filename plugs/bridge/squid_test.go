//go:build !js

package bridge_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/internal/squidtest"
	"github.com/f7d52a8e/multiserver/plugs/bridge"
	"github.com/f7d52a8e/multiserver/plugs/ws"
	"github.com/f7d52a8e/multiserver/transforms/noise"
)

// The proxy lab: Debian's squid between a client and a server that
// advertises the ladder ws → sse → poll on one URL. Each test logs what
// the proxy did to each rung.

// handshakeTimeout is the lab Networks' Config.HandshakeTimeout; a
// refused rung must fail well under it.
const handshakeTimeout = 10 * time.Second

// ladderServer serves ws, sse and poll at http://127.0.0.1:PORT/ms from
// one HTTP server, WebSocket upgrades to the ws plug and the rest to the
// bridge, and counts what reaches it.
type ladderServer struct {
	ws, sse, poll string // the advertised address of each rung
	ladder        string // ws;sse;poll
	conns         chan net.Conn

	upgrades, sseGets, pollGets atomic.Int32
	// refuse, if set, answers a request with its status instead of
	// serving it (0: serve), after counting it: a front that breaks rungs.
	refuse atomic.Pointer[func(*http.Request) int]
}

func newLadderServer(t *testing.T, set func(*bridge.Plug)) *ladderServer {
	t.Helper()
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := tl.Addr().String()
	wsPlug := &ws.Plug{}
	bp := &bridge.Plug{Scheme: "sse", Identity: newIdentity(t)}
	if set != nil {
		set(bp)
	}
	wsH, err := wsPlug.Mount("ws://" + host + "/ms")
	if err != nil {
		t.Fatal(err)
	}
	bh, err := bp.Mount("http://" + host + "/ms")
	if err != nil {
		t.Fatal(err)
	}
	s := &ladderServer{conns: make(chan net.Conn, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("/ms", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
			s.upgrades.Add(1)
			if f := s.refuse.Load(); f != nil && (*f)(r) != 0 {
				http.Error(w, "no WebSocket here", (*f)(r))
				return
			}
			wsH.ServeHTTP(w, r)
			return
		case r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/event-stream"):
			s.sseGets.Add(1)
		case r.Method == http.MethodGet:
			s.pollGets.Add(1)
		}
		if f := s.refuse.Load(); f != nil {
			if code := (*f)(r); code != 0 {
				http.Error(w, http.StatusText(code), code)
				return
			}
		}
		bh.ServeHTTP(w, r)
	})
	srv := &http.Server{Handler: mux}
	served := make(chan struct{})
	go func() { defer close(served); srv.Serve(tl) }()

	nt, err := noise.New(noise.Config{Identity: bp.Identity})
	if err != nil {
		t.Fatal(err)
	}
	n, err := multiserver.New(multiserver.Config{
		Plugs:            []multiserver.Plug{wsPlug, bp},
		Transforms:       []multiserver.Transform{nt},
		HandshakeTimeout: handshakeTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := n.Listen(context.Background(), "ws://"+host+"/ms~noise;sse:http://"+host+"/ms~noise")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range strings.Split(ln.Address(multiserver.ScopeDevice), ";") {
		switch {
		case strings.HasPrefix(a, "ws:"):
			s.ws = a
		case strings.HasPrefix(a, "sse:"):
			s.sse = a
		}
	}
	if s.ws == "" || s.sse == "" {
		t.Fatalf("the server advertises %q, want a ws and an sse address", ln.Address(multiserver.ScopeDevice))
	}
	// The sse listener takes poll clients at the same URL.
	s.poll = "poll:" + strings.TrimPrefix(s.sse, "sse:")
	s.ladder = s.ws + ";" + s.sse + ";" + s.poll

	var mu sync.Mutex
	var accepted []net.Conn
	accepting := make(chan struct{})
	go func() {
		defer close(accepting)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepted = append(accepted, c)
			mu.Unlock()
			s.conns <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-accepting
		mu.Lock()
		for _, c := range accepted {
			c.Close()
		}
		mu.Unlock()
		srv.Close()
		<-served
	})
	return s
}

// accept returns the next conn the server accepted.
func (s *ladderServer) accept(t *testing.T) net.Conn {
	t.Helper()
	select {
	case c := <-s.conns:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("the server accepted no conn within 10s")
		return nil
	}
}

// counts says what reached the server so far.
func (s *ladderServer) counts() string {
	return fmt.Sprintf("%d WebSocket upgrades, %d SSE GETs, %d long-polls", s.upgrades.Load(), s.sseGets.Load(), s.pollGets.Load())
}

// proxiedClient is a Network whose ws, sse and poll plugs all go
// through the proxy at proxy, as a client with HTTP_PROXY set would.
func proxiedClient(t *testing.T, proxy *url.URL) *multiserver.Network {
	t.Helper()
	id := newIdentity(t)
	nt, err := noise.New(noise.Config{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	pick := func(scheme, addr string) (*url.URL, error) { return proxy, nil }
	n, err := multiserver.New(multiserver.Config{
		Plugs: []multiserver.Plug{
			&ws.Plug{Proxy: pick},
			&bridge.Plug{Scheme: "sse", Identity: id, Proxy: pick},
			&bridge.Plug{Scheme: "poll", Identity: id, Proxy: pick},
		},
		Transforms:       []multiserver.Transform{nt},
		HandshakeTimeout: handshakeTimeout,
		// A rung starts when the one before fails, not while it is
		// merely slow (a loaded machine): the tests can then tell which
		// rungs a dial tried. Refused rungs fail at once, so the ladder
		// is no slower for it.
		DialStagger: handshakeTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// dialLadder dials addr and returns the conn, the name of the plug that
// won and how long the dial took.
func dialLadder(t *testing.T, n *multiserver.Network, addr string) (net.Conn, string, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	start := time.Now()
	c, err := n.Dial(ctx, addr)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("Dial %s through squid after %v: %v", addr, took.Round(time.Millisecond), err)
	}
	t.Cleanup(func() { c.Close() })
	return c, multiserver.Info(c).Stack.Plug().Name, took
}

// exchange moves up random bytes from c to the server's s and down
// random bytes back, the server's in bursts with pause between them, at
// once both ways, and checks both by SHA-256. It returns a summary.
func exchange(t *testing.T, c, s net.Conn, up, down, bursts int, pause time.Duration) string {
	t.Helper()
	upData, downData := make([]byte, up), make([]byte, down)
	rand.Read(upData)
	rand.Read(downData)
	deadline := time.Now().Add(30 * time.Second)
	c.SetDeadline(deadline)
	s.SetDeadline(deadline)
	defer c.SetDeadline(time.Time{})
	defer s.SetDeadline(time.Time{})

	var wg sync.WaitGroup
	errs := make(chan error, 4)
	var gotUp, gotDown [sha256.Size]byte
	wg.Add(4)
	go func() { // the client's upstream
		defer wg.Done()
		if _, err := c.Write(upData); err != nil {
			errs <- fmt.Errorf("client write: %w", err)
		}
	}()
	go func() {
		defer wg.Done()
		h := sha256.New()
		if _, err := io.CopyN(h, s, int64(up)); err != nil {
			errs <- fmt.Errorf("server read: %w", err)
		}
		copy(gotUp[:], h.Sum(nil))
	}()
	go func() { // the server's downstream, in bursts
		defer wg.Done()
		for i, p := 0, downData; i < bursts; i++ {
			if i > 0 {
				time.Sleep(pause)
			}
			k := len(p) / (bursts - i)
			if _, err := s.Write(p[:k]); err != nil {
				errs <- fmt.Errorf("server write: %w", err)
				return
			}
			p = p[k:]
		}
	}()
	go func() {
		defer wg.Done()
		h := sha256.New()
		if _, err := io.CopyN(h, c, int64(down)); err != nil {
			errs <- fmt.Errorf("client read: %w", err)
		}
		copy(gotDown[:], h.Sum(nil))
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if gotUp != sha256.Sum256(upData) {
		t.Fatal("the bytes the server received differ from those the client sent")
	}
	if gotDown != sha256.Sum256(downData) {
		t.Fatal("the bytes the client received differ from those the server sent")
	}
	return fmt.Sprintf("%d bytes up (sha256 %x…) and %d down (sha256 %x…), exact", up, gotUp[:4], down, gotDown[:4])
}

// squidSaw summarises squid's access log: how many requests ended with
// each result and method ("TCP_DENIED/403 CONNECT").
func squidSaw(p *squidtest.Proxy) string {
	counts := map[string]int{}
	var order []string
	for line := range strings.Lines(p.AccessLog()) {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		k := f[3] + " " + f[5]
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	var parts []string
	for _, k := range order {
		parts = append(parts, strconv.Itoa(counts[k])+"× "+k)
	}
	return strings.Join(parts, ", ")
}

// TestSquidShipped runs squid as Debian ships it, which allows CONNECT
// only to port 443 and forwards plain HTTP requests. A ws dial through it
// is refused at once, with the proxy's status; an sse dial through it
// carries exact bytes both ways; the advertised ladder settles on sse,
// and a later dial of it does too, without trying poll.
func TestSquidShipped(t *testing.T) {
	sq := squidtest.Start(t, squidtest.Config{})
	s := newLadderServer(t, nil)
	client := proxiedClient(t, sq.URL)

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	start := time.Now()
	_, err := client.Dial(ctx, s.ws)
	took := time.Since(start)
	var pe *ws.ProxyError
	if !errors.As(err, &pe) || pe.StatusCode != http.StatusForbidden || pe.Proxy != sq.URL.Host {
		t.Fatalf("ws dial through squid = %v, want a *ws.ProxyError from %s with status 403", err, sq.URL.Host)
	}
	if took > handshakeTimeout/5 {
		t.Errorf("the refused ws dial took %v, want well under the handshake timeout (%v)", took, handshakeTimeout)
	}
	t.Logf("ws through squid: refused in %v: %v", took.Round(time.Millisecond), err)
	if n := s.upgrades.Load(); n != 0 {
		t.Errorf("%d WebSocket upgrades reached the server through squid, want 0", n)
	}

	c, won, took := dialLadder(t, client, s.sse)
	if won != "sse" {
		t.Fatalf("sse dial came through %s", won)
	}
	t.Logf("sse through squid: connected in %v; %s", took.Round(time.Millisecond), exchange(t, c, s.accept(t), 1<<20, 1<<20, 1, 0))
	c.Close()

	// A client that never dialed this peer: the whole ladder.
	fresh := proxiedClient(t, sq.URL)
	for _, what := range []string{"first", "later"} {
		before := s.pollGets.Load()
		c, won, took := dialLadder(t, fresh, s.ladder)
		t.Logf("ladder, %s dial: %s won in %v (server saw so far: %s)", what, won, took.Round(time.Millisecond), s.counts())
		if won != "sse" {
			t.Fatalf("ladder, %s dial: %s won, want sse", what, won)
		}
		if n := s.pollGets.Load() - before; n != 0 {
			t.Errorf("ladder, %s dial: %d long-polls reached the server, want none", what, n)
		}
		t.Logf("ladder, %s dial over sse: %s", what, exchange(t, c, s.accept(t), 256<<10, 256<<10, 1, 0))
		c.Close()
	}
	t.Logf("squid's access log: %s", squidSaw(sq))
}

// TestSquidRefusesEventStream runs squid with a rule that refuses
// text/event-stream answers: the ladder falls to poll, moves exact bytes
// both ways, and a later dial goes to poll without trying sse.
func TestSquidRefusesEventStream(t *testing.T) {
	sq := squidtest.Start(t, squidtest.Config{Extra: "acl eventstream rep_mime_type -i ^text/event-stream\nhttp_reply_access deny eventstream"})
	s := newLadderServer(t, nil)
	client := proxiedClient(t, sq.URL)

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, err := client.Dial(ctx, s.sse)
	var se *bridge.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusForbidden || se.Kind != "sse" {
		t.Fatalf("sse dial through squid refusing event streams = %v, want a 403 StatusError of the sse request", err)
	}
	t.Logf("sse alone through squid refusing text/event-stream: %.240s…", strings.ReplaceAll(err.Error(), "\n", " "))

	fresh := proxiedClient(t, sq.URL)
	for _, what := range []string{"first", "later"} {
		before := s.sseGets.Load()
		c, won, took := dialLadder(t, fresh, s.ladder)
		t.Logf("ladder, %s dial: %s won in %v (server saw so far: %s)", what, won, took.Round(time.Millisecond), s.counts())
		if won != "poll" {
			t.Fatalf("ladder, %s dial: %s won, want poll", what, won)
		}
		if n := s.sseGets.Load() - before; what == "later" && n != 0 {
			t.Errorf("ladder, later dial: %d SSE requests reached the server, want none (poll worked last)", n)
		}
		t.Logf("ladder, %s dial over poll: %s", what, exchange(t, c, s.accept(t), 512<<10, 512<<10, 1, 0))
		c.Close()
	}
	t.Logf("squid's access log: %s", squidSaw(sq))
}

// TestSquidReadTimeout runs squid with a read_timeout of 2s, and a
// server that pauses longer than that between bursts: squid cuts each SSE
// answer mid-stream (its chunked body unterminated), and the stream
// resumes at its cursor, exactly, on sse.
func TestSquidReadTimeout(t *testing.T) {
	sq := squidtest.Start(t, squidtest.Config{Extra: "read_timeout 2 seconds"})
	s := newLadderServer(t, nil)
	client := proxiedClient(t, sq.URL)
	c, won, _ := dialLadder(t, client, s.ladder)
	if won != "sse" {
		t.Fatalf("ladder: %s won, want sse", won)
	}
	before := s.sseGets.Load()
	// Squid checks its timeouts about once a second: a pause of 3.5s
	// outlasts a read_timeout of 2s for sure.
	const bursts = 3
	sum := exchange(t, c, s.accept(t), 256<<10, 768<<10, bursts, 3500*time.Millisecond)
	asks := s.sseGets.Load() - before
	t.Logf("sse through squid with read_timeout 2s, %d bursts 3.5s apart: %s; the dial's SSE answer and %d more", bursts, sum, asks)
	if asks < bursts-1 {
		t.Errorf("%d SSE requests after the dial's, want at least %d (squid cuts the answer at each pause)", asks, bursts-1)
	}
	if got := multiserver.Info(c).Path.Carrier; got != "sse" {
		t.Errorf("the conn is carried by %q, want sse", got)
	}
	var gets []string
	for line := range strings.Lines(sq.AccessLog()) {
		if f := strings.Fields(line); len(f) > 9 && f[5] == "GET" {
			gets = append(gets, f[1]+"ms "+f[3]+" "+f[4]+"B "+f[9])
		}
	}
	t.Logf("squid's GETs ended so far (duration, result, bytes, type): %s", strings.Join(gets, "; "))
}
