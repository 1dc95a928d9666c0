package secretbox

import (
	"crypto/subtle"
	"encoding/binary"
	"math/bits"
)

// Poly1305, for the boxes' tags. Messages of at least polyVecMin bytes
// run through polyVec (poly_amd64.s, or polyVecGeneric in Go) eight
// blocks at a time, one block in each 64-bit lane, in 26-bit limbs: the
// lane of block j, which takes the blocks j, 8+j, 16+j..., accumulates
// h_j = h_j·r⁸ + m, r⁸ skipped after the last group, and
// h = (((h_0·r + h_1)·r + ...)·r + h_7)·r is then what one block at a
// time would have given. The rest of the message, and messages shorter
// than polyVecMin, run here, one block at a time in 64-bit limbs.

// polyVecMin is the shortest message that the vector code takes: two
// groups of eight blocks.
const polyVecMin = 256

// mask26 keeps the low 26 bits: one limb.
const mask26 = 1<<26 - 1

// poly is Poly1305 over one message. h is the accumulator, h0 + h1·2⁶⁴ +
// h2·2¹²⁸, kept below 2¹³⁰·1.5 (so h2 ≤ 5) between blocks.
type poly struct {
	h0, h1, h2 uint64
	r0, r1     uint64 // r, clamped
	s0, s1     uint64
}

// polySum writes the tag of msg under key to out.
func polySum(out *[16]byte, msg []byte, key *[32]byte) {
	var p poly
	p.r0 = binary.LittleEndian.Uint64(key[0:]) & 0x0ffffffc0fffffff
	p.r1 = binary.LittleEndian.Uint64(key[8:]) & 0x0ffffffc0ffffffc
	p.s0 = binary.LittleEndian.Uint64(key[16:])
	p.s1 = binary.LittleEndian.Uint64(key[24:])
	if len(msg) >= polyVecMin {
		n := len(msg) / 128 * 128
		p.vector(msg[:n])
		msg = msg[n:]
	}
	p.blocks(msg)
	p.finish(out)
}

// polyVerify reports whether tag is msg's under key, in constant time.
func polyVerify(tag *[16]byte, msg []byte, key *[32]byte) bool {
	var want [16]byte
	polySum(&want, msg, key)
	return subtle.ConstantTimeCompare(tag[:], want[:]) == 1
}

// blocks absorbs msg, whose last block may be partial.
func (p *poly) blocks(msg []byte) {
	h0, h1, h2 := p.h0, p.h1, p.h2
	for len(msg) > 0 {
		var c uint64
		if len(msg) >= 16 {
			h0, c = bits.Add64(h0, binary.LittleEndian.Uint64(msg[0:]), 0)
			h1, c = bits.Add64(h1, binary.LittleEndian.Uint64(msg[8:]), c)
			h2 += c + 1 // the block's 2¹²⁸
			msg = msg[16:]
		} else {
			var last [16]byte
			last[copy(last[:], msg)] = 1 // a partial block ends in 1, not 2¹²⁸
			h0, c = bits.Add64(h0, binary.LittleEndian.Uint64(last[0:]), 0)
			h1, c = bits.Add64(h1, binary.LittleEndian.Uint64(last[8:]), c)
			h2 += c
			msg = nil
		}
		h0, h1, h2 = mulReduce(h0, h1, h2, p.r0, p.r1)
	}
	p.h0, p.h1, p.h2 = h0, h1, h2
}

// mulReduce returns h·r reduced below 2¹³⁰·1.5, for h2 < 16 and r
// clamped (r0, r1 < 2⁶⁰).
func mulReduce(h0, h1, h2, r0, r1 uint64) (uint64, uint64, uint64) {
	// t = h·r, 256 bits in t0..t3.
	h0r0hi, h0r0lo := bits.Mul64(h0, r0)
	h1r0hi, h1r0lo := bits.Mul64(h1, r0)
	h0r1hi, h0r1lo := bits.Mul64(h0, r1)
	h1r1hi, h1r1lo := bits.Mul64(h1, r1)
	h2r0 := h2 * r0 // h2 < 16, r0, r1 < 2⁶⁰: no overflow
	h2r1 := h2 * r1

	m1lo, c := bits.Add64(h1r0lo, h0r1lo, 0)
	m1hi, m1c := bits.Add64(h1r0hi, h0r1hi, c)
	m2lo, c := bits.Add64(h1r1lo, h2r0, 0)
	m2hi := h1r1hi + c

	t0 := h0r0lo
	t1, c := bits.Add64(h0r0hi, m1lo, 0)
	t2, c := bits.Add64(m1hi, m2lo, c)
	t3 := m2hi + h2r1 + c + m1c

	// 2¹³⁰ ≡ 5 (mod p): h = t mod 2¹³⁰ + 5·(t >> 130), added as
	// 4·(t >> 130), the bits above 130 in place, and then those >> 2.
	h0, h1, h2 = t0, t1, t2&3
	cc0, cc1 := t2&^3, t3
	h0, c = bits.Add64(h0, cc0, 0)
	h1, c = bits.Add64(h1, cc1, c)
	h2 += c
	cc0, cc1 = cc0>>2|cc1<<62, cc1>>2
	h0, c = bits.Add64(h0, cc0, 0)
	h1, c = bits.Add64(h1, cc1, c)
	h2 += c
	return h0, h1, h2
}

