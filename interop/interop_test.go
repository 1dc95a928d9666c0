package interop_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

const (
	handshakeTimeout = 2 * time.Second
	jsTimeout        = "--timeout=2000" // the JS peers' handshake timeout, in ms
	// slack is how much later than the handshake timeout a failure may be
	// seen: a node process starting, a loaded CI machine.
	slack = 3 * time.Second
)

var modes = []string{"echo", "send"}

// newNetwork returns a Network with the net plug and shs as p. Failed
// inbound handshakes that it logs are sent to failed, if not nil.
func newNetwork(t *testing.T, p peer, appKey []byte, failed chan<- error) *multiserver.Network {
	t.Helper()
	id, err := keys.NewIdentity(p.priv, appKey)
	if err != nil {
		t.Fatalf("keys.NewIdentity: %v", err)
	}
	tr, err := shs.New(shs.Config{Identity: id})
	if err != nil {
		t.Fatalf("shs.New: %v", err)
	}
	cfg := multiserver.Config{
		Plugs:            []multiserver.Plug{&tcp.Plug{}},
		Transforms:       []multiserver.Transform{tr},
		HandshakeTimeout: handshakeTimeout,
	}
	if failed != nil {
		cfg.Logger = slog.New(errorLog{failed})
	}
	n, err := multiserver.New(cfg)
	if err != nil {
		t.Fatalf("multiserver.New: %v", err)
	}
	return n
}

// An errorLog is a slog.Handler that passes on the errors of records that
// carry a handshake error.
type errorLog struct{ ch chan<- error }

func (h errorLog) Enabled(context.Context, slog.Level) bool { return true }
func (h errorLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h errorLog) WithGroup(string) slog.Handler            { return h }
func (h errorLog) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && errors.Is(err, multiserver.ErrHandshake) {
			select {
			case h.ch <- err:
			default:
			}
		}
		return true
	})
	return nil
}

// A served is one connection a Go server handled.
type served struct {
	key            ed25519.PublicKey
	bytes          int
	sent, received string
	err            error
}

// serveGo listens on net:127.0.0.1:0~shs and handles each accepted conn
// in mode ("echo" or "send") until the test ends. It returns the
// advertised address and the results, one per accepted conn.
func serveGo(t *testing.T, n *multiserver.Network, mode string) (string, <-chan served) {
	t.Helper()
	ln, err := n.Listen(context.Background(), "net:127.0.0.1:0~shs")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	results := make(chan served, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					results <- served{err: fmt.Errorf("Accept: %w", err)}
				}
				return
			}
			results <- handle(c, mode)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Address(multiserver.ScopeDevice), results
}

func handle(c net.Conn, mode string) served {
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	var s served
	s.key, _ = multiserver.RemoteKey(c)
	if mode == "echo" {
		var n int64
		n, s.sent, s.err = echo(c)
		s.bytes, s.received = int(n), s.sent
	} else {
		s.bytes = size
		s.sent, s.received, s.err = exchange(c, "go-server", size, false)
	}
	return s
}

func next(t *testing.T, ch <-chan served, timeout time.Duration) served {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(timeout):
		t.Fatalf("the Go server handled no connection within %v", timeout)
		return served{}
	}
}

// TestJSServerGoClient: a Go client dials js/server.js over net~shs and
// moves 1 MiB each way.
func TestJSServerGoClient(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			appKey, server, client := random(t, 32), newPeer(t), newPeer(t)
			js := startJSServer(t, "--app-key="+b64(appKey), "--seed="+b64(server.seed),
				"--mode="+mode, fmt.Sprint("--bytes=", size))
			if want := "~shs:" + server.b64(); !strings.HasPrefix(js.addr, "net:127.0.0.1:") || !strings.HasSuffix(js.addr, want) {
				t.Fatalf("js/server.js advertises %q, want net:127.0.0.1:PORT%s", js.addr, want)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := newNetwork(t, client, appKey, nil).Dial(ctx, js.addr)
			if err != nil {
				t.Fatalf("Dial(%q): %v", js.addr, err)
			}
			defer c.Close()
			if key, ok := multiserver.RemoteKey(c); !ok || !key.Equal(server.pub) {
				t.Fatalf("RemoteKey = %x, %v; want the JS server's key %x", key, ok, server.pub)
			}
			c.SetDeadline(time.Now().Add(time.Minute))
			sent, received, err := exchange(c, "go-client", size, mode == "echo")
			if err != nil {
				t.Fatalf("exchange with js/server.js (%s mode): %v", mode, err)
			}

			r := js.next(t, 10*time.Second)
			checkReport(t, "js/server.js", r, client, sent, received)
		})
	}
}

// TestGoServerJSClient: js/client.js dials a Go listener's advertised
// address over net~shs and moves 1 MiB each way.
func TestGoServerJSClient(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			requireNode(t)
			appKey, server, client := random(t, 32), newPeer(t), newPeer(t)
			addr, results := serveGo(t, newNetwork(t, server, appKey, nil), mode)
			if want := "~shs:" + server.b64(); !strings.HasSuffix(addr, want) {
				t.Fatalf("Go listener advertises %q, want a suffix %s", addr, want)
			}

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			r, err := runJSClient(ctx, t, "--addr="+addr, "--app-key="+b64(appKey), "--seed="+b64(client.seed),
				"--mode="+mode, fmt.Sprint("--bytes=", size))
			if err != nil {
				t.Fatalf("js/client.js: %v", err)
			}
			s := next(t, results, 10*time.Second)
			if s.err != nil {
				t.Fatalf("Go server (%s mode): %v", mode, s.err)
			}
			if !s.key.Equal(client.pub) {
				t.Errorf("Go server: RemoteKey = %x, want the JS client's key %x", s.key, client.pub)
			}
			if s.bytes != size {
				t.Errorf("Go server handled %d bytes, want %d", s.bytes, size)
			}
			checkReport(t, "js/client.js", r, server, s.sent, s.received)
		})
	}
}

