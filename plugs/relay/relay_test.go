//go:build !js

package relay

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/f7d52a8e/multiserver/keys"
	"golang.org/x/net/nettest"
)

// testRelay is a relay served on loopback at /relay.
type testRelay struct {
	*Server
	url string
	ts  *httptest.Server
}

// startRelay serves a relay with cfg until the test ends.
func startRelay(t testing.TB, cfg Config) *testRelay {
	t.Helper()
	return startRelayOn(t, cfg, nil)
}

// startRelayOn is startRelay on ln, if not nil.
func startRelayOn(t testing.TB, cfg Config, ln net.Listener) *testRelay {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/relay", s)
	mux.HandleFunc("/readyz", s.Readyz)
	ts := httptest.NewUnstartedServer(mux)
	if ln != nil {
		ts.Listener.Close()
		ts.Listener = ln
	}
	ts.Start()
	r := &testRelay{Server: s, url: "ws" + strings.TrimPrefix(ts.URL, "http") + "/relay", ts: ts}
	t.Cleanup(func() { s.Close(); ts.Close() })
	return r
}

func newIdentity(t testing.TB) *keys.Identity {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	id, err := keys.NewIdentity(priv, keys.OpenNetwork())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func randomStream() StreamID {
	var s StreamID
	rand.Read(s[:])
	return s
}

// register registers labels for id and closes the registration when the
// test ends.
func register(t testing.TB, url string, id *keys.Identity, labels ...string) *Registration {
	t.Helper()
	reg, err := (&Client{URL: url, Identity: id}).Register(ctxT(t), labels)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	t.Cleanup(func() { reg.Close() })
	return reg
}

// pair connects a dialer to a registered listener and returns both ends.
func pair(t testing.TB, url string, listener *keys.Identity, reg *Registration, label string) (dialed, accepted *Conn) {
	t.Helper()
	ctx := ctxT(t)
	dialer := &Client{URL: url, Identity: newIdentity(t)}
	stream := randomStream()
	type result struct {
		c   *Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := dialer.Connect(ctx, listener.Public(), label, stream)
		done <- result{c, err}
	}()
	var in *Incoming
	select {
	case in = <-reg.Incoming():
	case r := <-done:
		t.Fatalf("Connect returned before INCOMING: %v", r.err)
	}
	if in.Label != label || in.StreamID != stream || !bytes.Equal(in.Key, dialer.Identity.Public()) {
		t.Fatalf("INCOMING = %+v, want label %q, stream %x and the dialer's key", in, label, stream)
	}
	a, err := (&Client{URL: url, Identity: listener}).Accept(ctx, in)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("Connect: %v", r.err)
	}
	if !bytes.Equal(r.c.Peer(), listener.Public()) || !bytes.Equal(a.Peer(), dialer.Identity.Public()) || a.StreamID() != stream {
		t.Fatalf("PAIRED told the wrong keys or stream")
	}
	t.Cleanup(func() { r.c.Close(); a.Close() })
	return r.c, a
}

// TestPair registers, connects, accepts, and sends bytes both ways; the
// close of one side reads as the end on the other.
func TestPair(t *testing.T) {
	r := startRelay(t, Config{})
	id := newIdentity(t)
	reg := register(t, r.url, id, "noise", "noise~yamux")
	d, a := pair(t, r.url, id, reg, "noise~yamux")

	big := make([]byte, 300<<10) // several messages, one over the copy buffer
	rand.Read(big)
	go func() { d.Write(big); d.Write([]byte("end")) }()
	got := make([]byte, len(big)+3)
	if _, err := io.ReadFull(a, got); err != nil || !bytes.Equal(got[:len(big)], big) || string(got[len(big):]) != "end" {
		t.Fatalf("listener read %v, or other bytes than the dialer wrote", err)
	}
	if _, err := a.Write([]byte("back")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(d, buf); err != nil || string(buf) != "back" {
		t.Fatalf("dialer read %q, %v", buf, err)
	}
	a.Close()
	if n, err := d.Read(buf); err != io.EOF {
		t.Fatalf("after the listener's Close, dialer Read = %d, %v; want io.EOF", n, err)
	}
	if st := r.Stats(); st.Paired != 1 {
		t.Errorf("Stats().Paired = %d, want 1", st.Paired)
	}
}

// TestConnConformance runs x/net/nettest on paired conns.
func TestConnConformance(t *testing.T) {
	r := startRelay(t, Config{})
	id := newIdentity(t)
	reg := register(t, r.url, id, "noise")
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		d, a := pair(t, r.url, id, reg, "noise")
		return d, a, func() { d.Close(); a.Close() }, nil
	})
}

