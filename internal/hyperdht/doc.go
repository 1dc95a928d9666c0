// Package hyperdht holds the cryptography of hyperdht's peer connections
// (npm hyperdht 6.34, @hyperswarm/secret-stream 6.9): the
// Noise_IK_Ed25519_ChaChaPoly_BLAKE2b handshake as flynn/noise with an
// Ed25519 Diffie-Hellman on filippo.io/edwards25519, the namespaces and the
// prologue hyperdht uses, the holepunch secret and the secret-stream ids.
//
// # Diffie-Hellman
//
// hyperdht's noise-curve-ed multiplies the peer's Ed25519 point by the
// clamped SHA-512 scalar of our seed (libsodium's
// crypto_scalarmult_ed25519_noclamp) and uses the compressed result. [DH]
// does the same and refuses what libsodium refuses: a non-canonical
// encoding, a point not on the curve, a point of small order, a point
// outside the prime-order subgroup, and an identity result.
//
// The wire format and its sources are in spec/hyperswarm.md; the vectors
// in spec/vectors/hyperswarm_noise.json come from the JavaScript packages.
package hyperdht
