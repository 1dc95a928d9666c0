//go:build amd64 && !purego

package secretbox

import "golang.org/x/sys/cpu"

// haveBatch reports whether salsa16 and polyVec, which need AVX-512, run
// here.
var haveBatch = cpu.X86.HasAVX512F

// salsa16 writes the 16 Salsa20 blocks of block and the 15 counters
// after it (word 8 plus 1 to 15) to out.
//
//go:noescape
func salsa16(out *[batch]byte, block *[16]uint32)
