package secretbox

import (
	"testing"

	xbox "golang.org/x/crypto/nacl/secretbox"
)

// path is one of the ways Seal and Open can run: the batched code with
// the assembly ("asm", only where AVX-512 is), the batched code with its
// Go references ("go"), or the fallback from x/crypto's Salsa20 and
// Poly1305 ("fallback").
type path struct {
	name      string
	useBatch  bool
	useAVX512 bool
}

// paths are the paths that can run here, the production one among them.
func paths() []path {
	var ps []path
	if haveAVX512 {
		ps = append(ps, path{"asm", true, true})
	}
	return append(ps, path{"go", true, false}, path{"fallback", false, false})
}

// set selects p until tb ends.
func (p path) set(tb testing.TB) {
	oldBatch, oldAVX512 := useBatch, useAVX512
	useBatch, useAVX512 = p.useBatch, p.useAVX512
	tb.Cleanup(func() { useBatch, useAVX512 = oldBatch, oldAVX512 })
}

// eachPath runs test on every path that can run here, so that the
// assembly, its Go references and the fallback pass the same tests in
// one process. scripts/test.sh runs the package again with
// GODEBUG=cpu.avx512f=off and with -tags purego.
func eachPath(t *testing.T, test func(t *testing.T)) {
	for _, p := range paths() {
		t.Run(p.name, func(t *testing.T) {
			p.set(t)
			test(t)
		})
	}
}

// eachBatchPath is eachPath for tests of the batched code alone: the
// assembly and its Go references.
func eachBatchPath(t *testing.T, test func(t *testing.T)) {
	for _, p := range paths() {
		if p.useBatch {
			t.Run(p.name, func(t *testing.T) {
				p.set(t)
				test(t)
			})
		}
	}
}

// sealFunc and openFunc are Seal and Open, or x/crypto's.
type (
	sealFunc = func(out, message []byte, nonce *[24]byte, key *[32]byte) []byte
	openFunc = func(out, box []byte, nonce *[24]byte, key *[32]byte) ([]byte, bool)
)

// benchPaths runs bench as sub-benchmarks of 4 KiB: "asm" (skipped
// without AVX-512), "go", "fallback" and "x-crypto".
func benchPaths(b *testing.B, bench func(b *testing.B, seal sealFunc, open openFunc)) {
	run := func(name string, p path, seal sealFunc, open openFunc) {
		b.Run(name, func(b *testing.B) {
			if p.useAVX512 && !haveAVX512 {
				b.Skip("no AVX-512 assembly here")
			}
			p.set(b)
			b.SetBytes(4096)
			bench(b, seal, open)
		})
	}
	run("asm", path{"asm", true, true}, Seal, Open)
	run("go", path{"go", true, false}, Seal, Open)
	run("fallback", path{"fallback", false, false}, Seal, Open)
	run("x-crypto", path{"x-crypto", false, false}, xbox.Seal, xbox.Open)
}
