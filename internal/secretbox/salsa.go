package secretbox

import (
	"encoding/binary"
	"math/bits"
)

// salsa16Generic is the Go reference of salsa16AVX512 (salsa_amd64.s),
// and what runs in its place with useAVX512 off: it writes to out the 16
// Salsa20 blocks of block and of the 15 blocks after it, block i (0 to
// 15) with word 8 plus i, modulo 2³², at out[64·i:]. Word 9 never
// changes, as in the assembly; callers keep word 8 from wrapping
// (maxBatchBlock).
func salsa16Generic(out *[batch]byte, block *[16]uint32) {
	for i := range 16 {
		in := *block
		in[8] += uint32(i)
		salsaBlock((*[64]byte)(out[64*i:]), &in)
	}
}

// salsaBlock writes the Salsa20 block of in to out: ten double rounds,
// each a column round and a row round of four quarter-rounds, and then
// in added word by word.
func salsaBlock(out *[64]byte, in *[16]uint32) {
	x0, x1, x2, x3 := in[0], in[1], in[2], in[3]
	x4, x5, x6, x7 := in[4], in[5], in[6], in[7]
	x8, x9, x10, x11 := in[8], in[9], in[10], in[11]
	x12, x13, x14, x15 := in[12], in[13], in[14], in[15]
	for range 10 {
		x0, x4, x8, x12 = quarter(x0, x4, x8, x12)
		x5, x9, x13, x1 = quarter(x5, x9, x13, x1)
		x10, x14, x2, x6 = quarter(x10, x14, x2, x6)
		x15, x3, x7, x11 = quarter(x15, x3, x7, x11)

		x0, x1, x2, x3 = quarter(x0, x1, x2, x3)
		x5, x6, x7, x4 = quarter(x5, x6, x7, x4)
		x10, x11, x8, x9 = quarter(x10, x11, x8, x9)
		x15, x12, x13, x14 = quarter(x15, x12, x13, x14)
	}
	x := [16]uint32{x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15}
	for i := range x {
		binary.LittleEndian.PutUint32(out[4*i:], x[i]+in[i])
	}
}

// quarter is Salsa20's quarter-round of (a, b, c, d): b ^= (a+d)<<<7,
// c ^= (b+a)<<<9, d ^= (c+b)<<<13, a ^= (d+c)<<<18.
func quarter(a, b, c, d uint32) (uint32, uint32, uint32, uint32) {
	b ^= bits.RotateLeft32(a+d, 7)
	c ^= bits.RotateLeft32(b+a, 9)
	d ^= bits.RotateLeft32(c+b, 13)
	a ^= bits.RotateLeft32(d+c, 18)
	return a, b, c, d
}
