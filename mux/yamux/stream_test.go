package yamux_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/nettest"

	"github.com/f7d52a8e/multiserver/mux/yamux"
)

// TestManyStreams runs 1,000 streams over one TCP session, 32 at a time,
// each carrying a checksummed random payload of 8–64 KiB both ways at
// once.
func TestManyStreams(t *testing.T) {
	const streams, parallel = 1000, 32
	client, server := tcpSessions(t, nil)
	var fe firstErr

	var handlers sync.WaitGroup
	acceptDone := make(chan struct{})
	go func() {
		defer close(acceptDone)
		for {
			c, err := server.Accept()
			if err != nil {
				return
			}
			handlers.Go(func() {
				if err := exchange(c, randSize(8<<10, 64<<10)); err != nil {
					fe.set(err)
				}
			})
		}
	}()

	sem := make(chan struct{}, parallel)
	var workers sync.WaitGroup
	for range streams {
		sem <- struct{}{}
		workers.Go(func() {
			defer func() { <-sem }()
			c, err := client.Open(context.Background())
			if err != nil {
				fe.set(err)
				return
			}
			if err := exchange(c, randSize(8<<10, 64<<10)); err != nil {
				fe.set(err)
			}
		})
	}
	workers.Wait()
	handlers.Wait()
	if err := fe.get(); err != nil {
		t.Fatal(err)
	}
	// Every stream is closed on both sides, so both sessions let go.
	deadline := time.Now().Add(5 * time.Second)
	for client.NumStreams()+server.NumStreams() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("NumStreams: client %d, server %d; want 0", client.NumStreams(), server.NumStreams())
		}
		time.Sleep(10 * time.Millisecond)
	}
	server.Close()
	<-acceptDone
}

// TestResetLeavesOthers resets streams from either side in the middle of
// their transfers while other streams carry checksummed data; the others
// finish intact and the session stays usable.
func TestResetLeavesOthers(t *testing.T) {
	const good, victims = 8, 4
	client, server := tcpSessions(t, nil)
	var fe firstErr

	chunk := bytes.Repeat([]byte("x"), 32<<10)
	// writeUntilReset writes until the peer's reset stops it.
	writeUntilReset := func(c net.Conn) {
		for {
			if _, err := c.Write(chunk); err != nil {
				if !errors.Is(err, yamux.ErrStreamReset) {
					fe.set(err)
				}
				return
			}
		}
	}
	// readThenReset reads 64 KiB, then resets c.
	readThenReset := func(c net.Conn) {
		if _, err := io.ReadFull(c, make([]byte, 64<<10)); err != nil {
			fe.set(err)
		}
		c.(*yamux.Stream).Reset()
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			fe.set(err)
		}
	}

	var handlers sync.WaitGroup
	go func() {
		for {
			c, err := server.Accept()
			if err != nil {
				return
			}
			handlers.Go(func() {
				role := make([]byte, 1)
				if _, err := io.ReadFull(c, role); err != nil {
					fe.set(err)
					return
				}
				switch role[0] {
				case 'g':
					if err := exchange(c, 1<<20); err != nil {
						fe.set(err)
					}
				case 'c': // the client resets
					writeUntilReset(c)
				case 's': // the server resets
					readThenReset(c)
				}
			})
		}
	}()

	var workers sync.WaitGroup
	start := func(role byte, f func(net.Conn)) {
		c, err := client.Open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte{role}); err != nil {
			t.Fatal(err)
		}
		workers.Go(func() { f(c) })
	}
	for i := range good + 2*victims {
		switch {
		case i%3 == 1 && i < 3*victims:
			start('c', readThenReset)
		case i%3 == 2 && i < 3*victims:
			start('s', writeUntilReset)
		default:
			start('g', func(c net.Conn) {
				if err := exchange(c, 1<<20); err != nil {
					fe.set(err)
				}
			})
		}
	}
	workers.Wait()
	handlers.Wait()
	if err := fe.get(); err != nil {
		t.Fatal(err)
	}
	// The session still works.
	start('g', func(c net.Conn) {
		if err := exchange(c, 1000); err != nil {
			fe.set(err)
		}
	})
	workers.Wait()
	handlers.Wait()
	if err := fe.get(); err != nil {
		t.Fatalf("after resets: %v", err)
	}
}

