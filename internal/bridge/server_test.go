//go:build !js

package bridge

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/keys"
)

// sendExact writes n random bytes on from and checks that to reads
// exactly them within timeout.
func sendExact(t *testing.T, from, to net.Conn, n int, timeout time.Duration) {
	t.Helper()
	data := make([]byte, n)
	rand.Read(data)
	go from.Write(data)
	got := make([]byte, n)
	to.SetReadDeadline(time.Now().Add(timeout))
	if _, err := io.ReadFull(to, got); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %v, bytes equal %v", err, bytes.Equal(got, data))
	}
}

// testServer serves a handler on a real socket and hands out the
// sessions it accepts.
type testServer struct {
	h     *handler
	srv   *httptest.Server
	conns chan net.Conn
}

func newTestServer(t *testing.T, cfg ServerConfig, wrap func(http.Handler) http.Handler) *testServer {
	t.Helper()
	h := newHandler(cfg.withDefaults(), URLAddr("test"))
	var hh http.Handler = h
	if wrap != nil {
		hh = wrap(h)
	}
	ts := &testServer{h: h, srv: httptest.NewServer(hh), conns: make(chan net.Conn, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := h.Accept()
			if err != nil {
				return
			}
			ts.conns <- c
		}
	}()
	t.Cleanup(func() {
		h.Close()
		<-done
		h.endSessions()
		ts.srv.Close()
	})
	return ts
}

func (ts *testServer) accept(t *testing.T) net.Conn {
	t.Helper()
	select {
	case c := <-ts.conns:
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no session accepted")
		return nil
	}
}

