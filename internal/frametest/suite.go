package frametest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/nettest"
)

// Transform is what TestConn needs from a transform's package.
type Transform struct {
	// Handshake runs the handshake over the raw conns c and s, the client
	// on c, and returns the client's and the server's conn.
	Handshake func(ctx context.Context, c, s net.Conn) (client, server net.Conn, err error)
	// Wrap returns a conn that frames over c with fixed keys and no
	// handshake, the same keys both ways: two of them talk to each other.
	Wrap func(c net.Conn) net.Conn
	// EndTimeout is the package variable that bounds how long Close tries
	// to send the end of stream; TestConn shortens it.
	EndTimeout *time.Duration
}

// TestConn checks a transform's conn: nettest's conformance tests, over
// TCP and net.Pipe, then the end of stream, Close, deadlines and
// concurrent writes as package frame promises them.
func TestConn(t *testing.T, tr Transform) {
	old := *tr.EndTimeout
	*tr.EndTimeout = 100 * time.Millisecond // nettest closes conns whose peers do not read
	t.Cleanup(func() { *tr.EndTimeout = old })
	for _, tt := range []struct {
		name string
		raw  func() (net.Conn, net.Conn, error)
	}{
		{"nettest/tcp", TCPPair},
		{"nettest/pipe", func() (net.Conn, net.Conn, error) { c, s := net.Pipe(); return c, s, nil }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			nettest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
				c, s, err := tt.raw()
				if err != nil {
					return nil, nil, nil, err
				}
				cc, sc, err := handshake(tr, c, s)
				if err != nil {
					return nil, nil, nil, err
				}
				return cc, sc, func() { cc.Close(); sc.Close() }, nil
			})
		})
	}
	s := suite{tr}
	t.Run("CloseSendsEnd", s.closeSendsEnd)
	t.Run("CloseWrite", s.closeWrite)
	t.Run("HangUpWithoutEnd", s.hangUpWithoutEnd)
	t.Run("CloseStuckPeer", s.closeStuckPeer)
	t.Run("CloseDuringWrite", s.closeDuringWrite)
	t.Run("ConcurrentWrites", s.concurrentWrites)
	t.Run("EmptyWriteAndRead", s.emptyWriteAndRead)
	t.Run("ReadDeadlineMidFrame", s.readDeadlineMidFrame)
	t.Run("WriteDeadline", s.writeDeadline)
	t.Run("WriteTo", s.writeTo)
}

// handshake runs tr.Handshake, closing the raw conns if it fails.
func handshake(tr Transform, c, s net.Conn) (net.Conn, net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cc, sc, err := tr.Handshake(ctx, c, s)
	if err != nil {
		c.Close()
		s.Close()
	}
	return cc, sc, err
}

type suite struct{ tr Transform }

// pair returns an established pair over pipe.
func (s suite) pair(t *testing.T, pipe func(testing.TB) (net.Conn, net.Conn)) (client, server net.Conn) {
	t.Helper()
	c, sv := pipe(t)
	cc, sc, err := handshake(s.tr, c, sv)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	t.Cleanup(func() { cc.Close(); sc.Close() })
	return cc, sc
}

func closeWrite(c net.Conn) error { return c.(interface{ CloseWrite() error }).CloseWrite() }

func (s suite) closeSendsEnd(t *testing.T) {
	client, server := s.pair(t, MemPipe)
	go func() { client.Write([]byte("bye")); client.Close() }()
	got, err := io.ReadAll(server)
	if err != nil || string(got) != "bye" {
		t.Errorf("ReadAll = %q, %v; want \"bye\", nil", got, err)
	}
	if _, err := client.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close = %v, want net.ErrClosed", err)
	}
	if err := client.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close = %v, want net.ErrClosed", err)
	}
	if err := closeWrite(client); !errors.Is(err, net.ErrClosed) {
		t.Errorf("CloseWrite after Close = %v, want net.ErrClosed", err)
	}
}

func (s suite) closeWrite(t *testing.T) {
	client, server := s.pair(t, TCPPipe)
	if _, err := client.Write([]byte("request")); err != nil {
		t.Fatal(err)
	}
	if err := closeWrite(client); err != nil {
		t.Fatal(err)
	}
	if err := closeWrite(client); err != nil {
		t.Errorf("second CloseWrite = %v", err)
	}
	if _, err := client.Write([]byte("more")); err == nil {
		t.Error("Write after CloseWrite succeeded")
	}
	got, err := io.ReadAll(server)
	if err != nil || string(got) != "request" {
		t.Fatalf("server ReadAll = %q, %v", got, err)
	}
	if _, err := server.Write([]byte("response")); err != nil {
		t.Fatal(err)
	}
	server.Close()
	got, err = io.ReadAll(client)
	if err != nil || string(got) != "response" {
		t.Errorf("client ReadAll = %q, %v", got, err)
	}
}

// hangUpWithoutEnd closes the raw conn under a conn: the peer must see a
// truncated stream, not a clean end.
func (s suite) hangUpWithoutEnd(t *testing.T) {
	client, server := s.pair(t, TCPPipe)
	client.Write([]byte("partial"))
	client.(interface{ NetConn() net.Conn }).NetConn().Close()
	got, err := io.ReadAll(server)
	if string(got) != "partial" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("ReadAll = %q, %v; want the data, then io.ErrUnexpectedEOF", got, err)
	}
}