// reduce returns h mod p, for h < 2p, in constant time: h - p = h -
// (2¹³⁰ - 5) if that leaves no borrow, else h.
func reduce(h0, h1, h2 uint64) (uint64, uint64, uint64) {
	t0, b := bits.Sub64(h0, 0xfffffffffffffffb, 0)
	t1, b := bits.Sub64(h1, 0xffffffffffffffff, b)
	t2, b := bits.Sub64(h2, 3, b)
	keep := -b // all ones if h < p: keep h
	return h0&keep | t0&^keep, h1&keep | t1&^keep, h2&keep | t2&^keep
}

// finish writes (h mod p + s) mod 2¹²⁸ to out.
func (p *poly) finish(out *[16]byte) {
	h0, h1, _ := reduce(p.h0, p.h1, p.h2)
	h0, c := bits.Add64(h0, p.s0, 0)
	h1, _ = bits.Add64(h1, p.s1, c)
	binary.LittleEndian.PutUint64(out[0:], h0)
	binary.LittleEndian.PutUint64(out[8:], h1)
}

// polyPowers is what polyVec needs: r⁸ in five 26-bit limbs, and the
// limbs times 5 (2¹³⁰ ≡ 5 mod p, so a limb product that lands past 2¹³⁰
// counts 5 times its limb below).
type polyPowers struct {
	r8, r8x5 [5]uint64
}

// blockLane is the lane that block j of a group lands in: polyVec
// interleaves the 64-bit halves of blocks 0-3 and 4-7.
var blockLane = [8]int{0, 2, 4, 6, 1, 3, 5, 7}

// polyVecGeneric is the Go reference of polyVecAVX512 (poly_amd64.s),
// and what runs in its place with useAVX512 off. msg is one or more groups of eight
// 16-byte blocks. Starting from zero, the lane of block j of each group
// (blockLane[j]) accumulates h = h·r⁸ + block, in five 26-bit limbs,
// r⁸ skipped after the last group; the limbs, which may exceed 26 bits
// by a carry, go to lanes[limb][lane]. It computes what the assembly
// computes, step for step, and so gives the same limbs for any k: a
// product takes the low 32 bits of each factor, as VPMULUDQ does, and
// sums wrap modulo 2⁶⁴.
func polyVecGeneric(lanes *[5][8]uint64, msg []byte, k *polyPowers) {
	var h [8][5]uint64
	for len(msg) >= 128 {
		for j, lane := range blockLane {
			addBlock26(&h[lane], msg[16*j:])
		}
		msg = msg[128:]
		if len(msg) < 128 {
			break
		}
		for lane := range h {
			mulR8(&h[lane], k)
		}
	}
	for lane := range h {
		for l := range h[lane] {
			lanes[l][lane] = h[lane][l]
		}
	}
}

// addBlock26 adds the 16-byte block b, and its 2¹²⁸, to h in 26-bit
// limbs (limbs26 of the block, the top limb with bit 24 set).
func addBlock26(h *[5]uint64, b []byte) {
	lo := binary.LittleEndian.Uint64(b[0:])
	hi := binary.LittleEndian.Uint64(b[8:])
	h[0] += lo & mask26
	h[1] += lo >> 26 & mask26
	h[2] += (lo>>52 | hi<<12) & mask26
	h[3] += hi >> 14 & mask26
	h[4] += hi>>40 | 1<<24
}

