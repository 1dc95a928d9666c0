package frame

import (
	"errors"
	"io"
)

const (
	// readAhead is how far past the start of the frame it needs the
	// reader may read, to take many small frames with one read. Past a
	// large frame it reads only the next header, so that the next frame
	// starts at the front of the buffer and nothing large is moved.
	readAhead = 64 << 10
	// smallRead is the first buffer from the pool. A read that fills it
	// tells of a bulk stream, and grows it to readAhead or a whole frame.
	smallRead = 16 << 10
	// idleRead is the size of the array in the Reader that a read starts
	// in when nothing is buffered. A conn that waits for its next frame,
	// as most conns of a busy server do most of the time, so holds no
	// buffer from the pool; small frames are read and opened in it, and a
	// read that fills it moves to a pool buffer at once.
	idleRead = 512
)

// Reader is the receiving half of a [Conn]. Its zero value is not usable:
// call Init. It is not safe for concurrent use.
type Reader struct {
	f          *Format
	o          Opener
	buf        []byte // nil while nothing is buffered; else idle[:] or from the pool (pool.go)
	idle       [idleRead]byte
	grown      int    // the size the last pool buffer had, to take again
	start, end int    // read from the conn but not opened: buf[start:end]
	size       int    // the size of the frame at start, once known; else 0
	plain      []byte // opened but not yet returned, within buf
	err        error  // sticky: io.EOF after the end of stream, or a broken stream
}

// Init makes r open frames of format f with o.
func (r *Reader) Init(f *Format, o Opener) { r.f, r.o = f, o }

// Read reads the payload of the next frames from c into p. It reads from
// c only when no frame is whole in its buffer, and then until one is; so
// it returns data or an error, and every frame that arrived whole is
// returned before any later error. It returns io.EOF after the end of
// stream.
func (r *Reader) Read(c io.Reader, p []byte) (int, error) {
	n, err := r.read(c, p)
	r.release()
	return n, err
}

func (r *Reader) read(c io.Reader, p []byte) (int, error) {
	if len(r.plain) > 0 {
		n := copy(p, r.plain)
		r.plain = r.plain[n:]
		return n, nil
	}
	if r.err != nil {
		return 0, r.err
	}
	n := 0
	for n < len(p) && len(r.plain) == 0 {
		whole, err := r.whole()
		if err == nil && !whole {
			if n > 0 {
				break // return what we have rather than wait
			}
			err = r.fill(c)
		}
		if err == nil {
			var k int
			k, err = r.open(p[n:])
			n += k
		}
		if err != nil {
			if n > 0 {
				return n, nil // the error is sticky, or comes again
			}
			return 0, err
		}
	}
	return n, nil
}

// WriteTo writes the payload of the frames it reads from c to w, until
// the end of stream, when it returns nil as io.Copy does. Each frame is
// opened where it lies and written with one w.Write: io.Copy(w, conn)
// takes this path, which saves a copy of every byte through its buffer.
func (r *Reader) WriteTo(c io.Reader, w io.Writer) (int64, error) {
	defer r.release()
	var n int64
	for {
		if len(r.plain) > 0 {
			m, err := w.Write(r.plain)
			n += int64(m)
			r.plain = r.plain[m:]
			if err != nil {
				return n, err
			}
			continue
		}
		err := r.err
		if err == nil {
			var whole bool
			if whole, err = r.whole(); err == nil && !whole {
				err = r.fill(c)
			}
		}
		if err == nil {
			_, err = r.open(nil) // leaves the payload in r.plain
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// whole reports whether the frame at start is whole in buf, learning its
// size from its header once that is.
func (r *Reader) whole() (bool, error) {
	if r.size == 0 {
		if r.end-r.start < r.f.HeaderSize {
			return false, nil
		}
		size, err := r.o.FrameSize(r.buf[r.start : r.start+r.f.HeaderSize])
		if err != nil {
			r.err = err
			return false, err
		}
		r.size = size
	}
	return r.end-r.start >= r.size, nil
}

// open opens the whole frame at start: straight into p if its payload
// fits, else where the Opener likes, copying what fits into p and keeping
// the rest in r.plain.
func (r *Reader) open(p []byte) (int, error) {
	frame := r.buf[r.start : r.start+r.size]
	r.start += r.size
	r.size = 0
	if r.start == r.end {
		r.start, r.end = 0, 0
	}
	direct := len(p) >= len(frame)-r.f.Overhead
	var dst []byte
	if direct {
		dst = p[:0]
	}
	out, err := r.o.Open(dst, frame)
	if err != nil {
		r.err = err
		return 0, err
	}
	if direct {
		return len(out), nil
	}
	n := copy(p, out)
	r.plain = out[n:]
	return n, nil
}

// fill reads from c until the frame at start is whole. A deadline leaves
// the progress in buf for the next call; the end of c breaks the stream.
func (r *Reader) fill(c io.Reader) error {
	for {
		need := r.size
		if need == 0 {
			need = r.f.HeaderSize
		}
		if r.start+need > len(r.buf) {
			r.room(need)
		}
		limit := min(len(r.buf), r.start+max(need+r.f.HeaderSize, readAhead))
		m, err := c.Read(r.buf[r.end:limit])
		r.end += m
		if r.end == limit && len(r.buf) < r.full() {
			r.room(len(r.buf) + 1) // a step larger
		}
		whole, werr := r.whole()
		switch {
		case werr != nil:
			return werr
		case whole:
			return nil // an error comes again with the next read
		case err == nil:
		case errors.Is(err, io.EOF):
			r.err = r.f.ErrNoEnd
			return r.err
		default:
			return err
		}
	}
}

// full is the size of a grown buffer: readAhead, or a whole frame and
// the next header.
func (r *Reader) full() int { return max(readAhead, r.f.maxFrame()+r.f.HeaderSize) }

// room moves the unread bytes to the front of buf, first growing buf if
// it holds fewer than need bytes: from nothing to the idle array, from
// there to smallRead, then to full; and after a release from the idle
// array straight to the size the pool buffer had.
func (r *Reader) room(need int) {
	if need <= len(r.buf) {
		r.end = copy(r.buf, r.buf[r.start:r.end])
		r.start = 0
		return
	}
	if r.buf == nil && need <= len(r.idle) {
		r.buf = r.idle[:]
		return
	}
	size := r.full()
	if !r.pooled() {
		size = max(need, min(smallRead, size), r.grown)
	}
	buf := getBuf(size)
	r.grown = size
	r.end = copy(buf, r.buf[r.start:r.end])
	r.putBuf()
	r.buf, r.start = buf, 0
}

// pooled reports whether buf came from the pool.
func (r *Reader) pooled() bool { return len(r.buf) > 0 && &r.buf[0] != &r.idle[0] }

// putBuf gives buf back to the pool if it came from there.
func (r *Reader) putBuf() {
	if r.pooled() {
		putBuf(r.buf)
	}
}

// release lets go of buf when it holds nothing: no bytes read and not
// opened, no payload opened and not returned.
func (r *Reader) release() {
	if r.buf != nil && r.start == r.end && len(r.plain) == 0 {
		r.putBuf()
		r.buf, r.start, r.end = nil, 0, 0
	}
}

// Reset discards what r has buffered and its error, keeping its buffer,
// so that r reads a new stream; the Opener's owner resets the Opener.
func (r *Reader) Reset() {
	r.start, r.end, r.size, r.plain, r.err = 0, 0, 0, nil, nil
}
