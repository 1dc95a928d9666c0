// Package edcurve converts Ed25519 keys to their X25519 (curve25519)
// form, as libsodium's crypto_sign_ed25519_{pk,sk}_to_curve25519 do, so
// that one Ed25519 identity serves both signatures and Diffie-Hellman
// (secret-handshake and Noise use it so).
package edcurve

import (
	"crypto/ed25519"
	"crypto/sha512"
	"errors"
)

// The public-key map is the birational one from the twisted Edwards curve
// to the Montgomery curve: u = (1+y)/(1-y).
//
// Like libsodium (recent versions check the subgroup too), the
// conversion refuses encodings that are not on the curve, points of small
// order and points outside the prime-order subgroup. X25519 itself would
// not need the last check: its clamped scalars are multiples of the
// cofactor 8, so a torsion component changes no shared secret. Peer
// identities do need it: a peer could present its key A as A+T for any of
// the seven points T of small order, keys that encode differently but
// prove the same secret, and so slip past an Authorize list of keys.
// Refusing them keeps one key per identity, as the JavaScript peers do.
//
// It runs on a public value, so it need not be constant time, and on
// every handshake, so it must be fast: the field arithmetic is
// field.go's, the subgroup check a 253-bit variable-time scalar
// multiplication with a sliding window, about 60 µs where math/big took
// 175 µs for the whole conversion; and a peer that connects again finds
// its key in a small cache (cache.go). filippo.io/edwards25519 would do
// all of this but is not among the module's dependencies, and
// crypto/ed25519 exports no point arithmetic.

// ErrBadPoint means a public key is not a point of the prime-order
// subgroup of Ed25519, so it has no safe X25519 form.
var ErrBadPoint = errors.New("not a valid ed25519 public key")

// PublicKey converts an Ed25519 public key to an X25519 public key.
func PublicKey(pub []byte) ([]byte, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, ErrBadPoint
	}
	if u, ok := recent.get(pub); ok {
		return u[:], nil
	}
	var le [32]byte
	copy(le[:], pub)
	// The sign of x changes neither u nor subgroup membership, so either
	// root will do. y may be non-canonical (≥ p), as libsodium accepts.
	var y fe
	y.setBytes(&le)
	if y.equal(&feOne) {
		// The identity, whose u would divide by zero. The other points of
		// small order fail the subgroup check below.
		return nil, ErrBadPoint
	}
	var p point
	if !p.setY(&y) || !p.inPrimeSubgroup() {
		return nil, ErrBadPoint
	}
	u := montgomeryU(&y)
	recent.put(pub, u)
	return u[:], nil
}

// UncheckedPublicKey is PublicKey without the checks: it maps any 32
// bytes, in a microsecond or so. It serves to compare a key with an
// X25519 key before checking it, and to convert keys known to be good,
// such as one's own.
func UncheckedPublicKey(pub []byte) []byte {
	var le [32]byte
	copy(le[:], pub)
	var y fe
	u := montgomeryU(y.setBytes(&le))
	return u[:]
}

// montgomeryU returns u = (1+y)/(1-y), little-endian.
func montgomeryU(y *fe) [32]byte {
	var num, den fe
	num.add(&feOne, y)
	den.invert(den.sub(&feOne, y))
	return num.mul(&num, &den).bytes()
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
