package noise

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/f7d52a8e/multiserver/internal/frametest"

	"github.com/f7d52a8e/multiserver/internal/frame"
)

// frameKey is the key of the hand-made streams below.
var frameKey = [32]byte{1, 2, 3}

// rawConn returns a Conn that reads what the test writes to peer as raw
// frames, sealed with frameKey from nonce 0.
func rawConn(t *testing.T) (*Conn, net.Conn) {
	a, peer := frametest.MemPipe(t)
	return newConn(a, nil, nil, frameKey, frameKey), peer
}

// testWriter is the sending half of a Conn, for writing frames to any
// io.Writer.
type testWriter struct {
	frame.Writer
	s sealer
}

func newTestWriter(key [32]byte, n uint64) *testWriter {
	w := new(testWriter)
	w.s.init(key, n)
	w.Init(&format, &w.s)
	return w
}

func (w *testWriter) write(c io.Writer, p []byte) (int, error) { return w.Write(c, p) }
func (w *testWriter) end(c io.Writer) error                    { return w.End(c) }

// testReader is the receiving half of a Conn, for reading frames from any
// io.Reader.
type testReader struct {
	frame.Reader
	o opener
}

func newTestReader(key [32]byte, n uint64) *testReader {
	r := new(testReader)
	r.o.init(key, n)
	r.Init(&format, &r.o)
	return r
}

func (r *testReader) read(c io.Reader, p []byte) (int, error) { return r.Read(c, p) }

// wireOf returns the frames of each write, not yet with an end of
// stream, and the writer for more.
func wireOf(writes ...string) ([]byte, *testWriter) {
	w := newTestWriter(frameKey, 0)
	var b bytes.Buffer
	for _, s := range writes {
		w.write(&b, []byte(s))
	}
	return b.Bytes(), w
}

func endOf(w *testWriter) []byte {
	var b bytes.Buffer
	w.end(&b)
	return b.Bytes()
}

func TestFrameReaderErrors(t *testing.T) {
	good, w := wireOf("hello ", "world")
	end := endOf(w)
	first, _ := wireOf("hello ")
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-1] ^= 1 // the second frame's tag
	corruptLen := bytes.Clone(good)
	corruptLen[len(first)+1]-- // the second frame's length, one short
	long := frametest.Cat(first, []byte{0xff, 0xff}, make([]byte, MaxMessage))
	tests := []struct {
		name  string
		wire  []byte
		want  string // bytes delivered before the error
		check func(error) bool
		msg   string
	}{
		{"end", frametest.Cat(good, end), "hello world", isEOF, "EOF"},
		{"end then junk", frametest.Cat(good, end, []byte{1, 2, 3}), "hello world", isEOF, "EOF"},
		{"no end", good, "hello world", isUnexpectedEOF, "without end of stream"},
		{"truncated frame", good[:len(good)-2], "hello ", isUnexpectedEOF, "without end of stream"},
		{"truncated length", good[:len(first)+1], "hello ", isUnexpectedEOF, "without end of stream"},
		{"corrupt tag", corrupt, "hello ", isInvalidFrame, "bad tag"},
		{"corrupt length", frametest.Cat(corruptLen, end), "hello ", isInvalidFrame, "bad tag"},
		{"short length", frametest.Cat(first, []byte{0, 15}, make([]byte, 15)), "hello ", isInvalidFrame, "frame length 15 is shorter"},
		{"zero length", frametest.Cat(first, []byte{0, 0}), "hello ", isInvalidFrame, "frame length 0 is shorter"},
		{"longest length, bad", long, "hello ", isInvalidFrame, "bad tag"},
		{"replayed frame", frametest.Cat(first, first), "hello ", isInvalidFrame, "bad tag"},
		{"reordered frames", frametest.Cat(good[len(first):], first), "", isInvalidFrame, "bad tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frametest.NoLeak(t)
			c, peer := rawConn(t)
			go func() { peer.Write(tt.wire); peer.Close() }()
			got, err := frametest.ReadAll(c)
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

func callSizes(calls [][]byte) []int {
	sizes := make([]int, len(calls))
	for i, c := range calls {
		sizes[i] = len(c)
	}
	return sizes
}

func isEOF(err error) bool           { return err == io.EOF }
func isUnexpectedEOF(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }
func isInvalidFrame(err error) bool  { return errors.Is(err, ErrInvalidFrame) }

// TestFrameSplitting checks frame sizes: a write of more than MaxPayload
// bytes becomes full frames and a rest, two frames (at least 64 KiB of
// payload) to a Write call.
func TestFrameSplitting(t *testing.T) {
	w := newTestWriter(frameKey, 0)
	var rec frametest.CallRecorder
	p := frametest.RandomBytes(5, 2*MaxPayload+10)
	if n, err := w.write(&rec, p); n != len(p) || err != nil {
		t.Fatalf("write = %d, %v", n, err)
	}
	if want := []int{2 * (lenSize + MaxMessage), lenSize + 10 + TagSize}; len(rec.Calls) != len(want) ||
		len(rec.Calls[0]) != want[0] || len(rec.Calls[1]) != want[1] {
		t.Fatalf("Write calls of %d bytes, want %v", callSizes(rec.Calls), want)
	}
	wire := bytes.Join(rec.Calls, nil)
	for i, want := range []int{MaxMessage, MaxMessage, 10 + TagSize} {
		n := int(binary.BigEndian.Uint16(wire))
		if n != want || len(wire) < lenSize+n {
			t.Fatalf("frame %d: length %d, want %d", i, n, want)
		}
		wire = wire[lenSize+n:]
	}
	r := newTestReader(frameKey, 0)
	src := bytes.NewReader(bytes.Join(rec.Calls, nil))
	got, err := io.ReadAll(frametest.ReaderFunc(func(b []byte) (int, error) { return r.read(src, b) }))
	if !errors.Is(err, io.ErrUnexpectedEOF) || !bytes.Equal(got, p) {
		t.Errorf("read back %d bytes, %v", len(got), err)
	}
}

// TestFrameReaderChunks reads the same stream through readers that return
// one byte at a time, half reads and whole reads, with buffers of several
// sizes, so that frames straddle reads and the buffer is compacted.
func TestFrameReaderChunks(t *testing.T) {
	var writes []string
	for _, n := range []int{1, 100, 5000, 16 << 10, 64 << 10, MaxPayload, 3, MaxPayload + 1, 40000} {
		writes = append(writes, string(frametest.RandomBytes(uint64(n), n)))
	}
	wire, w := wireOf(writes...)
	wire = frametest.Cat(wire, endOf(w))
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

func TestNonceExhausted(t *testing.T) {
	w := newTestWriter(frameKey, maxNonce)
	if _, err := w.write(io.Discard, []byte("last")); err != nil {
		t.Fatalf("write at the last nonce = %v", err)
	}
	if _, err := w.write(io.Discard, []byte("one too many")); !errors.Is(err, errNonces) {
		t.Errorf("write past the last nonce = %v, want errNonces", err)
	}
}

func TestConn(t *testing.T) {
	frametest.TestConn(t, frametest.Transform{
		Handshake: func(ctx context.Context, c, s net.Conn) (net.Conn, net.Conn, error) {
			cr, sr := runHandshake(ctx, c, s, testConfig(1), testConfig(2), pub(testKey(2)))
			if err := errors.Join(cr.err, sr.err); err != nil {
				return nil, nil, err
			}
			return cr.conn, sr.conn, nil
		},
		Wrap:       func(c net.Conn) net.Conn { return newConn(c, nil, nil, frameKey, frameKey) },
		EndTimeout: &endTimeout,
	})
}
