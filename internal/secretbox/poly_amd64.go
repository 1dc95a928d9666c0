//go:build amd64 && !purego

package secretbox

// polyVec absorbs groups of eight blocks of msg into eight accumulators,
// one a lane, and writes their limbs to lanes; see poly.go.
//
//go:noescape
func polyVec(lanes *[5][8]uint64, msg *byte, groups int, k *polyPowers)
