package quic_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/nettest"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/plugs/quic"
)

// TestConnConformance runs x/net/nettest's net.Conn suite over every
// kind of stream: the one Dial gives, those Open and Accept give on a
// session, and those a server opens back, each from both ends.
func TestConnConformance(t *testing.T) {
	// nettest's peer in CloseTimeout stops reading without closing when
	// its writes fail, so closing Dial's stream waits CloseTimeout for
	// it; keep that short.
	server := newPlug(t, quic.Config{})
	client := newPlug(t, quic.Config{CloseTimeout: 500 * time.Millisecond})
	ln := listen(t, server, "quic:127.0.0.1:0")
	target := advertised(t, ln)
	ctx := context.Background()

	accept := func() (net.Conn, error) {
		type result struct {
			c   net.Conn
			err error
		}
		ch := make(chan result, 1)
		go func() {
			c, err := ln.Accept()
			ch <- result{c, err}
		}()
		select {
		case r := <-ch:
			return r.c, r.err
		case <-time.After(10 * time.Second):
			ln.Close()
			return nil, errors.New("no stream accepted in 10s")
		}
	}
	// Each pipe closes the server's end first, so that closing the
	// dialer's end does not wait for the server to finish reading.
	dialPipe := func(reversed bool) nettest.MakePipe {
		return func() (c1, c2 net.Conn, stop func(), err error) {
			c, err := client.Dial(ctx, target)
			if err != nil {
				return nil, nil, nil, err
			}
			s, err := accept()
			if err != nil {
				c.Close()
				return nil, nil, nil, err
			}
			stop = func() { s.Close(); c.Close() }
			if reversed {
				return s, c, stop, nil
			}
			return c, s, stop, nil
		}
	}
	t.Run("Dial", func(t *testing.T) { nettest.TestConn(t, dialPipe(false)) })
	t.Run("DialServerSide", func(t *testing.T) { nettest.TestConn(t, dialPipe(true)) })

	sess := dialSession(t, client, target)
	t.Run("Open", func(t *testing.T) {
		nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
			c, err := sess.Open(ctx)
			if err != nil {
				return nil, nil, nil, err
			}
			s, err := accept()
			if err != nil {
				c.Close()
				return nil, nil, nil, err
			}
			return c, s, func() { s.Close(); c.Close() }, nil
		})
	})
	// A stream the server opens to the client, tested from the server.
	t.Run("OpenFromServer", func(t *testing.T) {
		nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
			probe, err := sess.Open(ctx)
			if err != nil {
				return nil, nil, nil, err
			}
			defer probe.Close()
			s, err := accept()
			if err != nil {
				return nil, nil, nil, err
			}
			defer s.Close()
			own, _ := multiserver.SessionOf(s) // the stream comes counted, under a wrapper
			back, err := own.Open(ctx)
			if err != nil {
				return nil, nil, nil, err
			}
			c, err := sess.Accept()
			if err != nil {
				back.Close()
				return nil, nil, nil, err
			}
			return back, c, func() { c.Close(); back.Close() }, nil
		})
	})
}

// TestHalfClose checks CloseWrite: the peer reads io.EOF and can still
// answer.
func TestHalfClose(t *testing.T) {
	server, client := newPlug(t, quic.Config{}), newPlug(t, quic.Config{})
	ln := listen(t, server, "quic:127.0.0.1:0")
	serve(t, ln, func(c net.Conn) {
		defer c.Close()
		b, _ := io.ReadAll(c)
		fmt.Fprintf(c, "got %d bytes", len(b))
	})
	c := dial(t, client, advertised(t, ln))
	defer c.Close()
	io.WriteString(c, "12345")
	if err := c.(*quic.Stream).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after CloseWrite = %v, want net.ErrClosed", err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if b, err := io.ReadAll(c); err != nil || string(b) != "got 5 bytes" {
		t.Fatalf("answer %q, %v", b, err)
	}
}

