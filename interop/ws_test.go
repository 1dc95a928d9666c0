package interop_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/ws"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

// newWSNetwork returns a Network with the ws plug and shs as p.
func newWSNetwork(t *testing.T, p peer, appKey []byte) *multiserver.Network {
	t.Helper()
	id, err := keys.NewIdentity(p.priv, appKey)
	if err != nil {
		t.Fatalf("keys.NewIdentity: %v", err)
	}
	tr, err := shs.New(shs.Config{Identity: id})
	if err != nil {
		t.Fatalf("shs.New: %v", err)
	}
	n, err := multiserver.New(multiserver.Config{
		Plugs:            []multiserver.Plug{&ws.Plug{}},
		Transforms:       []multiserver.Transform{tr},
		HandshakeTimeout: handshakeTimeout,
	})
	if err != nil {
		t.Fatalf("multiserver.New: %v", err)
	}
	return n
}

// TestWSJSServerGoClient: a Go client dials js/server.js over ws~shs and
// moves 1 MiB each way.
func TestWSJSServerGoClient(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			appKey, server, client := random(t, 32), newPeer(t), newPeer(t)
			js := startJSServer(t, "--plug=ws", "--app-key="+b64(appKey), "--seed="+b64(server.seed),
				"--mode="+mode, fmt.Sprint("--bytes=", size))
			if want := "~shs:" + server.b64(); !strings.HasPrefix(js.addr, "ws://127.0.0.1:") || !strings.HasSuffix(js.addr, want) {
				t.Fatalf("js/server.js advertises %q, want ws://127.0.0.1:PORT%s", js.addr, want)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := newWSNetwork(t, client, appKey).Dial(ctx, js.addr)
			if err != nil {
				t.Fatalf("Dial(%q): %v", js.addr, err)
			}
			defer c.Close()
			if key, ok := multiserver.RemoteKey(c); !ok || !key.Equal(server.pub) {
				t.Fatalf("RemoteKey = %x, %v; want the JS server's key %x", key, ok, server.pub)
			}
			c.SetDeadline(time.Now().Add(time.Minute))
			// Goodbye first in both modes: see handleWS.
			sent, received, err := exchange(c, "go-client", size, true)
			if err != nil {
				t.Fatalf("exchange with js/server.js (%s mode): %v", mode, err)
			}
			checkReport(t, "js/server.js", js.next(t, 10*time.Second), client, sent, received)
		})
	}
}

// TestWSGoServerJSClient: js/client.js dials a Go ws~shs listener's
// advertised address and moves 1 MiB each way.
func TestWSGoServerJSClient(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			requireNode(t)
			appKey, server, client := random(t, 32), newPeer(t), newPeer(t)
			ln, err := newWSNetwork(t, server, appKey).Listen(context.Background(), "ws://127.0.0.1:0~shs")
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
					results <- handleWS(c, mode)
				}
			}()
			t.Cleanup(func() { ln.Close(); <-done })
			addr := ln.Address(multiserver.ScopeDevice)
			if want := "~shs:" + server.b64(); !strings.HasPrefix(addr, "ws://127.0.0.1:") || !strings.HasSuffix(addr, want) {
				t.Fatalf("Go listener advertises %q, want ws://127.0.0.1:PORT%s", addr, want)
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

// handleWS is handle with the Go server saying goodbye first in both
// modes. A JavaScript ws peer closes the whole WebSocket when its box
// stream ends, so a goodbye sent after the peer's would race the close;
// js/client.js holds its own end until ours has arrived.
func handleWS(c net.Conn, mode string) served {
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	s := served{bytes: size}
	s.key, _ = multiserver.RemoteKey(c)
	if mode == "echo" {
		s.sent, s.err = echoN(c, size)
		s.received = s.sent
		return s
	}
	s.sent, s.received, s.err = exchange(c, "go-server", size, true)
	return s
}

// echoN echoes exactly n bytes, says goodbye, and then expects the peer's
// goodbye with nothing before it. It returns the sha256 of what it echoed.
func echoN(c net.Conn, n int64) (string, error) {
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(c, h), c, n); err != nil {
		return "", fmt.Errorf("echo: %w", err)
	}
	if err := closeWrite(c); err != nil {
		return "", err
	}
	if extra, err := io.Copy(io.Discard, c); err != nil || extra > 0 {
		return "", fmt.Errorf("after %d bytes: read %d more, then %v (want the peer's goodbye)", n, extra, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
