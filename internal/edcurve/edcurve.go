// Package edcurve converts Ed25519 keys to their X25519 (curve25519)
// form, as libsodium's crypto_sign_ed25519_{pk,sk}_to_curve25519 do, so
// that one Ed25519 identity serves both signatures and Diffie-Hellman
// (secret-handshake and Noise use it so).
package edcurve

import (
	"crypto/ed25519"
	"crypto/sha512"
	"errors"

	"filippo.io/edwards25519"
)

// The public-key map is the birational one from the twisted Edwards curve
// to the Montgomery curve: u = (1+y)/(1-y).
//
// Like libsodium (1.0.16 and later), the conversion refuses encodings that
// are not on the curve, the identity and the other points of small order,
// and points outside the prime-order subgroup. It accepts what libsodium
// accepts besides: y not reduced below p, and x = 0 with the sign bit set.
// X25519 itself would not need the subgroup check: its clamped scalars
// are multiples of the cofactor 8, so a torsion component changes no
// shared secret. Peer identities do: without it a peer could present its
// key A as A+T for any of the seven points T of small order.
//
// The refusals do not make the Ed25519 form of a peer unique: A and −A
// (the encoding with its top bit flipped) have the same u, and whoever
// holds the secret scalar of one holds that of the other. See the
// Authorize docs of shs and noise for what that means to a key list.
//
// PublicKey runs in constant time for keys on the curve (its subgroup
// check is a constant-time scalar multiplication) and keeps no state, so
// its time tells nothing about the keys it converted before.

// ErrBadPoint means a public key is not a point of the prime-order
// subgroup of Ed25519, so it has no safe X25519 form.
var ErrBadPoint = errors.New("not a valid ed25519 public key")

// lMinus1 is L-1, L = 2^252 + 27742317777372353535851937790883648493 the
// order of the prime-order subgroup: [L]P is the identity exactly when
// [L-1]P is -P, and L itself is no Scalar (it reduces to zero).
var lMinus1, _ = edwards25519.NewScalar().SetCanonicalBytes([]byte{
	0xec, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
	0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	31: 0x10,
})

// PublicKey converts an Ed25519 public key to an X25519 public key.
func PublicKey(pub []byte) ([]byte, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, ErrBadPoint
	}
	p, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return nil, ErrBadPoint
	}
	var lp, neg edwards25519.Point
	lp.ScalarMult(lMinus1, p)
	neg.Negate(p)
	// [L]P = identity fails for points with a torsion component; the
	// identity itself, whose u would divide by zero, passes it.
	if lp.Equal(&neg)&^p.Equal(edwards25519.NewIdentityPoint()) != 1 {
		return nil, ErrBadPoint
	}
	return p.BytesMontgomery(), nil
}

// PrivateKey converts an Ed25519 private key to an X25519 private key:
// the clamped first half of SHA-512 of the seed.
func PrivateKey(priv ed25519.PrivateKey) []byte {
	return PrivateKeyFromSeed(priv.Seed())
}

// PrivateKeyFromSeed is [PrivateKey] for the Ed25519 key of seed, without
// the work of deriving that key's public half.
func PrivateKeyFromSeed(seed []byte) []byte {
	h := sha512.Sum512(seed)
	h[0] &= 248
	h[31] &= 127
	h[31] |= 64
	return h[:32]
}
