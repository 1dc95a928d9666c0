package msgconn

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pipe returns two Framed over the ends of a TCP loopback conn (a
// net.Pipe has no buffer, which a close message needs).
func pipe(t *testing.T) (*Framed, *Framed) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		ch <- c
	}()
	a, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-ch
	t.Cleanup(func() { a.Close(); b.Close() })
	return NewFramed(a), NewFramed(b)
}

func TestFramedMessages(t *testing.T) {
	a, b := pipe(t)
	ctx := context.Background()
	b.SetReadLimit(1 << 20)
	msgs := [][]byte{{}, []byte("x"), bytes.Repeat([]byte("ab"), 40000)}
	go func() {
		for _, m := range msgs {
			a.Write(ctx, m)
		}
	}()
	for i, want := range msgs {
		got, err := b.Read(ctx)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("message %d: %d bytes, %v; want %d bytes", i, len(got), err, len(want))
		}
	}
}

// TestFramedVector holds the framing to spec/relay.md §11.
func TestFramedVector(t *testing.T) {
	for _, tc := range []struct {
		name string
		send func(f *Framed) error
		wire string
	}{
		{"data", func(f *Framed) error { return f.Write(context.Background(), []byte("hi")) }, "00000000026869"},
		{"empty", func(f *Framed) error { return f.Write(context.Background(), nil) }, "0000000000"},
		{"close", func(f *Framed) error { return f.Close(4001, "peer connection lost") }, "0100000016" + "0fa1" + "7065657220636f6e6e656374696f6e206c6f7374"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer b.Close()
			got := make(chan []byte)
			go func() {
				p, _ := io.ReadAll(b)
				got <- p
			}()
			f := NewFramed(a)
			tc.send(f)
			a.Close()
			if w := <-got; hexOf(w) != tc.wire {
				t.Fatalf("wire %s, want %s", hexOf(w), tc.wire)
			}
		})
	}
}

func hexOf(p []byte) string {
	const d = "0123456789abcdef"
	var b []byte
	for _, c := range p {
		b = append(b, d[c>>4], d[c&15])
	}
	return string(b)
}

func TestFramedClose(t *testing.T) {
	a, b := pipe(t)
	if err := a.Close(4001, "peer connection lost"); err != nil {
		t.Fatal(err)
	}
	_, err := b.Read(context.Background())
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != "peer connection lost" {
		t.Fatalf("read after close: %v, want a CloseError 4001", err)
	}
	if _, err2 := b.Reader(context.Background()); !errors.As(err2, &ce) {
		t.Fatalf("second read: %v, want the close again", err2)
	}
}

