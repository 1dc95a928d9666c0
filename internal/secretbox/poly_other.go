//go:build !amd64 || purego

package secretbox

func polyVec(lanes *[5][8]uint64, msg *byte, groups int, k *polyPowers) {
	panic("secretbox: no vector Poly1305 here")
}
