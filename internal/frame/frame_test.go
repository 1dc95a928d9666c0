package frame

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"testing/iotest"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The test codec frames a payload as
//
//	uint16BE(len) || payload XOR n || uint16BE(n)
//
// with n the frame's number, so that a lost, repeated or reordered frame
// fails to open. An empty payload is the end of stream.
var (
	errWriteShut = errors.New("test: write after end")
	errNoEnd     = fmt.Errorf("test: no end: %w", io.ErrUnexpectedEOF)
	errBadFrame  = errors.New("test: bad frame")
	errFull      = errors.New("test: no more frames")
)

func testFormat(maxPayload int) *Format {
	return &Format{MaxPayload: maxPayload, Overhead: 4, HeaderSize: 2, ErrWriteShut: errWriteShut, ErrNoEnd: errNoEnd}
}

type testSealer struct {
	n, limit uint16 // frames sealed; Seal fails at limit, if not 0
}

func (s *testSealer) Seal(dst, payload []byte) ([]byte, error) {
	if s.limit != 0 && s.n == s.limit {
		return dst, errFull
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(payload)))
	for _, b := range payload {
		dst = append(dst, b^byte(s.n))
	}
	dst = binary.BigEndian.AppendUint16(dst, s.n)
	s.n++
	return dst, nil
}

func (s *testSealer) End(dst []byte) ([]byte, error) { return s.Seal(dst, nil) }
func (s *testSealer) Unseal()                        { s.n-- }

type testOpener struct{ n uint16 }

func (o *testOpener) FrameSize(hdr []byte) (int, error) {
	return 4 + int(binary.BigEndian.Uint16(hdr)), nil
}

func (o *testOpener) Open(dst, frame []byte) ([]byte, error) {
	body := frame[2 : len(frame)-2]
	if binary.BigEndian.Uint16(frame[len(frame)-2:]) != o.n {
		return nil, errBadFrame
	}
	if dst == nil {
		dst = body[:0] // in place
	}
	for _, b := range body {
		dst = append(dst, b^byte(o.n))
	}
	o.n++
	if len(body) == 0 {
		return nil, io.EOF
	}
	return dst, nil
}

func newWriter(f *Format) (*Writer, *testSealer) {
	var w Writer
	s := new(testSealer)
	w.Init(f, s)
	return &w, s
}

func newReader(f *Format) *Reader {
	var r Reader
	r.Init(f, new(testOpener))
	return &r
}

// callRecorder records each Write call separately.
type callRecorder struct{ calls [][]byte }

func (r *callRecorder) Write(p []byte) (int, error) {
	r.calls = append(r.calls, bytes.Clone(p))
	return len(p), nil
}

func (r *callRecorder) all() []byte { return bytes.Join(r.calls, nil) }

func pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i * 7 / 3)
	}
	return p
}

// readAll reads the stream in wire through a Reader of format f, with
// reads of size bytes from a source that returns chunk bytes at a time.
func readAll(f *Format, wire []byte, size int, src func(io.Reader) io.Reader) ([]byte, error) {
	r := newReader(f)
	s := src(bytes.NewReader(wire))
	var got []byte
	p := make([]byte, size)
	for {
		n, err := r.Read(s, p)
		if n == 0 && err == nil {
			return got, errors.New("Read returned 0, nil")
		}
		got = append(got, p[:n]...)
		if err != nil {
			return got, err
		}
	}
}

// TestWriterBatches checks how writes become frames and Write calls: as
// many whole frames per call as it takes to carry 64 KiB of payload, so
// that a 64 KiB write is one call even where frames carry a little less,
// and nothing for an empty write.
func TestWriterBatches(t *testing.T) {
	tests := []struct {
		maxPayload int
		writes     []int
		calls      []int // frames in each Write call
	}{
		{4096, []int{100 << 10}, []int{16, 9}},
		{4096, []int{1, 4096, 4097}, []int{1, 1, 2}},
		{4096, []int{0, 5}, []int{1}},
		{4096, []int{64 << 10, 64<<10 + 1}, []int{16, 16, 1}},
		{65519, []int{64 << 10}, []int{2}},
		{65519, []int{1 << 20}, []int{2, 2, 2, 2, 2, 2, 2, 2, 1}},
		{40000, []int{100000}, []int{2, 1}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.maxPayload, tt.writes), func(t *testing.T) {
			f := testFormat(tt.maxPayload)
			w, _ := newWriter(f)
			var rec callRecorder
			var want []byte
			for _, n := range tt.writes {
				p := pattern(n)
				if m, err := w.Write(&rec, p); m != n || err != nil {
					t.Fatalf("Write(%d bytes) = %d, %v", n, m, err)
				}
				want = append(want, p...)
			}
			if len(rec.calls) != len(tt.calls) {
				t.Fatalf("%d Write calls, want %d", len(rec.calls), len(tt.calls))
			}
			for i, call := range rec.calls {
				frames := 0
				for len(call) > 0 {
					call = call[4+int(binary.BigEndian.Uint16(call)):]
					frames++
				}
				if frames != tt.calls[i] {
					t.Errorf("call %d has %d frames, want %d", i, frames, tt.calls[i])
				}
			}
			got, err := readAll(f, rec.all(), 1<<20, func(r io.Reader) io.Reader { return r })
			if !errors.Is(err, errNoEnd) || !bytes.Equal(got, want) {
				t.Errorf("read back %d bytes, %v; want %d, errNoEnd", len(got), err, len(want))
			}
		})
	}
}

