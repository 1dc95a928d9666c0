package yamux_test

import (
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// TestReadDeadlinesKeepWindow reads a stream in short, random deadlines
// while the peer writes 8 MiB into it: a Read whose deadline passes just
// as data arrives must not cost the window update that data is owed, or
// the writer stalls for good once the window is spent (go-yamux grants
// the window before it queues the update, and drops the update when the
// read deadline has passed by then).
func TestReadDeadlinesKeepWindow(t *testing.T) {
	client, server := tcpSessions(t, nil)
	c, s := streamPair(t, client, server)
	const total = 8 << 20
	want := make(chan [32]byte, 1)
	werr := make(chan error, 1)
	go func() {
		h := sha256.New()
		buf := make([]byte, 16<<10)
		for sent := 0; sent < total; sent += len(buf) {
			for i := range buf {
				buf[i] = byte(rand.Uint32())
			}
			h.Write(buf)
			if _, err := c.Write(buf); err != nil {
				werr <- err
				return
			}
		}
		c.Close()
		want <- [32]byte(h.Sum(nil))
		werr <- nil
	}()
	h := sha256.New()
	buf := make([]byte, 32<<10)
	got, timeouts := 0, 0
	stall := time.Now().Add(30 * time.Second)
	for got < total {
		if time.Now().After(stall) {
			t.Fatalf("stalled after %d of %d bytes (%d timeouts)", got, total, timeouts)
		}
		s.SetReadDeadline(time.Now().Add(time.Duration(rand.N(200)) * time.Microsecond))
		n, err := s.Read(buf)
		h.Write(buf[:n])
		got += n
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			timeouts++
		case err == io.EOF:
			t.Fatalf("EOF after %d of %d bytes", got, total)
		case err != nil:
			t.Fatal(err)
		}
	}
	if err := <-werr; err != nil {
		t.Fatalf("Write: %v", err)
	}
	if [32]byte(h.Sum(nil)) != <-want {
		t.Fatal("the bytes read differ from those written")
	}
	t.Logf("%d bytes read in short deadlines, %d of them passed", got, timeouts)
}
