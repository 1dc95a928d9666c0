package edcurve

import (
	"bytes"
	"crypto/ed25519"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

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
	identityNeg := []byte{1, 31: 0x80} // x = 0 with the sign bit set
	identityBig := bytes.Clone(p[:])   // y = p+1, not reduced
	identityBig[0]++
	bad := [][]byte{make([]byte, 32), p[:], make([]byte, 31), identity, identityNeg, identityBig}
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

// TestTimeIndependentOfPastConversions checks that converting a key
// takes as long whether or not it was converted just before. A cache of
// recent conversions told whoever could time a handshake which keys the
// other peers of a node use.
func TestTimeIndependentOfPastConversions(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	var fresh []ed25519.PublicKey
	for range 400 {
		pub, _, _ := ed25519.GenerateKey(nil)
		fresh = append(fresh, pub)
	}
	seen := fresh[0]
	if _, err := PublicKey(seen); err != nil {
		t.Fatal(err)
	}
	// The least of many times is the one least disturbed by the machine.
	least := func(keys []ed25519.PublicKey) time.Duration {
		m := time.Duration(math.MaxInt64)
		for _, k := range keys {
			start := time.Now()
			if _, err := PublicKey(k); err != nil {
				t.Fatal(err)
			}
			m = min(m, time.Since(start))
		}
		return m
	}
	again := make([]ed25519.PublicKey, len(fresh)-1)
	for i := range again {
		again[i] = seen
	}
	tSeen, tFresh := least(again), least(fresh[1:])
	if tSeen*3 < tFresh {
		t.Errorf("converting a key seen before took %v, a new one %v", tSeen, tFresh)
	}
}

// BenchmarkCurvePublic converts a new key each time.
func BenchmarkCurvePublic(b *testing.B) {
	var keys []ed25519.PublicKey
	for range 256 {
		pub, _, _ := ed25519.GenerateKey(nil)
		keys = append(keys, pub)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := PublicKey(keys[i%len(keys)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
