package secretbox

import (
	"testing"

	xbox "golang.org/x/crypto/nacl/secretbox"
)

// eachPath runs test with the assembly, where it can run, and with the
// Go references in its place, so that both paths pass the same tests in
// one process. scripts/test.sh runs the package again with
// GODEBUG=cpu.avx512f=off and with -tags purego.
func eachPath(t *testing.T, test func(t *testing.T)) {
	if haveAVX512 {
		t.Run("asm", test)
	}
	t.Run("go", func(t *testing.T) {
		setUseAVX512(t, false)
		test(t)
	})
}

// setUseAVX512 selects the assembly or not until the test ends.
func setUseAVX512(tb testing.TB, on bool) {
	old := useAVX512
	useAVX512 = on
	tb.Cleanup(func() { useAVX512 = old })
}

// sealFunc and openFunc are Seal and Open, or x/crypto's.
type (
	sealFunc = func(out, message []byte, nonce *[24]byte, key *[32]byte) []byte
	openFunc = func(out, box []byte, nonce *[24]byte, key *[32]byte) ([]byte, bool)
)

// benchPaths runs bench as sub-benchmarks of 4 KiB: "asm" (skipped
// without AVX-512), "go" and "x-crypto".
func benchPaths(b *testing.B, bench func(b *testing.B, seal sealFunc, open openFunc)) {
	for _, path := range []struct {
		name   string
		useAsm bool
		seal   sealFunc
		open   openFunc
	}{{"asm", true, Seal, Open}, {"go", false, Seal, Open}, {"x-crypto", false, xbox.Seal, xbox.Open}} {
		b.Run(path.name, func(b *testing.B) {
			if path.useAsm && !haveAVX512 {
				b.Skip("no AVX-512 assembly here")
			}
			setUseAVX512(b, path.useAsm)
			b.SetBytes(4096)
			bench(b, path.seal, path.open)
		})
	}
}