func testIdentity(t *testing.T) *keys.Identity {
	id, err := keys.NewIdentity(keys.Generate(), keys.OpenNetwork())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// dialTest opens a session to the test server with p, receiving by
// carrier ("sse" or "poll").
func dialTest(t *testing.T, ts *testServer, p *Client, carrier string) (net.Conn, error) {
	u, err := url.Parse(ts.srv.URL + "/ms")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := p.Dial(ctx, u, carrier)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// raw makes one signed request by hand.
func raw(t *testing.T, ts *testServer, priv ed25519.PrivateKey, r request, body []byte, mod func(*http.Request)) *http.Response {
	t.Helper()
	resp, err := rawDo(ts, priv, r, body, mod)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// rawDo makes one signed request by hand and returns its answer, which
// the caller closes.
func rawDo(ts *testServer, priv ed25519.PrivateKey, r request, body []byte, mod func(*http.Request)) (*http.Response, error) {
	if r.Time == 0 {
		r.Time = time.Now().Unix()
	}
	if r.Sig == nil {
		r.sign(priv)
	}
	method := http.MethodPost
	if r.Kind == kindSSE || r.Kind == kindPoll {
		method = http.MethodGet
	}
	req, _ := http.NewRequest(method, ts.srv.URL+"/ms?"+r.query().Encode(), bytes.NewReader(body))
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	if mod != nil {
		mod(req)
	}
	return ts.srv.Client().Do(req)
}

func wantStatus(t *testing.T, resp *http.Response, code int, text string) {
	t.Helper()
	if resp.StatusCode != code {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d (%s), want %d", resp.StatusCode, b, code)
	}
	if text != "" {
		b, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(b), text) {
			t.Fatalf("answer %q does not say %q", b, text)
		}
	}
}

// openRaw opens a session by hand and returns it and the server's conn.
func openRaw(t *testing.T, ts *testServer) (ed25519.PrivateKey, sessionID, net.Conn) {
	priv := keys.Generate()
	var s sessionID
	rand.Read(s[:])
	wantStatus(t, raw(t, ts, priv, request{Kind: kindOpen, Session: s}, nil, nil), 200, "")
	return priv, s, ts.accept(t)
}

func TestAuthRejections(t *testing.T) {
	ts := newTestServer(t, ServerConfig{}, nil)
	priv, s, _ := openRaw(t, ts)
	other := keys.Generate()
	var unknown sessionID
	rand.Read(unknown[:])

	t.Run("wrong key", func(t *testing.T) {
		wantStatus(t, raw(t, ts, other, request{Kind: kindPoll, Session: s}, nil, nil), 401, "bad signature")
	})
	t.Run("unknown session", func(t *testing.T) {
		wantStatus(t, raw(t, ts, priv, request{Kind: kindPoll, Session: unknown}, nil, nil), 404, "no session")
	})
	poll := request{Kind: kindPoll, Session: s, Time: time.Now().Unix()}
	poll.sign(priv)
	t.Run("poll signature on sse", func(t *testing.T) {
		r := poll
		r.Kind = kindSSE
		wantStatus(t, raw(t, ts, nil, r, nil, nil), 401, "bad signature")
	})
	t.Run("poll signature on send", func(t *testing.T) {
		r := poll
		r.Kind = kindSend
		wantStatus(t, raw(t, ts, nil, r, []byte("x"), nil), 401, "bad signature")
	})
	t.Run("stale time", func(t *testing.T) {
		r := request{Kind: kindPoll, Session: s, Time: time.Now().Add(-5 * time.Minute).Unix()}
		wantStatus(t, raw(t, ts, priv, r, nil, nil), 401, "server's clock")
	})
	t.Run("open with another key", func(t *testing.T) {
		wantStatus(t, raw(t, ts, other, request{Kind: kindOpen, Session: s}, nil, nil), 409, "another key")
	})
}

// TestDialRejected: a server whose clock is off refuses the dial, and
// the dial's error says so and matches ErrRejected.
func TestDialRejected(t *testing.T) {
	ts := newTestServer(t, ServerConfig{}, nil)
	ts.h.now = func() time.Time { return time.Now().Add(time.Hour) }
	_, err := dialTest(t, ts, &Client{Identity: testIdentity(t)}, "sse")
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "clock") {
		t.Fatalf("dial to a server with another clock: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	ts := newTestServer(t, ServerConfig{MaxBody: 1000}, nil)
	ts.h.cfg.aheadHold = 50 * time.Millisecond // a gap waits this long for the sends before it
	priv, s, conn := openRaw(t, ts)
	send := func(off uint64, body []byte, mod func(*http.Request)) *http.Response {
		return raw(t, ts, priv, request{Kind: kindSend, Session: s, Offset: off}, body, mod)
	}
	wantStatus(t, send(0, []byte("hello "), nil), 200, "")
	for _, tt := range []struct {
		name string
		do   func() *http.Response
		code int
		text string
	}{
		{"garbage query", func() *http.Response {
			resp, err := http.Post(ts.srv.URL+"/ms?k=send&s=%%%&o=x", "application/octet-stream", strings.NewReader("junk"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { resp.Body.Close() })
			return resp
		}, 400, "bridge:"},
		{"oversized", func() *http.Response { return send(6, bytes.Repeat([]byte("x"), 5000), nil) }, 413, "most is 1000"},
		{"gap", func() *http.Response { return send(100, []byte("late"), nil) }, 409, "expected 6"},
		{"gap past the window", func() *http.Response { return send(DefaultWindow+7, []byte("late"), nil) }, 409, "expected 6"},
		{"content type", func() *http.Response {
			return send(6, []byte("<html>"), func(r *http.Request) { r.Header.Set("Content-Type", "text/html") })
		}, 415, "octet-stream"},
		{"wrong method", func() *http.Response {
			return send(6, []byte("x"), func(r *http.Request) { r.Method = http.MethodPut })
		}, 405, "wants POST"},
		{"ack past sent", func() *http.Response {
			return raw(t, ts, priv, request{Kind: kindPoll, Session: s, Ack: 99}, nil, nil)
		}, 400, "past what was sent"},
	} {
		t.Run(tt.name, func(t *testing.T) { wantStatus(t, tt.do(), tt.code, tt.text) })
	}
	resp := send(100, []byte("late"), nil)
	if got := resp.Header.Get(headerOffset); got != "6" {
		t.Errorf("409 %s = %q, want 6", headerOffset, got)
	}
	wantStatus(t, send(0, []byte("hello "), nil), 200, "") // a duplicate
	wantStatus(t, send(3, []byte("lo world"), nil), 200, "")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, 11)
	if _, err := io.ReadFull(conn, got); err != nil || string(got) != "hello world" {
		t.Fatalf("session read %q, %v; want %q", got, err, "hello world")
	}
}

// TestOnePollOutstanding counts the polls under way at the server while
// bytes flow both ways for a second: never more than one.
func TestOnePollOutstanding(t *testing.T) {
	var cur, most atomic.Int32
	count := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("k") == kindPoll {
				n := cur.Add(1)
				defer cur.Add(-1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
			}
			h.ServeHTTP(w, r)
		})
	}
	ts := newTestServer(t, ServerConfig{PollHold: 50 * time.Millisecond}, count)
	c, err := dialTest(t, ts, &Client{Identity: testIdentity(t)}, "poll")
	if err != nil {
		t.Fatal(err)
	}
	srv := ts.accept(t)
	go io.Copy(srv, srv)
	buf := make([]byte, 1000)
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		c.Write(buf)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if m := most.Load(); m != 1 {
		t.Fatalf("at most %d polls were outstanding, want 1", m)
	}
}

// cutter is a transport whose conns break after reading limit bytes.
type cutter struct {
	limit int64
	cuts  atomic.Int32
}

type cutConn struct {
	net.Conn
	c    *cutter
	mu   sync.Mutex
	read int64
}

func (c *cutConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.read += int64(n)
	cut := c.read > c.c.limit
	c.mu.Unlock()
	if cut {
		c.c.cuts.Add(1)
		c.Conn.Close()
		return 0, errors.New("cut")
	}
	return n, err
}

func (k *cutter) client() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &cutConn{Conn: c, c: k}, nil
		},
		DisableKeepAlives: true,
	}}
}

