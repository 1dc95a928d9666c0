package edcurve

// point is a point of the Edwards curve -x² + y² = 1 + d·x²·y² in
// extended coordinates (X:Y:Z:T), with x = X/Z, y = Y/Z and xy = T/Z.
type point struct{ x, y, z, t fe }

// setY sets p to a point with the given y, and reports whether the curve
// has one: x² = (y²-1)/(d·y²+1). d·y²+1 is never zero, as d is not a
// square.
func (p *point) setY(y *fe) bool {
	var y2, u, w fe
	y2.square(y)
	u.sub(&y2, &feOne)
	w.add(w.mul(&edD, &y2), &feOne)
	if !p.x.sqrtRatio(&u, &w) {
		return false
	}
	p.y, p.z = *y, feOne
	p.t.mul(&p.x, y)
	return true
}

// add sets p = a + b with the unified formula add-2008-hwcd-3 for a = -1,
// which also doubles.
func (p *point) add(a, b *point) *point {
	var A, B, C, D, E, F, G, H, s, u fe
	A.mul(s.sub(&a.y, &a.x), u.sub(&b.y, &b.x))
	B.mul(s.add(&a.y, &a.x), u.add(&b.y, &b.x))
	C.mul(&a.t, &b.t)
	C.mul(&C, &fe2D)
	D.mul(&a.z, &b.z)
	D.add(&D, &D)
	E.sub(&B, &A)
	F.sub(&D, &C)
	G.add(&D, &C)
	H.add(&B, &A)
	p.x.mul(&E, &F)
	p.y.mul(&G, &H)
	p.t.mul(&E, &H)
	p.z.mul(&F, &G)
	return p
}

// double sets p = 2a with dbl-2008-hwcd for a = -1 (4 squarings, 3 or 4
// multiplications; F and H negated, which scales the result by -1). It
// computes T only if withT: doubling does not read T, so a doubling that
// another doubling follows need not.
func (p *point) double(a *point, withT bool) *point {
	var A, B, C, E, F, G, H fe
	A.square(&a.x)
	B.square(&a.y)
	C.square(&a.z)
	C.add(&C, &C)
	H.add(&A, &B)
	E.add(&a.x, &a.y)
	E.sub(E.square(&E), &H)
	G.sub(&B, &A)
	F.sub(&C, &G)
	p.x.mul(&E, &F)
	p.y.mul(&G, &H)
	p.z.mul(&F, &G)
	if withT {
		p.t.mul(&E, &H)
	}
	return p
}

// groupL is L = 2^252 + 27742317777372353535851937790883648493, the order
// of the prime-order subgroup, little-endian.
var groupL = [32]byte{
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
	0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	31: 0x10,
}

// window is the width of the sliding window over L's bits.
const window = 4

// lDigits is L in sliding-window form: L = Σ lDigits[i]·2^i, every digit
// 0 or odd and below 2^window. It takes 252 doublings and 27 additions,
// as bits 125 to 251 are zero.
var lDigits = func() []int8 {
	var bit [253]uint8
	for i := range bit {
		bit[i] = groupL[i/8] >> (i % 8) & 1
	}
	d := make([]int8, len(bit))
	for i := len(bit) - 1; i >= 0; {
		if bit[i] == 0 {
			i--
			continue
		}
		j := max(i-window+1, 0)
		for bit[j] == 0 {
			j++
		}
		v := 0
		for k := i; k >= j; k-- {
			v = v<<1 | int(bit[k])
		}
		d[j] = int8(v)
		i = j - 1
	}
	return d
}()

// inPrimeSubgroup reports whether [L]p is the identity.
func (p *point) inPrimeSubgroup() bool {
	var odd [1 << (window - 1)]point // odd[i] = (2i+1)·p
	var p2 point
	p2.double(p, true)
	odd[0] = *p
	for i := 1; i < len(odd); i++ {
		odd[i].add(&odd[i-1], &p2)
	}
	top := len(lDigits) - 1
	acc := odd[lDigits[top]/2]
	for i := top - 1; i >= 0; i-- {
		d := lDigits[i]
		acc.double(&acc, d != 0)
		if d != 0 {
			acc.add(&acc, &odd[d/2])
		}
	}
	// The identity is (0:Z:Z:0).
	return acc.x.isZero() && acc.y.equal(&acc.z)
}
