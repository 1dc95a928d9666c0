package resume

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// pair returns two Conns over a net.Pipe, closed when t ends.
func pair(t testing.TB, cfg *Config) (a, b *Conn) {
	t.Helper()
	x, y := net.Pipe()
	a, b = New(x, cfg), New(y, cfg)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestEcho(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, nil)
		go func() { io.Copy(b, b); b.CloseWrite() }()
		msg := bytes.Repeat([]byte("resume "), 10000)
		go func() { a.Write(msg); a.CloseWrite() }()
		got, err := io.ReadAll(a)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("ReadAll = %d bytes, %v; want %d bytes", len(got), err, len(msg))
		}
	})
}

// TestResumeTimeout cuts the carrier and never gives another one: the
// Conn must fail with ErrTimeout within ResumeTimeout, blocked calls
// included, and leave no goroutine.
func TestResumeTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		x, y := net.Pipe()
		a := New(x, &Config{ResumeTimeout: 3 * time.Second})
		defer a.Close()
		b := New(y, nil)
		defer b.Close()
		b.Write([]byte("hi")) // let the RESUMEs cross
		a.Read(make([]byte, 2))
		start := time.Now()
		errc := make(chan error, 2)
		go func() { _, err := a.Read(make([]byte, 1)); errc <- err }()
		go func() { _, err := a.Write(make([]byte, 2*DefaultWindow)); errc <- err }()
		synctest.Wait()
		y.Close() // the carrier breaks; b's peer never comes back
		for range 2 {
			if err := <-errc; !errors.Is(err, ErrTimeout) {
				t.Fatalf("blocked call: %v, want ErrTimeout", err)
			}
		}
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("failed after %v, want 3s", d)
		}
		if _, err := a.Write([]byte("x")); !errors.Is(err, ErrTimeout) {
			t.Errorf("later Write: %v, want ErrTimeout", err)
		}
	})
}

// TestRedial has the dialing side get a new carrier through Redial after
// the first one breaks, while data flows.
func TestRedial(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var breaks int
		srv := make(chan net.Conn)
		x, y := net.Pipe()
		dials := 0
		a := New(x, &Config{
			Window: 64 << 10,
			Redial: func(ctx context.Context) (net.Conn, error) {
				dials++
				if dials < 3 {
					return nil, errors.New("refused")
				}
				x, y := net.Pipe()
				srv <- y
				return x, nil
			},
			OnBreak: func(net.Conn, error) { mu.Lock(); breaks++; mu.Unlock() },
		})
		defer a.Close()
		b := New(y, &Config{Window: 64 << 10})
		defer b.Close()
		go func() {
			for c := range srv {
				b.Attach(c)
			}
		}()
		defer close(srv)
		msg := bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7}, 100000)
		go func() { a.Write(msg); a.CloseWrite() }()
		got := make([]byte, 100000)
		if _, err := io.ReadFull(b, got); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		start := time.Now()
		x.Close()
		rest, err := io.ReadAll(b)
		got = append(got, rest...)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("ReadAll = %d bytes, %v; want %d bytes", len(got), err, len(msg))
		}
		mu.Lock()
		defer mu.Unlock()
		if breaks != 1 || dials != 3 {
			t.Errorf("%d breaks, %d dials; want 1, 3", breaks, dials)
		}
		// Attempts at once, then after 125-250ms, then 250-500ms.
		if d := time.Since(start); d < 375*time.Millisecond || d > 751*time.Millisecond {
			t.Errorf("resumed after %v, want 375ms to 750ms", d)
		}
	})
}

// TestSwitch moves a busy Conn to a new carrier while the old one is
// healthy, as hole punching will.
func TestSwitch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, &Config{Window: 64 << 10})
		msg := bytes.Repeat([]byte("switch"), 200000)
		go func() { a.Write(msg); a.CloseWrite() }()
		var got []byte
		for i := range 5 {
			part := make([]byte, 100000)
			if _, err := io.ReadFull(b, part); err != nil {
				t.Fatal(err)
			}
			got = append(got, part...)
			x, y := net.Pipe()
			a.Attach(x)
			if i%2 == 1 { // one side first; frames on its old carrier go nowhere
				time.Sleep(time.Millisecond)
			}
			b.Attach(y)
		}
		rest, err := io.ReadAll(b)
		got = append(got, rest...)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("ReadAll = %d bytes, %v; want %d bytes", len(got), err, len(msg))
		}
	})
}

