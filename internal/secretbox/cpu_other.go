//go:build !amd64 || purego

package secretbox

// Without the assembly (other architectures, the purego build), Seal and
// Open run the fallback from x/crypto's Salsa20 and Poly1305
// (fallback.go); the batched code, in Go here, runs only where tests set
// useBatch. See cpu_amd64.go.

const (
	haveAVX512 = false
	asmBuilt   = false
)

var (
	useBatch  = false
	useAVX512 = false
)

func salsa16(out *[batch]byte, block *[16]uint32)            { salsa16Generic(out, block) }
func polyVec(lanes *[5][8]uint64, msg []byte, k *polyPowers) { polyVecGeneric(lanes, msg, k) }

func salsa16AVX512(out *[batch]byte, block *[16]uint32) {
	panic("secretbox: no AVX-512 Salsa20 in this build")
}

func polyVecAVX512(lanes *[5][8]uint64, msg []byte, k *polyPowers) {
	panic("secretbox: no AVX-512 Poly1305 in this build")
}