// TestCutResumesExactly cuts the client's TCP conns again and again
// while megabytes flow each way, and checks them by hash.
func TestCutResumesExactly(t *testing.T) {
	for _, scheme := range []string{"sse", "poll"} {
		t.Run(scheme, func(t *testing.T) {
			k := &cutter{limit: 200 << 10}
			ts := newTestServer(t, ServerConfig{}, nil)
			c, err := dialTest(t, ts, &Client{Identity: testIdentity(t), HTTPClient: k.client()}, scheme)
			if err != nil {
				t.Fatal(err)
			}
			srv := ts.accept(t)
			go io.Copy(srv, srv)
			const n = 3 << 20
			data := make([]byte, n)
			rand.Read(data)
			go c.Write(data)
			h := sha256.New()
			c.SetReadDeadline(time.Now().Add(60 * time.Second))
			if _, err := io.CopyN(h, c, n); err != nil {
				t.Fatal(err)
			}
			if want := sha256.Sum256(data); !bytes.Equal(h.Sum(nil), want[:]) {
				t.Fatal("bytes differ after cuts")
			}
			if k.cuts.Load() == 0 {
				t.Fatal("no conn was cut")
			}
			t.Logf("%d cuts", k.cuts.Load())
		})
	}
}

// TestServerEndsEarly: SSE answers end after a few KiB, and the bytes
// still arrive exactly.
func TestServerEndsEarly(t *testing.T) {
	ts := newTestServer(t, ServerConfig{SSEBytes: 5000}, nil)
	c, err := dialTest(t, ts, &Client{Identity: testIdentity(t)}, "sse")
	if err != nil {
		t.Fatal(err)
	}
	srv := ts.accept(t)
	sendExact(t, srv, c, 1<<20, 30*time.Second)
}

// TestCloseEnds: the server's Close gives the client end of stream
// after the bytes written.
func TestCloseEnds(t *testing.T) {
	for _, scheme := range []string{"sse", "poll"} {
		t.Run(scheme, func(t *testing.T) {
			ts := newTestServer(t, ServerConfig{}, nil)
			c, err := dialTest(t, ts, &Client{Identity: testIdentity(t)}, scheme)
			if err != nil {
				t.Fatal(err)
			}
			srv := ts.accept(t)
			srv.Write([]byte("bye"))
			srv.Close()
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			b, err := io.ReadAll(c)
			if err != nil || string(b) != "bye" {
				t.Fatalf("ReadAll = %q, %v", b, err)
			}
		})
	}
}

