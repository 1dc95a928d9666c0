package shs

import (
	"encoding/binary"
	"io"
	"slices"

	"github.com/f7d52a8e/multiserver/internal/frame"
	"github.com/f7d52a8e/multiserver/internal/secretbox"
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

// format is the framing for package frame, which does the buffering: a
// Write seals up to 16 frames (64 KiB) into one write to the underlying
// conn, and a Read takes up to 64 KiB from it at a time.
var format = frame.Format{
	MaxPayload:   MaxFrameBody,
	Overhead:     headerSize,
	HeaderSize:   headerSize,
	ErrWriteShut: errWriteShut,
	ErrNoEnd:     errNoGoodbye,
}

// increment adds 1 to the 24-byte big-endian nonce n, with carry.
func increment(n *[24]byte) {
	for i := len(n) - 1; i >= 0; i-- {
		n[i]++
		if n[i] != 0 {
			return
		}
	}
}

// decrement subtracts 1 from n, with borrow.
func decrement(n *[24]byte) {
	for i := len(n) - 1; i >= 0; i-- {
		n[i]--
		if n[i] != 0xff {
			return
		}
	}
}

// boxState is one direction's key and next nonce.
type boxState struct {
	key   [32]byte
	nonce [24]byte
}

// sealer is the sending direction, a frame.Sealer.
type sealer struct{ boxState }

// Seal appends the frame for payload, at most MaxFrameBody bytes.
func (s *sealer) Seal(dst, payload []byte) ([]byte, error) {
	off, size := len(dst), headerSize+len(payload)
	dst = slices.Grow(dst, size)[:off+size]
	f := dst[off:]
	bodyNonce := s.nonce
	increment(&bodyNonce)
	// The sealed body is MAC || ciphertext; place it so that the
	// ciphertext starts right after the header and the MAC sits in the
	// header's slot, which the header then overwrites.
	secretbox.Seal(f[headerPlain:headerPlain], payload, &bodyNonce, &s.key)
	var hdr [headerPlain]byte
	binary.BigEndian.PutUint16(hdr[:2], uint16(len(payload)))
	copy(hdr[2:], f[headerPlain:headerSize])
	secretbox.Seal(f[:0], hdr[:], &s.nonce, &s.key)
	s.nonce = bodyNonce
	increment(&s.nonce)
	return dst, nil
}

// End appends the goodbye. It uses the next header's nonce, and moves on
// as a frame would, so that Unseal takes it back.
func (s *sealer) End(dst []byte) ([]byte, error) {
	var zero [headerPlain]byte
	dst = secretbox.Seal(dst, zero[:], &s.nonce, &s.key)
	increment(&s.nonce)
	increment(&s.nonce)
	return dst, nil
}

// Unseal steps the nonce back over the last frame.
func (s *sealer) Unseal() {
	decrement(&s.nonce)
	decrement(&s.nonce)
}

// opener is the receiving direction, a frame.Opener.
type opener struct {
	boxState
	mac [macSize]byte // the body MAC from the header FrameSize opened
}

// FrameSize opens a header: the goodbye ends the stream, anything else
// gives the body's length and MAC.
func (o *opener) FrameSize(hdr []byte) (int, error) {
	var h [headerPlain]byte
	if _, ok := secretbox.Open(h[:0], hdr, &o.nonce, &o.key); !ok {
		return 0, errBadHeader
	}
	if h == ([headerPlain]byte{}) {
		return 0, io.EOF
	}
	n := int(binary.BigEndian.Uint16(h[:2]))
	if n > MaxFrameBody {
		return 0, errFrameTooLong(n)
	}
	copy(o.mac[:], h[2:])
	return headerSize + n, nil
}

// Open opens a frame's body, in place if dst is nil.
func (o *opener) Open(dst, frame []byte) ([]byte, error) {
	// Put the body's MAC where the header's own MAC ends, right before
	// the ciphertext, to open MAC || ciphertext as one box.
	box := frame[headerPlain:]
	copy(box, o.mac[:])
	if dst == nil {
		dst = box[secretbox.Overhead:secretbox.Overhead]
	}
	bodyNonce := o.nonce
	increment(&bodyNonce)
	out, ok := secretbox.Open(dst, box, &bodyNonce, &o.key)
	if !ok {
		return nil, errBadBody
	}
	o.nonce = bodyNonce
	increment(&o.nonce)
	return out, nil
}
