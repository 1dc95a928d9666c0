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
	for range 20 {
		pub, priv, _ := ed25519.GenerateKey(nil)
		got, err := PublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := curve25519.X25519(PrivateKey(priv), curve25519.Basepoint)
		if !bytes.Equal(got, want) {
			t.Fatalf("PublicKey = %x, want %x", got, want)
		}
		if un := UncheckedPublicKey(pub); !bytes.Equal(un, want) {
			t.Fatalf("UncheckedPublicKey = %x, want %x", un, want)
		}
		if s := PrivateKeyFromSeed(priv.Seed()); !bytes.Equal(s, PrivateKey(priv)) {
			t.Fatalf("PrivateKeyFromSeed = %x, want %x", s, PrivateKey(priv))
		}
	}
}

// TestCurvePublicMatchesReference compares PublicKey with refPublicKey,
// the math/big conversion it replaced, on random encodings (most of them
// not points), on keys with each torsion point added, and on encodings
// of y near 0, 1 and p.
func TestCurvePublicMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var inputs [][]byte
	for range 300 {
		b := make([]byte, 32)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		inputs = append(inputs, b)
	}
	for i := range 5 {
		pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{byte(i)}, 32)).Public().(ed25519.PublicKey)
		inputs = append(inputs, pub)
		for _, tp := range torsion() {
			inputs = append(inputs, addPoints(t, pub, tp))
		}
	}
	for _, y := range []*big.Int{big.NewInt(0), big.NewInt(1), big.NewInt(2), new(big.Int).Sub(fieldP, big.NewInt(1)), fieldP, new(big.Int).Add(fieldP, big.NewInt(1))} {
		for _, sign := range []byte{0, 0x80} {
			b := intToLE(y)
			b[31] |= sign
			inputs = append(inputs, b)
		}
	}
	accepted := 0
	for _, in := range inputs {
		got, err := PublicKey(in)
		want, wantErr := refPublicKey(in)
		if (err == nil) != (wantErr == nil) || !bytes.Equal(got, want) {
			t.Errorf("PublicKey(%x) = %x, %v; reference %x, %v", in, got, err, want, wantErr)
		}
		if err == nil {
			accepted++
		}
	}
	if accepted < 5 {
		t.Errorf("only %d inputs accepted", accepted)
	}
}

func TestCurvePublicRejects(t *testing.T) {
	p := new([32]byte)
	p[0] = 0xed // p itself: y = 0, of order 4
	for i := 1; i < 31; i++ {
		p[i] = 0xff
	}
	p[31] = 0x7f
	identity := []byte{1, 31: 0}
	bad := [][]byte{make([]byte, 32), p[:], make([]byte, 31), identity}
	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)).Public().(ed25519.PublicKey)
	for _, tp := range torsion() {
		bad = append(bad, tp, addPoints(t, pub, tp))
	}
	for _, k := range bad {
		if _, err := PublicKey(k); err == nil {
			t.Errorf("PublicKey(%x) accepted a bad point", k)
		}
	}
}

// BenchmarkCurvePublic converts a new key each time, as for a peer not
// seen lately.
func BenchmarkCurvePublic(b *testing.B) {
	var keys []ed25519.PublicKey
	for range 256 {
		pub, _, _ := ed25519.GenerateKey(nil)
		keys = append(keys, pub)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := keys[i%len(keys)]
		recent[k[0]].used = false
		if _, err := PublicKey(k); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkCurvePublicRecent converts the same key again and again.
func BenchmarkCurvePublicRecent(b *testing.B) {
	pub, _, _ := ed25519.GenerateKey(nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PublicKey(pub); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCurvePublicUnchecked(b *testing.B) {
	pub, _, _ := ed25519.GenerateKey(nil)
	b.ReportAllocs()
	for b.Loop() {
		UncheckedPublicKey(pub)
	}
}

// TestCache checks that a cached conversion is the conversion, and that
// another key in the same slot misses.
func TestCache(t *testing.T) {
	recent = cache{}
	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)).Public().(ed25519.PublicKey)
	first, err := PublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := recent.get(pub); !ok || !bytes.Equal(u[:], first) {
		t.Fatalf("cache holds %x, %v; want %x", u, ok, first)
	}
	again, err := PublicKey(pub)
	if err != nil || !bytes.Equal(again, first) {
		t.Fatalf("second PublicKey = %x, %v; want %x", again, err, first)
	}
	neg := bytes.Clone(pub)
	neg[31] ^= 0x80 // -P: another key in the same slot, with the same u
	if _, ok := recent.get(neg); ok {
		t.Error("cache hit for another key")
	}
}