// TestConn is the x/net/nettest conformance suite, over TCP and net.Pipe.
func TestConn(t *testing.T) {
	for _, tt := range []struct {
		name string
		pipe func(testing.TB) (net.Conn, net.Conn)
	}{
		{"tcp", tcpPair},
		{"pipe", func(testing.TB) (net.Conn, net.Conn) { return net.Pipe() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
				a, b := tt.pipe(t)
				client, err := yamux.Client(a, nil)
				if err != nil {
					return nil, nil, nil, err
				}
				server, err := yamux.Server(b, nil)
				if err != nil {
					return nil, nil, nil, err
				}
				c1, c2 = streamPair(t, client, server)
				stop = func() {
					c1.Close()
					c2.Close()
					client.Close()
					server.Close()
				}
				return c1, c2, stop, nil
			})
		})
	}
}

func TestHalfClose(t *testing.T) {
	client, server := tcpSessions(t, nil)
	c, s := streamPair(t, client, server)
	defer c.Close()
	defer s.Close()

	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := c.(*yamux.Stream).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("more")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after CloseWrite: %v, want net.ErrClosed", err)
	}
	if b, err := io.ReadAll(s); string(b) != "hello" || err != nil {
		t.Fatalf("server read %q, %v; want hello", b, err)
	}
	if _, err := s.Write([]byte("world")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if b, err := io.ReadAll(c); string(b) != "world" || err != nil {
		t.Fatalf("client read %q, %v; want world", b, err)
	}
}

func TestStreamErrors(t *testing.T) {
	client, server := tcpSessions(t, nil)

	t.Run("deadline", func(t *testing.T) {
		c, s := streamPair(t, client, server)
		defer c.Close()
		defer s.Close()
		c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("Read past deadline: %v, want a timeout matching os.ErrDeadlineExceeded", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		c, s := streamPair(t, client, server)
		defer s.Close()
		c.Close()
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Read after Close: %v, want net.ErrClosed", err)
		}
		if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Write after Close: %v, want net.ErrClosed", err)
		}
		if _, err := s.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("peer Read after Close: %v, want io.EOF", err)
		}
	})
	t.Run("reset", func(t *testing.T) {
		c, s := streamPair(t, client, server)
		defer c.Close()
		readErr := make(chan error, 1)
		go func() {
			_, err := s.Read(make([]byte, 1))
			readErr <- err
		}()
		c.(*yamux.Stream).Reset()
		if err := <-readErr; !errors.Is(err, yamux.ErrStreamReset) {
			t.Errorf("peer Read after Reset: %v, want ErrStreamReset", err)
		}
		if _, err := s.Write([]byte("x")); !errors.Is(err, yamux.ErrStreamReset) {
			t.Errorf("peer Write after Reset: %v, want ErrStreamReset", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close after peer's Reset: %v", err)
		}
	})
}

// TestSessionCloseEndsStreams closes a session under blocked reads on
// both sides.
func TestSessionCloseEndsStreams(t *testing.T) {
	a, b := tcpPair(t)
	client, server := sessions(t, a, b, nil)
	c, s := streamPair(t, client, server)
	errs := make(chan error, 2)
	for _, st := range []net.Conn{c, s} {
		go func() {
			_, err := st.Read(make([]byte, 1))
			errs <- err
		}()
	}
	client.Close()
	for range 2 {
		select {
		case err := <-errs:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("Read on a closed session: %v, want net.ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Read still blocked after Session.Close")
		}
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write on a closed session: %v, want net.ErrClosed", err)
	}
}
