//go:build !js

package relayserver_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/relaytest"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/wire"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
)

// rawDial opens a relay WebSocket without the client, for tests that
// break the protocol.
func rawDial(t testing.TB, url string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.Dial(relaytest.Context(t), url, &websocket.DialOptions{Subprotocols: []string{relay.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return ws
}

// readFrame reads one frame from ws.
func readFrame(t testing.TB, ws *websocket.Conn) *wire.Frame {
	t.Helper()
	_, msg, err := ws.Read(relaytest.Context(t))
	if err != nil {
		t.Fatalf("reading a frame: %v", err)
	}
	f, err := wire.Decode(msg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func wantDenied(t testing.TB, ws *websocket.Conn, code relay.DenyCode) {
	t.Helper()
	f := readFrame(t, ws)
	if f.Type != wire.FrameDenied || relay.DenyCode(f.Code) != code {
		t.Fatalf("got frame %#02x code %v, want DENIED %v", f.Type, relay.DenyCode(f.Code), code)
	}
}

// TestAuth: a signature by another key, over another origin, or an
// origin the relay does not have is DENIED.
func TestAuth(t *testing.T) {
	r := relaytest.Start(t, relayserver.Config{})
	id, other := relaytest.NewIdentity(t), relaytest.NewIdentity(t)
	myOrigin, _ := relay.Origin(r.URL)
	for _, tt := range []struct {
		name         string
		sign, origin string // signed origin, sent origin
		signer       *keys.Identity
		code         relay.DenyCode
	}{
		{"good", myOrigin, myOrigin, id, 0},
		{"another key's signature", myOrigin, myOrigin, other, relay.CodeBadSignature},
		{"signed for another relay", "wss://other.example", myOrigin, id, relay.CodeBadSignature},
		{"another relay's origin", "wss://other.example", "wss://other.example", id, relay.CodeBadOrigin},
		{"wss for ws", strings.Replace(myOrigin, "ws:", "wss:", 1), strings.Replace(myOrigin, "ws:", "wss:", 1), id, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ws := rawDial(t, r.URL)
			hello := readFrame(t, ws)
			if hello.Type != wire.FrameHello || hello.Limits.PairingTimeout != 10*time.Second {
				t.Fatalf("first frame %+v, want HELLO with the default limits", hello)
			}
			auth := &wire.Frame{Type: wire.FrameAuth, Key: id.Public(), Origin: tt.origin, Sig: tt.signer.Sign(wire.AuthMessage(hello.Challenge[:], tt.sign))}
			ws.Write(relaytest.Context(t), websocket.MessageBinary, auth.Encode())
			if tt.code == 0 {
				if f := readFrame(t, ws); f.Type != wire.FrameOK {
					t.Fatalf("got %#02x, want OK", f.Type)
				}
				return
			}
			wantDenied(t, ws, tt.code)
		})
	}
	t.Run("configured URLs", func(t *testing.T) {
		r := relaytest.Start(t, relayserver.Config{URLs: []string{"wss://relay.example/relay"}})
		_, err := (&relay.Client{URL: r.URL, Identity: id}).Register(relaytest.Context(t), []string{"noise"})
		var de *relay.DeniedError
		if !errors.As(err, &de) || de.Code != relay.CodeBadOrigin {
			t.Fatalf("Register through an origin the relay does not have = %v, want BAD_ORIGIN", err)
		}
	})
}

// TestGarbage: malformed and unexpected frames are DENIED BAD_FRAME; a
// frame over the limit closes with 1009; a client refuses a relay that
// sends garbage.
func TestGarbage(t *testing.T) {
	r := relaytest.Start(t, relayserver.Config{})
	for _, tt := range []struct {
		name string
		typ  websocket.MessageType
		msg  []byte
	}{
		{"unknown type", websocket.MessageBinary, []byte{0xee, 1, 2}},
		{"short AUTH", websocket.MessageBinary, []byte{wire.FrameAuth, 1, 2}},
		{"CONNECT before AUTH", websocket.MessageBinary, (&wire.Frame{Type: wire.FrameConnect}).Encode()},
		{"text", websocket.MessageText, []byte("hello")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ws := rawDial(t, r.URL)
			readFrame(t, ws)
			ws.Write(relaytest.Context(t), tt.typ, tt.msg)
			wantDenied(t, ws, relay.CodeBadFrame)
		})
	}
	t.Run("too big", func(t *testing.T) {
		ws := rawDial(t, r.URL)
		readFrame(t, ws)
		ws.Write(relaytest.Context(t), websocket.MessageBinary, make([]byte, 5000))
		_, _, err := ws.Read(relaytest.Context(t))
		if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
			t.Fatalf("after a 5000-byte frame: %v, want status 1009", err)
		}
	})
	t.Run("relay sends garbage", func(t *testing.T) {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{relay.Subprotocol}})
			if err != nil {
				return
			}
			ws.Write(r.Context(), websocket.MessageBinary, []byte{0x01, 'n', 'o'})
			ws.Close(websocket.StatusNormalClosure, "")
		}))
		defer ts.Close()
		_, err := (&relay.Client{URL: ts.URL, Identity: relaytest.NewIdentity(t)}).Register(relaytest.Context(t), []string{"noise"})
		if !errors.Is(err, relay.ErrProtocol) {
			t.Fatalf("Register with a relay that sends garbage = %v, want ErrProtocol", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		_, err := (&relay.Client{URL: "ws://" + addr + "/relay", Identity: relaytest.NewIdentity(t)}).Connect(relaytest.Context(t), relaytest.NewIdentity(t).Public(), "noise", relay.StreamID{})
		if !errors.Is(err, relay.ErrUnreachable) {
			t.Fatalf("Connect to a closed port = %v, want ErrUnreachable", err)
		}
	})
}

