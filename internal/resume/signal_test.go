package resume

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"testing/synctest"
)

// TestSignal sends signals both ways, before and after a move to a new
// carrier, among data: each arrives once, the data stays exact, and
// OnResume reports each carrier as it resumes.
func TestSignal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		got := map[string][]string{}
		resumed := map[string][]net.Conn{}
		cfg := func(name string) *Config {
			return &Config{
				OnSignal: func(p []byte) { mu.Lock(); got[name] = append(got[name], string(p)); mu.Unlock() },
				OnResume: func(c net.Conn) { mu.Lock(); resumed[name] = append(resumed[name], c); mu.Unlock() },
			}
		}
		x, y := net.Pipe()
		a, b := New(x, cfg("a")), New(y, cfg("b"))
		defer a.Close()
		defer b.Close()
		if err := a.Signal([]byte("offer")); err != nil {
			t.Fatal(err)
		}
		msg := bytes.Repeat([]byte("0123456789"), 50000)
		go func() { a.Write(msg); a.CloseWrite() }()
		if err := b.Signal([]byte("answer")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		x2, y2 := net.Pipe()
		a.Attach(x2)
		b.Attach(y2)
		a.Signal([]byte("after"))
		rest, err := io.ReadAll(b)
		if err != nil || !bytes.Equal(rest, msg) {
			t.Fatalf("read %d bytes, %v; want %d", len(rest), err, len(msg))
		}
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if g := got["b"]; len(g) != 2 || g[0] != "offer" || g[1] != "after" {
			t.Errorf("b got signals %q, want offer, after", g)
		}
		if g := got["a"]; len(g) != 1 || g[0] != "answer" {
			t.Errorf("a got signals %q, want answer", g)
		}
		if r := resumed["a"]; len(r) != 2 || r[0] != x || r[1] != x2 {
			t.Errorf("a resumed on %v, want the two carriers in order", r)
		}
	})
}

// TestSignalErrors: a signal of a bad size, over the queue's bound or
// after Close fails at once.
func TestSignalErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		x, y := net.Pipe()
		defer y.Close()
		go io.Copy(io.Discard, y)
		a := New(x, nil) // the peer never resumes: signals wait
		if a.Signal(nil) == nil || a.Signal(make([]byte, MaxSignal+1)) == nil {
			t.Error("Signal of 0 or MaxSignal+1 bytes succeeded")
		}
		for range maxSignals {
			if err := a.Signal([]byte("s")); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.Signal([]byte("s")); !errors.Is(err, ErrSignalQueue) {
			t.Errorf("Signal over the bound: %v, want ErrSignalQueue", err)
		}
		a.Close()
		if err := a.Signal([]byte("s")); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Signal after Close: %v, want net.ErrClosed", err)
		}
	})
}
