//go:build !js

package relay_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/relaytest"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
	"github.com/f7d52a8e/multiserver/transforms/noise"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

// slowSends delays the bridge's send POSTs once armed, as a slow uplink
// or a loaded machine does, and says when a session opens after that.
type slowSends struct {
	delay  time.Duration
	mu     sync.Mutex
	armed  bool
	opened chan struct{} // closed at the first open once armed
	once   sync.Once
}

func (s *slowSends) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	armed := s.armed
	s.mu.Unlock()
	if armed {
		switch r.URL.Query().Get("k") {
		case "open":
			s.once.Do(func() { close(s.opened) })
		case "send":
			t := time.NewTimer(s.delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return nil, r.Context().Err()
			}
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (s *slowSends) arm() {
	s.mu.Lock()
	s.armed = true
	s.mu.Unlock()
}

// TestCloseOverSlowBridge drops a stack while its listener, which
// reaches the relay over SSE with sends that take 1.5s each, accepts a
// dialer: the listener closes the conn it paired, and the dialer's
// handshake fails at once with the reset, rather than losing it with
// the send under way, resuming against a stack gone and waiting out the
// dial.
func TestCloseOverSlowBridge(t *testing.T) {
	r := relaytest.Start(t, relayserver.Config{PairingTimeout: 20 * time.Second})
	newNet := func(p *relay.Plug) *multiserver.Network {
		nz, err := noise.New(noise.Config{Identity: p.Identity})
		if err != nil {
			t.Fatal(err)
		}
		sid, err := keys.NewIdentity(p.Identity.Private(), make([]byte, 32))
		if err != nil {
			t.Fatal(err)
		}
		sh, err := shs.New(shs.Config{Identity: sid})
		if err != nil {
			t.Fatal(err)
		}
		n, err := multiserver.New(multiserver.Config{Plugs: []multiserver.Plug{p}, Transforms: []multiserver.Transform{nz, sh}})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	slow := &slowSends{delay: 1500 * time.Millisecond, opened: make(chan struct{})}
	sp := &relay.Plug{Identity: relaytest.NewIdentity(t), Carriers: []string{"sse"}, HTTPClient: &http.Client{Transport: slow}}
	ln, err := newNet(sp).Listen(relaytest.Context(t), "relay:"+r.URL+"~noise;relay:"+r.URL+"~shs")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	echo(t, ln)
	// The dialer would resume for a minute: a reset lost shows as the
	// dial's ctx ending.
	cli := newNet(&relay.Plug{Identity: relaytest.NewIdentity(t), Carriers: []string{"ws"}, ResumeTimeout: time.Minute})
	addr := "relay:" + r.URL + "~noise:" + address.EncodeKey(sp.Identity.Public())

	slow.arm()
	ctx, cancel := context.WithTimeout(relaytest.Context(t), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		c, err := cli.Dial(ctx, addr)
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	select {
	case <-slow.opened: // the listener accepts the dialer over a session of its own
	case err := <-done:
		t.Fatalf("dial ended before the listener accepted it: %v", err)
	}
	if err := ln.Drop("relay:" + r.URL + "~noise"); err != nil {
		t.Fatal(err)
	}
	err = <-done
	if err == nil || !errors.Is(err, multiserver.ErrHandshake) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("dial after %v: %v; want the handshake cut by the listener's reset", time.Since(start).Round(time.Millisecond), err)
	}
}
