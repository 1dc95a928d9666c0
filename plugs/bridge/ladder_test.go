//go:build !js

package bridge_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/plugs/bridge"
	"github.com/f7d52a8e/multiserver/plugs/ws"
	"github.com/f7d52a8e/multiserver/transforms/noise"
)

// TestLadderPastBrokenRungs is the issue's own case: WebSocket blocked
// (403 to the upgrade), SSE answering 502, and the ladder settles on
// long-poll; 100 small messages then go both ways with none lost.
func TestLadderPastBrokenRungs(t *testing.T) {
	s := newLadderServer(t, nil)
	refuse := func(r *http.Request) int {
		switch {
		case strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
			return http.StatusForbidden
		case r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/event-stream"):
			return http.StatusBadGateway
		}
		return 0
	}
	s.refuse.Store(&refuse)

	id := newIdentity(t)
	nt, err := noise.New(noise.Config{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	n, err := multiserver.New(multiserver.Config{
		Plugs: []multiserver.Plug{
			&ws.Plug{},
			&bridge.Plug{Scheme: "sse", Identity: id},
			&bridge.Plug{Scheme: "poll", Identity: id},
		},
		Transforms:       []multiserver.Transform{nt},
		HandshakeTimeout: handshakeTimeout,
		DialStagger:      handshakeTimeout, // one rung after the other
	})
	if err != nil {
		t.Fatal(err)
	}
	c, won, took := dialLadder(t, n, s.ladder)
	if won != "poll" {
		t.Fatalf("the ladder settled on %s, want poll (%s)", won, s.counts())
	}
	t.Logf("ladder settled on %s in %v: %s", won, took.Round(time.Millisecond), s.counts())
	srv := s.accept(t)
	go io.Copy(srv, srv) // echo
	c.SetDeadline(time.Now().Add(20 * time.Second))
	for i := range 100 {
		msg := []byte(fmt.Sprintf("message %03d of 100 over poll", i))
		if _, err := c.Write(msg); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("message %d came back as %q, %v", i, got, err)
		}
	}
}
