package secretbox

import (
	"crypto/subtle"

	"golang.org/x/crypto/poly1305" //lint:ignore SA1019 secretbox's own building block, as in x/crypto's secretbox
	"golang.org/x/crypto/salsa20/salsa"
)

// The fallback: secretbox built from x/crypto's Salsa20 and Poly1305, as
// x/crypto's secretbox builds it, but for Open in place. It runs where
// the batched code has no assembly (useBatch false): x/crypto's
// primitives, with assembly of their own on amd64 and arm64, are faster
// there than the batched code's Go references.

// sealFallback is Seal with x/crypto's Salsa20 and Poly1305.
func sealFallback(out, message []byte, nonce *[24]byte, key *[32]byte) []byte {
	ret, box := grow(out, len(message)+Overhead)
	var s fallbackStream
	s.init(nonce, key)
	s.xor(box[Overhead:], message)
	var tag [Overhead]byte
	poly1305.Sum(&tag, box[Overhead:], &s.polyKey)
	copy(box, tag[:])
	return ret
}

// openFallback is Open with x/crypto's Salsa20 and Poly1305.
func openFallback(out, box []byte, nonce *[24]byte, key *[32]byte) ([]byte, bool) {
	if len(box) < Overhead {
		return nil, false
	}
	var tag [Overhead]byte
	copy(tag[:], box)
	ciphertext := box[Overhead:]
	var s fallbackStream
	s.init(nonce, key)
	if !poly1305.Verify(&tag, ciphertext, &s.polyKey) {
		return nil, false
	}
	ret, message := grow(out, len(ciphertext))
	s.xor(message, ciphertext)
	return ret, true
}

// fallbackStream is the XSalsa20 key stream of one box, from x/crypto's
// Salsa20: its first 32 bytes are the Poly1305 key, the rest encrypts
// the message.
type fallbackStream struct {
	subKey  [32]byte
	counter [16]byte // the Salsa20 nonce, then the block counter
	first   [64]byte // block 0
	polyKey [32]byte
}

// init sets s to the XSalsa20 key stream of key and nonce, and makes
// block 0.
func (s *fallbackStream) init(nonce *[24]byte, key *[32]byte) {
	salsa.HSalsa20(&s.subKey, (*[16]byte)(nonce[:16]), key, &salsa.Sigma)
	copy(s.counter[:8], nonce[16:])
	salsa.XORKeyStream(s.first[:], s.first[:], &s.counter, &s.subKey)
	copy(s.polyKey[:], s.first[:32])
}

// xor sets dst to src XOR the key stream from byte 32 on. dst may be src
// exactly.
func (s *fallbackStream) xor(dst, src []byte) {
	n := subtle.XORBytes(dst, src, s.first[32:])
	if len(src) > n {
		s.counter[8] = 1
		salsa.XORKeyStream(dst[n:], src[n:], &s.counter, &s.subKey)
	}
}
