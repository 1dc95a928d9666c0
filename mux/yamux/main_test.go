package yamux_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/f7d52a8e/multiserver/mux/yamux"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// tcpPair returns the two ends of a TCP loopback connection.
func tcpPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		ch <- result{c, err}
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		client.Close()
		t.Fatal(r.err)
	}
	return client, r.c
}

// sessions starts a client and a server session over a and b, closed when
// the test ends.
func sessions(t testing.TB, a, b net.Conn, cfg *yamux.Config) (client, server *yamux.Session) {
	t.Helper()
	client, err := yamux.Client(a, cfg)
	if err != nil {
		t.Fatal(err)
	}
	server, err = yamux.Server(b, cfg)
	if err != nil {
		client.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		client.Close()
		server.Close()
	})
	return client, server
}

// tcpSessions is sessions over a TCP loopback pair.
func tcpSessions(t testing.TB, cfg *yamux.Config) (client, server *yamux.Session) {
	t.Helper()
	a, b := tcpPair(t)
	return sessions(t, a, b, cfg)
}

// streamPair opens a stream on client and accepts it on server.
func streamPair(t testing.TB, client, server *yamux.Session) (c, s net.Conn) {
	t.Helper()
	c, err := client.Open(context.Background())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	s, err = server.Accept()
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	return c, s
}

// payload returns n random bytes followed by their SHA-256.
func payload(n int) []byte {
	b := make([]byte, n, n+sha256.Size)
	rand.Read(b)
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

// verify checks that b is data followed by its SHA-256.
func verify(b []byte) error {
	if len(b) < sha256.Size {
		return fmt.Errorf("got %d bytes, want at least a checksum", len(b))
	}
	data, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if got := sha256.Sum256(data); !bytes.Equal(got[:], sum) {
		return fmt.Errorf("checksum mismatch over %d bytes", len(data))
	}
	return nil
}

// exchange sends a checksummed random payload of n bytes on c while it
// reads and verifies the peer's, then closes c.
func exchange(c net.Conn, n int) error {
	defer c.Close()
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(payload(n))
		if err == nil {
			err = c.(*yamux.Stream).CloseWrite()
		}
		werr <- err
	}()
	b, rerr := io.ReadAll(c)
	if err := <-werr; err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if rerr != nil {
		return fmt.Errorf("read: %w", rerr)
	}
	return verify(b)
}

// randSize returns a size in [lo, hi).
func randSize(lo, hi int) int { return lo + mrand.IntN(hi-lo) }

// firstErr collects the first of many errors.
type firstErr struct {
	mu  sync.Mutex
	err error
}

func (f *firstErr) set(err error) {
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
}

func (f *firstErr) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// waitDone waits for s to end, failing the test after d.
func waitDone(t testing.TB, s *yamux.Session, d time.Duration) {
	t.Helper()
	select {
	case <-s.Done():
	case <-time.After(d):
		t.Fatalf("session still alive after %v", d)
	}
}
