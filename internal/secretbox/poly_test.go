package secretbox

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"testing"

	"golang.org/x/crypto/poly1305"
)

// TestPolyMatchesXCrypto checks tags against x/crypto's for every length
// up to past the vector code's edges, and for keys and messages of all
// ones, whose sums run closest to the limits.
func TestPolyMatchesXCrypto(t *testing.T) { eachBatchPath(t, testPolyMatchesXCrypto) }

func testPolyMatchesXCrypto(t *testing.T) {
	ones := func(n int) []byte { return bytes.Repeat([]byte{0xff}, n) }
	var keys [][32]byte
	keys = append(keys, [32]byte(ones(32)), [32]byte{})
	for range 3 {
		var k [32]byte
		rand.Read(k[:])
		keys = append(keys, k)
	}
	for _, key := range keys {
		for n := 0; n <= 3*128+40; n++ {
			for _, msg := range [][]byte{random(t, n), ones(n)} {
				checkPoly(t, msg, &key)
			}
		}
		for _, n := range []int{4096, 4096 + 15, 64 << 10, 100000} {
			checkPoly(t, random(t, n), &key)
			checkPoly(t, ones(n), &key)
		}
	}
}

func checkPoly(t *testing.T, msg []byte, key *[32]byte) {
	t.Helper()
	var got, want [16]byte
	polySum(&got, msg, key)
	poly1305.Sum(&want, msg, key)
	if got != want {
		t.Fatalf("tag of %d bytes under key %x = %x, want %x", len(msg), key[:4], got, want)
	}
	if !polyVerify(&want, msg, key) {
		t.Fatalf("polyVerify refused the tag of %d bytes", len(msg))
	}
	want[0] ^= 1
	if polyVerify(&want, msg, key) {
		t.Fatalf("polyVerify accepted a wrong tag of %d bytes", len(msg))
	}
}

// FuzzPoly checks the tag of the input past its first 32 bytes, the key,
// against x/crypto's, as FuzzSeal cuts its input.
func FuzzPoly(f *testing.F) {
	f.Add(make([]byte, 32+300))
	f.Add(bytes.Repeat([]byte{0xff}, 32+4096))
	f.Fuzz(func(t *testing.T, in []byte) {
		var key [32]byte
		checkPoly(t, in[copy(key[:], in):], &key)
	})
}

func BenchmarkPoly(b *testing.B) {
	for _, impl := range []struct {
		name string
		sum  func(out *[16]byte, m []byte, key *[32]byte)
	}{{"this", polySum}, {"x-crypto", poly1305.Sum}} {
		b.Run(impl.name, func(b *testing.B) {
			var key [32]byte
			var tag [16]byte
			msg := make([]byte, 4096)
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				impl.sum(&tag, msg, &key)
			}
		})
	}
}

// maxPolyGroups caps FuzzPolyVec's groups at an 8 KiB message's, two
// box stream bodies (32 groups each); longer inputs only slow the fuzzer,
// as every group runs the same code.
const maxPolyGroups = 64

// FuzzPolyVec checks polyVecAVX512 against polyVecGeneric. The input's
// first 20 bytes give the five limbs of r⁸ (4 bytes each, cut to 26
// bits, the range limbs26 gives), the rest the message, zero-padded to
// one group of 128 bytes or cut to whole groups, at most maxPolyGroups.
func FuzzPolyVec(f *testing.F) {
	ones := func(n int) []byte { return bytes.Repeat([]byte{0xff}, n) }
	f.Add(append(make([]byte, 20), make([]byte, 128)...))
	f.Add(ones(20 + 128))               // all-ones limbs, one group
	f.Add(ones(20 + 2*128))             // two groups: one multiplication
	f.Add(ones(20 + 4096))              // a box stream body: 32 groups
	f.Add(ones(20 + maxPolyGroups*128)) // the most groups
	f.Add(append(ones(20), make([]byte, 4096)...))
	f.Fuzz(func(t *testing.T, in []byte) {
		if !haveAVX512 {
			t.Skip("no AVX-512 assembly here")
		}
		if len(in) < 20+128 {
			in = append(bytes.Clone(in), make([]byte, 20+128-len(in))...)
		}
		var k polyPowers
		for l := range k.r8 {
			k.r8[l] = uint64(binary.LittleEndian.Uint32(in[4*l:])) & mask26
			k.r8x5[l] = 5 * k.r8[l]
		}
		msg := in[20:]
		msg = msg[:min(len(msg)/128, maxPolyGroups)*128]
		var got, want [5][8]uint64
		polyVecAVX512(&got, msg, &k)
		polyVecGeneric(&want, msg, &k)
		if got != want {
			t.Fatalf("%d groups, r⁸ limbs %x: assembly %x, Go %x", len(msg)/128, k.r8, got, want)
		}
	})
}