// TestCutPropagates: a side whose TCP conn dies without a close frame
// ends the other with status 4001, an error, not io.EOF.
func TestCutPropagates(t *testing.T) {
	r := startRelay(t, Config{})
	id := newIdentity(t)
	reg := register(t, r.url, id, "noise")
	var tcp net.Conn
	dialer := &Client{URL: r.url, Identity: newIdentity(t), HTTPClient: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			tcp = c
			return c, err
		},
	}}}
	listened := make(chan struct{})
	defer func() { <-listened }() // before the relay's cleanup closes everything
	go func() {
		defer close(listened)
		in := <-reg.Incoming()
		a, err := (&Client{URL: r.url, Identity: id}).Accept(context.Background(), in)
		if err != nil {
			t.Error(err)
			return
		}
		defer a.Close()
		a.Write([]byte("hi"))
		_, err = io.ReadAll(a)
		if websocket.CloseStatus(err) != closeLost {
			t.Errorf("read after the peer's cut = %v, want status %d", err, closeLost)
		}
	}()
	d, err := dialer.Connect(ctxT(t), id.Public(), "noise", randomStream())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	buf := make([]byte, 2)
	if _, err := io.ReadFull(d, buf); err != nil {
		t.Fatal(err)
	}
	tcp.Close() // no close frame
	io.ReadAll(d)
}

