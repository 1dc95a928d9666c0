// Package edcurve converts Ed25519 keys to their X25519 (curve25519)
// form, as libsodium's crypto_sign_ed25519_{pk,sk}_to_curve25519 do, so
// that one Ed25519 identity serves both signatures and Diffie-Hellman
// (secret-handshake and Noise use it so).
package edcurve

import (
	"crypto/ed25519"
	"crypto/sha512"
	"errors"
	"math/big"
)

// The public-key map is the birational one from the twisted Edwards curve
// to the Montgomery curve: u = (1+y)/(1-y). Like libsodium, the conversion
// refuses points of small order, encodings that are not on the curve and
// points outside the prime-order subgroup. It runs once per handshake on a
// public value, so it need not be constant time: decoding and the map use
// math/big, and only the subgroup check (a 253-bit scalar multiplication)
// uses the limb arithmetic of field.go. filippo.io/edwards25519 would do
// all of this but is not among the module's dependencies.

// ErrBadPoint means a public key is not a point of the prime-order
// subgroup of Ed25519, so it has no safe X25519 form.
var ErrBadPoint = errors.New("not a valid ed25519 public key")

var (
	fieldP = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	// edD is the Edwards curve constant d = -121665/121666 mod p.
	edD = func() *big.Int {
		d := new(big.Int).ModInverse(big.NewInt(121666), fieldP)
		d.Mul(d, big.NewInt(-121665))
		return d.Mod(d, fieldP)
	}()
	// groupL is the order of the prime-order subgroup, 2^252 + 27742317777372353535851937790883648493.
	groupL, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	// smallOrderY holds the y coordinates of the points of order 1, 2, 4 and 8.
	smallOrderY = func() []*big.Int {
		y8, _ := new(big.Int).SetString("2707385501144840649318225287225658788936804267575313519463743609750303402022", 10)
		return []*big.Int{big.NewInt(0), big.NewInt(1), new(big.Int).Sub(fieldP, big.NewInt(1)), y8, new(big.Int).Sub(fieldP, y8)}
	}()
)

// PublicKey converts an Ed25519 public key to an X25519 public key.
func PublicKey(pub []byte) ([]byte, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, ErrBadPoint
	}
	var le [32]byte
	copy(le[:], pub)
	le[31] &= 0x7f // the sign of x does not change u, nor subgroup membership
	y := leToInt(le[:])
	y.Mod(y, fieldP) // like libsodium, accept non-canonical y
	for _, s := range smallOrderY {
		if y.Cmp(s) == 0 {
			return nil, ErrBadPoint
		}
	}
	x := recoverX(y)
	if x == nil || !inPrimeSubgroup(x, y) {
		return nil, ErrBadPoint
	}
	one := big.NewInt(1)
	num := new(big.Int).Add(one, y)
	den := new(big.Int).Sub(one, y)
	den.Mod(den, fieldP).ModInverse(den, fieldP)
	num.Mul(num, den).Mod(num, fieldP)
	return intToLE(num), nil
}

// PrivateKey converts an Ed25519 private key to an X25519 private key:
// the clamped first half of SHA-512 of the seed.
func PrivateKey(priv ed25519.PrivateKey) []byte {
	h := sha512.Sum512(priv.Seed())
	h[0] &= 248
	h[31] &= 127
	h[31] |= 64
	return h[:32]
}

// recoverX returns an x with x² = (y²-1)/(dy²+1), or nil if there is none.
func recoverX(y *big.Int) *big.Int {
	y2 := new(big.Int).Mul(y, y)
	u := new(big.Int).Sub(y2, big.NewInt(1))
	v := y2.Mul(y2, edD)
	v.Add(v, big.NewInt(1)).Mod(v, fieldP)
	v.ModInverse(v, fieldP)
	u.Mul(u, v).Mod(u, fieldP)
	return new(big.Int).ModSqrt(u, fieldP)
}

// inPrimeSubgroup reports whether L·(x, y) is the identity.
func inPrimeSubgroup(x, y *big.Int) bool {
	var acc, base edPoint
	acc.y[0], acc.z[0] = 1, 1 // the identity (0, 1)
	base.x, base.y, base.z = feFromInt(x), feFromInt(y), fe{1}
	base.t.mul(&base.x, &base.y)
	for i := groupL.BitLen() - 1; i >= 0; i-- {
		acc.add(&acc, &acc)
		if groupL.Bit(i) == 1 {
			acc.add(&acc, &base)
		}
	}
	// The identity has X = 0 and Y = Z.
	X, Y, Z := acc.x.int(), acc.y.int(), acc.z.int()
	return X.Sign() == 0 && Y.Cmp(Z) == 0
}

// edPoint is a point in extended coordinates (X:Y:Z:T) with x = X/Z,
// y = Y/Z and xy = T/Z.
type edPoint struct{ x, y, z, t fe }

// add sets p = a + b with the unified formula add-2008-hwcd-3 for a = -1,
// which also doubles.
func (p *edPoint) add(a, b *edPoint) {
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
}

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
