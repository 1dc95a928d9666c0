//go:build !js

package relay_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/internal/resume"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/relaytest"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/transforms/noise"
)

// loadNet is peerNet with room for many handshakes at once.
func loadNet(t testing.TB, id *keys.Identity, p *relay.Plug) *multiserver.Network {
	t.Helper()
	nt, err := noise.New(noise.Config{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	n, err := multiserver.New(multiserver.Config{
		Plugs:            []multiserver.Plug{p, &tcp.Plug{}},
		Transforms:       []multiserver.Transform{nt},
		MaxHandshakes:    4096,
		HandshakeTimeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestThousandPairs moves checksummed data over 1,000 relayed conns at
// once, through one relay to one listener.
func TestThousandPairs(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 pairings")
	}
	// Under the race detector, 50: its cost would have the noise
	// servers give up on first messages. The suite also runs this test
	// without it.
	pairs, size := 1000, 16<<10
	if relaytest.RaceEnabled {
		pairs = 50
	}
	r := relaytest.Start(t, relayserver.Config{MaxPendingPerTopic: pairs, MaxConnsPerIP: 4 * pairs, MaxUnauthenticated: 4 * pairs})
	srvID := relaytest.NewIdentity(t)
	srv := loadNet(t, srvID, &relay.Plug{Identity: srvID})
	ln, err := srv.Listen(relaytest.Context(t), "relay:"+r.URL+"~noise")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	echo(t, ln)
	cliID := relaytest.NewIdentity(t)
	cli := loadNet(t, cliID, &relay.Plug{Identity: cliID})
	addr := ln.Address(multiserver.ScopeDevice)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, pairs)
	for range pairs {
		wg.Go(func() {
			errs <- roundTrip(ctx, cli, addr, size)
		})
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			if failed == 0 {
				t.Error(err)
			}
			failed++
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d pairs failed", failed, pairs)
	}
	t.Logf("%d relayed pairs, %d KiB each way each, in %v", pairs, size>>10, time.Since(start).Round(time.Millisecond))
}

// roundTrip dials addr, writes size random bytes and checks that the
// same come back.
func roundTrip(ctx context.Context, n *multiserver.Network, addr string, size int) error {
	c, err := n.Dial(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if d, ok := ctx.Deadline(); ok {
		c.SetDeadline(d)
	}
	data := make([]byte, size)
	rand.Read(data)
	go c.Write(data)
	got := make([]byte, size)
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if sha256.Sum256(got) != sha256.Sum256(data) {
		return errors.New("echo differs")
	}
	return nil
}

// TestRelayStaysDown: when the relay dies and does not come back, a
// relayed conn fails within its resume timeout, both ends, with an error
// that says so, and nothing is left running.
func TestRelayStaysDown(t *testing.T) {
	r := relaytest.Start(t, relayserver.Config{})
	const timeout = 2 * time.Second
	srvID, cliID := relaytest.NewIdentity(t), relaytest.NewIdentity(t)
	srv := loadNet(t, srvID, &relay.Plug{Identity: srvID, ResumeTimeout: timeout})
	ln, err := srv.Listen(relaytest.Context(t), "relay:"+r.URL+"~noise")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	cli := loadNet(t, cliID, &relay.Plug{Identity: cliID, ResumeTimeout: timeout})
	c, err := cli.Dial(relaytest.Context(t), ln.Address(multiserver.ScopeDevice))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello"))
	s := <-accepted
	defer s.Close()
	if _, err := io.ReadFull(s, make([]byte, 5)); err != nil {
		t.Fatal(err)
	}

	r.Close()
	r.HTTP.Close()
	start := time.Now()
	for _, conn := range []net.Conn{c, s} {
		_, err := conn.Read(make([]byte, 1))
		if !errors.Is(err, resume.ErrTimeout) {
			t.Errorf("read after the relay died: %v, want the resume timeout", err)
		}
	}
	if d := time.Since(start); d < timeout-100*time.Millisecond || d > timeout+2*time.Second {
		t.Errorf("failed after %v, want about %v", d, timeout)
	}
}

// TestRelayKilled moves checksummed data both ways through a relay that
// is killed halfway (SIGKILL, no word to anybody) and started again on
// the same port a second later: both ends go on within 2s of the
// restart, nothing lost, nothing twice.
func TestRelayKilled(t *testing.T) {
	child := relaytest.StartChild(t, "127.0.0.1:0")
	url, kill := child.URL, child.Kill
	port := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/relay")
	srvID, cliID := relaytest.NewIdentity(t), relaytest.NewIdentity(t)
	srv := loadNet(t, srvID, &relay.Plug{Identity: srvID})
	ln, err := srv.Listen(relaytest.Context(t), "relay:"+url+"~noise")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	echo(t, ln)
	cli := loadNet(t, cliID, &relay.Plug{Identity: cliID})
	c, err := cli.Dial(relaytest.Context(t), ln.Address(multiserver.ScopeDevice))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	const total, chunk = 8 << 20, 16 << 10
	data := make([]byte, total)
	rand.Read(data)
	var echoed atomic.Int64
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, 0, total)
		buf := make([]byte, 64<<10)
		for len(b) < total {
			n, err := c.Read(buf)
			b = append(b, buf[:n]...)
			echoed.Store(int64(len(b)))
			if err != nil {
				break
			}
		}
		got <- b
	}()
	var restarted time.Time
	var resumedAfter time.Duration
	for i := 0; i < total; i += chunk {
		if _, err := c.Write(data[i : i+chunk]); err != nil {
			t.Fatal(err)
		}
		if i == total/2 {
			for echoed.Load() < int64(i) { // the echo has caught up
				time.Sleep(time.Millisecond)
			}
			kill()
			time.Sleep(time.Second)
			relaytest.StartChild(t, port)
			restarted = time.Now()
			before := echoed.Load()
			if _, err := c.Write(data[i+chunk : i+2*chunk]); err != nil {
				t.Fatal(err)
			}
			i += chunk
			for echoed.Load() <= before && time.Since(restarted) < 10*time.Second {
				time.Sleep(time.Millisecond)
			}
			resumedAfter = time.Since(restarted)
		}
	}
	select {
	case b := <-got:
		if len(b) != total || !bytes.Equal(b, data) {
			t.Fatalf("echoed %d of %d bytes, equal %v", len(b), total, bytes.Equal(b, data))
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("echoed %d of %d bytes in 20s", echoed.Load(), total)
	}
	if resumedAfter > 2*time.Second {
		t.Errorf("bytes flowed again %v after the restart, want within 2s", resumedAfter)
	}
	t.Logf("bytes flowed again %v after the restart", resumedAfter.Round(time.Millisecond))
}
