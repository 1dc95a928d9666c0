package edcurve

import (
	"math/big"
	"testing"
)

// This file holds a math/big reference for the conversion: slow, short
// and independent of the code under test.

var (
	fieldP = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	bigD   = func() *big.Int {
		d := new(big.Int).ModInverse(big.NewInt(121666), fieldP)
		d.Mul(d, big.NewInt(-121665))
		return d.Mod(d, fieldP)
	}()
	bigL, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
)

func leToInt(le []byte) *big.Int {
	be := make([]byte, len(le))
	for i, b := range le {
		be[len(le)-1-i] = b
	}
	return new(big.Int).SetBytes(be)
}

func intToLE(n *big.Int) []byte {
	var be [32]byte
	n.FillBytes(be[:])
	le := make([]byte, 32)
	for i, b := range be {
		le[31-i] = b
	}
	return le
}

func mod(n *big.Int) *big.Int { return n.Mod(n, fieldP) }

// bigPoint is an affine point.
type bigPoint struct{ x, y *big.Int }

// refDecode decodes an encoding as RFC 8032 does, but accepting y ≥ p
// and x = 0 with the sign bit set, as libsodium does.
func refDecode(b []byte) (bigPoint, bool) {
	le := append([]byte(nil), b...)
	sign := uint(le[31] >> 7)
	le[31] &= 0x7f
	y := mod(leToInt(le))
	y2 := new(big.Int).Mul(y, y)
	u := mod(new(big.Int).Sub(y2, big.NewInt(1)))
	v := mod(new(big.Int).Add(new(big.Int).Mul(bigD, y2), big.NewInt(1)))
	x2 := mod(u.Mul(u, new(big.Int).ModInverse(v, fieldP)))
	x := new(big.Int).ModSqrt(x2, fieldP)
	if x == nil {
		return bigPoint{}, false
	}
	if x.Bit(0) != sign {
		x = mod(x.Neg(x))
	}
	return bigPoint{x, y}, true
}

func (p bigPoint) encode() []byte {
	b := intToLE(p.y)
	b[31] |= byte(p.x.Bit(0)) << 7
	return b
}

// add is the affine addition law, which is complete.
func (p bigPoint) add(q bigPoint) bigPoint {
	xy := mod(new(big.Int).Mul(new(big.Int).Mul(p.x, q.x), new(big.Int).Mul(p.y, q.y)))
	dxy := mod(xy.Mul(xy, bigD))
	xn := mod(new(big.Int).Add(new(big.Int).Mul(p.x, q.y), new(big.Int).Mul(p.y, q.x)))
	yn := mod(new(big.Int).Add(new(big.Int).Mul(p.y, q.y), new(big.Int).Mul(p.x, q.x)))
	xd := new(big.Int).ModInverse(mod(new(big.Int).Add(big.NewInt(1), dxy)), fieldP)
	yd := new(big.Int).ModInverse(mod(new(big.Int).Sub(big.NewInt(1), dxy)), fieldP)
	return bigPoint{mod(xn.Mul(xn, xd)), mod(yn.Mul(yn, yd))}
}

func (p bigPoint) mul(k *big.Int) bigPoint {
	acc := bigPoint{big.NewInt(0), big.NewInt(1)}
	for i := k.BitLen() - 1; i >= 0; i-- {
		acc = acc.add(acc)
		if k.Bit(i) == 1 {
			acc = acc.add(p)
		}
	}
	return acc
}

func (p bigPoint) isIdentity() bool { return p.x.Sign() == 0 && p.y.Cmp(big.NewInt(1)) == 0 }

// refPublicKey is PublicKey the slow way.
func refPublicKey(b []byte) ([]byte, error) {
	p, ok := refDecode(b)
	if !ok || p.isIdentity() || !p.mul(bigL).isIdentity() {
		return nil, ErrBadPoint
	}
	one := big.NewInt(1)
	u := new(big.Int).Mul(new(big.Int).Add(one, p.y), new(big.Int).ModInverse(mod(new(big.Int).Sub(one, p.y)), fieldP))
	return intToLE(mod(u)), nil
}

// torsion returns the encodings of the seven points of order 2, 4 and 8.
func torsion() [][]byte {
	// A point of order 8 is L times any point with a torsion part of
	// order 8; (x, y) with y = 2 is one, it turns out.
	var g bigPoint
	for y := int64(2); ; y++ {
		p, ok := refDecode(intToLE(big.NewInt(y)))
		if !ok {
			continue
		}
		g = p.mul(bigL)
		if g.mul(big.NewInt(4)).isIdentity() {
			continue
		}
		break
	}
	var out [][]byte
	for k, q := int64(1), g; k < 8; k, q = k+1, q.add(g) {
		out = append(out, q.encode())
	}
	return out
}

func addPoints(t *testing.T, a, b []byte) []byte {
	t.Helper()
	p, ok1 := refDecode(a)
	q, ok2 := refDecode(b)
	if !ok1 || !ok2 {
		t.Fatalf("addPoints(%x, %x): not points", a, b)
	}
	return p.add(q).encode()
}