// timeoutWriter takes up to n bytes, then fails as a deadline does.
type timeoutWriter struct {
	n   int
	got []byte
}

func (w *timeoutWriter) Write(p []byte) (int, error) {
	k := min(len(p), w.n)
	w.got = append(w.got, p[:k]...)
	w.n -= k
	if k < len(p) {
		return k, os.ErrDeadlineExceeded
	}
	return k, nil
}

// TestWriterDeadline cuts a batch of frames short at every kind of place:
// a frame cut short counts and its rest goes out first thing next time;
// frames not begun are taken back, nonces included, so that the stream
// goes on without a gap.
func TestWriterDeadline(t *testing.T) {
	f := testFormat(100) // frames of 104 bytes
	p := pattern(450)    // 5 frames in one batch
	for _, cut := range []int{0, 1, 103, 104, 105, 300, 415, 416, 457} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			w, s := newWriter(f)
			tw := &timeoutWriter{n: cut}
			n, err := w.Write(tw, p)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Write = %d, %v; want a timeout", n, err)
			}
			frames := (cut + 103) / 104
			if want := min(frames*100, len(p)); n != want {
				t.Errorf("Write committed %d bytes, want %d", n, want)
			}
			if int(s.n) != frames {
				t.Errorf("sealer at frame %d, want %d", s.n, frames)
			}
			// The retry, as io.Copy or a caller would, then more data.
			tw.n = 1 << 20
			m, err := w.Write(tw, p[n:])
			if err != nil || m != len(p)-n {
				t.Fatalf("second Write = %d, %v", m, err)
			}
			if err := w.End(tw); err != nil {
				t.Fatal(err)
			}
			got, err := readAll(f, tw.got, 7, iotest.HalfReader)
			if err != io.EOF || !bytes.Equal(got, p) {
				t.Errorf("read back %d bytes, %v; want %d, EOF", len(got), err, len(p))
			}
		})
	}
}

// errWriter fails every write after n bytes with err.
type errWriter struct {
	n   int
	err error
}

func (w *errWriter) Write(p []byte) (int, error) {
	k := min(len(p), w.n)
	w.n -= k
	if k < len(p) {
		return k, w.err
	}
	return k, nil
}

func TestWriterBroken(t *testing.T) {
	f := testFormat(100)
	w, _ := newWriter(f)
	broken := errors.New("broken pipe")
	n, err := w.Write(&errWriter{n: 250, err: broken}, pattern(450))
	if err != broken || n != 200 {
		t.Errorf("Write = %d, %v; want 200 bytes of whole frames, %v", n, err, broken)
	}
	if n, err := w.Write(io.Discard, []byte("x")); n != 0 || err != broken {
		t.Errorf("Write after = %d, %v; want the same error", n, err)
	}
	if err := w.End(io.Discard); err != broken {
		t.Errorf("End after = %v; want the same error", err)
	}
	if !w.Shut() {
		t.Error("Shut = false for a broken stream")
	}
}

func TestWriterSealError(t *testing.T) {
	f := testFormat(100)
	w, s := newWriter(f)
	s.limit = 3
	var rec callRecorder
	n, err := w.Write(&rec, pattern(450))
	if err != errFull || n != 300 {
		t.Errorf("Write = %d, %v; want the 300 bytes sealed, errFull", n, err)
	}
	if got, _ := readAll(f, rec.all(), 1000, func(r io.Reader) io.Reader { return r }); !bytes.Equal(got, pattern(300)) {
		t.Errorf("the sealed frames did not go out: read %d bytes", len(got))
	}
	if n, err := w.Write(&rec, []byte("x")); n != 0 || err != errFull {
		t.Errorf("Write after = %d, %v", n, err)
	}
}

