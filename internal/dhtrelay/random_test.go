package dhtrelay

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	mrand "math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"
)

// TestRandomDials runs dials on one client at once, each doing one of:
// echo and close, close in the middle of a Read, give up on a short
// context, dial an unknown key; in a random order and mix, two rounds.
// Every outcome must be one the API promises, and once every stream is
// closed the session must end.
func TestRandomDials(t *testing.T) {
	n := sharedNet(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := mrand.New(mrand.NewPCG(seed, 0))
	unknown := newKey(t).Public().(ed25519.PublicKey)
	for round := range 2 {
		c := newClient(t, Config{URL: n.Relay})
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 8 {
			kind := rng.IntN(4)
			wait := time.Duration(rng.IntN(20)) * time.Millisecond
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := randomDial(c, n.PublicKey, unknown, kind, wait); err != nil {
					errs <- err
				}
			}()
			_ = i
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("round %d: %v", round, err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			c.mu.Lock()
			s := c.sess
			c.mu.Unlock()
			if s == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the session outlives its streams", round)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func randomDial(c *Client, peer, unknown ed25519.PublicKey, kind int, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch kind {
	case 0: // echo and close
		conn, err := c.Dial(ctx, peer)
		if err != nil {
			return err
		}
		defer conn.Close()
		data := make([]byte, 32<<10)
		rand.Read(data)
		go conn.Write(data)
		got := make([]byte, len(data))
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		if _, err := io.ReadFull(conn, got); err != nil {
			return err
		}
		if sha256.Sum256(got) != sha256.Sum256(data) {
			return errors.New("echo differs")
		}
	case 1: // close while a Read waits
		conn, err := c.Dial(ctx, peer)
		if err != nil {
			return err
		}
		rerr := make(chan error, 1)
		go func() {
			_, err := conn.Read(make([]byte, 10))
			rerr <- err
		}()
		time.Sleep(wait)
		conn.Close()
		if err := <-rerr; !errors.Is(err, net.ErrClosed) {
			return errors.New("Read during Close: " + errString(err))
		}
	case 2: // a context too short
		sctx, scancel := context.WithTimeout(ctx, wait)
		defer scancel()
		conn, err := c.Dial(sctx, peer)
		if err == nil {
			conn.Close()
			return nil
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			return errors.New("dial with a short context: " + err.Error())
		}
	case 3: // nobody there
		conn, err := c.Dial(ctx, unknown)
		if err == nil {
			conn.Close()
			return errors.New("an unknown key answered")
		}
		if !errors.Is(err, ErrPeerNotFound) {
			return errors.New("unknown key: " + err.Error())
		}
	}
	return nil
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestSlowReader: a reader that stops while the peer sends more than the
// stream's buffer holds stalls the session (TCP pushes back on the
// relay), loses nothing, and gets every byte once it reads again.
func TestSlowReader(t *testing.T) {
	n := sharedNet(t)
	c := newClient(t, Config{URL: n.Relay, StreamBuffer: 8 << 10})
	conn := dial(t, c, n.PublicKey)
	defer conn.Close()
	data := make([]byte, 2<<20)
	rand.Read(data)
	werr := make(chan error, 1)
	go func() {
		_, err := conn.Write(data)
		werr <- err
	}()
	time.Sleep(time.Second) // the echo piles up
	conn.Stream().mu.Lock()
	held := len(conn.Stream().buf)
	conn.Stream().mu.Unlock()
	if held > 8<<10+maxMessage {
		t.Fatalf("the stream holds %d bytes for a reader that stopped, over its 8 KiB buffer", held)
	}
	got := make([]byte, len(data))
	conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.ReadFull(conn, got); err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatal("echo differs after the reader caught up")
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	t.Logf("the stream held %d bytes while its reader slept", held)
}