// mulR8 sets h to h·r⁸, partly reduced: the schoolbook product of the
// limbs, with products past 2¹³⁰ taken times 5 (k.r8x5), then one pass
// of carries from limb 0 to 4, the carry out of limb 4 times 5 into limb
// 0, and that limb's carry into limb 1.
func mulR8(h *[5]uint64, k *polyPowers) {
	mul := func(a, b uint64) uint64 { return uint64(uint32(a)) * uint64(uint32(b)) }
	r, s := &k.r8, &k.r8x5
	d0 := mul(h[0], r[0]) + mul(h[1], s[4]) + mul(h[2], s[3]) + mul(h[3], s[2]) + mul(h[4], s[1])
	d1 := mul(h[0], r[1]) + mul(h[1], r[0]) + mul(h[2], s[4]) + mul(h[3], s[3]) + mul(h[4], s[2])
	d2 := mul(h[0], r[2]) + mul(h[1], r[1]) + mul(h[2], r[0]) + mul(h[3], s[4]) + mul(h[4], s[3])
	d3 := mul(h[0], r[3]) + mul(h[1], r[2]) + mul(h[2], r[1]) + mul(h[3], r[0]) + mul(h[4], s[4])
	d4 := mul(h[0], r[4]) + mul(h[1], r[3]) + mul(h[2], r[2]) + mul(h[3], r[1]) + mul(h[4], r[0])
	d1 += d0 >> 26
	d0 &= mask26
	d2 += d1 >> 26
	d1 &= mask26
	d3 += d2 >> 26
	d2 &= mask26
	d4 += d3 >> 26
	d3 &= mask26
	c := d4 >> 26
	d4 &= mask26
	d0 += c + c<<2
	h[0], h[1], h[2], h[3], h[4] = d0&mask26, d1+d0>>26, d2, d3, d4
}

// vector absorbs msg, whole groups of eight blocks, into h = 0.
func (p *poly) vector(msg []byte) {
	// r⁸, one r at a time: mulReduce takes only a clamped r as its second
	// factor, and seven of it are quicker than three squarings in limbs.
	h0, h1, h2 := p.r0, p.r1, uint64(0)
	for range 7 {
		h0, h1, h2 = mulReduce(h0, h1, h2, p.r0, p.r1)
	}
	h0, h1, h2 = reduce(h0, h1, h2)
	var k polyPowers
	k.r8 = limbs26(h0, h1, h2)
	for l, v := range k.r8 {
		k.r8x5[l] = 5 * v
	}
	var lanes [5][8]uint64
	polyVec(&lanes, msg, &k)
	h0, h1, h2 = 0, 0, 0
	// Each lane's limbs are below 2²⁶·1.6 (a carried product plus a
	// block), so a lane joins to h2 ≤ 7, and h + lane keeps h2 < 16 as
	// mulReduce needs.
	for _, lane := range blockLane {
		l0, l1, l2 := from26(&[5]uint64{lanes[0][lane], lanes[1][lane], lanes[2][lane], lanes[3][lane], lanes[4][lane]})
		var c uint64
		h0, c = bits.Add64(h0, l0, 0)
		h1, c = bits.Add64(h1, l1, c)
		h2 += l2 + c
		h0, h1, h2 = mulReduce(h0, h1, h2, p.r0, p.r1)
	}
	p.h0, p.h1, p.h2 = h0, h1, h2
}

// limbs26 splits h0 + h1·2⁶⁴ + h2·2¹²⁸ into 26-bit limbs.
func limbs26(h0, h1, h2 uint64) [5]uint64 {
	return [5]uint64{
		h0 & mask26,
		h0 >> 26 & mask26,
		(h0>>52 | h1<<12) & mask26,
		h1 >> 14 & mask26,
		h1>>40 | h2<<24,
	}
}

// from26 joins limbs, each below 2²⁸, into h0 + h1·2⁶⁴ + h2·2¹²⁸.
func from26(l *[5]uint64) (h0, h1, h2 uint64) {
	var c uint64
	add := func(lo, hi uint64) { // h += hi·2⁶⁴ + lo
		h0, c = bits.Add64(h0, lo, 0)
		h1, c = bits.Add64(h1, hi, c)
		h2 += c
	}
	add(l[0], 0)
	add(l[1]<<26, l[1]>>38)
	add(l[2]<<52, l[2]>>12)
	add(0, l[3]<<14)
	h1, c = bits.Add64(h1, l[4]<<40, 0)
	h2 += l[4]>>24 + c
	return h0, h1, h2
}
