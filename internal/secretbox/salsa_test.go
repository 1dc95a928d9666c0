package secretbox

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	"golang.org/x/crypto/salsa20/salsa"
)

// salsaInput is a Salsa20 input block as stream.init makes it, from a
// 32-byte key, an 8-byte nonce and a counter.
func salsaInput(key *[32]byte, nonce *[8]byte, counter uint64) [16]uint32 {
	w := func(b []byte, i int) uint32 { return binary.LittleEndian.Uint32(b[4*i:]) }
	return [16]uint32{
		w(salsa.Sigma[:], 0), w(key[:], 0), w(key[:], 1), w(key[:], 2),
		w(key[:], 3), w(salsa.Sigma[:], 1), w(nonce[:], 0), w(nonce[:], 1),
		uint32(counter), uint32(counter >> 32), w(salsa.Sigma[:], 2), w(key[:], 4),
		w(key[:], 5), w(key[:], 6), w(key[:], 7), w(salsa.Sigma[:], 3),
	}
}

// TestSalsa16GenericMatchesXCrypto checks the Go reference against
// x/crypto's Salsa20 wherever the counter's low word does not wrap
// within the batch, as the callers keep it.
func TestSalsa16GenericMatchesXCrypto(t *testing.T) {
	for _, counter := range []uint64{0, 1, 16, math.MaxUint32 - 15, 1<<32 + 5, math.MaxUint64 - 15} {
		var key [32]byte
		var nonce [8]byte
		copy(key[:], random(t, 32))
		copy(nonce[:], random(t, 8))
		block := salsaInput(&key, &nonce, counter)
		var got [batch]byte
		salsa16Generic(&got, &block)
		var in [16]byte
		copy(in[:], nonce[:])
		binary.LittleEndian.PutUint64(in[8:], counter)
		var want [batch]byte
		salsa.XORKeyStream(want[:], want[:], &in, &key)
		if got != want {
			t.Errorf("salsa16Generic from counter %#x differs from x/crypto's Salsa20", counter)
		}
	}
}

// FuzzSalsa16 checks salsa16AVX512 against salsa16Generic on any 64-byte
// input block (the input, zero-padded), including blocks whose word 8
// wraps within the batch, which both wrap the same way.
func FuzzSalsa16(f *testing.F) {
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 64))
	for _, counter := range []uint64{math.MaxUint32 - 15, math.MaxUint32 - 14, math.MaxUint32, 1<<32 - 8} {
		var key [32]byte
		for i := range key {
			key[i] = 0xff
		}
		block := salsaInput(&key, &[8]byte{1, 2, 3, 4, 5, 6, 7, 8}, counter)
		var b []byte
		for _, w := range block {
			b = binary.LittleEndian.AppendUint32(b, w)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if !haveAVX512 {
			t.Skip("no AVX-512 assembly here")
		}
		var raw [64]byte
		copy(raw[:], in)
		var block [16]uint32
		for i := range block {
			block[i] = binary.LittleEndian.Uint32(raw[4*i:])
		}
		saved := block
		var got, want [batch]byte
		salsa16AVX512(&got, &block)
		salsa16Generic(&want, &block)
		if block != saved {
			t.Fatal("salsa16AVX512 changed its input block")
		}
		for i := range 16 {
			if !bytes.Equal(got[64*i:64*i+64], want[64*i:64*i+64]) {
				t.Fatalf("block %d of input %x: assembly %x, Go %x", i, raw, got[64*i:64*i+64], want[64*i:64*i+64])
			}
		}
	})
}
