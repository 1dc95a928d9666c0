package noise

import (
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"io"
	"math"

	"golang.org/x/crypto/chacha20poly1305"
)

// Transport framing. Each frame is
//
//	uint16BE(len) || ChaChaPoly(k, n, ad="", payload)    2 + len bytes
//
// with len = len(payload) + 16, at most [MaxMessage]. n counts the frames
// in one direction from 0 (the client's count starts at 1: its frame 0 is
// the handshake's key confirmation). A frame with an empty payload is the
// end of stream.
const (
	// MaxMessage is the largest Noise message, ciphertext and tag, that
	// one frame carries, in bytes.
	MaxMessage = math.MaxUint16
	// TagSize is the size of the Poly1305 tag that ends every message.
	TagSize = chacha20poly1305.Overhead
	// MaxPayload is the most plaintext one frame carries, in bytes.
	MaxPayload = MaxMessage - TagSize
	// lenSize is the size of the big-endian length before each message.
	lenSize = 2
	// maxNonce is the last nonce a key may use; Noise reserves 2^64-1.
	maxNonce = math.MaxUint64 - 1
	// readAhead is how far past the frame it needs the reader may read, to
	// take several small frames in one read.
	readAhead = 16 << 10
)

// The transport uses x/crypto/chacha20poly1305 with the keys that
// flynn/noise's Split produced, rather than flynn/noise's CipherState:
// CipherState's ChaChaPoly builds each 12-byte nonce in a closure whose
// result escapes, so every frame would cost a heap allocation, and each
// call goes through two interfaces. Here the nonce lives in the
// writer/reader and nothing is allocated per frame. The nonce layout is
// Noise's: 4 zero bytes, then n as a little-endian uint64.

// cipherState is one direction's key and nonce counter.
type cipherState struct {
	key   [32]byte // kept for the test vectors
	aead  cipher.AEAD
	n     uint64
	nonce [chacha20poly1305.NonceSize]byte
}

func (s *cipherState) init(key [32]byte, n uint64) {
	s.key = key
	s.aead, _ = chacha20poly1305.New(key[:]) // cannot fail for 32 bytes
	s.n = n
}

// next returns the nonce for s.n, or an error once the nonces run out.
func (s *cipherState) next() ([]byte, error) {
	if s.n > maxNonce {
		return nil, errNonces
	}
	binary.LittleEndian.PutUint64(s.nonce[4:], s.n)
	return s.nonce[:], nil
}

// open decrypts msg, the next message, appending to dst.
func (s *cipherState) open(dst, msg []byte) ([]byte, error) {
	nonce, err := s.next()
	if err != nil {
		return nil, err
	}
	out, err := s.aead.Open(dst, nonce, msg, nil)
	if err != nil {
		return nil, errBadTag
	}
	s.n++
	return out, nil
}

// frameWriter is the sending half. It is guarded by Conn.wmu.
type frameWriter struct {
	cs      cipherState
	buf     []byte // one frame: length || ciphertext || tag
	pending []byte // the unsent rest of a frame cut short by a deadline
	shut    bool   // end of stream sent
	err     error  // the stream is broken
}

// seal builds the frame for piece (at most MaxPayload bytes) in w.buf and
// advances the nonce.
func (w *frameWriter) seal(piece []byte) ([]byte, error) {
	nonce, err := w.cs.next()
	if err != nil {
		return nil, err
	}
	size := lenSize + len(piece) + TagSize
	if cap(w.buf) < size {
		// Grow once to a whole frame for bulk writes; small writers keep
		// a small buffer.
		c := lenSize + MaxMessage
		if size <= readAhead {
			c = readAhead
		}
		w.buf = make([]byte, c)
	}
	frame := w.buf[:lenSize]
	binary.BigEndian.PutUint16(frame, uint16(len(piece)+TagSize))
	frame = w.cs.aead.Seal(frame, nonce, piece, nil)
	w.cs.n++
	return frame, nil
}

