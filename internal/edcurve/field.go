package edcurve

import (
	"encoding/binary"
	"math/bits"
)

// fe is an element of GF(2^255-19) in five unsaturated 51-bit limbs,
// value = Σ fe[i]·2^(51i), the representation of ref10 and of Go's own
// (internal) field package. Every operation ends with carry, which leaves
// each limb below 2^51 + 2^15; that keeps the column sums of mul and
// square below 2^109. The operations are not constant time: they serve
// only public keys.
type fe [5]uint64

const mask51 = 1<<51 - 1

// setBytes sets v to the 255-bit little-endian number in b, ignoring the
// top bit. The value may be up to 2^255-1, so it need not be reduced.
func (v *fe) setBytes(b *[32]byte) *fe {
	v[0] = binary.LittleEndian.Uint64(b[0:]) & mask51
	v[1] = binary.LittleEndian.Uint64(b[6:]) >> 3 & mask51
	v[2] = binary.LittleEndian.Uint64(b[12:]) >> 6 & mask51
	v[3] = binary.LittleEndian.Uint64(b[19:]) >> 1 & mask51
	v[4] = binary.LittleEndian.Uint64(b[24:]) >> 12 & mask51
	return v
}

// bytes returns v reduced to [0, p), little-endian.
func (v *fe) bytes() [32]byte {
	t := *v
	t.carry()
	// Now t < 2^255 + 19·2^13. t ≥ p exactly when t+19 carries out of
	// bit 255; then subtracting p is adding 19 and dropping that bit.
	c := (t[0] + 19) >> 51
	for i := 1; i < 5; i++ {
		c = (t[i] + c) >> 51
	}
	t[0] += 19 * c
	for i := 1; i < 5; i++ {
		t[i] += t[i-1] >> 51
		t[i-1] &= mask51
	}
	t[4] &= mask51
	var out [32]byte
	binary.LittleEndian.PutUint64(out[0:], t[0]|t[1]<<51)
	binary.LittleEndian.PutUint64(out[8:], t[1]>>13|t[2]<<38)
	binary.LittleEndian.PutUint64(out[16:], t[2]>>26|t[3]<<25)
	binary.LittleEndian.PutUint64(out[24:], t[3]>>39|t[4]<<12)
	return out
}

func (v *fe) equal(u *fe) bool { return v.bytes() == u.bytes() }

func (v *fe) isZero() bool { return v.bytes() == [32]byte{} }

// carry brings every limb below 2^51 plus a small excess in limb 0.
func (v *fe) carry() *fe {
	c0, c1, c2, c3, c4 := v[0]>>51, v[1]>>51, v[2]>>51, v[3]>>51, v[4]>>51
	v[0] = v[0]&mask51 + 19*c4
	v[1] = v[1]&mask51 + c0
	v[2] = v[2]&mask51 + c1
	v[3] = v[3]&mask51 + c2
	v[4] = v[4]&mask51 + c3
	return v
}

func (v *fe) add(a, b *fe) *fe {
	v[0], v[1], v[2], v[3], v[4] = a[0]+b[0], a[1]+b[1], a[2]+b[2], a[3]+b[3], a[4]+b[4]
	return v.carry()
}

// sub sets v = a - b, adding 2p (limbs 2^52-38, 2^52-2, ...) to stay
// positive; b's limbs are below 2^52-38 by the invariant above.
func (v *fe) sub(a, b *fe) *fe {
	v[0] = a[0] + (1<<52 - 38) - b[0]
	v[1] = a[1] + (1<<52 - 2) - b[1]
	v[2] = a[2] + (1<<52 - 2) - b[2]
	v[3] = a[3] + (1<<52 - 2) - b[3]
	v[4] = a[4] + (1<<52 - 2) - b[4]
	return v.carry()
}

func (v *fe) neg(a *fe) *fe { return v.sub(&fe{}, a) }

// u128 is an unsigned 128-bit accumulator.
type u128 struct{ hi, lo uint64 }

func mul64(a, b uint64) u128 {
	hi, lo := bits.Mul64(a, b)
	return u128{hi, lo}
}

func (r u128) addMul(a, b uint64) u128 {
	hi, lo := bits.Mul64(a, b)
	lo, c := bits.Add64(r.lo, lo, 0)
	hi, _ = bits.Add64(r.hi, hi, c)
	return u128{hi, lo}
}

// shr51 returns r >> 51, which fits 64 bits for the column sums below.
func (r u128) shr51() uint64 { return r.hi<<13 | r.lo>>51 }

// reduce sets v from five 128-bit column sums, each below 2^109, so that
// every carry out of a column is below 2^58, and 19 times one fits.
func (v *fe) reduce(r0, r1, r2, r3, r4 u128) *fe {
	c0, c1, c2, c3, c4 := r0.shr51(), r1.shr51(), r2.shr51(), r3.shr51(), r4.shr51()
	v[0] = r0.lo&mask51 + 19*c4
	v[1] = r1.lo&mask51 + c0
	v[2] = r2.lo&mask51 + c1
	v[3] = r3.lo&mask51 + c2
	v[4] = r4.lo&mask51 + c3
	return v.carry()
}

