package edcurve

import (
	"bytes"
	"crypto/ed25519"
	"math/big"
	"math/rand/v2"
	"testing"

	"golang.org/x/crypto/curve25519"
)

func TestCurvePublicMatchesPrivate(t *testing.T) {
	for i := 0; i < 20; i++ {
		pub, priv, _ := ed25519.GenerateKey(nil)
		got, err := PublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := curve25519.X25519(PrivateKey(priv), curve25519.Basepoint)
		if !bytes.Equal(got, want) {
			t.Fatalf("PublicKey = %x, want %x", got, want)
		}
	}
}

func BenchmarkCurvePublic(b *testing.B) {
	pub, _, _ := ed25519.GenerateKey(nil)
	for b.Loop() {
		PublicKey(pub)
	}
}

func TestFieldMatchesBig(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	rnd := func() *big.Int {
		b := make([]byte, 32)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return new(big.Int).Mod(new(big.Int).SetBytes(b), fieldP)
	}
	for i := 0; i < 2000; i++ {
		x, y := rnd(), rnd()
		if i == 0 {
			x.Sub(fieldP, big.NewInt(1))
			y.Set(x)
		}
		fx, fy := feFromInt(x), feFromInt(y)
		var got fe
		check := func(op string, got *fe, want *big.Int) {
			t.Helper()
			want.Mod(want, fieldP)
			if got.int().Cmp(want) != 0 {
				t.Fatalf("%s(%v, %v) = %v, want %v", op, x, y, got.int(), want)
			}
		}
		check("mul", got.mul(&fx, &fy), new(big.Int).Mul(x, y))
		check("add", got.add(&fx, &fy), new(big.Int).Add(x, y))
		check("sub", got.sub(&fx, &fy), new(big.Int).Sub(x, y))
		// chains keep the limb invariant
		var a fe
		a.mul(got.add(&fx, &fy), new(fe).sub(&fx, &fy))
		check("mul(add,sub)", &a, new(big.Int).Mul(new(big.Int).Add(x, y), new(big.Int).Sub(x, y)))
	}
}

func TestCurvePublicRejects(t *testing.T) {
	p := new([32]byte)
	p[0] = 0xed // p itself: y = 0, of order 4
	for i := 1; i < 31; i++ {
		p[i] = 0xff
	}
	p[31] = 0x7f
	torsioned := addTorsion(t, ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)).Public().(ed25519.PublicKey))
	for _, k := range [][]byte{make([]byte, 32), p[:], torsioned} {
		if _, err := PublicKey(k); err == nil {
			t.Errorf("PublicKey(%x) accepted a bad point", k)
		}
	}
}

// addTorsion returns pub plus a point of order 2: (x, y) -> (-x, -y).
func addTorsion(t *testing.T, pub []byte) []byte {
	var le [32]byte
	copy(le[:], pub)
	sign := le[31] >> 7
	le[31] &= 0x7f
	y := leToInt(le[:])
	y.Sub(fieldP, y)
	out := intToLE(y)
	out[31] |= (sign ^ 1) << 7
	if _, err := PublicKey(pub); err != nil {
		t.Fatal(err)
	}
	return out
}
