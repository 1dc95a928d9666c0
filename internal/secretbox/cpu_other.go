package secretbox

// The batched key stream and Poly1305 run in Go: salsa16Generic and
// polyVecGeneric.

const haveAVX512 = false

var useAVX512 = false

func salsa16(out *[batch]byte, block *[16]uint32)            { salsa16Generic(out, block) }
func polyVec(lanes *[5][8]uint64, msg []byte, k *polyPowers) { polyVecGeneric(lanes, msg, k) }