// answer is what a send made by sendAsync got.
type answer struct {
	code   int
	offset string
	err    error
}

// sendAsync makes a signed send of body at off in the background; its
// answer comes on the channel.
func sendAsync(ts *testServer, priv ed25519.PrivateKey, s sessionID, off uint64, body []byte) <-chan answer {
	ch := make(chan answer, 1)
	go func() {
		resp, err := rawDo(ts, priv, request{Kind: kindSend, Session: s, Offset: off}, body, nil)
		if err != nil {
			ch <- answer{err: err}
			return
		}
		resp.Body.Close()
		ch <- answer{code: resp.StatusCode, offset: resp.Header.Get(headerOffset)}
	}()
	return ch
}

// TestSendAhead: a send that arrives before the one ahead of it waits
// for it and is then taken, so nothing is lost or sent again; one still
// ahead when the hold ends, or further ahead than a window, gets a 409.
func TestSendAhead(t *testing.T) {
	ts := newTestServer(t, ServerConfig{}, nil)
	ts.h.cfg.aheadHold = 2 * time.Second
	priv, s, conn := openRaw(t, ts)
	second := sendAsync(ts, priv, s, 5, []byte("world"))
	select {
	case a := <-second:
		t.Fatalf("a send ahead answered before the one before it arrived: %+v", a)
	case <-time.After(200 * time.Millisecond):
	}
	resp := raw(t, ts, priv, request{Kind: kindSend, Session: s, Offset: 0}, []byte("hello"), nil)
	wantStatus(t, resp, 200, "")
	if a := <-second; a.err != nil || a.code != 200 || a.offset != "10" {
		t.Fatalf("the send ahead answered %+v, want 200 and offset 10", a)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, 10)
	if _, err := io.ReadFull(conn, got); err != nil || string(got) != "helloworld" {
		t.Fatalf("session read %q, %v; want %q", got, err, "helloworld")
	}

	ts.h.cfg.aheadHold = 100 * time.Millisecond
	start := time.Now()
	resp = raw(t, ts, priv, request{Kind: kindSend, Session: s, Offset: 20}, []byte("late"), nil)
	wantStatus(t, resp, 409, "expected 10")
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("a send ahead got its 409 after %v, before the hold ended", d)
	}
	start = time.Now()
	resp = raw(t, ts, priv, request{Kind: kindSend, Session: s, Offset: 10 + DefaultWindow + 1}, []byte("far"), nil)
	wantStatus(t, resp, 409, "expected 10")
	if d := time.Since(start); d > time.Second {
		t.Errorf("a send a window ahead waited %v for its 409", d)
	}
}

// TestSendAheadOfClosedSession: once the server's end is closed, a send
// is taken whole and dropped; the sends held for its bytes go on at
// once too, instead of waiting out the hold for bytes that did come.
// The server closes before both sends, or between them.
func TestSendAheadOfClosedSession(t *testing.T) {
	for _, closeFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("closeFirst=%v", closeFirst), func(t *testing.T) {
			ts := newTestServer(t, ServerConfig{}, nil)
			ts.h.cfg.aheadHold = time.Minute
			priv, s, conn := openRaw(t, ts)
			if closeFirst {
				conn.Close()
			}
			second := sendAsync(ts, priv, s, 5, []byte("world"))
			select {
			case a := <-second:
				t.Fatalf("a send ahead answered before the one before it arrived: %+v", a)
			case <-time.After(200 * time.Millisecond):
			}
			if !closeFirst {
				conn.Close()
			}
			resp := raw(t, ts, priv, request{Kind: kindSend, Session: s, Offset: 0}, []byte("hello"), nil)
			wantStatus(t, resp, 200, "")
			if got := resp.Header.Get(headerOffset); got != "5" {
				t.Fatalf("the first send answered offset %s, want 5", got)
			}
			select {
			case a := <-second:
				if a.err != nil || a.code != 200 || a.offset != "10" {
					t.Fatalf("the send ahead answered %+v, want 200 and offset 10", a)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the send ahead still waits for bytes the session has taken")
			}
		})
	}
}

