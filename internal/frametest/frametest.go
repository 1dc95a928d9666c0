// Package frametest holds what the tests of the shs and noise transforms
// share: pipes, recording conns, small helpers, and [TestConn], the
// behaviour every framed conn (internal/frame) must show, which runs
// x/net/nettest's conformance tests too.
package frametest

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// NoLeak checks, after every other cleanup of t, that no goroutine is
// left behind.
func NoLeak(t *testing.T) {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

// MemPipe returns both ends of a net.Pipe, closed when t ends.
func MemPipe(t testing.TB) (net.Conn, net.Conn) {
	c, s := net.Pipe()
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

// TCPPipe returns both ends of a loopback TCP connection, closed when t
// ends.
func TCPPipe(t testing.TB) (net.Conn, net.Conn) {
	c, s, err := TCPPair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

// TCPPair returns both ends of a loopback TCP connection.
func TCPPair() (net.Conn, net.Conn, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
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
	c, err := net.Dial("tcp", ln.Addr().String())
	r := <-ch
	if err != nil || r.err != nil {
		if c != nil {
			c.Close()
		}
		if r.c != nil {
			r.c.Close()
		}
		return nil, nil, errors.Join(err, r.err)
	}
	return c, r.c, nil
}

// ScriptConn is a net.Conn that reads a fixed script and discards writes.
type ScriptConn struct{ R io.Reader }

func (c *ScriptConn) Read(p []byte) (int, error)       { return c.R.Read(p) }
func (c *ScriptConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *ScriptConn) Close() error                     { return nil }
func (c *ScriptConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *ScriptConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *ScriptConn) SetDeadline(time.Time) error      { return nil }
func (c *ScriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *ScriptConn) SetWriteDeadline(time.Time) error { return nil }

// RecordConn records everything written to a net.Conn.
type RecordConn struct {
	net.Conn
	mu    sync.Mutex
	wrote bytes.Buffer
}

func (c *RecordConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.wrote.Write(p)
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// Written returns everything written so far.
func (c *RecordConn) Written() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.wrote.Bytes())
}

// CallRecorder records each Write call separately.
type CallRecorder struct{ Calls [][]byte }

func (r *CallRecorder) Write(p []byte) (int, error) {
	r.Calls = append(r.Calls, bytes.Clone(p))
	return len(p), nil
}

// ReaderFunc is a function as an io.Reader.
type ReaderFunc func([]byte) (int, error)

func (f ReaderFunc) Read(p []byte) (int, error) { return f(p) }

// ReadAll reads r with a small buffer until an error, and returns the
// bytes and the error.
func ReadAll(r io.Reader) ([]byte, error) {
	var got []byte
	p := make([]byte, 3)
	for {
		n, err := r.Read(p)
		got = append(got, p[:n]...)
		if err != nil {
			return got, err
		}
	}
}

// Cat concatenates byte slices.
func Cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// IsTimeout reports whether err is a deadline error.
func IsTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// RandomBytes returns n bytes from a generator seeded with seed.
func RandomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
