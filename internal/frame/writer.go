package frame

import "io"

const (
	// batchPayload is how much payload one Write to the underlying conn
	// carries at least, in whole frames, when there is that much: 16 shs
	// frames, two noise frames. So a 64 KiB Write, the size io.Copy and
	// most bulk writers use, is one write to the conn even where it does
	// not fit one frame (noise frames carry 16 bytes less, and a second
	// write for them would be a syscall of its own). Fewer, larger writes
	// save syscalls; much larger ones would keep the reader waiting while
	// we seal.
	batchPayload = 64 << 10
	// smallBuf is the write buffer of a conn whose writes are small; the
	// first larger write grows it to a whole batch.
	smallBuf = 16 << 10
)

// Writer is the sending half of a [Conn]. Its zero value is not usable:
// call Init. It is not safe for concurrent use.
type Writer struct {
	f       *Format
	s       Sealer
	batch   int    // frames per Write to the underlying conn
	buf     []byte // the frames of the current batch; nil between Writes (pool.go)
	pending []byte // the unsent rest of a frame cut short by a deadline
	shut    bool   // end of stream sent
	err     error  // the stream is broken
}

// Init makes w seal frames of format f with s.
func (w *Writer) Init(f *Format, s Sealer) {
	w.f, w.s = f, s
	w.batch = (batchPayload + f.MaxPayload - 1) / f.MaxPayload
}

// Write seals p into frames and writes them to c, a batch of frames per
// c.Write. It returns how many bytes of p are committed: sent, or in a
// frame cut short whose rest is pending. An empty p sends nothing.
func (w *Writer) Write(c io.Writer, p []byte) (int, error) {
	defer w.release()
	if err := w.ready(c); err != nil {
		return 0, err
	}
	n := 0
	for len(p) > 0 {
		k, err := w.writeBatch(c, p)
		n += k
		if err != nil {
			return n, err
		}
		p = p[k:]
	}
	return n, nil
}

// End writes the end of stream to c, once. Later Writes fail.
func (w *Writer) End(c io.Writer) error {
	if w.shut {
		return nil
	}
	defer w.release()
	if err := w.ready(c); err != nil {
		return err
	}
	w.grow(w.f.maxFrame())
	buf, err := w.s.End(w.buf[:0])
	if err != nil {
		return err
	}
	w.buf = buf
	frames, err := w.send(c, buf, 1)
	if frames == 1 {
		w.shut = true
		if err != nil {
			w.err = err // the rest of the end of stream stays pending for good
		}
	}
	return err
}

// Shut reports whether the end of stream has been sent, or the stream is
// broken: whether End would send nothing.
func (w *Writer) Shut() bool { return w.shut || w.err != nil }

// ready reports whether frames can be sent, first sending what is left
// of a frame cut short.
func (w *Writer) ready(c io.Writer) error {
	if w.err != nil {
		return w.err
	}
	if w.shut {
		return w.f.ErrWriteShut
	}
	if len(w.pending) == 0 {
		return nil
	}
	m, err := c.Write(w.pending)
	w.pending = w.pending[m:]
	if err != nil && !isTimeout(err) {
		w.err = err
	}
	return err
}

// writeBatch seals the first batch of p into w.buf and sends it. It
// returns how many bytes of p it committed.
func (w *Writer) writeBatch(c io.Writer, p []byte) (int, error) {
	maxp := w.f.MaxPayload
	p = p[:min(len(p), w.batch*maxp)]
	frames := (len(p) + maxp - 1) / maxp
	w.grow(len(p) + frames*w.f.Overhead)
	buf := w.buf[:0]
	sealed := 0
	var sealErr error
	for sealed < len(p) {
		k := min(len(p)-sealed, maxp)
		if buf, sealErr = w.s.Seal(buf, p[sealed:sealed+k]); sealErr != nil {
			break
		}
		sealed += k
	}
	if sealed == 0 {
		return 0, sealErr
	}
	frames = (sealed + maxp - 1) / maxp
	sent, err := w.send(c, buf, frames)
	if err != nil {
		return min(sent*maxp, sealed), err
	}
	return sealed, sealErr
}

// grow makes w.buf hold at least n bytes: a small buffer for small
// writes, a whole batch once they are larger.
func (w *Writer) grow(n int) {
	if cap(w.buf) >= n {
		return
	}
	if n <= smallBuf {
		n = smallBuf
	} else {
		n = max(n, w.batch*w.f.maxFrame())
	}
	putBuf(w.buf)
	w.buf = getBuf(n)[:0]
}

// release gives buf back unless the rest of a frame cut short lies in it.
func (w *Writer) release() {
	if w.buf != nil && len(w.pending) == 0 {
		putBuf(w.buf)
		w.buf = nil
	}
}

// send writes frames, of which all but the last are of the largest size,
// with one c.Write. It returns how many of them are committed: sent, or
// cut short with their rest pending. The frames of which nothing was sent
// because of a deadline are taken back, so that the stream stays usable;
// any other error breaks the stream.
func (w *Writer) send(c io.Writer, buf []byte, frames int) (int, error) {
	m, err := c.Write(buf)
	if err == nil {
		return frames, nil
	}
	size := w.f.maxFrame()
	if !isTimeout(err) {
		w.err = err
		if m == len(buf) {
			return frames, err
		}
		return m / size, err
	}
	committed := min((m+size-1)/size, frames)
	w.pending = buf[m:min(committed*size, len(buf))]
	for range frames - committed {
		w.s.Unseal()
	}
	return committed, err
}
