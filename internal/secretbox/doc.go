// Package secretbox is NaCl's secretbox (XSalsa20 and Poly1305), the
// same function as golang.org/x/crypto/nacl/secretbox, made faster for
// the box stream's 4 KiB bodies.
//
// # Speed
//
// On amd64 CPUs with AVX-512, the Salsa20 key stream is made 16 blocks
// (1 KiB) at a time, one block in each 32-bit lane of the vector
// registers, which is several times as fast as x/crypto's four blocks at
// a time with SSE2. Poly1305 is x/crypto's. Short messages, whose key
// stream is less than one such batch, and every other CPU, take
// x/crypto's code.
package secretbox
