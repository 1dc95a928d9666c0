package muxrpc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"
)

// blobHandlers serve "blob.source": args [n, size] sends n packets of
// size bytes, then ends.
func blobHandlers() map[string]Handler {
	return map[string]Handler{"blob.source": func(ctx context.Context, r *Request) (any, error) {
		var n, size int
		json.Unmarshal(r.Args[0], &n)
		json.Unmarshal(r.Args[1], &size)
		go func() {
			for range n {
				if err := r.Stream.Write(ctx, Buffer, make([]byte, size)); err != nil {
					return
				}
			}
			r.Stream.CloseWithError(nil)
		}()
		return nil, nil
	}}
}

// held returns what the session counts as held, and checks it against
// its streams' queues.
func held(t *testing.T, s *Session, sts ...*Stream) int {
	t.Helper()
	sum := 0
	for _, st := range sts {
		st.mu.Lock()
		sum += st.queued
		st.mu.Unlock()
	}
	s.bufMu.Lock()
	defer s.bufMu.Unlock()
	if s.buffered != sum {
		t.Fatalf("the session counts %d bytes held, its streams %d", s.buffered, sum)
	}
	return sum
}

// waitHeld waits until s holds at least n bytes.
func waitHeld(t *testing.T, s *Session, n int) {
	t.Helper()
	waitAtLeast(t, "the session", n, func() int {
		s.bufMu.Lock()
		defer s.bufMu.Unlock()
		return s.buffered
	})
}

// waitQueued waits until st holds at least n bytes.
func waitQueued(t *testing.T, st *Stream, n int) {
	t.Helper()
	waitAtLeast(t, "the stream", n, func() int {
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.queued
	})
}

// waitAtLeast waits until held reports at least n bytes.
func waitAtLeast(t *testing.T, what string, n int, held func() int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b := held()
		if b >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d bytes, want %d", what, b, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readAll reads st to its end and returns the bytes and the end.
func readAll(ctx context.Context, st *Stream) (int, error) {
	n := 0
	for {
		p, err := st.Read(ctx)
		if err != nil {
			return n, err
		}
		n += len(p.Body)
	}
}

// TestSessionBuffer: streams whose readers lag share SessionBuffer;
// past it the one that holds the most ends with ErrOverflow, and the
// others lose nothing.
func TestSessionBuffer(t *testing.T) {
	const n, size = 60, 16 << 10 // 960 KiB a stream
	cost := n * (size + PacketOverhead)
	a, b := pair(t, Config{StreamBuffer: 1 << 20, SessionBuffer: 1536 << 10}, Config{Handlers: blobHandlers()})
	ctx := ctxT(t)
	first, err := a.Open(ctx, "source", []string{"blob", "source"}, n, size)
	if err != nil {
		t.Fatal(err)
	}
	waitHeld(t, a, cost)
	// A stream read as it comes holds little, and goes through.
	live, err := a.Open(ctx, "source", []string{"blob", "source"}, n, size)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := readAll(ctx, live); got != n*size || err != io.EOF {
		t.Fatalf("the stream read as it came got %d bytes, %v; want %d, EOF", got, err, n*size)
	}
	held(t, a, first)
	// A second lagging stream takes the session past its buffer: the
	// first, which holds the most, pays.
	second, err := a.Open(ctx, "source", []string{"blob", "source"}, n, size)
	if err != nil {
		t.Fatal(err)
	}
	waitQueued(t, second, cost)
	if got, err := readAll(ctx, first); got != 0 || !errors.Is(err, ErrOverflow) {
		t.Fatalf("the first lagging stream read %d bytes, %v; want ErrOverflow", got, err)
	}
	if got := held(t, a, first, second); got != cost {
		t.Fatalf("the session holds %d bytes, want the second stream's %d", got, cost)
	}
	if got, err := readAll(ctx, second); got != n*size || err != io.EOF {
		t.Fatalf("the second lagging stream read %d bytes, %v; want %d, EOF", got, err, n*size)
	}
	if got := held(t, a, first, live, second); got != 0 {
		t.Fatalf("the session holds %d bytes once all is read", got)
	}
	waitStreams(t, a, b)
	a.bufMu.Lock()
	defer a.bufMu.Unlock()
	if len(a.holding) != 0 {
		t.Fatalf("%d streams still counted as holding", len(a.holding))
	}
}

// TestSmallPackets: a stream's buffer counts each packet's overhead, so
// a flood of one-byte packets overflows it long before its size in
// bodies.
func TestSmallPackets(t *testing.T) {
	const n = 4096 // 4 KiB of bodies, 260 KiB held
	a, _ := pair(t, Config{StreamBuffer: 64 << 10}, Config{Handlers: blobHandlers()})
	ctx := ctxT(t)
	st, err := a.Open(ctx, "source", []string{"blob", "source"}, n, 1)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st.mu.Lock()
		end := st.readErr
		st.mu.Unlock()
		if end != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no overflow")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got, err := readAll(ctx, st); !errors.Is(err, ErrOverflow) {
		t.Fatalf("read %d bytes, %v; want ErrOverflow", got, err)
	}
	if got := held(t, a, st); got != 0 {
		t.Fatalf("the session holds %d bytes after the overflow", got)
	}
}

// TestReadInto: a packet read a little at a time arrives whole, in
// order, and counts against the buffers until its last byte is read.
func TestReadInto(t *testing.T) {
	a, _ := pair(t, Config{}, Config{Handlers: blobHandlers()})
	ctx := ctxT(t)
	const n, size = 3, 1000
	st, err := a.Open(ctx, "source", []string{"blob", "source"}, n, size)
	if err != nil {
		t.Fatal(err)
	}
	waitQueued(t, st, n*(size+PacketOverhead))
	buf := make([]byte, 7)
	got := 0
	for {
		m, err := st.ReadInto(buf, ctx.Done(), nil)
		if err == io.EOF {
			break
		}
		if err != nil || m == 0 {
			t.Fatalf("ReadInto = %d, %v after %d bytes", m, err, got)
		}
		got += m
		// Whole packets not yet read, the one being read included.
		left := (n*size - got + size - 1) / size
		if h := held(t, a, st); h != left*(size+PacketOverhead) {
			t.Fatalf("after %d bytes the session holds %d, want %d packets' worth", got, h, left)
		}
	}
	if got != n*size {
		t.Fatalf("ReadInto read %d bytes, want %d", got, n*size)
	}
}