// TestNoPeer: a CONNECT nobody registered for fails at once.
func TestNoPeer(t *testing.T) {
	r := startRelay(t, Config{})
	c := &Client{URL: r.url, Identity: newIdentity(t)}
	start := time.Now()
	_, err := c.Connect(ctxT(t), newIdentity(t).Public(), "noise", randomStream())
	if !errors.Is(err, ErrNoPeer) || !errors.Is(err, ErrDenied) {
		t.Fatalf("Connect to nobody = %v, want ErrNoPeer", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("ErrNoPeer took %v", d)
	}
	// Registered under another label: still nobody.
	id := newIdentity(t)
	register(t, r.url, id, "shs")
	if _, err := c.Connect(ctxT(t), id.Public(), "noise", randomStream()); !errors.Is(err, ErrNoPeer) {
		t.Fatalf("Connect to an unregistered label = %v, want ErrNoPeer", err)
	}
}

// TestReplaced: the newest registration of a key wins; the older one
// ends with ErrReplaced.
func TestReplaced(t *testing.T) {
	r := startRelay(t, Config{})
	id := newIdentity(t)
	old := register(t, r.url, id, "noise")
	reg := register(t, r.url, id, "noise")
	select {
	case <-old.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the older registration did not end")
	}
	if !errors.Is(old.Err(), ErrReplaced) {
		t.Fatalf("older registration's Err = %v, want ErrReplaced", old.Err())
	}
	if _, ok := <-old.Incoming(); ok {
		t.Fatal("the older registration's Incoming is not closed")
	}
	pair(t, r.url, id, reg, "noise")
}

// TestPairingTimeout: a listener that never accepts makes the dialer
// fail with TIMEOUT after the pairing timeout; one whose control conn
// ends makes it fail with NO_PEER at once.
func TestPairingTimeout(t *testing.T) {
	r := startRelay(t, Config{PairingTimeout: 300 * time.Millisecond})
	id := newIdentity(t)
	reg := register(t, r.url, id, "noise")
	c := &Client{URL: r.url, Identity: newIdentity(t)}
	start := time.Now()
	_, err := c.Connect(ctxT(t), id.Public(), "noise", randomStream())
	var de *DeniedError
	if !errors.As(err, &de) || de.Code != CodeTimeout || !de.Timeout() {
		t.Fatalf("Connect to a listener that ignores it = %v, want DENIED TIMEOUT", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Errorf("TIMEOUT after %v, want about 300ms", d)
	}
	<-reg.Incoming()

	// An INCOMING whose token is used too late is refused.
	accepted := make(chan struct{})
	defer func() { <-accepted }()
	go func() {
		defer close(accepted)
		in := <-reg.Incoming()
		reg.Close()
		_, err := (&Client{URL: r.url, Identity: id}).Accept(context.Background(), in)
		if !errors.As(err, &de) || de.Code != CodeBadToken {
			t.Errorf("Accept after the dialer gave up = %v, want BAD_TOKEN", err)
		}
	}()
	start = time.Now()
	_, err = c.Connect(ctxT(t), id.Public(), "noise", randomStream())
	if !errors.Is(err, ErrNoPeer) {
		t.Fatalf("Connect whose listener left = %v, want ErrNoPeer", err)
	}
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("NO_PEER after %v: the relay waited for the timeout", d)
	}
}

// rawDial opens a relay WebSocket without the client, for tests that
// break the protocol.
func rawDial(t testing.TB, url string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.Dial(ctxT(t), url, &websocket.DialOptions{Subprotocols: []string{Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return ws
}

// readFrame reads one frame from ws.
func readFrame(t testing.TB, ws *websocket.Conn) *frame {
	t.Helper()
	_, msg, err := ws.Read(ctxT(t))
	if err != nil {
		t.Fatalf("reading a frame: %v", err)
	}
	f, err := decode(msg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func wantDenied(t testing.TB, ws *websocket.Conn, code DenyCode) {
	t.Helper()
	f := readFrame(t, ws)
	if f.typ != frameDenied || f.code != code {
		t.Fatalf("got frame %#02x code %v, want DENIED %v", f.typ, f.code, code)
	}
}

// TestAuth: a signature by another key, over another origin, or an
// origin the relay does not have is DENIED.
func TestAuth(t *testing.T) {
	r := startRelay(t, Config{})
	id, other := newIdentity(t), newIdentity(t)
	myOrigin, _ := Origin(r.url)
	for _, tt := range []struct {
		name         string
		sign, origin string // signed origin, sent origin
		signer       *keys.Identity
		code         DenyCode
	}{
		{"good", myOrigin, myOrigin, id, 0},
		{"another key's signature", myOrigin, myOrigin, other, CodeBadSignature},
		{"signed for another relay", "wss://other.example", myOrigin, id, CodeBadSignature},
		{"another relay's origin", "wss://other.example", "wss://other.example", id, CodeBadOrigin},
		{"wss for ws", strings.Replace(myOrigin, "ws:", "wss:", 1), strings.Replace(myOrigin, "ws:", "wss:", 1), id, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ws := rawDial(t, r.url)
			hello := readFrame(t, ws)
			if hello.typ != frameHello || hello.limits.PairingTimeout != 10*time.Second {
				t.Fatalf("first frame %+v, want HELLO with the default limits", hello)
			}
			auth := &frame{typ: frameAuth, key: id.Public(), origin: tt.origin, sig: tt.signer.Sign(authMessage(hello.challenge[:], tt.sign))}
			ws.Write(ctxT(t), websocket.MessageBinary, auth.encode())
			if tt.code == 0 {
				if f := readFrame(t, ws); f.typ != frameOK {
					t.Fatalf("got %#02x, want OK", f.typ)
				}
				return
			}
			wantDenied(t, ws, tt.code)
		})
	}
	t.Run("configured URLs", func(t *testing.T) {
		r := startRelay(t, Config{URLs: []string{"wss://relay.example/relay"}})
		_, err := (&Client{URL: r.url, Identity: id}).Register(ctxT(t), []string{"noise"})
		var de *DeniedError
		if !errors.As(err, &de) || de.Code != CodeBadOrigin {
			t.Fatalf("Register through an origin the relay does not have = %v, want BAD_ORIGIN", err)
		}
	})
}

// TestGarbage: malformed and unexpected frames are DENIED BAD_FRAME; a
// frame over the limit closes with 1009; a client refuses a relay that
// sends garbage.
func TestGarbage(t *testing.T) {
	r := startRelay(t, Config{})
	for _, tt := range []struct {
		name string
		typ  websocket.MessageType
		msg  []byte
	}{
		{"unknown type", websocket.MessageBinary, []byte{0xee, 1, 2}},
		{"short AUTH", websocket.MessageBinary, []byte{frameAuth, 1, 2}},
		{"CONNECT before AUTH", websocket.MessageBinary, (&frame{typ: frameConnect}).encode()},
		{"text", websocket.MessageText, []byte("hello")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ws := rawDial(t, r.url)
			readFrame(t, ws)
			ws.Write(ctxT(t), tt.typ, tt.msg)
			wantDenied(t, ws, CodeBadFrame)
		})
	}
	t.Run("too big", func(t *testing.T) {
		ws := rawDial(t, r.url)
		readFrame(t, ws)
		ws.Write(ctxT(t), websocket.MessageBinary, make([]byte, 5000))
		_, _, err := ws.Read(ctxT(t))
		if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
			t.Fatalf("after a 5000-byte frame: %v, want status 1009", err)
		}
	})
	t.Run("relay sends garbage", func(t *testing.T) {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{Subprotocol}})
			if err != nil {
				return
			}
			ws.Write(r.Context(), websocket.MessageBinary, []byte{0x01, 'n', 'o'})
			ws.Close(websocket.StatusNormalClosure, "")
		}))
		defer ts.Close()
		_, err := (&Client{URL: ts.URL, Identity: newIdentity(t)}).Register(ctxT(t), []string{"noise"})
		if !errors.Is(err, ErrProtocol) {
			t.Fatalf("Register with a relay that sends garbage = %v, want ErrProtocol", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		_, err := (&Client{URL: "ws://" + addr + "/relay", Identity: newIdentity(t)}).Connect(ctxT(t), newIdentity(t).Public(), "noise", StreamID{})
		if !errors.Is(err, ErrUnreachable) {
			t.Fatalf("Connect to a closed port = %v, want ErrUnreachable", err)
		}
	})
}

