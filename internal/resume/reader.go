package resume

import (
	"net"
	"sync"
	"time"
)

// bigBufs holds the buffers a reader takes while frames flow.
var bigBufs = sync.Pool{New: func() any { return new([64 << 10]byte) }}

// reader decodes frames from a carrier. While the carrier is idle it
// waits in a 512-byte array of its own; a frame that does not fit moves
// it to a 64 KiB pool buffer, which it gives back once it has decoded all
// it read. Every read from the carrier has the keepalive timeout as its
// deadline.
type reader struct {
	conn    net.Conn
	timeout time.Duration
	small   [512]byte
	big     *[64 << 10]byte
	buf     []byte
	lo, hi  int
	err     error
}

func (r *reader) next() (frame, error) {
	if r.buf == nil {
		r.buf = r.small[:]
	}
	for {
		f, n, err := decode(r.buf[r.lo:r.hi])
		if err != nil || n > 0 {
			r.lo += n
			return f, err
		}
		if r.err != nil {
			return f, r.err
		}
		switch {
		case r.lo == r.hi:
			r.lo, r.hi = 0, 0
			r.release()
		case r.big == nil && r.hi == len(r.buf):
			r.big = bigBufs.Get().(*[64 << 10]byte)
			r.hi = copy(r.big[:], r.buf[r.lo:r.hi])
			r.lo, r.buf = 0, r.big[:]
		case r.big != nil && len(r.buf)-r.lo < maxFrame:
			r.hi = copy(r.buf, r.buf[r.lo:r.hi])
			r.lo = 0
		}
		r.conn.SetReadDeadline(time.Now().Add(r.timeout))
		n, err = r.conn.Read(r.buf[r.hi:])
		r.hi += n
		r.err = err
	}
}

// release gives the big buffer back.
func (r *reader) release() {
	if r.big != nil {
		bigBufs.Put(r.big)
		r.big, r.buf = nil, r.small[:]
	}
}
