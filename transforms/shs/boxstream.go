package shs

import (
	"encoding/binary"
	"errors"
	"io"

	"golang.org/x/crypto/nacl/secretbox"
)

// Box stream framing (pull-box-stream). Each frame is
//
//	header: secretbox(uint16BE(len) || body MAC[16], nonce)  34 bytes
//	body:   secretbox(piece, nonce+1) without its MAC        len bytes
//
// and the nonce then advances by 2. The goodbye is a header sealing 18
// zero bytes.
const (
	// MaxFrameBody is the largest body of one box stream frame, in bytes.
	MaxFrameBody = 4096
	// headerSize is the sealed header: 2-byte length + 16-byte MAC + 16.
	headerSize  = 2 + secretbox.Overhead + secretbox.Overhead
	headerPlain = headerSize - secretbox.Overhead
	macSize     = secretbox.Overhead
)

// increment adds 1 to the 24-byte big-endian nonce n, with carry.
func increment(n *[24]byte) {
	for i := len(n) - 1; i >= 0; i-- {
		n[i]++
		if n[i] != 0 {
			return
		}
	}
}

// boxWriter is the sending half. It is guarded by Conn.wmu.
type boxWriter struct {
	key     [32]byte
	nonce   [24]byte
	buf     []byte // one frame: header || body
	pending []byte // the unsent rest of a frame cut short by a deadline
	shut    bool   // goodbye sent
	err     error  // the stream is broken
}

func (w *boxWriter) init(key [32]byte, nonce [24]byte) {
	w.key, w.nonce = key, nonce
	w.buf = make([]byte, headerSize+MaxFrameBody)
}

// seal builds the frame for piece (at most MaxFrameBody bytes) in w.buf
// and advances the nonce.
func (w *boxWriter) seal(piece []byte) []byte {
	bodyNonce := w.nonce
	increment(&bodyNonce)
	// The sealed body is MAC || ciphertext; place it so that the
	// ciphertext starts right after the header and the MAC sits in the
	// header's slot, which the header then overwrites.
	secretbox.Seal(w.buf[headerPlain:headerPlain], piece, &bodyNonce, &w.key)
	var hdr [headerPlain]byte
	binary.BigEndian.PutUint16(hdr[:2], uint16(len(piece)))
	copy(hdr[2:], w.buf[headerPlain:headerSize])
	secretbox.Seal(w.buf[:0], hdr[:], &w.nonce, &w.key)
	w.nonce = bodyNonce
	increment(&w.nonce)
	return w.buf[:headerSize+len(piece)]
}

func (w *boxWriter) write(c io.Writer, p []byte) (int, error) {
	if err := w.ready(c); err != nil {
		return 0, err
	}
	n := 0
	for len(p) > 0 {
		k := min(len(p), MaxFrameBody)
		sent, err := w.send(c, w.seal(p[:k]))
		if sent {
			n += k
		}
		if err != nil {
			return n, err
		}
		p = p[k:]
	}
	return n, nil
}