// checkReport checks what a JS peer reported against the Go side of the
// same connection: its peer (the Go side), and both checksums.
func checkReport(t *testing.T, who string, r report, goPeer peer, goSent, goReceived string) {
	t.Helper()
	switch {
	case r.Error != "":
		t.Fatalf("%s failed: %s", who, r.Error)
	case r.Remote != goPeer.b64():
		t.Errorf("%s saw remote key %s, want the Go side's %s", who, r.Remote, goPeer.b64())
	case r.Bytes != size:
		t.Errorf("%s received %d bytes, want %d", who, r.Bytes, size)
	}
	if r.Received != goSent {
		t.Errorf("%s received data with sha256 %s; the Go side sent %s", who, r.Received, goSent)
	}
	if r.Sent != goReceived {
		t.Errorf("Go side received data with sha256 %s; %s sent %s", goReceived, who, r.Sent)
	}
}

// TestHandshakeFailures: a wrong app key or a wrong server key fails the
// handshake on both sides, in both directions, within the handshake
// timeout.
func TestHandshakeFailures(t *testing.T) {
	tests := []struct {
		name        string
		wrongAppKey bool   // else the dialer expects a wrong server key
		jsServerErr string // what js/server.js reports
		jsClientErr string // what js/client.js prints
	}{
		{"wrong app key", true,
			"shs.server: client sent invalid challenge (phase 1)",
			"shs.client: error when expecting server to accept challenge (phase 1)"},
		{"wrong server key", false,
			"shs.server: client hello invalid (phase 3)",
			"shs.client: server hung up when we sent hello (phase 3)"},
	}
	for _, tt := range tests {
		// dialing returns what a dialer uses instead of appKey and addr.
		dialing := func(appKey []byte, addr string) ([]byte, string) {
			if tt.wrongAppKey {
				return random(t, 32), addr
			}
			i := strings.LastIndex(addr, "~shs:")
			return appKey, addr[:i] + "~shs:" + newPeer(t).b64()
		}

		t.Run(tt.name+"/js server", func(t *testing.T) {
			appKey, server, client := random(t, 32), newPeer(t), newPeer(t)
			js := startJSServer(t, "--app-key="+b64(appKey), "--seed="+b64(server.seed), jsTimeout)
			key, addr := dialing(appKey, js.addr)

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			c, err := newNetwork(t, client, key, nil).Dial(ctx, addr)
			elapsed := time.Since(start)
			if err == nil {
				c.Close()
				t.Fatalf("Dial(%q) succeeded, want a handshake failure", addr)
			}
			t.Logf("Dial failed after %v: %v", elapsed.Round(time.Millisecond), err)
			if !errors.Is(err, multiserver.ErrHandshake) {
				t.Errorf("Dial error %q does not match multiserver.ErrHandshake", err)
			}
			if elapsed > handshakeTimeout+slack {
				t.Errorf("Dial failed after %v, want within the handshake timeout %v (+%v slack)", elapsed, handshakeTimeout, slack)
			}
			r := js.next(t, handshakeTimeout+slack)
			if !strings.Contains(r.Error, tt.jsServerErr) {
				t.Errorf("js/server.js reported %+v, want an error containing %q", r, tt.jsServerErr)
			}
		})

		t.Run(tt.name+"/go server", func(t *testing.T) {
			requireNode(t)
			appKey, server, client, good := random(t, 32), newPeer(t), newPeer(t), newPeer(t)
			failed := make(chan error, 10)
			addr, results := serveGo(t, newNetwork(t, server, appKey, failed), "echo")
			key, dialAddr := dialing(appKey, addr)

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			start := time.Now()
			_, err := runJSClient(ctx, t, "--addr="+dialAddr, "--app-key="+b64(key), "--seed="+b64(client.seed), jsTimeout)
			elapsed := time.Since(start)
			var jerr *jsError
			if !errors.As(err, &jerr) {
				t.Fatalf("js/client.js succeeded, want a handshake failure")
			}
			t.Logf("js/client.js failed after %v: %s", elapsed.Round(time.Millisecond), jerr.stderr)
			if !strings.Contains(jerr.stderr, tt.jsClientErr) {
				t.Errorf("js/client.js failed with %q, want %q", jerr.stderr, tt.jsClientErr)
			}
			if elapsed > handshakeTimeout+slack {
				t.Errorf("js/client.js failed after %v, want within the handshake timeout %v (+%v slack)", elapsed, handshakeTimeout, slack)
			}
			select {
			case err := <-failed:
				t.Logf("Go server logged: %v", err)
			case <-time.After(time.Until(start.Add(handshakeTimeout + slack))):
				t.Errorf("the Go server logged no failed handshake within %v", handshakeTimeout+slack)
			}

			// Accept never returned the failed conn: the next one it
			// returns is a good client's.
			if _, err := runJSClient(ctx, t, "--addr="+addr, "--app-key="+b64(appKey), "--seed="+b64(good.seed),
				"--bytes=1000"); err != nil {
				t.Fatalf("good js/client.js after the failed one: %v", err)
			}
			if s := next(t, results, 10*time.Second); !s.key.Equal(good.pub) {
				t.Fatalf("Accept returned a conn from %x (err %v), want the good client %x", s.key, s.err, good.pub)
			}
		})
	}
}
