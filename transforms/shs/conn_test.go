package shs

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/nacl/secretbox"
	"golang.org/x/net/nettest"
)

// shortGoodbye makes Close give up on the goodbye sooner during t.
func shortGoodbye(t *testing.T) {
	old := goodbyeTimeout
	goodbyeTimeout = 100 * time.Millisecond
	t.Cleanup(func() { goodbyeTimeout = old })
}

func TestNetConn(t *testing.T) {
	shortGoodbye(t) // nettest closes conns whose peers do not read
	for _, tt := range []struct {
		name string
		raw  func() (net.Conn, net.Conn, error)
	}{
		{"tcp", tcpPair},
		{"pipe", func() (net.Conn, net.Conn, error) { c, s := net.Pipe(); return c, s, nil }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			nettest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
				c, s, err := tt.raw()
				if err != nil {
					return nil, nil, nil, err
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				cr, sr := runHandshake(ctx, c, s, testConfig(1), testConfig(2), pub(testKey(2)))
				if err := errors.Join(cr.err, sr.err); err != nil {
					c.Close()
					s.Close()
					return nil, nil, nil, err
				}
				stop := func() { cr.conn.Close(); sr.conn.Close() }
				return cr.conn, sr.conn, stop, nil
			})
		})
	}
}

// frameKey is the key and nonce of the hand-made streams below.
var (
	frameKey   = [32]byte{1, 2, 3}
	frameNonce = [24]byte{23: 0xfe}
)

// rawConn returns a Conn that reads what the test writes to peer as raw
// box stream bytes, sealed with frameKey and frameNonce.
func rawConn(t *testing.T) (*Conn, net.Conn) {
	a, peer := memPipe(t)
	c := newConn(a, nil, keys{decKey: frameKey, decNonce: frameNonce, encKey: frameKey, encNonce: frameNonce})
	return c, peer
}

// wireOf returns the frames of each write, not yet with a goodbye, and
// the writer for more.
func wireOf(writes ...string) ([]byte, *boxWriter) {
	w := newTestWriter(frameKey[:], frameNonce[:])
	var b bytes.Buffer
	for _, s := range writes {
		w.write(&b, []byte(s))
	}
	return b.Bytes(), w
}

func goodbyeOf(w *boxWriter) []byte {
	var b bytes.Buffer
	w.goodbye(&b)
	return b.Bytes()
}

// readAll reads c with a small buffer until an error, and returns the
// bytes and the error.
func readAll(c io.Reader) ([]byte, error) {
	var got []byte
	p := make([]byte, 3)
	for {
		n, err := c.Read(p)
		got = append(got, p[:n]...)
		if err != nil {
			return got, err
		}
	}
}

func TestBoxStreamErrors(t *testing.T) {
	good, w := wireOf("hello ", "world")
	goodbye := goodbyeOf(w)
	first, w1 := wireOf("hello ")
	corruptBody := bytes.Clone(good)
	corruptBody[len(corruptBody)-1] ^= 1
	corruptHeader := bytes.Clone(good)
	corruptHeader[len(first)+3] ^= 1 // in the second frame's header
	tests := []struct {
		name  string
		wire  []byte
		want  string // bytes delivered before the error
		check func(error) bool
		msg   string
	}{
		{"goodbye", cat(good, goodbye), "hello world", isEOF, "EOF"},
		{"goodbye then junk", cat(good, goodbye, []byte{1, 2, 3}), "hello world", isEOF, "EOF"},
		{"hang-up", good, "hello world", isUnexpectedEOF, "without goodbye"},
		{"truncated body", good[:len(good)-2], "hello ", isUnexpectedEOF, "without goodbye"},
		{"truncated header", good[:len(first)+10], "hello ", isUnexpectedEOF, "without goodbye"},
		{"corrupt body", corruptBody, "hello ", isInvalidFrame, "body"},
		{"corrupt header", corruptHeader, "hello ", isInvalidFrame, "header"},
		{"oversized length", cat(first, longHeader(w1, 5000)), "hello ", isInvalidFrame, "frame length 5000 exceeds 4096"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noLeak(t)
			c, peer := rawConn(t)
			go func() { peer.Write(tt.wire); peer.Close() }()
			got, err := readAll(c)
			if string(got) != tt.want {
				t.Errorf("read %q before the error, want %q", got, tt.want)
			}
			if !tt.check(err) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error = %v, want one like %q", err, tt.msg)
			}
			if _, err2 := c.Read(make([]byte, 10)); err2 != err {
				t.Errorf("second Read error = %v, want the same %v", err2, err)
			}
		})
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func isEOF(err error) bool           { return err == io.EOF }
func isUnexpectedEOF(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }
func isInvalidFrame(err error) bool  { return errors.Is(err, ErrInvalidFrame) }

// longHeader seals a header announcing n bytes at w's nonce, followed by
// n bytes.
func longHeader(w *boxWriter, n int) []byte {
	var h [headerPlain]byte
	binary.BigEndian.PutUint16(h[:2], uint16(n))
	out := secretbox.Seal(nil, h[:], &w.nonce, &w.key)
	return append(out, make([]byte, n)...)
}

func TestCloseSendsGoodbye(t *testing.T) {
	client, server := mustHandshake(t, memPipe)
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
}

func TestCloseWrite(t *testing.T) {
	client, server := mustHandshake(t, tcpPipe)
	if _, err := client.Write([]byte("request")); err != nil {
		t.Fatal(err)
	}
	if err := client.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if err := client.CloseWrite(); err != nil {
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

// TestCloseStuckPeer closes a conn whose peer never reads: the goodbye
// cannot go out, and Close must still return soon.
func TestCloseStuckPeer(t *testing.T) {
	noLeak(t)
	shortGoodbye(t)
	c, _ := rawConn(t)
	start := time.Now()
	if err := c.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
}

func TestCloseDuringWrite(t *testing.T) {
	noLeak(t)
	c, _ := rawConn(t) // the peer never reads, so Write blocks
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

// TestConcurrentWrites checks that each Write's frames stay together.
func TestConcurrentWrites(t *testing.T) {
	client, server := mustHandshake(t, tcpPipe)
	const writers, writes, size = 8, 20, 5000
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := bytes.Repeat([]byte{byte('a' + i)}, size)
			for range writes {
				if _, err := client.Write(p); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); client.CloseWrite() }()
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

func TestEmptyWriteAndRead(t *testing.T) {
	client, server := mustHandshake(t, tcpPipe)
	if n, err := client.Write(nil); n != 0 || err != nil {
		t.Errorf("Write(nil) = %d, %v", n, err)
	}
	if n, err := server.Read(nil); n != 0 || err != nil {
		t.Errorf("Read(nil) = %d, %v", n, err)
	}
	client.Write([]byte("x"))
	client.CloseWrite()
	got, err := io.ReadAll(server)
	if err != nil || string(got) != "x" {
		t.Errorf("ReadAll = %q, %v: an empty Write must send no frame", got, err)
	}
}
