//go:build !amd64 || purego

package secretbox

const haveBatch = false

func salsa16(out *[batch]byte, block *[16]uint32) { panic("secretbox: no batched Salsa20 here") }
