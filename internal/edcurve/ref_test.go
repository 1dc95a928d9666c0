package edcurve

import (
	"crypto/ed25519"
	"math/big"
	"math/rand/v2"
	"testing"
)

// This file holds a math/big reference for the field and curve code:
// slow, short and independent of it.

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

// feFromInt returns n, which must be below 2^255, as an fe.
func feFromInt(n *big.Int) fe {
	var b [32]byte
	copy(b[:], intToLE(n))
	var v fe
	return *v.setBytes(&b)
}

// int returns v as a big.Int in [0, p), through bytes.
func (v *fe) int() *big.Int {
	b := v.bytes()
	return leToInt(b[:])
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

func TestFieldMatchesBig(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	rnd := func() *big.Int {
		b := make([]byte, 32)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		b[0] &= 0x7f // below 2^255, possibly ≥ p
		return new(big.Int).SetBytes(b)
	}
	for i := range 2000 {
		x, y := rnd(), rnd()
		switch i {
		case 0:
			x.Sub(fieldP, big.NewInt(1))
			y.Set(x)
		case 1:
			x.Set(fieldP) // non-canonical zero
			y.Add(fieldP, big.NewInt(18))
		case 2:
			x.Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(1))
			y.SetInt64(0)
		}
		fx, fy := feFromInt(x), feFromInt(y)
		check := func(op string, got *fe, want *big.Int) {
			t.Helper()
			mod(want)
			if got.int().Cmp(want) != 0 {
				t.Fatalf("%s(%v, %v) = %v, want %v", op, x, y, got.int(), want)
			}
		}
		var got fe
		check("bytes", &fx, new(big.Int).Set(x))
		check("mul", got.mul(&fx, &fy), new(big.Int).Mul(x, y))
		check("square", got.square(&fx), new(big.Int).Mul(x, x))
		check("add", got.add(&fx, &fy), new(big.Int).Add(x, y))
		check("sub", got.sub(&fx, &fy), new(big.Int).Sub(x, y))
		check("neg", got.neg(&fx), new(big.Int).Neg(x))
		// chains keep the limb invariant
		var a fe
		a.mul(got.add(&fx, &fy), new(fe).sub(&fx, &fy))
		check("mul(add,sub)", &a, new(big.Int).Mul(new(big.Int).Add(x, y), new(big.Int).Sub(x, y)))
		if i%20 == 0 {
			check("invert", got.invert(&fx), new(big.Int).Exp(x, new(big.Int).Sub(fieldP, big.NewInt(2)), fieldP))
			e := new(big.Int).Rsh(new(big.Int).Sub(fieldP, big.NewInt(5)), 3)
			got.pow2523(&fx)
			check("pow2523", &got, new(big.Int).Exp(x, e, fieldP))
			ok := got.sqrtRatio(&fx, &fy)
			want := new(big.Int).ModSqrt(mod(new(big.Int).Mul(x, new(big.Int).ModInverse(mod(new(big.Int).Set(y)), fieldP))), fieldP)
			if mod(new(big.Int).Set(y)).Sign() == 0 {
				continue
			}
			if ok != (want != nil) {
				t.Fatalf("sqrtRatio(%v, %v) reports %v", x, y, ok)
			}
			if ok {
				sq := new(big.Int).Mul(got.int(), got.int())
				check("sqrtRatio²·w", new(fe).mul(new(fe).square(&got), &fy), sq.Mul(sq, y))
				if mod(sq.Sub(sq, x)).Sign() != 0 {
					t.Fatalf("sqrtRatio(%v, %v)² is not the ratio", x, y)
				}
			}
		}
	}
}

func TestConstants(t *testing.T) {
	if edD.int().Cmp(bigD) != 0 {
		t.Errorf("d = %v, want %v", edD.int(), bigD)
	}
	minus1 := new(big.Int).Sub(fieldP, big.NewInt(1))
	if s := new(big.Int).Mul(sqrtM1.int(), sqrtM1.int()); mod(s).Cmp(minus1) != 0 {
		t.Errorf("sqrtM1² = %v, want -1", s)
	}
	if leToInt(groupL[:]).Cmp(bigL) != 0 {
		t.Errorf("groupL = %x, want %v", groupL, bigL)
	}
	sum := new(big.Int)
	for i, d := range lDigits {
		if d != 0 && (d%2 == 0 || d >= 1<<window) {
			t.Errorf("digit %d is %d", i, d)
		}
		sum.Add(sum, new(big.Int).Lsh(big.NewInt(int64(d)), uint(i)))
	}
	if sum.Cmp(bigL) != 0 {
		t.Errorf("lDigits sum to %v, want L", sum)
	}
}

// TestDouble checks double against add and the reference.
func TestDouble(t *testing.T) {
	for i := range 10 {
		pub := ed25519.NewKeyFromSeed([]byte{31: byte(i)}).Public().(ed25519.PublicKey)
		ref, _ := refDecode(pub)
		var p point
		var le [32]byte
		copy(le[:], pub)
		le[31] &= 0x7f
		var y fe
		if !p.setY(y.setBytes(&le)) {
			t.Fatal("setY failed on a public key")
		}
		var d, a point
		d.double(&p, true)
		a.add(&p, &p)
		two := ref.add(ref)
		for _, q := range []*point{&d, &a} {
			var zi, x, yy, tt fe
			zi.invert(&q.z)
			x.mul(&q.x, &zi)
			yy.mul(&q.y, &zi)
			tt.mul(&q.t, &zi)
			if yy.int().Cmp(two.y) != 0 || (x.int().Cmp(two.x) != 0 && mod(new(big.Int).Add(x.int(), two.x)).Sign() != 0) {
				t.Fatalf("2P = (%v, %v), want (±%v, %v)", x.int(), yy.int(), two.x, two.y)
			}
			if want := mod(new(big.Int).Mul(x.int(), yy.int())); tt.int().Cmp(want) != 0 {
				t.Fatalf("T/Z = %v, want xy = %v", tt.int(), want)
			}
		}
	}
}
