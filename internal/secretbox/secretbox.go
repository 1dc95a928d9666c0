package secretbox

import (
	"crypto/subtle"
	"encoding/binary"

	xbox "golang.org/x/crypto/nacl/secretbox"
	"golang.org/x/crypto/poly1305"
	"golang.org/x/crypto/salsa20/salsa"
)

// Overhead is the number of bytes a box adds to its message: the
// Poly1305 tag before the ciphertext.
const Overhead = xbox.Overhead

const (
	// batch is how much key stream salsa16 makes at once.
	batch = 16 * 64
	// minBatch is the shortest rest of a message, in bytes, worth a whole
	// batch; shorter rests take x/crypto's Salsa20, whose cost grows with
	// the length.
	minBatch = 384
	// maxFast is the longest message the batches take: the 32-bit block
	// counter of every lane must not wrap. Longer ones go to x/crypto.
	maxFast = 1 << 36
)

// Seal appends to out the box of message under nonce and key, and
// returns the result. out must not overlap message.
func Seal(out, message []byte, nonce *[24]byte, key *[32]byte) []byte {
	if !haveBatch || len(message)+32 < minBatch || len(message) > maxFast {
		return xbox.Seal(out, message, nonce, key)
	}
	ret, box := grow(out, len(message)+Overhead)
	var s stream
	s.init(nonce, key)
	var polyKey [32]byte
	s.xor(box[Overhead:], message, &polyKey)
	var tag [Overhead]byte
	poly1305.Sum(&tag, box[Overhead:], &polyKey)
	copy(box, tag[:])
	return ret
}

// Open appends to out the message in box, if box is authentic under
// nonce and key, and returns the result and true; otherwise it returns
// nil and false, as x/crypto does. out must not overlap box.
func Open(out, box []byte, nonce *[24]byte, key *[32]byte) ([]byte, bool) {
	if len(box) < Overhead {
		return nil, false
	}
	if !haveBatch || len(box)-Overhead+32 < minBatch || len(box) > maxFast {
		return xbox.Open(out, box, nonce, key)
	}
	var tag [Overhead]byte
	copy(tag[:], box)
	c := box[Overhead:]
	var s stream
	s.init(nonce, key)
	var polyKey [32]byte
	s.first(&polyKey)
	if !poly1305.Verify(&tag, c, &polyKey) {
		return nil, false
	}
	ret, m := grow(out, len(c))
	s.xor(m, c, nil)
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

// stream is the XSalsa20 key stream of one box. Its first 32 bytes are
// the Poly1305 key, the rest encrypts the message.
type stream struct {
	subKey [32]byte
	block  [16]uint32 // the Salsa20 input block; word 8 the block counter
	ks     [batch]byte
	have   bool // ks holds the batch at block 0
}

var sigma = [4]uint32{0x61707865, 0x3320646e, 0x79622d32, 0x6b206574} // "expand 32-byte k"

func (s *stream) init(nonce *[24]byte, key *[32]byte) {
	var hNonce [16]byte
	copy(hNonce[:], nonce[:16])
	salsa.HSalsa20(&s.subKey, &hNonce, key, &salsa.Sigma)
	k := func(i int) uint32 { return binary.LittleEndian.Uint32(s.subKey[4*i:]) }
	s.block = [16]uint32{
		sigma[0], k(0), k(1), k(2),
		k(3), sigma[1], binary.LittleEndian.Uint32(nonce[16:]), binary.LittleEndian.Uint32(nonce[20:]),
		0, 0, sigma[2], k(4),
		k(5), k(6), k(7), sigma[3],
	}
}

// first makes the batch at block 0 and copies out the Poly1305 key.
func (s *stream) first(polyKey *[32]byte) {
	s.block[8] = 0
	salsa16(&s.ks, &s.block)
	s.have = true
	copy(polyKey[:], s.ks[:32])
}

// xor sets dst to src XOR the key stream from byte 32 on, and if polyKey
// is not nil sets it to the first 32 bytes.
func (s *stream) xor(dst, src []byte, polyKey *[32]byte) {
	if !s.have {
		s.first(&[32]byte{})
	}
	if polyKey != nil {
		copy(polyKey[:], s.ks[:32])
	}
	n := subtle.XORBytes(dst, src, s.ks[32:])
	dst, src = dst[n:], src[n:]
	blocks := uint32(batch / 64)
	for len(src) >= minBatch {
		s.block[8] = blocks
		salsa16(&s.ks, &s.block)
		n := subtle.XORBytes(dst, src, s.ks[:])
		dst, src = dst[n:], src[n:]
		blocks += batch / 64
	}
	if len(src) > 0 {
		var counter [16]byte
		binary.LittleEndian.PutUint32(counter[0:], s.block[6])
		binary.LittleEndian.PutUint32(counter[4:], s.block[7])
		binary.LittleEndian.PutUint32(counter[8:], blocks)
		salsa.XORKeyStream(dst, src, &counter, &s.subKey)
	}
}
