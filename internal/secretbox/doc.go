// Package secretbox is NaCl's secretbox (XSalsa20 and Poly1305), the
// same function as golang.org/x/crypto/nacl/secretbox, made faster for
// box streams on CPUs with AVX-512, with one difference: [Open] may open
// a box in place, into box[Overhead:Overhead], which x/crypto refuses, so
// that a box stream opens frames without a copy.
//
// # Paths
//
// Seal and Open run one of two constructions, chosen once at start
// (useBatch):
//   - on amd64 CPUs with AVX-512F, the batched code with its assembly:
//     the key stream of a message of more than a few hundred bytes is
//     made 16 Salsa20 blocks (1 KiB) at a time (salsa16, salsa_amd64.s:
//     one block in each 32-bit lane of the ZMM registers), and Poly1305
//     runs eight blocks at a time in 26-bit limbs (polyVec,
//     poly_amd64.s: one block in each 64-bit lane). Shorter key streams
//     and the rest of a long one use x/crypto's Salsa20; the rest of a
//     long message and short messages, a Poly1305 one block at a time in
//     Go (poly.go).
//   - everywhere else (other CPUs and architectures, GODEBUG=cpu.avx512f=off,
//     the purego build tag), the fallback (fallback.go): x/crypto's
//     Salsa20 (golang.org/x/crypto/salsa20/salsa) and Poly1305
//     (golang.org/x/crypto/poly1305), put together as x/crypto's secretbox
//     puts them, but for Open in place. x/crypto's primitives have
//     assembly of their own (both on amd64, Poly1305 on a few more
//     architectures) and leave it out under purego themselves; without
//     the AVX-512 assembly the batched code, in Go, is slower than they
//     are (see Speed).
//
// The batched code keeps its Go references, salsa16Generic and
// polyVecGeneric, as the references of the assembly: with useAVX512 off
// they run in its place under the same code above them. No build runs
// them in production; the tests do, on every architecture.
//
// # Assembly
//
// To meet Go's assembly policy (https://go.dev/wiki/AssemblyPolicy):
//   - each assembly function has a Go reference with the same signature
//     and results (polyVecGeneric computes the assembly's limbs exactly,
//     not only the same value mod 2¹³⁰-5);
//   - FuzzSalsa16 and FuzzPolyVec compare each with its reference, and
//     the tests of Seal and Open against x/crypto's secretbox (FuzzSeal
//     too) run all three paths in one process: the assembly, the batched
//     code with its Go references, and the fallback;
//   - scripts/test.sh runs this package and transforms/shs again with
//     -tags purego and with GODEBUG=cpu.avx512f=off, which x/sys/cpu
//     honours (TestAssemblySelected checks that it did);
//   - TestAssemblySelected fails where x/sys/cpu reports AVX-512F and the
//     assembly was not selected, and where the batched code runs without
//     it;
//   - each TEXT function is a short sequence of named macros, each with a
//     comment of what it reads and writes.
//
// # Speed
//
// Sealing and opening 4 KiB, a box stream's largest body, in one
// `go test -bench '^Benchmark(Seal|Open)$' -count 5` run on a 2-core
// virtual AMD EPYC (Turin) with AVX-512, shared with other work and
// heavily loaded at the time (MB/s, median and range of 5 runs; the
// sub-benchmarks asm, go, fallback and x-crypto):
//
//	       AVX-512 assembly   batched Go      fallback        x/crypto's secretbox
//	seal    969 (815-1342)    168 (146-231)   327 (305-421)   302 (278-371)
//	open   1750 (1111-2147)   283 (222-338)   379 (350-410)   397 (293-523)
//
// The assembly is 3.2 (seal) and 4.4 (open) times as fast as x/crypto.
// The batched code in Go is 0.56 and 0.71 times x/crypto, whose Salsa20
// and Poly1305 have amd64 assembly of their own; the fallback, made of
// those, runs at x/crypto's speed (1.08 and 0.95 times in this run), so
// CPUs without AVX-512 and purego builds pay nothing for the batched
// code.
//
// The package does not keep the XSalsa20 subkey of a box stream from box
// to box: deriving it again costs one Salsa20 block, and sealing a 4 KiB
// body and its header with and without a cache of it measured the same
// (470-615 against 534-600 MB/s).
package secretbox