func TestFramedLost(t *testing.T) {
	a, b := pipe(t)
	a.CloseNow()
	_, err := b.Read(context.Background())
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read after a lost stream: %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestFramedBad(t *testing.T) {
	for _, tc := range []struct {
		name string
		wire []byte
		want error
	}{
		{"unknown type", []byte{7, 0, 0, 0, 0}, ErrFraming},
		{"close too short", []byte{1, 0, 0, 0, 1, 3}, ErrFraming},
		{"close too long", append([]byte{1, 0, 0, 0, 126}, make([]byte, 126)...), ErrFraming},
		{"reason not UTF-8", []byte{1, 0, 0, 0, 3, 3, 232, 0xff}, ErrFraming},
		{"cut header", []byte{0, 0, 0}, io.ErrUnexpectedEOF},
		{"cut body", []byte{0, 0, 0, 0, 9, 1, 2}, io.ErrUnexpectedEOF},
		{"too big", []byte{0, 0, 0, 16, 1}, errTooBig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := pipe(t)
			go func() { a.nc.Write(tc.wire); a.nc.Close() }()
			_, err := b.Read(context.Background())
			if !errors.Is(err, tc.want) {
				t.Fatalf("read: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestFramedContext(t *testing.T) {
	_, b := pipe(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := b.Read(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read past ctx: %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := b.Reader(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("read with ctx canceled: %v", err)
	}
}

// TestNetConn: the byte stream of a paired Framed, a megabyte each way
// in writes of odd sizes, then a clean close that reads as io.EOF.
func TestNetConn(t *testing.T) {
	fa, fb := pipe(t)
	a, b := NetConn(fa, nil, nil), NetConn(fb, nil, nil)
	fb.SetReadLimit(MaxPiece)
	data := make([]byte, 1<<20)
	rand.Read(data)
	errc := make(chan error, 1)
	go func() {
		p := data
		for len(p) > 0 {
			k := min(len(p), 1+int(binary.BigEndian.Uint16(p))%200000)
			if _, err := a.Write(p[:k]); err != nil {
				errc <- err
				return
			}
			p = p[k:]
		}
		errc <- a.Close()
	}()
	got, err := io.ReadAll(b)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v; want the %d written", len(got), err, len(data))
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// TestNetConnDeadline: a read deadline that passes within a header
// leaves the stream whole.
func TestNetConnDeadline(t *testing.T) {
	fa, fb := pipe(t)
	b := NetConn(fb, nil, nil)
	fa.nc.Write([]byte{0, 0, 0})
	b.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := b.Read(make([]byte, 10)); !isTimeout(err) {
		t.Fatalf("read: %v, want a timeout", err)
	}
	b.SetReadDeadline(time.Time{})
	fa.nc.Write([]byte{0, 2, 'o', 'k'})
	p := make([]byte, 10)
	n, err := io.ReadAtLeast(b, p, 2)
	if err != nil || string(p[:n]) != "ok" {
		t.Fatalf("read %q, %v", p[:n], err)
	}
}

// FuzzFramed feeds the reader any bytes: it never panics, and what it
// reads as messages frames back to a prefix of the input.
func FuzzFramed(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 2, 'h', 'i', 1, 0, 0, 0, 2, 3, 232})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 'x'})
	f.Add(append([]byte{1, 0, 0, 0, 7, 0x0f, 0xa1}, "lost!"...))
	f.Add([]byte{9, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		fr := NewFramed(&bytesConn{Reader: bytes.NewReader(in)})
		fr.SetReadLimit(1 << 16)
		var out []byte
		for {
			p, err := fr.Read(context.Background())
			if err != nil {
				var ce websocket.CloseError
				if errors.As(err, &ce) {
					out = append(out, TypeClose, 0, 0, 0, 0)
					body := EncodeClose(ce.Code, ce.Reason)
					binary.BigEndian.PutUint32(out[len(out)-4:], uint32(len(body)))
					out = append(out, body...)
				}
				break
			}
			out = append(out, TypeData, 0, 0, 0, 0)
			binary.BigEndian.PutUint32(out[len(out)-4:], uint32(len(p)))
			out = append(out, p...)
		}
		if !bytes.HasPrefix(in, out) {
			t.Fatalf("read %x from %x", out, in)
		}
	})
}

// bytesConn reads from a Reader and drops what is written: the input of
// FuzzFramed.
type bytesConn struct {
	*bytes.Reader
	net.Conn // nil: the methods below are all that Framed calls
}

func (c *bytesConn) Read(p []byte) (int, error)       { return c.Reader.Read(p) }
func (c *bytesConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *bytesConn) Close() error                     { return nil }
func (c *bytesConn) SetReadDeadline(time.Time) error  { return nil }
func (c *bytesConn) SetWriteDeadline(time.Time) error { return nil }

// TestFramedCloseBehindWrite: Close behind a write stuck on a stream no
// one reads gives up within closeWait, even when that write, once it got
// through, undid its own context's deadline.
func TestFramedCloseBehindWrite(t *testing.T) {
	a, b := net.Pipe() // no buffer: every write waits for a read
	defer b.Close()
	f := NewFramed(a)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wrote := make(chan error, 1)
	go func() { wrote <- f.Write(ctx, []byte("stuck")) }()
	closed := make(chan error, 1)
	time.Sleep(100 * time.Millisecond) // the write waits for a reader
	go func() { closed <- f.Close(websocket.StatusNormalClosure, "") }()
	time.Sleep(100 * time.Millisecond) // Close waits behind the write
	if _, err := io.ReadFull(b, make([]byte, HeaderSize+5)); err != nil {
		t.Fatal(err)
	}
	if err := <-wrote; err != nil {
		t.Fatalf("write: %v", err)
	}
	select {
	case err := <-closed:
		if !isTimeout(err) {
			t.Fatalf("close: %v, want a timeout of its write", err)
		}
	case <-time.After(3 * closeWait):
		b.Close() // lets Close return, so nothing leaks
		<-closed
		t.Fatalf("close still writing %v after the write before it ended", 3*closeWait)
	}
}

// TestFramedSkipTimeout: a context that ends while Reader skips the rest
// of a message its caller left unread ends that call only, as one that
// ends within a header does: the next read goes on with the next message.
func TestFramedSkipTimeout(t *testing.T) {
	a, b := pipe(t)
	a.nc.Write([]byte{TypeData, 0, 0, 0, 10, '0', '1'}) // 2 of 10 bytes
	r, err := b.Reader(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(r, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := b.Reader(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("reader while the rest of a message is due: %v, want %v", err, context.DeadlineExceeded)
	}
	a.nc.Write([]byte("23456789"))
	if err := a.Write(context.Background(), []byte("next")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := b.Read(ctx)
	if err != nil || string(p) != "next" {
		t.Fatalf("read %q, %v; want \"next\"", p, err)
	}
}
