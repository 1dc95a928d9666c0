package tunnel_test

import (
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/interop/roomtest"
)

// TestRandomized races dials, closes, listener restarts and a room that
// drops sessions, in an order picked by a seed (TUNNEL_SEED replays
// one), and checks that a dial works once the chaos stops and that no
// goroutine is left (TestMain).
func TestRandomized(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("TUNNEL_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("TUNNEL_SEED=%d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	room := roomtest.Start(t, roomtest.Config{DropAfterTunnel: rng.IntN(2) == 0, Room1: rng.IntN(2) == 0})
	a, b := newPeer(t, room.Addr), newPeer(t, room.Addr)
	ln, addr := b.listen(t, room)

	var mu sync.Mutex
	current := ln
	serve := func(l *multiserver.Listener) {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}
	go serve(ln)

	var wg sync.WaitGroup
	stop := time.Now().Add(3 * time.Second)
	for w := range 4 {
		r := rand.New(rand.NewPCG(seed, uint64(w+1)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				switch r.IntN(6) {
				case 0, 1, 2:
					c, err := a.n.Dial(ctxT(t, 5*time.Second), addr)
					if err == nil {
						c.Write([]byte("x"))
						if r.IntN(2) == 0 {
							io.ReadFull(c, make([]byte, 1))
						}
						c.Close()
					}
				case 3:
					room.Drop(b.tunnelID())
				case 4:
					room.Drop(a.tunnelID())
				case 5:
					mu.Lock()
					current.Close()
					l, err := b.n.Listen(ctxT(t, 5*time.Second), "tunnel:"+room.ID+"~shs")
					if err == nil {
						current = l
						go serve(l)
					}
					mu.Unlock()
				}
				time.Sleep(time.Duration(r.IntN(20)) * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Cleanup(func() { current.Close() })
	waitAddr(t, current)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := a.n.Dial(ctxT(t, 10*time.Second), addr)
		if err == nil {
			c.Write([]byte("ok"))
			got := make([]byte, 2)
			_, err = io.ReadFull(c, got)
			c.Close()
			if err == nil && string(got) == "ok" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no working tunnel after the chaos: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