// TestCloseAfterServerClosed: a client that closes while its sends are
// under way to a session whose server end has closed, the later one
// having arrived first, is answered at once: its Close does not wait
// out its drain, and no request of its stays open on the server.
func TestCloseAfterServerClosed(t *testing.T) {
	for _, carrier := range []string{"sse", "poll"} {
		t.Run(carrier, func(t *testing.T) {
			var running atomic.Int32 // requests the server is serving
			ahead := make(chan struct{})
			var aheadOnce sync.Once
			order := func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					running.Add(1)
					defer running.Add(-1)
					q := r.URL.Query()
					if q.Get("k") == kindSend && r.ContentLength > 0 {
						if q.Get("o") == "0" {
							// The first send goes on once the one after it waits
							// on the server.
							select {
							case <-ahead:
								time.Sleep(200 * time.Millisecond)
							case <-time.After(10 * time.Second):
							}
						} else {
							aheadOnce.Do(func() { close(ahead) })
						}
					}
					h.ServeHTTP(w, r)
				})
			}
			ts := newTestServer(t, ServerConfig{}, order)
			ts.h.cfg.aheadHold = time.Minute
			c, err := dialTest(t, ts, &Client{Identity: testIdentity(t)}, carrier)
			if err != nil {
				t.Fatal(err)
			}
			srv := ts.accept(t)
			srv.Close()
			// Two sends: maxPost bytes, and the rest.
			if _, err := c.Write(make([]byte, maxPost+1000)); err != nil {
				t.Fatal(err)
			}
			select {
			case <-ahead:
			case <-time.After(10 * time.Second):
				t.Fatal("the second send did not come")
			}
			start := time.Now()
			c.Close()
			// Close waits for its sends up to drainWait; held for the
			// hold, they would take all of it.
			if d := time.Since(start); d > drainWait/2 {
				t.Fatalf("Close took %v", d)
			}
			deadline := time.Now().Add(time.Second)
			for running.Load() > 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if n := running.Load(); n > 0 {
				t.Fatalf("%d requests still served a second after Close", n)
			}
		})
	}
}

// TestPipelinedSendsOutOfOrder delays sends at random before the
// server reads them, so that the client's pipelined POSTs arrive out of
// order, and checks the megabytes that go through by hash.
func TestPipelinedSendsOutOfOrder(t *testing.T) {
	var mu sync.Mutex
	var last uint64
	var behind int // sends that arrived after one further on
	shuffle := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			if q.Get("k") == kindSend && r.ContentLength > 0 {
				var b [1]byte
				rand.Read(b[:])
				time.Sleep(time.Duration(b[0]%20) * time.Millisecond)
				o, _ := parseOffset(q.Get("o"))
				mu.Lock()
				if o < last {
					behind++
				}
				last = max(last, o)
				mu.Unlock()
			}
			h.ServeHTTP(w, r)
		})
	}
	ts := newTestServer(t, ServerConfig{}, shuffle)
	ts.h.cfg.aheadHold = 10 * time.Second
	c, err := dialTest(t, ts, &Client{Identity: testIdentity(t)}, "poll")
	if err != nil {
		t.Fatal(err)
	}
	srv := ts.accept(t)
	const n = 6 << 20
	data := make([]byte, n)
	rand.Read(data)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		errc <- err
	}()
	h := sha256.New()
	srv.SetReadDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.CopyN(h, srv, n); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if want := sha256.Sum256(data); !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatal("bytes differ")
	}
	mu.Lock()
	defer mu.Unlock()
	if behind == 0 {
		t.Fatal("no send arrived out of order")
	}
	t.Logf("%d sends arrived after one further on", behind)
}

