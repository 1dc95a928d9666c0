package secretbox

import (
	"crypto/subtle"
	"encoding/binary"
	"math"

	xbox "golang.org/x/crypto/nacl/secretbox"
	"golang.org/x/crypto/salsa20/salsa"
)

// Overhead is the number of bytes a box adds to its message: the
// Poly1305 tag before the ciphertext.
const Overhead = xbox.Overhead

const (
	// batch is how much key stream salsa16 makes at once.
	batch = 16 * 64
	// minBatch is the shortest rest of a key stream, in bytes, worth a
	// whole batch; shorter rests take x/crypto's Salsa20, whose cost grows
	// with the length.
	minBatch = 384
	// maxBatchBlock is the last block counter a batch may start at: a
	// batch adds up to 15 to the counter's low 32 bits and must not carry.
	// x/crypto's Salsa20 takes the rest of a longer key stream.
	maxBatchBlock = math.MaxUint32 - 15
)

// Seal appends to out the box of message under nonce and key, and
// returns the result, as x/crypto's secretbox.Seal does. out must not
// overlap message.
func Seal(out, message []byte, nonce *[24]byte, key *[32]byte) []byte {
	if useBatch {
		return sealBatch(out, message, nonce, key)
	}
	return sealFallback(out, message, nonce, key)
}

// Open appends to out the message in box, if box is authentic under
// nonce and key, and returns the result and true; otherwise it returns
// nil and false, as x/crypto's secretbox.Open does. out must not overlap
// box, but for box[Overhead:Overhead], which opens box in place (x/crypto
// does not allow that).
func Open(out, box []byte, nonce *[24]byte, key *[32]byte) ([]byte, bool) {
	if useBatch {
		return openBatch(out, box, nonce, key)
	}
	return openFallback(out, box, nonce, key)
}

// sealBatch is Seal with the key stream in batches (salsa16) and
// Poly1305 in vectors (polyVec).
func sealBatch(out, message []byte, nonce *[24]byte, key *[32]byte) []byte {
	ret, box := grow(out, len(message)+Overhead)
	var s stream
	s.init(nonce, key, len(message))
	var polyKey [32]byte
	s.polyKey(&polyKey)
	s.xor(box[Overhead:], message)
	var tag [Overhead]byte
	polySum(&tag, box[Overhead:], &polyKey)
	copy(box, tag[:])
	return ret
}

// openBatch is Open with the key stream in batches (salsa16) and
// Poly1305 in vectors (polyVec).
func openBatch(out, box []byte, nonce *[24]byte, key *[32]byte) ([]byte, bool) {
	if len(box) < Overhead {
		return nil, false
	}
	var tag [Overhead]byte
	copy(tag[:], box)
	ciphertext := box[Overhead:]
	var s stream
	s.init(nonce, key, len(ciphertext))
	var polyKey [32]byte
	s.polyKey(&polyKey)
	if !polyVerify(&tag, ciphertext, &polyKey) {
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

// stream is the XSalsa20 key stream of one box in batches. Its first 32 bytes are
// the Poly1305 key, the rest encrypts the message.
type stream struct {
	subKey [32]byte
	block  [16]uint32 // the Salsa20 input block; word 8 the block counter
	ks     [batch]byte
	n      int // the key stream in ks: 64 bytes or a batch
}

// init sets s up for a message of size bytes and makes its first key
// stream: a batch if the message is long enough, else one block.
func (s *stream) init(nonce *[24]byte, key *[32]byte, size int) {
	salsa.HSalsa20(&s.subKey, (*[16]byte)(nonce[:16]), key, &salsa.Sigma)
	word := func(b []byte, i int) uint32 { return binary.LittleEndian.Uint32(b[4*i:]) }
	sig := func(i int) uint32 { return word(salsa.Sigma[:], i) }
	k := func(i int) uint32 { return word(s.subKey[:], i) }
	n := func(i int) uint32 { return word(nonce[16:], i) }
	s.block = [16]uint32{
		sig(0), k(0), k(1), k(2),
		k(3), sig(1), n(0), n(1),
		0, 0, sig(2), k(4),
		k(5), k(6), k(7), sig(3),
	}
	if 32+size >= minBatch {
		salsa16(&s.ks, &s.block)
		s.n = batch
		return
	}
	s.n = 64
	s.xorTail(s.ks[:64], s.ks[:64], 0) // ks is zero
}

// polyKey copies out the first 32 bytes of the key stream.
func (s *stream) polyKey(key *[32]byte) { copy(key[:], s.ks[:32]) }

// xor sets dst to src XOR the key stream from byte 32 on. dst may be src
// exactly.
func (s *stream) xor(dst, src []byte) {
	n := subtle.XORBytes(dst, src, s.ks[32:s.n])
	s.xorAt(dst[n:], src[n:], uint64(s.n/64))
}

// xorAt sets dst to src XOR the key stream from block on: whole batches
// with salsa16 while the rest is long enough and the counter's low word
// does not carry, then x/crypto's Salsa20.
func (s *stream) xorAt(dst, src []byte, blocks uint64) {
	for len(src) >= minBatch && blocks <= maxBatchBlock {
		s.block[8] = uint32(blocks)
		salsa16(&s.ks, &s.block)
		n := subtle.XORBytes(dst, src, s.ks[:])
		dst, src = dst[n:], src[n:]
		blocks += batch / 64
	}
	if len(src) > 0 {
		s.xorTail(dst, src, blocks)
	}
}

// xorTail sets dst to src XOR the key stream from block on, with
// x/crypto's Salsa20.
func (s *stream) xorTail(dst, src []byte, block uint64) {
	var counter [16]byte
	binary.LittleEndian.PutUint32(counter[0:], s.block[6])
	binary.LittleEndian.PutUint32(counter[4:], s.block[7])
	binary.LittleEndian.PutUint64(counter[8:], block)
	salsa.XORKeyStream(dst, src, &counter, &s.subKey)
}
