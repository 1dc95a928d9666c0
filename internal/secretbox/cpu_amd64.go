//go:build amd64 && !purego

package secretbox

import "golang.org/x/sys/cpu"

// haveAVX512 reports whether salsa16AVX512 and polyVecAVX512 can run
// here: they need AVX-512F (and the OS saving the ZMM registers, which
// x/sys/cpu checks too). GODEBUG=cpu.avx512f=off turns it off, as x/sys/cpu
// applies GODEBUG's cpu.* options when it starts.
var haveAVX512 = cpu.X86.HasAVX512F

// asmBuilt reports whether this build has the assembly at all.
const asmBuilt = true

// useBatch selects the batched code (salsa16, polyVec) for Seal and
// Open over the fallback from x/crypto's Salsa20 and Poly1305
// (fallback.go). It is haveAVX512: without the assembly the batched code
// is slower than the fallback. Tests and benchmarks set it to run the
// batched Go references.
var useBatch = haveAVX512

// useAVX512 selects the assembly over the Go references in salsa16 and
// polyVec. It is haveAVX512; tests and benchmarks turn it off to run the
// batched code in Go.
var useAVX512 = haveAVX512

// salsa16 is salsa16AVX512 or, with useAVX512 off, salsa16Generic.
func salsa16(out *[batch]byte, block *[16]uint32) {
	if useAVX512 {
		salsa16AVX512(out, block)
		return
	}
	salsa16Generic(out, block)
}

// polyVec is polyVecAVX512 or, with useAVX512 off, polyVecGeneric.
func polyVec(lanes *[5][8]uint64, msg []byte, k *polyPowers) {
	if useAVX512 {
		polyVecAVX512(lanes, msg, k)
		return
	}
	polyVecGeneric(lanes, msg, k)
}

// salsa16AVX512 is salsa16Generic in AVX-512 (salsa_amd64.s).
//
//go:noescape
func salsa16AVX512(out *[batch]byte, block *[16]uint32)

// polyVecAVX512 is polyVecGeneric in AVX-512 (poly_amd64.s).
//
//go:noescape
func polyVecAVX512(lanes *[5][8]uint64, msg []byte, k *polyPowers)
