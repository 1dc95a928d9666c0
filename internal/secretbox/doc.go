// Package secretbox is NaCl's secretbox (XSalsa20 and Poly1305) as
// golang.org/x/crypto/nacl/secretbox has it, from x/crypto's Salsa20 and
// Poly1305, with one difference: [Open] may open a box in place, into
// box[Overhead:Overhead], which x/crypto refuses, so that a box stream
// opens frames without a copy.
//
// # Speed
//
// The package used to have its own AVX-512 Salsa20 (16 blocks at a time)
// and Poly1305 (8 blocks at a time) in hand-written assembly. Sealing and
// opening 4 KiB, in one `go test -bench` run on a 2-core AMD EPYC with
// AVX-512 shared with other work (MB/s, 5 runs each):
//
//	       AVX-512 assembly   the same without it   x/crypto's secretbox
//	seal   711-1393           223-314               374-610
//	open   782-1504           301-568               275-684
//
// The assembly was about 2.6 times as fast as x/crypto, but it did not
// meet Go's assembly policy (https://go.dev/wiki/AssemblyPolicy): no Go
// reference of each assembly function tested against it, no test run
// with AVX-512 off, and functions of 110 and 150 instructions written by
// hand. It may come back when it does. x/crypto's Salsa20 and Poly1305
// have assembly of their own, maintained with Go; this package adds none.
// (GODEBUG=cpu.avx512f=off did switch the old code off: x/sys/cpu applies
// GODEBUG's cpu.* options at init.)
//
// Nor does the package keep the XSalsa20 subkey of a box stream from box
// to box any more: deriving it again costs one Salsa20 block, and sealing
// a 4 KiB body and its header with and without a cache of it measured the
// same (470-615 against 534-600 MB/s).
package secretbox
