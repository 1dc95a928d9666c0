// Package secretbox is NaCl's secretbox (XSalsa20 and Poly1305), the
// same function as golang.org/x/crypto/nacl/secretbox, made faster for
// box streams.
//
// # Speed
//
// On amd64 CPUs with AVX-512, the Salsa20 key stream of a message of more
// than a few hundred bytes is made 16 blocks (1 KiB) at a time, one block
// in each 32-bit lane of the vector registers: twice as fast as
// x/crypto's four blocks at a time with SSE2, for a 4 KiB box. Shorter
// key streams, the rest of a long one, every other CPU and the purego
// build use x/crypto's Salsa20. Poly1305 runs eight blocks at a time in
// the same registers, one block in each 64-bit lane, for messages of 256
// bytes or more, and elsewhere one block at a time in Go (poly.go).
//
// A [Cache] keeps the XSalsa20 subkey that a key and the first 16 bytes
// of a nonce give, which the boxes of a box stream share, so that a
// stream computes it once rather than once per box.
package secretbox