// TestReset checks that a reset reaches the peer as ErrStreamReset, and
// that a peer that closes its stream stops the other side's writes.
func TestReset(t *testing.T) {
	server, client := newPlug(t, quic.Config{}), newPlug(t, quic.Config{})
	ln := listen(t, server, "quic:127.0.0.1:0")
	sess := dialSession(t, client, advertised(t, ln))
	streams := make(chan net.Conn, 2)
	serve(t, ln, func(c net.Conn) { streams <- c })

	a, err := sess.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sa := <-streams
	a.(*quic.Stream).Reset()
	sa.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(sa); !errors.Is(err, quic.ErrStreamReset) {
		t.Errorf("Read after the peer's Reset = %v, want ErrStreamReset", err)
	}
	sa.Close()
	if _, err := a.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after own Reset = %v, want net.ErrClosed", err)
	}

	b, err := sess.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sb := <-streams
	sb.Close()
	b.SetWriteDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64<<10)
	for {
		if _, err = b.Write(buf); err != nil {
			break
		}
	}
	if !errors.Is(err, quic.ErrStreamReset) {
		t.Errorf("Write after the peer closed = %v, want ErrStreamReset", err)
	}
}

// exchange sends a checksummed random payload of n bytes on c while it
// reads and checks the peer's, then closes c.
func exchange(c net.Conn, n int) error {
	defer c.Close()
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(payload(n))
		if err == nil {
			err = c.(interface{ CloseWrite() error }).CloseWrite()
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

// TestParallelStreams runs 64 streams at once over one connection, each
// carrying a checksummed random payload both ways at once.
func TestParallelStreams(t *testing.T) {
	const streams = 64
	server, client := newPlug(t, quic.Config{}), newPlug(t, quic.Config{})
	ln := listen(t, server, "quic:127.0.0.1:0")
	errs := make(chan error, 2*streams)
	serve(t, ln, func(c net.Conn) { errs <- exchange(c, 256<<10+mrand.IntN(256<<10)) })
	sess := dialSession(t, client, advertised(t, ln))
	var wg sync.WaitGroup
	for range streams {
		wg.Go(func() {
			c, err := sess.Open(context.Background())
			if err != nil {
				errs <- err
				return
			}
			errs <- exchange(c, 256<<10+mrand.IntN(256<<10))
		})
	}
	wg.Wait()
	for range 2 * streams {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestLargeTransfer sends 1 GiB over one stream (less under the race
// detector, see bigTransfer) and checks its SHA-256.
func TestLargeTransfer(t *testing.T) {
	size := int64(bigTransfer)
	if testing.Short() {
		size = 64 << 20
	}
	server, client := newPlug(t, quic.Config{}), newPlug(t, quic.Config{})
	ln := listen(t, server, "quic:127.0.0.1:0")
	sums := make(chan [sha256.Size]byte, 1)
	serve(t, ln, func(c net.Conn) {
		defer c.Close()
		h := sha256.New()
		n, err := io.Copy(h, c)
		if err != nil || n != size {
			t.Errorf("server read %d bytes, %v; want %d", n, err, size)
		}
		var sum [sha256.Size]byte
		h.Sum(sum[:0])
		sums <- sum
	})
	c := dial(t, client, advertised(t, ln))
	h := sha256.New()
	src := io.TeeReader(io.LimitReader(fastRand{mrand.NewChaCha8([32]byte{1})}, size), h)
	start := time.Now()
	if n, err := io.CopyBuffer(c, src, make([]byte, 1<<20)); err != nil || n != size {
		t.Fatalf("wrote %d bytes, %v", n, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	got := <-sums
	elapsed := time.Since(start)
	if want := h.Sum(nil); string(got[:]) != string(want) {
		t.Fatalf("server's SHA-256 %x, want %x", got, want)
	}
	t.Logf("%d MiB in %v: %.0f MiB/s", size>>20, elapsed.Round(time.Millisecond), float64(size>>20)/elapsed.Seconds())
}

// fastRand reads a seeded ChaCha8 stream: random enough for checksums,
// and fast.
type fastRand struct{ r *mrand.ChaCha8 }

func (f fastRand) Read(b []byte) (int, error) { return f.r.Read(b) }

// TestDeadlines checks that a passed deadline fails a blocked Read with
// a timeout error, and that clearing it makes the stream usable again.
func TestDeadlines(t *testing.T) {
	server, client := newPlug(t, quic.Config{}), newPlug(t, quic.Config{})
	ln := listen(t, server, "quic:127.0.0.1:0")
	serve(t, ln, echo)
	c := dial(t, client, advertised(t, ln))
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past its deadline = %v, want a timeout", err)
	}
	c.SetReadDeadline(time.Time{})
	roundTrip(t, c, "still fine")
}
