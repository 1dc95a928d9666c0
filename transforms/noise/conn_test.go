package noise

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
	"testing/iotest"
	"time"

	"golang.org/x/net/nettest"
)

// shortEnd makes Close give up on the end of stream sooner during t.
func shortEnd(t *testing.T) {
	old := endTimeout
	endTimeout = 100 * time.Millisecond
	t.Cleanup(func() { endTimeout = old })
}

func TestNetConn(t *testing.T) {
	shortEnd(t) // nettest closes conns whose peers do not read
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

// frameKey is the key of the hand-made streams below.
var frameKey = [32]byte{1, 2, 3}

// rawConn returns a Conn that reads what the test writes to peer as raw
// frames, sealed with frameKey from nonce 0.
func rawConn(t *testing.T) (*Conn, net.Conn) {
	a, peer := memPipe(t)
	return newConn(a, nil, nil, frameKey, frameKey), peer
}

func newTestWriter(key [32]byte, n uint64) *frameWriter {
	var w frameWriter
	w.cs.init(key, n)
	return &w
}

func newTestReader(key [32]byte, n uint64) *frameReader {
	var r frameReader
	r.cs.init(key, n)
	return &r
}

// wireOf returns the frames of each write, not yet with an end of
// stream, and the writer for more.
func wireOf(writes ...string) ([]byte, *frameWriter) {
	w := newTestWriter(frameKey, 0)
	var b bytes.Buffer
	for _, s := range writes {
		w.write(&b, []byte(s))
	}
	return b.Bytes(), w
}

func endOf(w *frameWriter) []byte {
	var b bytes.Buffer
	w.end(&b)
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

func TestFrameReaderErrors(t *testing.T) {
	good, w := wireOf("hello ", "world")
	end := endOf(w)
	first, _ := wireOf("hello ")
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-1] ^= 1 // the second frame's tag
	corruptLen := bytes.Clone(good)
	corruptLen[len(first)+1]-- // the second frame's length, one short
	long := cat(first, []byte{0xff, 0xff}, make([]byte, MaxMessage))
	tests := []struct {
		name  string
		wire  []byte
		want  string // bytes delivered before the error
		check func(error) bool
		msg   string
	}{
		{"end", cat(good, end), "hello world", isEOF, "EOF"},
		{"end then junk", cat(good, end, []byte{1, 2, 3}), "hello world", isEOF, "EOF"},
		{"no end", good, "hello world", isUnexpectedEOF, "without end of stream"},
		{"truncated frame", good[:len(good)-2], "hello ", isUnexpectedEOF, "without end of stream"},
		{"truncated length", good[:len(first)+1], "hello ", isUnexpectedEOF, "without end of stream"},
		{"corrupt tag", corrupt, "hello ", isInvalidFrame, "bad tag"},
		{"corrupt length", cat(corruptLen, end), "hello ", isInvalidFrame, "bad tag"},
		{"short length", cat(first, []byte{0, 15}, make([]byte, 15)), "hello ", isInvalidFrame, "frame length 15 is shorter"},
		{"zero length", cat(first, []byte{0, 0}), "hello ", isInvalidFrame, "frame length 0 is shorter"},
		{"longest length, bad", long, "hello ", isInvalidFrame, "bad tag"},
		{"replayed frame", cat(first, first), "hello ", isInvalidFrame, "bad tag"},
		{"reordered frames", cat(good[len(first):], first), "", isInvalidFrame, "bad tag"},
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

// TestFrameSplitting checks frame sizes: a write of more than MaxPayload
// bytes becomes full frames and a rest, each its own Write call.
func TestFrameSplitting(t *testing.T) {
	w := newTestWriter(frameKey, 0)
	var rec callRecorder
	p := randomBytes(5, 2*MaxPayload+10)
	if n, err := w.write(&rec, p); n != len(p) || err != nil {
		t.Fatalf("write = %d, %v", n, err)
	}
	wantSizes := []int{MaxMessage, MaxMessage, 10 + TagSize}
	if len(rec.calls) != len(wantSizes) {
		t.Fatalf("%d Write calls, want %d", len(rec.calls), len(wantSizes))
	}
	for i, call := range rec.calls {
		if n := int(binary.BigEndian.Uint16(call)); n != wantSizes[i] || len(call) != lenSize+n {
			t.Errorf("frame %d: length %d in %d bytes, want %d", i, n, len(call), wantSizes[i])
		}
	}
	r := newTestReader(frameKey, 0)
	src := bytes.NewReader(bytes.Join(rec.calls, nil))
	got, err := io.ReadAll(readerFunc(func(b []byte) (int, error) { return r.read(src, b) }))
	if !errors.Is(err, io.ErrUnexpectedEOF) || !bytes.Equal(got, p) {
		t.Errorf("read back %d bytes, %v", len(got), err)
	}
}

// TestFrameReaderChunks reads the same stream through readers that return
// one byte at a time, half reads and whole reads, with buffers of several
// sizes, so that frames straddle reads and the buffer is compacted.
func TestFrameReaderChunks(t *testing.T) {
	var writes []string
	for _, n := range []int{1, 100, 5000, readAhead, MaxPayload, 3, MaxPayload + 1, 40000} {
		writes = append(writes, string(randomBytes(uint64(n), n)))
	}
	wire, w := wireOf(writes...)
	wire = cat(wire, endOf(w))
	want := strings.Join(writes, "")
	for _, src := range []struct {
		name string
		r    func() io.Reader
	}{
		{"whole", func() io.Reader { return bytes.NewReader(wire) }},
		{"bytes", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(wire)) }},
		{"halves", func() io.Reader { return iotest.HalfReader(bytes.NewReader(wire)) }},
	} {
		for _, size := range []int{1, 7, 4096, MaxPayload, 1 << 20} {
			r := newTestReader(frameKey, 0)
			s := src.r()
			var got []byte
			p := make([]byte, size)
			var err error
			for err == nil {
				var n int
				n, err = r.read(s, p)
				got = append(got, p[:n]...)
			}
			if err != io.EOF || string(got) != want {
				t.Errorf("%s/%d: read %d bytes, %v; want %d, EOF", src.name, size, len(got), err, len(want))
			}
		}
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// callRecorder records each Write call separately.
type callRecorder struct{ calls [][]byte }

func (r *callRecorder) Write(p []byte) (int, error) {
	r.calls = append(r.calls, bytes.Clone(p))
	return len(p), nil
}

// TestReadDeadlineMidFrame cuts a frame short with a read deadline; the
// next Read must finish it.
func TestReadDeadlineMidFrame(t *testing.T) {
	c, peer := rawConn(t)
	wire, _ := wireOf("hello")
	go peer.Write(wire[:5])
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := c.Read(make([]byte, 10)); n != 0 || !isTimeout(err) {
		t.Fatalf("Read = %d, %v; want a timeout", n, err)
	}
	c.SetReadDeadline(time.Time{})
	go peer.Write(wire[5:])
	p := make([]byte, 10)
	if n, err := c.Read(p); string(p[:n]) != "hello" || err != nil {
		t.Errorf("Read = %q, %v", p[:n], err)
	}
}

// TestWriteDeadline blocks a Write on a peer that does not read: a frame
// of which nothing went out is not counted, and the stream stays usable.
func TestWriteDeadline(t *testing.T) {
	c, peer := rawConn(t)
	c.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	if n, err := c.Write([]byte("lost")); n != 0 || !isTimeout(err) {
		t.Fatalf("Write = %d, %v; want 0 and a timeout", n, err)
	}
	c.SetWriteDeadline(time.Time{})
	r := newTestReader(frameKey, 0)
	go c.Write([]byte("kept"))
	p := make([]byte, 10)
	if n, err := r.read(peer, p); string(p[:n]) != "kept" || err != nil {
		t.Errorf("peer read %q, %v; want the retried frame", p[:n], err)
	}
}

func TestCloseSendsEnd(t *testing.T) {
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
	if err := client.CloseWrite(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("CloseWrite after Close = %v, want net.ErrClosed", err)
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

// TestHangUpWithoutEnd closes the raw conn under a Conn: the peer must
// see a truncated stream, not a clean end.
func TestHangUpWithoutEnd(t *testing.T) {
	client, server := mustHandshake(t, tcpPipe)
	client.Write([]byte("partial"))
	client.NetConn().Close()
	got, err := io.ReadAll(server)
	if string(got) != "partial" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("ReadAll = %q, %v; want the data, then io.ErrUnexpectedEOF", got, err)
	}
}

// TestCloseStuckPeer closes a conn whose peer never reads: the end of
// stream cannot go out, and Close must still return soon.
func TestCloseStuckPeer(t *testing.T) {
	noLeak(t)
	shortEnd(t)
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
	const writers, writes, size = 8, 10, 70000
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

func TestNonceExhausted(t *testing.T) {
	w := newTestWriter(frameKey, maxNonce)
	if _, err := w.write(io.Discard, []byte("last")); err != nil {
		t.Fatalf("write at the last nonce = %v", err)
	}
	if _, err := w.write(io.Discard, []byte("one too many")); !errors.Is(err, errNonces) {
		t.Errorf("write past the last nonce = %v, want errNonces", err)
	}
}
