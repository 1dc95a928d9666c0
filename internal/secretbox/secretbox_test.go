package secretbox

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"math"
	"testing"

	xbox "golang.org/x/crypto/nacl/secretbox"
	"golang.org/x/crypto/salsa20/salsa"
)

// lengths covers both sides of every switch: x/crypto for short
// messages, batches, rests above and below minBatch, and several batches.
var lengths = []int{0, 1, 31, 32, 33, 63, 64, 65, minBatch - 33, minBatch - 32, minBatch - 31,
	500, batch - 33, batch - 32, batch - 31, batch, batch + 1, batch + minBatch - 32,
	batch + minBatch - 33, 2*batch - 32, 4095, 4096, 4097, 8192, 65535}

func random(t testing.TB, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// TestSealMatchesXCrypto seals against x/crypto, and opens each box
// into another buffer and in place.
func TestSealMatchesXCrypto(t *testing.T) { eachPath(t, testSealMatchesXCrypto) }

func testSealMatchesXCrypto(t *testing.T) {
	for _, n := range lengths {
		for range 3 {
			var key [32]byte
			var nonce [24]byte
			rand.Read(key[:])
			rand.Read(nonce[:])
			msg := random(t, n)
			prefix := []byte("prefix")
			want := xbox.Seal(bytes.Clone(prefix), msg, &nonce, &key)
			got := Seal(bytes.Clone(prefix), msg, &nonce, &key)
			if !bytes.Equal(got, want) {
				t.Fatalf("Seal of %d bytes differs from x/crypto's", n)
			}
			opened, ok := Open([]byte("p"), got[len(prefix):], &nonce, &key)
			if !ok || !bytes.Equal(opened, append([]byte("p"), msg...)) {
				t.Fatalf("Open of a %d-byte message: ok=%v, message differs", n, ok)
			}
			box := got[len(prefix):] // and in place, into its own ciphertext
			opened, ok = Open(box[Overhead:Overhead], box, &nonce, &key)
			if !ok || !bytes.Equal(opened, msg) || n > 0 && &opened[0] != &box[Overhead] {
				t.Fatalf("Open of a %d-byte message in place: ok=%v, message differs or elsewhere", n, ok)
			}
		}
	}
}

// TestHighNonce checks a nonce whose last bytes, the Salsa20 nonce, are
// all ones, and a key of ones: carries in the state words show up.
func TestHighNonce(t *testing.T) { eachPath(t, testHighNonce) }

func testHighNonce(t *testing.T) {
	var key [32]byte
	var nonce [24]byte
	for i := range key {
		key[i] = 0xff
	}
	for i := range nonce {
		nonce[i] = 0xff
	}
	msg := random(t, 3*batch+100)
	if got, want := Seal(nil, msg, &nonce, &key), xbox.Seal(nil, msg, &nonce, &key); !bytes.Equal(got, want) {
		t.Fatal("Seal differs from x/crypto's")
	}
}

// TestCounterCarry runs the key stream across the block counter's 32-bit
// boundary, where batches stop and x/crypto's Salsa20 takes over.
func TestCounterCarry(t *testing.T) { eachBatchPath(t, testCounterCarry) }

func testCounterCarry(t *testing.T) {
	var key [32]byte
	var nonce [24]byte
	rand.Read(key[:])
	rand.Read(nonce[:])
	var s stream
	s.init(&nonce, &key, 0)
	for _, start := range []uint64{math.MaxUint32 - 40, math.MaxUint32 - 15, math.MaxUint32 - 16, 1 << 40} {
		src := random(t, 5000)
		got := make([]byte, len(src))
		s.xorAt(got, src, start)
		var counter [16]byte
		copy(counter[:], nonce[16:])
		binary.LittleEndian.PutUint64(counter[8:], start)
		want := make([]byte, len(src))
		salsa.XORKeyStream(want, src, &counter, &s.subKey)
		if !bytes.Equal(got, want) {
			t.Fatalf("key stream from block %#x differs from x/crypto's", start)
		}
	}
}

func TestOpenRejects(t *testing.T) { eachPath(t, testOpenRejects) }

func testOpenRejects(t *testing.T) {
	for _, n := range lengths {
		var key [32]byte
		var nonce [24]byte
		rand.Read(key[:])
		box := Seal(nil, random(t, n), &nonce, &key)
		for _, i := range []int{0, Overhead - 1, Overhead, len(box) - 1} {
			if i >= len(box) {
				continue
			}
			bad := bytes.Clone(box)
			bad[i] ^= 1
			if out, ok := Open([]byte("x"), bad, &nonce, &key); ok || out != nil {
				t.Errorf("Open of a %d-byte box with byte %d flipped = %q, %v; want nil, false", n, i, out, ok)
			}
		}
		other := nonce
		other[23]++
		if _, ok := Open(nil, box, &other, &key); ok {
			t.Errorf("Open of a %d-byte box under another nonce succeeded", n)
		}
	}
	if _, ok := Open(nil, make([]byte, Overhead-1), &[24]byte{}, &[32]byte{}); ok {
		t.Error("Open of a box shorter than its tag succeeded")
	}
}

// FuzzSeal seals and opens with key, nonce and message cut from one
// input (32 bytes of key, 24 of nonce, the rest message), against
// x/crypto, on every path.
func FuzzSeal(f *testing.F) {
	f.Add([]byte("key"))
	f.Add(make([]byte, 56+4096))
	f.Add(append(bytes.Repeat([]byte{0xff}, 56), make([]byte, batch+minBatch)...))
	f.Fuzz(func(t *testing.T, in []byte) {
		var key [32]byte
		var nonce [24]byte
		in = in[copy(key[:], in):]
		in = in[copy(nonce[:], in):]
		msg := in
		want := xbox.Seal(nil, msg, &nonce, &key)
		eachPath(t, func(t *testing.T) {
			got := Seal(nil, msg, &nonce, &key)
			if !bytes.Equal(got, want) {
				t.Fatalf("Seal of %d bytes differs from x/crypto's", len(msg))
			}
			// Open any box, authentic or not, as x/crypto does.
			for _, box := range [][]byte{got, msg} {
				wantOut, wantOK := xbox.Open(nil, box, &nonce, &key)
				gotOut, gotOK := Open(nil, box, &nonce, &key)
				if gotOK != wantOK || !bytes.Equal(gotOut, wantOut) {
					t.Fatalf("Open of %d bytes = %v, want %v", len(box), gotOK, wantOK)
				}
			}
		})
	})
}

// BenchmarkSeal and BenchmarkOpen time 4 KiB, a box stream's largest
// body: "asm", the batched code with the AVX-512 assembly (what runs with
// AVX-512; skipped without it), "go", the batched code with the Go
// references in its place, "fallback", from x/crypto's Salsa20 and
// Poly1305 (what runs without AVX-512 or under purego), and x/crypto's
// secretbox.
func BenchmarkSeal(b *testing.B) {
	var key [32]byte
	var nonce [24]byte
	msg := make([]byte, 4096)
	out := make([]byte, 0, len(msg)+Overhead)
	benchPaths(b, func(b *testing.B, seal sealFunc, _ openFunc) {
		for b.Loop() {
			out = seal(out[:0], msg, &nonce, &key)
		}
	})
}

func BenchmarkOpen(b *testing.B) {
	var key [32]byte
	var nonce [24]byte
	box := Seal(nil, make([]byte, 4096), &nonce, &key)
	out := make([]byte, 0, 4096)
	benchPaths(b, func(b *testing.B, _ sealFunc, open openFunc) {
		for b.Loop() {
			var ok bool
			if out, ok = open(out[:0], box, &nonce, &key); !ok {
				b.Fatal("open failed")
			}
		}
	})
}