// mul sets v = a·b, reducing with 2^255 = 19.
func (v *fe) mul(a, b *fe) *fe {
	a0, a1, a2, a3, a4 := a[0], a[1], a[2], a[3], a[4]
	b0, b1, b2, b3, b4 := b[0], b[1], b[2], b[3], b[4]
	a1t, a2t, a3t, a4t := 19*a1, 19*a2, 19*a3, 19*a4
	r0 := mul64(a0, b0).addMul(a1t, b4).addMul(a2t, b3).addMul(a3t, b2).addMul(a4t, b1)
	r1 := mul64(a0, b1).addMul(a1, b0).addMul(a2t, b4).addMul(a3t, b3).addMul(a4t, b2)
	r2 := mul64(a0, b2).addMul(a1, b1).addMul(a2, b0).addMul(a3t, b4).addMul(a4t, b3)
	r3 := mul64(a0, b3).addMul(a1, b2).addMul(a2, b1).addMul(a3, b0).addMul(a4t, b4)
	r4 := mul64(a0, b4).addMul(a1, b3).addMul(a2, b2).addMul(a3, b1).addMul(a4, b0)
	return v.reduce(r0, r1, r2, r3, r4)
}

// square sets v = a², with 15 products where mul takes 25.
func (v *fe) square(a *fe) *fe {
	a0, a1, a2, a3, a4 := a[0], a[1], a[2], a[3], a[4]
	a0d, a1d := 2*a0, 2*a1
	a1t, a2t, a3t := 38*a1, 38*a2, 38*a3 // 2·19
	a3n, a4n := 19*a3, 19*a4
	r0 := mul64(a0, a0).addMul(a1t, a4).addMul(a2t, a3)
	r1 := mul64(a0d, a1).addMul(a2t, a4).addMul(a3n, a3)
	r2 := mul64(a0d, a2).addMul(a1, a1).addMul(a3t, a4)
	r3 := mul64(a0d, a3).addMul(a1d, a2).addMul(a4n, a4)
	r4 := mul64(a0d, a4).addMul(a1d, a3).addMul(a2, a2)
	return v.reduce(r0, r1, r2, r3, r4)
}

// squareN sets v = a^(2^n).
func (v *fe) squareN(a *fe, n int) *fe {
	v.square(a)
	for range n - 1 {
		v.square(v)
	}
	return v
}

// pow2523 sets v = a^((p-5)/8) = a^(2^252-3), and also returns
// a^(2^250-1) and a^11 for invert, which shares the chain. This is the
// addition chain of ref10 and Go's field package: 251 squarings and 11
// multiplications.
func (v *fe) pow2523(a *fe) (a2250m1, a11 fe) {
	var a2, a9, a2_5m1, a2_10m1, a2_20m1, a2_50m1, a2_100m1, t fe
	a2.square(a)
	a9.mul(t.squareN(&a2, 2), a)
	a11.mul(&a9, &a2)
	a2_5m1.mul(t.square(&a11), &a9)             // 2^5 - 1
	a2_10m1.mul(t.squareN(&a2_5m1, 5), &a2_5m1) // 2^10 - 1
	a2_20m1.mul(t.squareN(&a2_10m1, 10), &a2_10m1)
	t.mul(t.squareN(&a2_20m1, 20), &a2_20m1) // 2^40 - 1
	a2_50m1.mul(t.squareN(&t, 10), &a2_10m1)
	a2_100m1.mul(t.squareN(&a2_50m1, 50), &a2_50m1)
	t.mul(t.squareN(&a2_100m1, 100), &a2_100m1) // 2^200 - 1
	a2250m1.mul(t.squareN(&t, 50), &a2_50m1)    // 2^250 - 1
	v.mul(t.squareN(&a2250m1, 2), a)            // 2^252 - 4 + 1
	return a2250m1, a11
}

// invert sets v = 1/a = a^(p-2) = a^(2^255-21); v = 0 if a = 0.
func (v *fe) invert(a *fe) *fe {
	var t fe
	a2250m1, a11 := t.pow2523(a)
	return v.mul(t.squareN(&a2250m1, 5), &a11) // 2^255 - 32 + 11
}

// feSmall returns n as an fe.
func feSmall(n uint64) fe { return fe{n} }

var (
	feOne = feSmall(1)
	// edD is the Edwards curve constant d = -121665/121666.
	edD = func() (d fe) {
		var inv, n fe
		inv.invert(&fe{121666})
		n.neg(&fe{121665})
		return *d.mul(&n, &inv)
	}()
	fe2D = func() (d2 fe) { return *d2.add(&edD, &edD) }()
	// sqrtM1 is a square root of -1: 2^((p-1)/4) = (2^((p-5)/8))²·2.
	sqrtM1 = func() (s fe) {
		two := feSmall(2)
		s.pow2523(&two)
		return *s.mul(s.square(&s), &two)
	}()
)

// sqrtRatio sets v to a square root of u/w and reports whether there is
// one; w must not be zero. It takes r = u·w³·(u·w⁷)^((p-5)/8), which
// squares to ±u/w, as RFC 8032 section 5.1.3 decodes points.
func (v *fe) sqrtRatio(u, w *fe) bool {
	var w3, w7, r, check, t fe
	w3.mul(t.square(w), w)
	w7.mul(t.square(&w3), w)
	r.mul(u, &w3)
	t.pow2523(t.mul(u, &w7))
	r.mul(&r, &t)
	check.mul(w, t.square(&r)) // ±u
	switch {
	case check.equal(u):
		*v = r
		return true
	case check.equal(t.neg(u)):
		v.mul(&r, &sqrtM1)
		return true
	}
	return false
}
