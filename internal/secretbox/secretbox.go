package secretbox

import (
	"crypto/subtle"

	xbox "golang.org/x/crypto/nacl/secretbox"
	"golang.org/x/crypto/poly1305" //lint:ignore SA1019 secretbox's own building block, as in x/crypto's secretbox
	"golang.org/x/crypto/salsa20/salsa"
)

// Overhead is the number of bytes a box adds to its message: the
// Poly1305 tag before the ciphertext.
const Overhead = xbox.Overhead

// Seal appends to out the box of message under nonce and key, and
// returns the result, as x/crypto's secretbox.Seal does. out must not
// overlap message.
func Seal(out, message []byte, nonce *[24]byte, key *[32]byte) []byte {
	ret, box := grow(out, len(message)+Overhead)
	var s stream
	s.init(nonce, key)
	s.xor(box[Overhead:], message)
	var tag [Overhead]byte
	poly1305.Sum(&tag, box[Overhead:], &s.polyKey)
	copy(box, tag[:])
	return ret
}

// Open appends to out the message in box, if box is authentic under
// nonce and key, and returns the result and true; otherwise it returns
// nil and false, as x/crypto's secretbox.Open does. out must not overlap
// box, but for box[Overhead:Overhead], which opens box in place (x/crypto
// does not allow that).
func Open(out, box []byte, nonce *[24]byte, key *[32]byte) ([]byte, bool) {
	if len(box) < Overhead {
		return nil, false
	}
	var tag [Overhead]byte
	copy(tag[:], box)
	ciphertext := box[Overhead:]
	var s stream
	s.init(nonce, key)
	if !poly1305.Verify(&tag, ciphertext, &s.polyKey) {
		return nil, false
	}
	ret, message := grow(out, len(ciphertext))
	s.xor(message, ciphertext)
	return ret, true
}

// grow returns in extended by n bytes, and the n bytes, as append would.
func grow(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	return head, head[len(in):]
}

// stream is the XSalsa20 key stream of one box: its first 32 bytes are
// the Poly1305 key, the rest encrypts the message.
type stream struct {
	subKey  [32]byte
	counter [16]byte // the Salsa20 nonce, then the block counter
	first   [64]byte // block 0
	polyKey [32]byte
}

// init sets s to the XSalsa20 key stream of key and nonce, and makes
// block 0.
func (s *stream) init(nonce *[24]byte, key *[32]byte) {
	salsa.HSalsa20(&s.subKey, (*[16]byte)(nonce[:16]), key, &salsa.Sigma)
	copy(s.counter[:8], nonce[16:])
	salsa.XORKeyStream(s.first[:], s.first[:], &s.counter, &s.subKey)
	copy(s.polyKey[:], s.first[:32])
}

// xor sets dst to src XOR the key stream from byte 32 on. dst may be src
// exactly.
func (s *stream) xor(dst, src []byte) {
	n := subtle.XORBytes(dst, src, s.first[32:])
	if len(src) > n {
		s.counter[8] = 1
		salsa.XORKeyStream(dst[n:], src[n:], &s.counter, &s.subKey)
	}
}