// closeStuckPeer closes a conn whose peer never reads: the end of stream
// cannot go out, and Close must still return rather than hang. (The bound
// is generous: it tells a hang from a slow machine, it times nothing.)
func (s suite) closeStuckPeer(t *testing.T) {
	NoLeak(t)
	raw, _ := MemPipe(t)
	c := s.tr.Wrap(raw)
	done := make(chan error, 1)
	go func() { done <- c.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close = %v", err)
		}
	case <-time.After(10 * time.Second):
		raw.Close()
		<-done
		t.Fatal("Close hangs while the peer does not read")
	}
}

func (s suite) closeDuringWrite(t *testing.T) {
	NoLeak(t)
	raw, _ := MemPipe(t) // the peer never reads, so Write blocks
	c := s.tr.Wrap(raw)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(make([]byte, 100))
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := c.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if err := <-errc; err == nil {
		t.Error("blocked Write succeeded after Close")
	}
}

// concurrentWrites checks that each Write's frames stay together.
func (s suite) concurrentWrites(t *testing.T) {
	client, server := s.pair(t, TCPPipe)
	const writers, writes, size = 8, 10, 70000
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			p := bytes.Repeat([]byte{byte('a' + i)}, size)
			for range writes {
				if _, err := client.Write(p); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	go func() { wg.Wait(); closeWrite(client) }()
	got, err := io.ReadAll(server)
	if err != nil || len(got) != writers*writes*size {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	for i := 0; i < len(got); i += size {
		if bytes.Count(got[i:i+size], got[i:i+1]) != size {
			t.Fatalf("write at %d is interleaved", i)
		}
	}
}

func (s suite) emptyWriteAndRead(t *testing.T) {
	client, server := s.pair(t, TCPPipe)
	if n, err := client.Write(nil); n != 0 || err != nil {
		t.Errorf("Write(nil) = %d, %v", n, err)
	}
	if n, err := server.Read(nil); n != 0 || err != nil {
		t.Errorf("Read(nil) = %d, %v", n, err)
	}
	client.Write([]byte("x"))
	closeWrite(client)
	got, err := io.ReadAll(server)
	if err != nil || string(got) != "x" {
		t.Errorf("ReadAll = %q, %v: an empty Write must send no frame", got, err)
	}
}

// wireOf returns the bytes on the wire of a Write of p on a fresh
// wrapped conn.
func (s suite) wireOf(t *testing.T, p []byte) []byte {
	a, b := MemPipe(t)
	go func() { s.tr.Wrap(a).Write(p); a.Close() }()
	wire, _ := io.ReadAll(b)
	return wire
}

// readDeadlineMidFrame cuts a frame short with a read deadline; the next
// Read must finish it.
func (s suite) readDeadlineMidFrame(t *testing.T) {
	wire := s.wireOf(t, []byte("hello"))
	raw, peer := MemPipe(t)
	c := s.tr.Wrap(raw)
	go peer.Write(wire[:5])
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := c.Read(make([]byte, 10)); n != 0 || !IsTimeout(err) {
		t.Fatalf("Read = %d, %v; want a timeout", n, err)
	}
	c.SetReadDeadline(time.Time{})
	go peer.Write(wire[5:])
	p := make([]byte, 10)
	if n, err := c.Read(p); string(p[:n]) != "hello" || err != nil {
		t.Errorf("Read = %q, %v", p[:n], err)
	}
}

// writeDeadline blocks a Write on a peer that does not read: a frame of
// which nothing went out is not counted, and the stream stays usable.
func (s suite) writeDeadline(t *testing.T) {
	a, b := MemPipe(t)
	c, peer := s.tr.Wrap(a), s.tr.Wrap(b)
	c.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	if n, err := c.Write([]byte("lost")); n != 0 || !IsTimeout(err) {
		t.Fatalf("Write = %d, %v; want 0 and a timeout", n, err)
	}
	c.SetWriteDeadline(time.Time{})
	go c.Write([]byte("kept"))
	p := make([]byte, 10)
	if n, err := peer.Read(p); string(p[:n]) != "kept" || err != nil {
		t.Errorf("peer read %q, %v; want the retried frame", p[:n], err)
	}
}

// writeTo checks the conn's WriteTo, which io.Copy uses, against what was
// written, with a small Read first.
func (s suite) writeTo(t *testing.T) {
	client, server := s.pair(t, TCPPipe)
	data := RandomBytes(9, 300000)
	go func() { client.Write(data); closeWrite(client) }()
	first := make([]byte, 10)
	if _, err := io.ReadFull(server, first); err != nil {
		t.Fatal(err)
	}
	var rest bytes.Buffer
	n, err := io.Copy(&rest, server)
	if _, ok := server.(io.WriterTo); !ok {
		t.Error("the conn is not an io.WriterTo")
	}
	if err != nil || n != int64(len(data)-10) || !bytes.Equal(append(first, rest.Bytes()...), data) {
		t.Errorf("io.Copy = %d, %v; want the other %d bytes", n, err, len(data)-10)
	}
}
