//go:build !js

package relay_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
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

// TestPlugRandomized drives one listener's registrar at random: its two
// stacks through one relay (noise and shs, one control connection) are
// added and dropped while dialers dial either stack, echo and close, some
// of them closing before they read. Every dial either echoes exactly or
// fails with a relay error (nobody registered during a change of labels,
// the pairing refused, a handshake cut by a drop), at once, and a stack
// still served answers once the round is over; nothing panics, races or
// is left running. Each end reaches the relay by a carrier the seed
// picks: WebSocket, SSE or long-poll. Seeds name the subtests;
// RELAY_SEED replays one.
func TestPlugRandomized(t *testing.T) {
	rounds := 6
	if testing.Short() {
		rounds = 2
	}
	if s := os.Getenv("RELAY_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("RELAY_SEED: %v", err)
		}
		t.Run(fmt.Sprint(seed), func(t *testing.T) { randomRound(t, seed) })
		return
	}
	for range rounds {
		seed := rand.Uint64()
		t.Run(fmt.Sprint(seed), func(t *testing.T) { randomRound(t, seed) })
	}
}

func randomRound(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed))
	r := relaytest.Start(t, relayserver.Config{PairingTimeout: 2 * time.Second})
	appKey := make([]byte, 32)
	carriers := [][]string{nil, {"sse"}, {"poll"}}
	newNet := func(carriers []string) (*multiserver.Network, *keys.Identity) {
		id := relaytest.NewIdentity(t)
		nz, err := noise.New(noise.Config{Identity: id})
		if err != nil {
			t.Fatal(err)
		}
		sid, err := keys.NewIdentity(id.Private(), appKey)
		if err != nil {
			t.Fatal(err)
		}
		sh, err := shs.New(shs.Config{Identity: sid})
		if err != nil {
			t.Fatal(err)
		}
		n, err := multiserver.New(multiserver.Config{
			Plugs:      []multiserver.Plug{&relay.Plug{Identity: id, Carriers: carriers}},
			Transforms: []multiserver.Transform{nz, sh},
		})
		if err != nil {
			t.Fatal(err)
		}
		return n, id
	}
	lc, dc := carriers[rng.IntN(3)], carriers[rng.IntN(3)]
	srv, id := newNet(lc)
	stacks := []string{"relay:" + r.URL + "~noise", "relay:" + r.URL + "~shs"}
	ln, err := srv.Listen(relaytest.Context(t), stacks[0])
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	echo(t, ln)
	served := []bool{true, false}
	k := address.EncodeKey(id.Public())
	addrs := []string{"relay:" + r.URL + "~noise:" + k, "relay:" + r.URL + "~shs:" + k}

	cli, _ := newNet(dc)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for range 40 {
		switch op := rng.IntN(4); {
		case op == 0: // add or drop a stack: the registrar registers its labels again
			i := rng.IntN(2)
			if served[i] && (served[0] && served[1]) {
				if err := ln.Drop(stacks[i]); err != nil {
					t.Fatal(err)
				}
				served[i] = false
			} else if !served[i] {
				if err := ln.Add(relaytest.Context(t), stacks[i]); err != nil {
					t.Fatal(err)
				}
				served[i] = true
			}
		default: // a dial of either stack, at once with the others
			addr := addrs[rng.IntN(2)]
			early := rng.IntN(4) == 0
			size := 1 + rng.IntN(64<<10)
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				start := time.Now()
				c, err := cli.Dial(ctx, addr)
				if err != nil {
					// Refused by the relay, or a handshake cut by a
					// stack dropped under it; never a hang, which the
					// dial's ctx would end. (No tighter bound: the
					// relay's TIMEOUT comes 2s after the CONNECT, which
					// itself can take seconds on a loaded machine.)
					if !errors.Is(err, relay.ErrDenied) && !errors.Is(err, multiserver.ErrHandshake) ||
						errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("dial %s after %v: %v", addr, time.Since(start).Round(time.Millisecond), err)
					}
					mu.Lock()
					refused++
					mu.Unlock()
					return
				}
				defer c.Close()
				msg := bytes.Repeat([]byte{byte(size)}, size)
				if _, err := c.Write(msg); err != nil {
					t.Errorf("write: %v", err)
					return
				}
				if early {
					return // closes before reading the echo
				}
				c.SetDeadline(time.Now().Add(10 * time.Second))
				got := make([]byte, size)
				if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
					t.Errorf("echo of %d bytes over %s: %v", size, addr, err)
					return
				}
				mu.Lock()
				ok++
				mu.Unlock()
			})
		}
		time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
	}
	wg.Wait()
	t.Logf("seed %d: listener over %v, dialer over %v: %d echoed, %d refused", seed, lc, dc, ok, refused)
	// A round may refuse every dial it made (a stack dropped right after
	// its dials, a change of labels under them); once the changes are
	// over, a stack still served must answer, when the registrar has
	// registered its labels: refusals until then are the relay's.
	i := slices.Index(served, true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var c net.Conn
	for {
		if c, err = cli.Dial(ctx, addrs[i]); err == nil {
			break
		}
		if !errors.Is(err, relay.ErrDenied) || ctx.Err() != nil {
			t.Fatalf("dial %s once the round was over: %v", addrs[i], err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	msg := []byte("still served")
	got := make([]byte, len(msg))
	if _, err := c.Write(msg); err != nil {
		t.Fatalf("write once the round was over: %v", err)
	}
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo once the round was over: %q, %v", got, err)
	}
}