// TestHandshakeTimeout: a WebSocket that never sends AUTH is denied
// HANDSHAKE_TIMEOUT and closed.
func TestHandshakeTimeout(t *testing.T) {
	r := startRelay(t, Config{HandshakeTimeout: 200 * time.Millisecond})
	ws := rawDial(t, r.url)
	readFrame(t, ws)
	wantDenied(t, ws, CodeHandshakeTimeout)
}

// TestFlood: unauthenticated WebSockets over the limit are refused
// before the upgrade, and those taken do not outlive the handshake
// timeout.
func TestFlood(t *testing.T) {
	const limit = 8
	r := startRelay(t, Config{MaxUnauthenticated: limit, HandshakeTimeout: 500 * time.Millisecond})
	var open []*websocket.Conn
	refused := 0
	for range 40 {
		ws, resp, err := websocket.Dial(ctxT(t), r.url, &websocket.DialOptions{Subprotocols: []string{Subprotocol}})
		if err != nil {
			if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("dial over the limit: %v, want 503", err)
			}
			refused++
			continue
		}
		open = append(open, ws)
	}
	if len(open) != limit || refused != 40-limit {
		t.Fatalf("%d WebSockets taken and %d refused, want %d and %d", len(open), refused, limit, 40-limit)
	}
	if st := r.Stats(); st.Unauth != limit {
		t.Errorf("Stats().Unauth = %d, want %d", st.Unauth, limit)
	}
	// A client that authenticates still gets in once the flood has been
	// timed out.
	for _, ws := range open {
		go func() { ws.Read(context.Background()); ws.Read(context.Background()); ws.CloseNow() }()
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.Stats().Unauth > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if st := r.Stats(); st.Unauth != 0 {
		t.Fatalf("Stats().Unauth = %d after the handshake timeout, want 0", st.Unauth)
	}
	register(t, r.url, newIdentity(t), "noise")
}