// TestCORS: a page of another origin may use the bridge: a preflight
// for the client's POSTs is allowed with the headers the client sends,
// every answer (a refusal too) allows any origin and exposes the
// Bridge-* headers, and a preflight for another method is refused.
func TestCORS(t *testing.T) {
	ts := newTestServer(t, ServerConfig{}, nil)
	const origin = "https://page.example"
	pre := func(method, headers string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, ts.srv.URL+"/ms?k=send", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", method)
		if headers != "" {
			req.Header.Set("Access-Control-Request-Headers", headers)
		}
		resp, err := ts.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := pre(http.MethodPost, "cache-control,content-type")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("preflight for POST: status %d", resp.StatusCode)
	}
	h := resp.Header
	if h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Max-Age") == "" {
		t.Errorf("preflight headers %v", h)
	}
	for _, m := range []string{"GET", "POST"} {
		if !strings.Contains(h.Get("Access-Control-Allow-Methods"), m) {
			t.Errorf("Access-Control-Allow-Methods %q lacks %s", h.Get("Access-Control-Allow-Methods"), m)
		}
	}
	for _, name := range []string{"Content-Type", "Cache-Control", "Last-Event-ID"} {
		if !strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), strings.ToLower(name)) {
			t.Errorf("Access-Control-Allow-Headers %q lacks %s", h.Get("Access-Control-Allow-Headers"), name)
		}
	}
	if resp := pre(http.MethodPut, ""); resp.StatusCode < 400 || resp.Header.Get("Access-Control-Allow-Methods") != "" {
		t.Errorf("preflight for PUT: status %d, headers %v; want a refusal", resp.StatusCode, resp.Header)
	}

	fromPage := func(r *http.Request) { r.Header.Set("Origin", origin) }
	check := func(what string, resp *http.Response) {
		t.Helper()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("%s: Access-Control-Allow-Origin %q", what, got)
		}
		if got := resp.Header.Get("Access-Control-Expose-Headers"); !strings.Contains(got, headerOffset) || !strings.Contains(got, headerFin) {
			t.Errorf("%s: Access-Control-Expose-Headers %q", what, got)
		}
	}
	priv := keys.Generate()
	var s sessionID
	rand.Read(s[:])
	resp = raw(t, ts, priv, request{Kind: kindOpen, Session: s}, nil, fromPage)
	wantStatus(t, resp, 200, "")
	check("open", resp)
	conn := ts.accept(t)
	resp = raw(t, ts, priv, request{Kind: kindSend, Session: s}, []byte("hi"), fromPage)
	wantStatus(t, resp, 200, "")
	check("send", resp)
	conn.Write([]byte("yo"))
	resp = raw(t, ts, priv, request{Kind: kindPoll, Session: s}, nil, fromPage)
	wantStatus(t, resp, 200, "")
	check("poll", resp)
	var unknown sessionID
	resp = raw(t, ts, priv, request{Kind: kindPoll, Session: unknown}, nil, fromPage)
	wantStatus(t, resp, 404, "")
	check("refusal", resp)
}