func TestWriterEnd(t *testing.T) {
	f := testFormat(100)
	w, s := newWriter(f)
	tw := &timeoutWriter{}
	if err := w.End(tw); !errors.Is(err, os.ErrDeadlineExceeded) || w.Shut() || s.n != 0 {
		t.Fatalf("End with nothing sent = %v, Shut %v, sealer at %d; want a timeout, the end taken back", err, w.Shut(), s.n)
	}
	tw.n = 2
	if err := w.End(tw); !errors.Is(err, os.ErrDeadlineExceeded) || !w.Shut() {
		t.Fatalf("End cut short = %v, Shut %v; want a timeout, shut", err, w.Shut())
	}
	if err := w.End(tw); err != nil {
		t.Errorf("End again = %v, want nil", err)
	}
	if _, err := w.Write(tw, []byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Write after a cut end = %v, want the sticky timeout", err)
	}
	w, _ = newWriter(f)
	w.End(io.Discard)
	if _, err := w.Write(io.Discard, []byte("x")); err != errWriteShut {
		t.Errorf("Write after End = %v, want %v", err, errWriteShut)
	}
}

// stream returns the wire of writes of the given sizes and the data.
func stream(f *Format, sizes ...int) (wire, data []byte) {
	w, _ := newWriter(f)
	var rec callRecorder
	for i, n := range sizes {
		p := pattern(n + i)[i:]
		w.Write(&rec, p)
		data = append(data, p...)
	}
	w.End(&rec)
	return rec.all(), data
}

// TestReaderChunks reads streams of small and large frames through
// sources that return a byte at a time, half of what is asked, or
// everything, with buffers of many sizes: frames straddle reads, the
// buffer grows and compacts, and frames open into p or in place.
func TestReaderChunks(t *testing.T) {
	sources := map[string]func(io.Reader) io.Reader{
		"whole": func(r io.Reader) io.Reader { return r },
		"bytes": iotest.OneByteReader,
		"half":  iotest.HalfReader,
	}
	for _, maxPayload := range []int{10, 4096, 65519} {
		f := testFormat(maxPayload)
		wire, data := stream(f, 1, 100, 5000, 16<<10, 70000, 3, 200<<10, 40000)
		for name, src := range sources {
			for _, size := range []int{1, 7, 4096, 65519, 1 << 20} {
				if name == "bytes" && size < 4096 && maxPayload != 4096 {
					continue // slow, and covered by the others
				}
				got, err := readAll(f, wire, size, src)
				if err != io.EOF || !bytes.Equal(got, data) {
					t.Errorf("max %d, %s, reads of %d: read %d bytes, %v; want %d, EOF", maxPayload, name, size, len(got), err, len(data))
				}
			}
		}
	}
}

// TestReaderErrors checks that the frames before a bad one are all
// delivered, and that the error then sticks.
func TestReaderErrors(t *testing.T) {
	f := testFormat(4096)
	wire, data := stream(f, 10000, 20)
	end := len(wire) - 4
	bad := bytes.Clone(wire)
	bad[len(bad)-5] ^= 1 // the last data frame's number
	tests := []struct {
		name string
		wire []byte
		want []byte
		err  error
	}{
		{"end", wire, data, io.EOF},
		{"no end", wire[:end], data, errNoEnd},
		{"cut frame", wire[:end-1], data[:10000], errNoEnd},
		{"cut header", wire[:4100+4100+1], data[:8192], errNoEnd},
		{"bad frame", bad, data[:10000], errBadFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, size := range []int{3, 1 << 20} {
				r := newReader(f)
				src := bytes.NewReader(tt.wire)
				var got []byte
				p := make([]byte, size)
				var err error
				for err == nil {
					var n int
					n, err = r.Read(src, p)
					got = append(got, p[:n]...)
				}
				if err != tt.err || !bytes.Equal(got, tt.want) {
					t.Errorf("reads of %d: %d bytes, %v; want %d, %v", size, len(got), err, len(tt.want), tt.err)
				}
				if _, err2 := r.Read(src, p); err2 != err {
					t.Errorf("reads of %d: next Read = %v, want the same %v", size, err2, err)
				}
			}
		})
	}
}