// TestPerIPLimits: connections and registrations per source address.
func TestPerIPLimits(t *testing.T) {
	r := startRelay(t, Config{MaxRegistrationsPerIP: 2})
	register(t, r.url, newIdentity(t), "noise")
	register(t, r.url, newIdentity(t), "noise")
	_, err := (&Client{URL: r.url, Identity: newIdentity(t)}).Register(ctxT(t), []string{"noise"})
	var de *DeniedError
	if !errors.As(err, &de) || de.Code != CodeLimit {
		t.Fatalf("a third registration from one address = %v, want LIMIT", err)
	}
	r2 := startRelay(t, Config{MaxConnsPerIP: 1})
	register(t, r2.url, newIdentity(t), "noise")
	_, err = (&Client{URL: r2.url, Identity: newIdentity(t)}).Register(ctxT(t), []string{"noise"})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("a second connection from one address = %v, want a 503", err)
	}
}

// TestShutdown: control conns get RESTARTING, readiness fails, pairings
// last until the deadline, then close.
func TestShutdown(t *testing.T) {
	r := startRelay(t, Config{ReconnectIn: 3 * time.Second, TryFor: time.Minute})
	id := newIdentity(t)
	reg := register(t, r.url, id, "noise")
	d, a := pair(t, r.url, id, reg, "noise")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Shutdown(ctx) }()
	<-reg.Done()
	var re *RestartingError
	if !errors.As(reg.Err(), &re) || re.ReconnectIn != 3*time.Second || re.TryFor != time.Minute {
		t.Fatalf("registration ended with %v, want RESTARTING(3s, 1m)", reg.Err())
	}
	resp, err := http.Get(r.ts.URL + "/readyz")
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz while draining: %v %v, want 503", resp, err)
	}
	resp.Body.Close()
	if _, err := d.Write([]byte("still")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(a, buf); err != nil {
		t.Fatalf("the pairing broke at once: %v", err)
	}
	if err := <-done; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the deadline", err)
	}
	if _, err := io.ReadAll(a); err != nil {
		t.Fatalf("after the drain, the pairing ended with %v, want the end (status 1001)", err)
	}
}

// TestRace runs registrations, connects, accepts, closes and
// replacements at once, at random.
func TestRace(t *testing.T) {
	r := startRelay(t, Config{PairingTimeout: 500 * time.Millisecond})
	ids := []*keys.Identity{newIdentity(t), newIdentity(t), newIdentity(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := range 6 { // listeners, two per key: they replace each other
		id := ids[i%len(ids)]
		wg.Go(func() {
			c := &Client{URL: r.url, Identity: id}
			for ctx.Err() == nil {
				reg, err := c.Register(ctx, []string{"noise"})
				if err != nil {
					continue
				}
				stop := context.AfterFunc(ctx, func() { reg.Close() })
				for in := range reg.Incoming() {
					if randBit() {
						continue // ignore it: the dialer times out
					}
					go func() {
						conn, err := c.Accept(ctx, in)
						if err == nil {
							io.Copy(conn, conn)
							conn.Close()
						}
					}()
					if randBit() && randBit() {
						break
					}
				}
				stop()
				reg.Close()
			}
		})
	}
	for range 12 { // dialers
		wg.Go(func() {
			c := &Client{URL: r.url, Identity: newIdentity(t)}
			for ctx.Err() == nil {
				conn, err := c.Connect(ctx, ids[randN(len(ids))].Public(), "noise", randomStream())
				if err != nil {
					continue
				}
				if randBit() {
					conn.Write([]byte("x"))
					conn.Read(make([]byte, 1))
				}
				conn.Close()
			}
		})
	}
	wg.Wait()
	t.Logf("%+v", r.Stats())
	if r.Stats().Paired == 0 {
		t.Error("no pairing in the race")
	}
}

func randBit() bool {
	var b [1]byte
	rand.Read(b[:])
	return b[0]&1 == 0
}

func randN(n int) int {
	var b [1]byte
	rand.Read(b[:])
	return int(b[0]) % n
}