// TestIdleAck: once the client has read what came down and nothing else
// acknowledges it, an ack of its own goes soon, and the server holds
// nothing of an idle session's downstream.
func TestIdleAck(t *testing.T) {
	for _, scheme := range []string{"sse", "poll"} {
		t.Run(scheme, func(t *testing.T) {
			ts := newTestServer(t, ServerConfig{}, nil)
			c, err := dialTest(t, ts, &Client{Identity: testIdentity(t)}, scheme)
			if err != nil {
				t.Fatal(err)
			}
			s := ts.accept(t)
			if _, err := s.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadFull(c, make([]byte, 5)); err != nil {
				t.Fatal(err)
			}
			sess := s.(*session)
			deadline := time.Now().Add(5 * time.Second)
			for {
				sess.mu.Lock()
				held, chunks := sess.out.len(), len(sess.out.chunks)
				sess.mu.Unlock()
				if held == 0 && chunks == 0 {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("the server still holds %d bytes in %d chunks", held, chunks)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// shortWriter is a ResponseWriter that aborts its answer once limit
// bytes have been written, as a path that cuts every response after so
// many bytes.
type shortWriter struct {
	http.ResponseWriter
	left int
}

func (w *shortWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		w.ResponseWriter.Write(p[:w.left])
		if f, ok := w.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	w.left -= len(p)
	return w.ResponseWriter.Write(p)
}

func (w *shortWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestSSEShortAnswers: a path that cuts every SSE answer after 24 KiB,
// shorter than the first event of a busy stream, still carries it: the
// server sends smaller events to a client that came back without one.
func TestSSEShortAnswers(t *testing.T) {
	var cut atomic.Int32
	short := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("k") == kindSSE {
				w = &shortWriter{ResponseWriter: w, left: 24 << 10}
				defer func() {
					if recover() != nil {
						cut.Add(1)
						panic(http.ErrAbortHandler)
					}
				}()
			}
			h.ServeHTTP(w, r)
		})
	}
	ts := newTestServer(t, ServerConfig{}, short)
	c, err := dialTest(t, ts, &Client{Identity: testIdentity(t)}, "sse")
	if err != nil {
		t.Fatal(err)
	}
	srv := ts.accept(t)
	sendExact(t, srv, c, 256<<10, 20*time.Second)
	if cut.Load() == 0 {
		t.Fatal("no answer was cut")
	}
	t.Logf("%d answers cut", cut.Load())
}

// TestClientWindowSmaller: a client whose window is smaller than the
// server's takes what fits of what the server sends and asks for the
// rest once its reader has made room, on either carrier.
func TestClientWindowSmaller(t *testing.T) {
	for _, carrier := range []string{"sse", "poll"} {
		t.Run(carrier, func(t *testing.T) {
			ts := newTestServer(t, ServerConfig{Window: 256 << 10}, nil)
			c, err := dialTest(t, ts, &Client{Identity: testIdentity(t), Window: 16 << 10}, carrier)
			if err != nil {
				t.Fatal(err)
			}
			srv := ts.accept(t)
			sendExact(t, srv, c, 1<<20, 30*time.Second)
			cc := c.(*clientConn)
			cc.mu.Lock()
			defer cc.mu.Unlock()
			if cc.err != nil {
				t.Fatalf("the session failed: %v", cc.err)
			}
		})
	}
}

// TestServerTakesSmallSends: a server whose limit on a send's body is
// far under the client's sends answers them 413; the client halves its
// sends until they fit and the bytes arrive exactly, on either carrier.
func TestServerTakesSmallSends(t *testing.T) {
	for _, carrier := range []string{"sse", "poll"} {
		t.Run(carrier, func(t *testing.T) {
			var mu sync.Mutex
			var refused, taken int
			var largest int64 // of the sends taken
			count := func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Query().Get("k") != kindSend {
						h.ServeHTTP(w, r)
						return
					}
					sw := &statusWriter{ResponseWriter: w}
					h.ServeHTTP(sw, r)
					mu.Lock()
					defer mu.Unlock()
					switch sw.code {
					case http.StatusRequestEntityTooLarge:
						refused++
					case http.StatusOK, 0:
						taken++
						largest = max(largest, r.ContentLength)
					}
				})
			}
			ts := newTestServer(t, ServerConfig{MaxBody: 3000}, count)
			c, err := dialTest(t, ts, &Client{Identity: testIdentity(t)}, carrier)
			if err != nil {
				t.Fatal(err)
			}
			srv := ts.accept(t)
			sendExact(t, c, srv, 256<<10, 30*time.Second)
			sendExact(t, srv, c, 64<<10, 30*time.Second) // and the session still works both ways
			mu.Lock()
			defer mu.Unlock()
			t.Logf("%d sends refused, %d taken, the largest %d bytes", refused, taken, largest)
			// From 256 KiB, halving reaches 2 KiB after 7 rounds of at
			// most maxInFlight refusals each, and stops there.
			if refused == 0 || refused > 7*maxInFlight {
				t.Errorf("%d sends refused, want 1 to %d", refused, 7*maxInFlight)
			}
			if largest != 2048 {
				t.Errorf("the largest send taken was %d bytes, want 2048: the first halving that fits", largest)
			}
		})
	}
}

// statusWriter notes the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}
