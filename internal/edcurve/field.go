package edcurve

import (
	"math/big"
	"math/bits"
)

// fe is an element of GF(2^255-19) in five unsaturated 51-bit limbs,
// value = Σ fe[i]·2^(51i). It serves only the subgroup check in
// edcurve.go, where math/big alone made a handshake several times slower.
// After every operation each limb is below 2^52, which keeps the products
// in mul below 2^128.
type fe [5]uint64

const mask51 = 1<<51 - 1

// fe2D is 2d, the constant of the point addition formula.
var fe2D = feFromInt(new(big.Int).Mod(new(big.Int).Lsh(edD, 1), fieldP))

// feFromInt returns n, which must be in [0, p), as an fe.
func feFromInt(n *big.Int) fe {
	var v fe
	m := new(big.Int)
	lim := big.NewInt(mask51)
	for i := range v {
		v[i] = m.Rsh(n, uint(51*i)).And(m, lim).Uint64()
	}
	return v
}

// int returns v as a big.Int in [0, p).
func (v *fe) int() *big.Int {
	n, l := new(big.Int), new(big.Int)
	for i := len(v) - 1; i >= 0; i-- {
		n.Lsh(n, 51).Add(n, l.SetUint64(v[i]))
	}
	return n.Mod(n, fieldP)
}

// carry brings every limb below 2^51 plus a small excess in limb 0.
func (v *fe) carry() *fe {
	c := v[0] >> 51
	v[0] &= mask51
	for i := 1; i < 5; i++ {
		v[i] += c
		c = v[i] >> 51
		v[i] &= mask51
	}
	v[0] += 19 * c
	return v
}

func (v *fe) add(a, b *fe) *fe {
	for i := range v {
		v[i] = a[i] + b[i]
	}
	return v.carry()
}

// sub sets v = a - b, adding 2p (limbs 2^52-38, 2^52-2, ...) to stay
// positive; b's limbs are below 2^52-38 by the invariant above.
func (v *fe) sub(a, b *fe) *fe {
	v[0] = a[0] + (1<<52 - 38) - b[0]
	for i := 1; i < 5; i++ {
		v[i] = a[i] + (1<<52 - 2) - b[i]
	}
	return v.carry()
}

// u128 is an unsigned 128-bit accumulator.
type u128 struct{ hi, lo uint64 }

func (r u128) addMul(a, b uint64) u128 {
	hi, lo := bits.Mul64(a, b)
	lo, c := bits.Add64(r.lo, lo, 0)
	hi, _ = bits.Add64(r.hi, hi, c)
	return u128{hi, lo}
}

// mul sets v = a·b, reducing with 2^255 = 19.
func (v *fe) mul(a, b *fe) *fe {
	a0, a1, a2, a3, a4 := a[0], a[1], a[2], a[3], a[4]
	b0, b1, b2, b3, b4 := b[0], b[1], b[2], b[3], b[4]
	a1t, a2t, a3t, a4t := 19*a1, 19*a2, 19*a3, 19*a4
	var r [5]u128
	r[0] = r[0].addMul(a0, b0).addMul(a1t, b4).addMul(a2t, b3).addMul(a3t, b2).addMul(a4t, b1)
	r[1] = r[1].addMul(a0, b1).addMul(a1, b0).addMul(a2t, b4).addMul(a3t, b3).addMul(a4t, b2)
	r[2] = r[2].addMul(a0, b2).addMul(a1, b1).addMul(a2, b0).addMul(a3t, b4).addMul(a4t, b3)
	r[3] = r[3].addMul(a0, b3).addMul(a1, b2).addMul(a2, b1).addMul(a3, b0).addMul(a4t, b4)
	r[4] = r[4].addMul(a0, b4).addMul(a1, b3).addMul(a2, b2).addMul(a3, b1).addMul(a4, b0)
	// Each r[i] < 2^111, so each carry < 2^60 and 19 times the last < 2^64.
	var c [5]uint64
	for i := range r {
		c[i] = r[i].hi<<13 | r[i].lo>>51
	}
	v[0] = r[0].lo&mask51 + 19*c[4]
	for i := 1; i < 5; i++ {
		v[i] = r[i].lo&mask51 + c[i-1]
	}
	return v.carry()
}
