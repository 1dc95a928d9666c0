package readahead_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/f7d52a8e/multiserver/internal/readahead"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestDeadlinesLoseNothing reads a pipe in short, random deadlines while
// the other end writes in random sizes: every byte arrives once, in
// order, and the source's error comes after the data.
func TestDeadlinesLoseNothing(t *testing.T) {
	pr, pw := io.Pipe()
	want := make([]byte, 4<<20)
	for i := range want {
		want[i] = byte(rand.Uint32())
	}
	go func() {
		for rest := want; len(rest) > 0; {
			n := min(len(rest), 1+rand.N(100<<10))
			pw.Write(rest[:n])
			rest = rest[n:]
		}
		pw.CloseWithError(io.ErrUnexpectedEOF)
	}()
	r := readahead.New(pr)
	var got []byte
	buf := make([]byte, 1+rand.N(80<<10))
	timeouts := 0
	for {
		deadline, stop := after(time.Duration(rand.N(100)) * time.Microsecond)
		n, err := r.Read(buf, deadline, nil)
		stop()
		got = append(got, buf[:n]...)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			timeouts++
			continue
		}
		if err != nil {
			if err != io.ErrUnexpectedEOF {
				t.Fatalf("Read: %v, want the source's io.ErrUnexpectedEOF", err)
			}
			break
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, differing from the %d written", len(got), len(want))
	}
	t.Logf("%d bytes, %d deadlines passed", len(got), timeouts)
}

// after returns a channel closed after d, and a func that stops it.
func after(d time.Duration) (<-chan struct{}, func() bool) {
	ch := make(chan struct{})
	t := time.AfterFunc(d, func() { close(ch) })
	return ch, t.Stop
}

// counter is a source that never runs dry, counting its reads.
type counter struct{ reads atomic.Int64 }

func (c *counter) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return copy(p, "0123456789"), nil
}

// TestBounded: the goroutine reads at most two reads ahead of Read.
func TestBounded(t *testing.T) {
	src := &counter{}
	pr, pw := io.Pipe()
	r := readahead.New(io.MultiReader(src2{src, 20}, pr))
	buf := make([]byte, 10)
	if n, err := r.Read(buf, nil, nil); n != 10 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := src.reads.Load(); n > 3 {
		t.Fatalf("%d reads of the source after one Read; want at most 3", n)
	}
	pw.Close()
	r.Stop()
}

// src2 reads n times from c, then ends.
type src2 struct {
	c *counter
	n int
}

func (s src2) Read(p []byte) (int, error) {
	if s.c.reads.Load() >= int64(s.n) {
		return 0, io.EOF
	}
	return s.c.Read(p)
}

// TestDoneAndStop: a Read waiting for data returns net.ErrClosed when
// done closes, one whose deadline passes os.ErrDeadlineExceeded, and
// Stop ends the goroutine once the source's read returns.
func TestDoneAndStop(t *testing.T) {
	pr, pw := io.Pipe()
	r := readahead.New(pr)
	deadline, _ := after(20 * time.Millisecond)
	if _, err := r.Read(make([]byte, 8), deadline, nil); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past its deadline: %v", err)
	}
	done := make(chan struct{})
	go func() { time.Sleep(20 * time.Millisecond); close(done) }()
	if _, err := r.Read(make([]byte, 8), nil, done); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after done: %v", err)
	}
	go pw.Write([]byte("late")) // read ahead, then dropped by Stop
	time.Sleep(20 * time.Millisecond)
	if !r.Buffered() {
		t.Fatal("data written is not buffered")
	}
	r.Stop()
	pw.Close() // ends the read under way; goleak checks the goroutine ended
}
