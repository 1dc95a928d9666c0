// Package secretbox is NaCl's secretbox (XSalsa20 and Poly1305), the
// same function as golang.org/x/crypto/nacl/secretbox, made faster for
// box streams, with one difference: [Open] may open a box in place, into
// box[Overhead:Overhead], which x/crypto refuses, so that a box stream
// opens frames without a copy.
//
// # Batches
//
// The key stream of a message of more than a few hundred bytes is made
// 16 Salsa20 blocks (1 KiB) at a time (salsa16), and Poly1305 runs eight
// blocks at a time in 26-bit limbs (polyVec). Shorter key streams and
// the rest of a long one use x/crypto's Salsa20; the rest of a long
// message and short messages, a Poly1305 one block at a time in Go
// (poly.go).
//
// # Assembly
//
// On amd64 CPUs with AVX-512F, salsa16 and polyVec are assembly
// (salsa_amd64.s: one block in each 32-bit lane of the ZMM registers;
// poly_amd64.s: one block in each 64-bit lane). Elsewhere, under the
// purego build tag and with GODEBUG=cpu.avx512f=off, their Go references
// salsa16Generic and polyVecGeneric run in their place, under the same
// code above them. To meet Go's assembly policy
// (https://go.dev/wiki/AssemblyPolicy):
//   - each assembly function has a Go reference with the same signature
//     and results (polyVecGeneric computes the assembly's limbs exactly,
//     not only the same value mod 2¹³⁰-5);
//   - FuzzSalsa16 and FuzzPolyVec compare each with its reference, and
//     the tests of Seal, Open and Poly1305 against x/crypto run both
//     paths in one process;
//   - scripts/test.sh runs this package and transforms/shs again with
//     -tags purego and with GODEBUG=cpu.avx512f=off, which x/sys/cpu
//     honours (TestAssemblySelected checks that it did);
//   - TestAssemblySelected fails where x/sys/cpu reports AVX-512F and the
//     assembly was not selected;
//   - each TEXT function is a short sequence of named macros, each with a
//     comment of what it reads and writes.
//
// # Speed
//
// Sealing and opening 4 KiB, a box stream's largest body, in one
// `go test -bench '^Benchmark(Seal|Open)$' -count 5` run on a 2-core
// virtual AMD EPYC (Turin) with AVX-512, shared with other work (MB/s,
// median and range of 5 runs):
//
//	       AVX-512 assembly    Go references     x/crypto's secretbox
//	seal   2408 (2040-2419)    403 (354-420)     573 (536-656)
//	open   2342 (2252-2385)    411 (399-440)     631 (626-654)
//
// The assembly is 4.2 (seal) and 3.7 (open) times as fast as x/crypto.
// Without it, the Go references are about 0.7 times x/crypto, whose
// Salsa20 and Poly1305 have amd64 assembly of their own: that is the
// price, on CPUs without AVX-512, of running one code path above both.
//
// The package does not keep the XSalsa20 subkey of a box stream from box
// to box: deriving it again costs one Salsa20 block, and sealing a 4 KiB
// body and its header with and without a cache of it measured the same
// (470-615 against 534-600 MB/s).
package secretbox