// ready reports whether frames can be sent, first sending what is left
// of a frame cut short.
func (w *boxWriter) ready(c io.Writer) error {
	if w.err != nil {
		return w.err
	}
	if w.shut {
		return errWriteShut
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

// send writes a frame that seal just built. It reports whether the frame
// is committed: sent, or partly sent with its rest pending. A frame of
// which nothing was sent because of a deadline is taken back, nonce
// included, so that the stream stays usable.
func (w *boxWriter) send(c io.Writer, frame []byte) (bool, error) {
	m, err := c.Write(frame)
	switch {
	case err == nil:
		return true, nil
	case !isTimeout(err):
		w.err = err
		return false, err
	case m == 0:
		w.unseal()
		return false, err
	default:
		w.pending = frame[m:]
		return true, err
	}
}

// unseal steps the nonce back over the last frame.
func (w *boxWriter) unseal() {
	for range 2 {
		for i := len(w.nonce) - 1; i >= 0; i-- {
			w.nonce[i]--
			if w.nonce[i] != 0xff {
				break
			}
		}
	}
}

// goodbye sends the goodbye once.
func (w *boxWriter) goodbye(c io.Writer) error {
	if w.shut {
		return nil
	}
	if err := w.ready(c); err != nil {
		return err
	}
	var zero [headerPlain]byte
	frame := secretbox.Seal(w.buf[:0], zero[:], &w.nonce, &w.key)
	m, err := c.Write(frame)
	if err != nil {
		if m > 0 || !isTimeout(err) {
			w.err = err
		}
		return err
	}
	w.shut = true
	return nil
}

// boxReader is the receiving half. It is guarded by Conn.rmu. A frame is
// read across as many Reads as deadlines make it take: hdrN and bodyN say
// how far it got.
type boxReader struct {
	key      [32]byte
	nonce    [24]byte
	hdr      [headerSize]byte
	hdrN     int
	body     []byte // MAC || ciphertext of the frame being read
	bodyLen  int    // -1 while the header is incomplete
	bodyN    int
	plain    []byte // decrypted bytes not yet returned, within plainBuf
	plainBuf []byte
	err      error // sticky: io.EOF after the goodbye, or a broken stream
}

func (r *boxReader) init(key [32]byte, nonce [24]byte) {
	r.key, r.nonce = key, nonce
	r.body = make([]byte, macSize+MaxFrameBody)
	r.plainBuf = make([]byte, MaxFrameBody)
	r.bodyLen = -1
}

func (r *boxReader) read(c io.Reader, p []byte) (int, error) {
	if len(r.plain) > 0 {
		n := copy(p, r.plain)
		r.plain = r.plain[n:]
		return n, nil
	}
	if r.err != nil {
		return 0, r.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := r.readFrame(c, p)
		if n > 0 || err != nil {
			return n, err
		}
	}
}

// readFrame reads the rest of one frame and decrypts its body, straight
// into p if it fits.
func (r *boxReader) readFrame(c io.Reader, p []byte) (int, error) {
	if r.bodyLen < 0 {
		if err := r.fill(c, r.hdr[:], &r.hdrN); err != nil {
			return 0, err
		}
		if r.err = r.openHeader(); r.err != nil {
			return 0, r.err
		}
	}
	if err := r.fill(c, r.body[macSize:macSize+r.bodyLen], &r.bodyN); err != nil {
		return 0, err
	}
	bodyNonce := r.nonce
	increment(&bodyNonce)
	dst := r.plainBuf[:0]
	direct := len(p) >= r.bodyLen
	if direct {
		dst = p[:0]
	}
	out, ok := secretbox.Open(dst, r.body[:macSize+r.bodyLen], &bodyNonce, &r.key)
	if !ok {
		r.err = errBadBody
		return 0, r.err
	}
	r.nonce = bodyNonce
	increment(&r.nonce)
	r.hdrN, r.bodyLen, r.bodyN = 0, -1, 0
	if direct {
		return len(out), nil
	}
	n := copy(p, out)
	r.plain = out[n:]
	return n, nil
}

// openHeader opens the complete header: the goodbye ends the stream,
// anything else gives the body's length and MAC.
func (r *boxReader) openHeader() error {
	var h [headerPlain]byte
	if _, ok := secretbox.Open(h[:0], r.hdr[:], &r.nonce, &r.key); !ok {
		return errBadHeader
	}
	if h == ([headerPlain]byte{}) {
		return io.EOF
	}
	n := int(binary.BigEndian.Uint16(h[:2]))
	if n > MaxFrameBody {
		return errFrameTooLong(n)
	}
	r.bodyLen = n
	copy(r.body[:macSize], h[2:])
	return nil
}

// fill reads into buf[*n:] until buf is full. A deadline leaves the
// progress in *n for the next call; the end of the underlying stream
// before the goodbye breaks the stream.
func (r *boxReader) fill(c io.Reader, buf []byte, n *int) error {
	for *n < len(buf) {
		m, err := c.Read(buf[*n:])
		*n += m
		if err == nil || *n == len(buf) {
			continue
		}
		if errors.Is(err, io.EOF) {
			r.err = errNoGoodbye
			return r.err
		}
		return err
	}
	return nil
}