func TestDeadlines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, &Config{Window: 64 << 10})
		a.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := a.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read: %v, want os.ErrDeadlineExceeded", err)
		}
		a.SetReadDeadline(time.Time{})
		b.Write([]byte("x"))
		if n, err := a.Read(make([]byte, 1)); n != 1 || err != nil {
			t.Fatalf("Read after clearing the deadline = %d, %v", n, err)
		}
		a.SetWriteDeadline(time.Now().Add(time.Second))
		n, err := a.Write(make([]byte, 100<<10)) // b does not read
		if !errors.Is(err, os.ErrDeadlineExceeded) || n != 64<<10 {
			t.Fatalf("Write = %d, %v; want %d, os.ErrDeadlineExceeded", n, err, 64<<10)
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("Write error %v is no net.Error timeout", err)
		}
		a.SetWriteDeadline(time.Time{})
		go io.Copy(io.Discard, b)
		if _, err := a.Write(make([]byte, 100<<10)); err != nil {
			t.Fatalf("Write after clearing the deadline: %v", err)
		}
	})
}

func TestCloseWhileBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := pair(t, &Config{Window: 64 << 10})
		errc := make(chan error, 2)
		go func() { _, err := a.Read(make([]byte, 1)); errc <- err }()
		go func() { _, err := a.Write(make([]byte, 1<<20)); errc <- err }()
		synctest.Wait()
		a.Close()
		for range 2 {
			if err := <-errc; !errors.Is(err, net.ErrClosed) {
				t.Errorf("blocked call: %v, want net.ErrClosed", err)
			}
		}
		if _, err := a.Read(nil); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Read after Close: %v", err)
		}
		if err := a.Close(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("second Close: %v", err)
		}
	})
}

// TestCloseReachesPeer: the peer reads all data, then io.EOF, and its
// Writes fail with ErrReset.
func TestCloseReachesPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, nil)
		a.Write([]byte("bye"))
		a.Close()
		got, err := io.ReadAll(b)
		if err != nil || string(got) != "bye" {
			t.Fatalf("ReadAll = %q, %v", got, err)
		}
		if _, err := b.Write([]byte("x")); !errors.Is(err, ErrReset) {
			t.Errorf("Write to a closed peer: %v, want ErrReset", err)
		}
	})
}

func TestWriteAfterCloseWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, nil)
		a.CloseWrite()
		if _, err := a.Write([]byte("x")); !errors.Is(err, ErrWriteShut) {
			t.Errorf("Write: %v, want ErrWriteShut", err)
		}
		b.Write([]byte("still"))
		buf := make([]byte, 5)
		if _, err := io.ReadFull(a, buf); err != nil {
			t.Errorf("Read after CloseWrite: %v", err)
		}
		if n, err := b.Read(buf); n != 0 || err != io.EOF {
			t.Errorf("peer Read = %d, %v; want io.EOF", n, err)
		}
	})
}

func TestConcurrentReadWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, &Config{Window: 32 << 10})
		var wg sync.WaitGroup
		for _, c := range []*Conn{a, b} {
			wg.Go(func() {
				msg := bytes.Repeat([]byte{7}, 500<<10)
				go func() { c.Write(msg); c.CloseWrite() }()
				got, err := io.ReadAll(c)
				if err != nil || !bytes.Equal(got, msg) {
					t.Errorf("ReadAll = %d bytes, %v", len(got), err)
				}
			})
		}
		wg.Wait()
	})
}

// TestKeepAlive: a stalled carrier, which delivers nothing and does not
// close, breaks after KeepAliveTimeout; an idle healthy one does not.
func TestKeepAlive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		broke := make(chan time.Time, 2)
		x, y := net.Pipe()
		a := New(x, &Config{ResumeTimeout: time.Minute, OnBreak: func(net.Conn, error) { broke <- time.Now() }})
		defer a.Close()
		b := New(y, &Config{ResumeTimeout: time.Minute})
		defer b.Close()
		time.Sleep(time.Minute) // idle, healthy
		select {
		case <-broke:
			t.Fatal("an idle carrier broke")
		default:
		}
		x, y = net.Pipe()
		a.Attach(x)
		b.Attach(y)
		time.Sleep(time.Second)
		// Stall: b's carrier stops reading and writing.
		sx, sy := net.Pipe()
		a.Attach(sx)
		start := time.Now()
		at := <-broke
		if d := at.Sub(start); d != DefaultKeepAliveTimeout {
			t.Errorf("stalled carrier broke after %v, want %v", d, DefaultKeepAliveTimeout)
		}
		sy.Close()
	})
}

// TestIDMismatch: a carrier from another conn is refused.
func TestIDMismatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := pair(t, nil)
		synctest.Wait() // a learns b's id
		x, y := net.Pipe()
		a.Attach(x)
		d := New(y, nil) // a stranger
		defer d.Close()
		if _, err := a.Read(make([]byte, 1)); !errors.Is(err, ErrProtocol) {
			t.Errorf("Read: %v, want ErrProtocol", err)
		}
	})
}