// TestReaderDeadline stops a source mid-frame with a timeout: the Read
// fails, and the next one goes on from where it stopped.
func TestReaderDeadline(t *testing.T) {
	f := testFormat(4096)
	wire, data := stream(f, 5000)
	for _, cut := range []int{1, 2, 3, 4099, 4100, 4101, len(wire) - 1} {
		r := newReader(f)
		src := io.MultiReader(bytes.NewReader(wire[:cut]), new(timeoutOnce), bytes.NewReader(wire[cut:]))
		var got []byte
		p := make([]byte, 1<<20)
		timeouts := 0
		for {
			n, err := r.Read(src, p)
			got = append(got, p[:n]...)
			if err == iotest.ErrTimeout {
				timeouts++
				continue
			}
			if err != nil {
				if err != io.EOF || !bytes.Equal(got, data) || timeouts != 1 {
					t.Errorf("cut at %d: read %d bytes, %v, %d timeouts", cut, len(got), err, timeouts)
				}
				break
			}
		}
	}
}

// timeoutOnce fails its first Read as a deadline does, and is empty.
type timeoutOnce struct{ done bool }

func (r *timeoutOnce) Read(p []byte) (int, error) {
	if r.done {
		return 0, io.EOF
	}
	r.done = true
	return 0, iotest.ErrTimeout
}

func TestReaderEmptyRead(t *testing.T) {
	f := testFormat(4096)
	r := newReader(f)
	if n, err := r.Read(iotest.ErrReader(errors.New("must not read")), nil); n != 0 || err != nil {
		t.Errorf("Read(nil) = %d, %v", n, err)
	}
}

