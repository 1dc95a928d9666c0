package noise

import (
	"crypto/cipher"
	"encoding/binary"
	"io"
	"math"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/f7d52a8e/multiserver/internal/frame"
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
)

// format is the framing for package frame, which does the buffering: a
// Write of a large p sends whole 65,537-byte frames, two per write to the
// underlying conn.
var format = frame.Format{
	MaxPayload:   MaxPayload,
	Overhead:     lenSize + TagSize,
	HeaderSize:   lenSize,
	ErrWriteShut: errWriteShut,
	ErrNoEnd:     errNoEnd,
}

// The transport uses x/crypto/chacha20poly1305 with the keys that
// flynn/noise's Split produced, rather than flynn/noise's CipherState:
// CipherState's ChaChaPoly builds each 12-byte nonce in a closure whose
// result escapes, so every frame would cost a heap allocation, and each
// call goes through two interfaces. Here the nonce lives in the
// cipherState and nothing is allocated per frame. The nonce layout is
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

// sealer is the sending direction, a frame.Sealer.
type sealer struct{ cipherState }

// Seal appends the frame for payload, at most MaxPayload bytes.
func (s *sealer) Seal(dst, payload []byte) ([]byte, error) {
	nonce, err := s.next()
	if err != nil {
		return dst, err
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(payload)+TagSize))
	dst = s.aead.Seal(dst, nonce, payload, nil)
	s.n++
	return dst, nil
}

// End appends the end of stream, a frame with an empty payload.
func (s *sealer) End(dst []byte) ([]byte, error) { return s.Seal(dst, nil) }

// Unseal takes back the last frame's nonce.
func (s *sealer) Unseal() { s.n-- }

// opener is the receiving direction, a frame.Opener.
type opener struct{ cipherState }

// FrameSize reads the length before a message.
func (o *opener) FrameSize(hdr []byte) (int, error) {
	n := int(binary.BigEndian.Uint16(hdr))
	if n < TagSize {
		return 0, errShortFrame(n)
	}
	return lenSize + n, nil
}

// Open decrypts a frame, in place if dst is nil; an empty payload is the
// end of stream.
func (o *opener) Open(dst, frame []byte) ([]byte, error) {
	if dst == nil {
		dst = frame[lenSize:lenSize]
	}
	out, err := o.open(dst, frame[lenSize:])
	if err == nil && len(out) == 0 {
		return nil, io.EOF
	}
	return out, err
}
