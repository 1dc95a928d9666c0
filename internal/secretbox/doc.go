// Package secretbox is NaCl's secretbox (XSalsa20 and Poly1305), the
// same function as golang.org/x/crypto/nacl/secretbox, with one
// difference: [Open] may open a box in place, into box[Overhead:Overhead],
// which x/crypto refuses, so that a box stream opens frames without a
// copy.
//
// # Batches
//
// The key stream of a message of more than a few hundred bytes is made
// 16 Salsa20 blocks (1 KiB) at a time (salsa16), and Poly1305 runs eight
// blocks at a time in 26-bit limbs (polyVec), the form that vector code
// takes. Shorter key streams and the rest of a long one use x/crypto's
// Salsa20; the rest of a long message and short ones, a Poly1305 one
// block at a time in Go (poly.go). Both batched functions are Go here;
// in Go they are slower than x/crypto's Salsa20 and Poly1305, which have
// amd64 assembly.
//
// The package used to have AVX-512 assembly for both, which did not meet
// Go's assembly policy (https://go.dev/wiki/AssemblyPolicy): no Go
// reference of each assembly function tested against it, no test run
// with AVX-512 off, and functions of 110 and 150 instructions written by
// hand. salsa16Generic and polyVecGeneric are those references.
// (GODEBUG=cpu.avx512f=off did switch the old code off: x/sys/cpu applies
// GODEBUG's cpu.* options at init.)
//
// Nor does the package keep the XSalsa20 subkey of a box stream from box
// to box any more: deriving it again costs one Salsa20 block, and sealing
// a 4 KiB body and its header with and without a cache of it measured the
// same (470-615 against 534-600 MB/s).
package secretbox