func (w *frameWriter) write(c io.Writer, p []byte) (int, error) {
	if err := w.ready(c); err != nil {
		return 0, err
	}
	n := 0
	for len(p) > 0 {
		k := min(len(p), MaxPayload)
		frame, err := w.seal(p[:k])
		if err != nil {
			return n, err
		}
		sent, err := w.send(c, frame)
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
func (w *frameWriter) ready(c io.Writer) error {
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
func (w *frameWriter) send(c io.Writer, frame []byte) (bool, error) {
	m, err := c.Write(frame)
	switch {
	case err == nil:
		return true, nil
	case !isTimeout(err):
		w.err = err
		return false, err
	case m == 0:
		w.cs.n--
		return false, err
	default:
		w.pending = frame[m:]
		return true, err
	}
}

// end sends the end of stream, a frame with an empty payload, once.
func (w *frameWriter) end(c io.Writer) error {
	if w.shut {
		return nil
	}
	if err := w.ready(c); err != nil {
		return err
	}
	frame, err := w.seal(nil)
	if err != nil {
		return err
	}
	sent, err := w.send(c, frame)
	if sent {
		w.shut = true
	}
	if err != nil && sent {
		w.err = err // the rest of the end frame stays pending for good
	}
	return err
}

// frameReader is the receiving half. It is guarded by Conn.rmu. Bytes
// read from the conn but not yet decrypted wait in buf[start:end]; a frame
// is read across as many Reads as deadlines make it take.
type frameReader struct {
	cs         cipherState
	buf        []byte
	start, end int
	plain      []byte // decrypted bytes not yet returned, within buf
	err        error  // sticky: io.EOF after the end of stream, or a broken stream
}

func (r *frameReader) read(c io.Reader, p []byte) (int, error) {
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
	return r.readFrame(c, p)
}

// readFrame reads the rest of one frame and decrypts it, straight into p
// if it fits and in place in buf otherwise. Every frame but the end of
// stream carries at least one byte, so it returns data or an error.
func (r *frameReader) readFrame(c io.Reader, p []byte) (int, error) {
	if err := r.fill(c, lenSize); err != nil {
		return 0, err
	}
	size := int(binary.BigEndian.Uint16(r.buf[r.start:]))
	if size < TagSize {
		r.err = errShortFrame(size)
		return 0, r.err
	}
	if err := r.fill(c, lenSize+size); err != nil {
		return 0, err
	}
	msg := r.buf[r.start+lenSize : r.start+lenSize+size]
	direct := len(p) >= size-TagSize
	dst := msg[:0]
	if direct {
		dst = p[:0]
	}
	out, err := r.cs.open(dst, msg)
	if err != nil {
		r.err = err
		return 0, err
	}
	r.start += lenSize + size
	if r.start == r.end {
		r.start, r.end = 0, 0
	}
	switch {
	case len(out) == 0:
		r.err = io.EOF
		return 0, io.EOF
	case direct:
		return len(out), nil
	}
	n := copy(p, out)
	r.plain = out[n:]
	return n, nil
}

// fill reads until buf[start:end] holds at least need bytes. It reads
// past them, up to the next frame's length or readAhead bytes, to save
// reads; it moves the unread bytes to the front of buf only when the
// frame would not fit. A deadline leaves the progress in buf for the next
// call; the end of the underlying stream breaks the stream.
func (r *frameReader) fill(c io.Reader, need int) error {
	for r.end-r.start < need {
		if r.start+need > len(r.buf) {
			r.compact(need)
		}
		limit := min(len(r.buf), max(r.start+need+lenSize, r.start+readAhead))
		m, err := c.Read(r.buf[r.end:limit])
		r.end += m
		if err == nil || r.end-r.start >= need {
			continue
		}
		if errors.Is(err, io.EOF) {
			r.err = errNoEnd
			return r.err
		}
		return err
	}
	return nil
}

// compact makes room for need bytes from the front of buf, growing buf
// to a whole frame if it is too small.
func (r *frameReader) compact(need int) {
	if need > len(r.buf) {
		size := readAhead
		if need > size {
			size = lenSize + MaxMessage + lenSize
		}
		buf := make([]byte, size)
		r.end = copy(buf, r.buf[r.start:r.end])
		r.buf, r.start = buf, 0
		return
	}
	r.end = copy(r.buf, r.buf[r.start:r.end])
	r.start = 0
}