// TestHandshakeTimeout: a WebSocket that never sends AUTH is denied
// HANDSHAKE_TIMEOUT and closed.
func TestHandshakeTimeout(t *testing.T) {
	r := relaytest.Start(t, relayserver.Config{HandshakeTimeout: 200 * time.Millisecond})
	ws := rawDial(t, r.URL)
	readFrame(t, ws)
	wantDenied(t, ws, relay.CodeHandshakeTimeout)
}

// TestFlood: unauthenticated WebSockets over the limit are refused
// before the upgrade, and those taken do not outlive the handshake
// timeout.
func TestFlood(t *testing.T) {
	const limit = 8
	r := relaytest.Start(t, relayserver.Config{MaxUnauthenticated: limit, HandshakeTimeout: 500 * time.Millisecond})
	var open []*websocket.Conn
	refused := 0
	for range 40 {
		ws, resp, err := websocket.Dial(relaytest.Context(t), r.URL, &websocket.DialOptions{Subprotocols: []string{relay.Subprotocol}})
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
	relaytest.Register(t, r.URL, relaytest.NewIdentity(t), "noise")
}

// TestPerIPLimits: connections and registrations per source address.
func TestPerIPLimits(t *testing.T) {
	r := relaytest.Start(t, relayserver.Config{MaxRegistrationsPerIP: 2})
	relaytest.Register(t, r.URL, relaytest.NewIdentity(t), "noise")
	relaytest.Register(t, r.URL, relaytest.NewIdentity(t), "noise")
	_, err := (&relay.Client{URL: r.URL, Identity: relaytest.NewIdentity(t)}).Register(relaytest.Context(t), []string{"noise"})
	var de *relay.DeniedError
	if !errors.As(err, &de) || de.Code != relay.CodeLimit {
		t.Fatalf("a third registration from one address = %v, want LIMIT", err)
	}
	r2 := relaytest.Start(t, relayserver.Config{MaxConnsPerIP: 1})
	relaytest.Register(t, r2.URL, relaytest.NewIdentity(t), "noise")
	_, err = (&relay.Client{URL: r2.URL, Identity: relaytest.NewIdentity(t)}).Register(relaytest.Context(t), []string{"noise"})
	if !errors.Is(err, relay.ErrUnreachable) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("a second connection from one address = %v, want a 503", err)
	}
}

// TestShutdown: control conns get RESTARTING, readiness fails, pairings
// last until the deadline, then close.
func TestShutdown(t *testing.T) {
	r := relaytest.Start(t, relayserver.Config{ReconnectIn: 3 * time.Second, TryFor: time.Minute})
	id := relaytest.NewIdentity(t)
	reg := relaytest.Register(t, r.URL, id, "noise")
	d, a := relaytest.Pair(t, r.URL, id, reg, "noise")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Shutdown(ctx) }()
	<-reg.Done()
	var re *relay.RestartingError
	if !errors.As(reg.Err(), &re) || re.ReconnectIn != 3*time.Second || re.TryFor != time.Minute {
		t.Fatalf("registration ended with %v, want RESTARTING(3s, 1m)", reg.Err())
	}
	resp, err := http.Get(r.HTTP.URL + "/readyz")
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
