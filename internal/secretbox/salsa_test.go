package secretbox

import (
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