func TestReaderReset(t *testing.T) {
	f := testFormat(4096)
	wire, data := stream(f, 100)
	var r Reader
	o := new(testOpener)
	r.Init(f, o)
	for range 2 {
		got, err := io.ReadAll(readerFunc(func(p []byte) (int, error) { return r.Read(bytes.NewReader(wire), p) }))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read %d bytes, %v", len(got), err)
		}
		r.Reset()
		o.n = 0
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func TestWriteTo(t *testing.T) {
	for _, maxPayload := range []int{10, 4096, 65519} {
		f := testFormat(maxPayload)
		wire, data := stream(f, 1, 100000, 5, 70000)
		for _, src := range []func(io.Reader) io.Reader{iotest.HalfReader, func(r io.Reader) io.Reader { return r }} {
			r := newReader(f)
			var out callRecorder
			n, err := r.WriteTo(src(bytes.NewReader(wire)), &out)
			if err != nil || n != int64(len(data)) || !bytes.Equal(out.all(), data) {
				t.Errorf("max %d: WriteTo = %d, %v; wrote %d bytes, want %d", maxPayload, n, err, len(out.all()), len(data))
			}
			if n, err := r.WriteTo(bytes.NewReader(nil), &out); n != 0 || err != nil {
				t.Errorf("WriteTo after the end = %d, %v", n, err)
			}
		}
	}
}

func TestWriteToErrors(t *testing.T) {
	f := testFormat(4096)
	wire, data := stream(f, 10000)
	t.Run("no end", func(t *testing.T) {
		r := newReader(f)
		var out bytes.Buffer
		n, err := r.WriteTo(bytes.NewReader(wire[:len(wire)-4]), &out)
		if !errors.Is(err, io.ErrUnexpectedEOF) || n != int64(len(data)) || !bytes.Equal(out.Bytes(), data) {
			t.Errorf("WriteTo = %d, %v", n, err)
		}
	})
	t.Run("writer fails", func(t *testing.T) {
		r := newReader(f)
		failed := errors.New("disk full")
		n, err := r.WriteTo(bytes.NewReader(wire), &errWriter{n: 5000, err: failed})
		if err != failed || n != 5000 {
			t.Fatalf("WriteTo = %d, %v; want 5000, %v", n, err, failed)
		}
		// What was opened but not written is read next.
		rest, err := io.ReadAll(readerFunc(func(p []byte) (int, error) { return r.Read(bytes.NewReader(wire), p) }))
		if err != nil || !bytes.Equal(rest, data[5000:]) {
			t.Errorf("read %d bytes after, %v; want the other %d", len(rest), err, len(data)-5000)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		r := newReader(f)
		var out bytes.Buffer
		src := io.MultiReader(bytes.NewReader(wire[:5000]), new(timeoutOnce), bytes.NewReader(wire[5000:]))
		n, err := r.WriteTo(src, &out)
		if err != iotest.ErrTimeout || n != 4096 {
			t.Fatalf("WriteTo = %d, %v; want the first frame, a timeout", n, err)
		}
		if _, err := r.WriteTo(src, &out); err != nil || !bytes.Equal(out.Bytes(), data) {
			t.Errorf("second WriteTo: %v, %d bytes in all", err, out.Len())
		}
	})
}

// TestIdleHoldsNoBuffers: once a Writer has sent all it was given and a
// Reader has returned all it read, neither keeps a buffer, so idle conns
// cost no buffer memory; a Reader with payload left to return keeps its.
func TestIdleHoldsNoBuffers(t *testing.T) {
	f := testFormat(4096)
	w, _ := newWriter(f)
	var wire bytes.Buffer
	data := pattern(100 << 10)
	if _, err := w.Write(&wire, data); err != nil {
		t.Fatal(err)
	}
	if w.buf != nil {
		t.Errorf("Writer keeps a %d-byte buffer after a complete Write", cap(w.buf))
	}

	r := newReader(f)
	small := make([]byte, 10)
	if n, err := r.Read(&wire, small); err != nil || n != len(small) {
		t.Fatalf("Read = %d, %v", n, err)
	}
	if r.buf == nil {
		t.Fatal("Reader dropped its buffer with payload still to return")
	}
	got := append([]byte(nil), small...)
	p := make([]byte, 1<<20)
	for len(got) < len(data) {
		n, err := r.Read(&wire, p)
		if err != nil {
			t.Fatalf("Read after %d bytes: %v", len(got), err)
		}
		got = append(got, p[:n]...)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("read back other bytes")
	}
	if r.buf != nil {
		t.Errorf("Reader keeps a %d-byte buffer with nothing buffered", cap(r.buf))
	}
}

// readSizes is an io.Reader that records the size of every read. It
// returns its chunks one at a time, as a conn returns what arrived.
type readSizes struct {
	chunks [][]byte
	sizes  []int
}

func (s *readSizes) Read(p []byte) (int, error) {
	s.sizes = append(s.sizes, len(p))
	if len(s.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.chunks[0])
	if s.chunks[0] = s.chunks[0][n:]; len(s.chunks[0]) == 0 {
		s.chunks = s.chunks[1:]
	}
	return n, nil
}

// TestIdleReadsSmall: a Read that has nothing buffered waits for the next
// frame in the Reader's own small array, so an idle conn holds no pool
// buffer even while a Read is blocked; small frames never take one, and a
// bulk stream moves to one after its first read.
func TestIdleReadsSmall(t *testing.T) {
	f := testFormat(4096)
	w, _ := newWriter(f)
	src := new(readSizes)
	var want []byte
	for i := range 50 {
		msg := pattern(100 + i)
		want = append(want, msg...)
		var frame bytes.Buffer
		if _, err := w.Write(&frame, msg); err != nil {
			t.Fatal(err)
		}
		src.chunks = append(src.chunks, frame.Bytes())
	}
	r := newReader(f)
	readBack(t, r, src, want, 200)
	if r.grown != 0 {
		t.Errorf("small frames took a %d-byte pool buffer", r.grown)
	}
	for i, size := range src.sizes {
		if size > idleRead {
			t.Fatalf("read %d asked for %d bytes; want at most %d", i, size, idleRead)
		}
	}

	var wire bytes.Buffer
	bulk := pattern(100 << 10)
	if _, err := w.Write(&wire, bulk); err != nil {
		t.Fatal(err)
	}
	src.chunks, src.sizes = [][]byte{wire.Bytes()}, nil
	readBack(t, r, src, bulk, 64<<10)
	if src.sizes[0] > idleRead || r.grown == 0 {
		t.Errorf("bulk reads: the first asked for %d bytes, pool buffer %d bytes; want at most %d, then a pool buffer", src.sizes[0], r.grown, idleRead)
	}
	if r.buf != nil {
		t.Errorf("Reader keeps a %d-byte buffer with nothing buffered", cap(r.buf))
	}
}

// readBack reads len(want) bytes from src through r, size bytes at most
// per Read, and checks that they are want.
func readBack(t *testing.T, r *Reader, src io.Reader, want []byte, size int) {
	t.Helper()
	var got []byte
	p := make([]byte, size)
	for len(got) < len(want) {
		n, err := r.Read(src, p)
		if err != nil {
			t.Fatalf("Read after %d bytes: %v", len(got), err)
		}
		got = append(got, p[:n]...)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("read back other bytes")
	}
}
