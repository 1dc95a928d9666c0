package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/curve25519"
	xbox "golang.org/x/crypto/nacl/secretbox"

	"github.com/f7d52a8e/multiserver/internal/secretbox"
)

// The crypto limits run on one goroutine, so on one core: what one side of
// a connection can seal per second, with nothing else to do. A stream's
// two sides seal and open on two cores at once, so a stack may exceed
// them.

// opsFor runs op repeatedly for about d and returns how many times per
// second it ran.
func opsFor(d time.Duration, op func()) float64 {
	for range 16 { // warm up
		op()
	}
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		for range 16 {
			op()
		}
		n += 16
	}
	return float64(n) / time.Since(start).Seconds()
}

// sealChaCha is ChaCha20-Poly1305 sealing 64 KiB messages, in MB/s: the
// cipher of noise (flynn/noise uses x/crypto's) and of libp2p's Noise.
func sealChaCha(d time.Duration) float64 {
	key := make([]byte, chacha20poly1305.KeySize)
	aead, _ := chacha20poly1305.New(key)
	return sealAEAD(aead, d)
}

// sealAESGCM is AES-128-GCM sealing 64 KiB messages, in MB/s: the cipher
// TLS 1.3 picks for QUIC on CPUs with AES instructions.
func sealAESGCM(d time.Duration) float64 {
	block, _ := aes.NewCipher(make([]byte, 16))
	aead, _ := cipher.NewGCM(block)
	return sealAEAD(aead, d)
}

func sealAEAD(aead cipher.AEAD, d time.Duration) float64 {
	const size = 64 << 10
	msg := make([]byte, size)
	out := make([]byte, 0, size+aead.Overhead())
	nonce := make([]byte, aead.NonceSize())
	return opsFor(d, func() { out = aead.Seal(out[:0], nonce, msg, nil) }) * size / 1e6
}

// sealSecretbox is NaCl secretbox sealing 4 KiB messages, in MB/s: a box
// stream's largest body, sealed by the code the shs transform uses. With
// AVX-512 that is the project's own Salsa20 and Poly1305 assembly, faster
// than x/crypto's; without it, x/crypto's Salsa20 and Poly1305, as fast.
func sealSecretbox(d time.Duration) float64 { return sealBox(d, secretbox.Seal) }

// sealSecretboxX is the same with x/crypto's secretbox, for reference.
func sealSecretboxX(d time.Duration) float64 { return sealBox(d, xbox.Seal) }

func sealBox(d time.Duration, seal func(out, message []byte, nonce *[24]byte, key *[32]byte) []byte) float64 {
	const size = 4 << 10
	var key [32]byte
	var nonce [24]byte
	msg := make([]byte, size)
	out := make([]byte, 0, size+secretbox.Overhead)
	return opsFor(d, func() { out = seal(out[:0], msg, &nonce, &key) }) * size / 1e6
}

// x25519 is X25519 scalar multiplications per second.
func x25519(d time.Duration) float64 {
	scalar, other := make([]byte, 32), make([]byte, 32)
	rand.Read(scalar)
	rand.Read(other)
	// Not the base point itself, for which a faster path may exist: a
	// handshake multiplies by the peer's key.
	point, _ := curve25519.X25519(other, curve25519.Basepoint)
	return opsFor(d, func() { curve25519.X25519(scalar, point) })
}

// ed25519Sign and ed25519Verify are signatures of a 64-byte message made
// and checked per second.
func ed25519Sign(d time.Duration) float64 {
	_, priv, _ := ed25519.GenerateKey(nil)
	msg := make([]byte, 64)
	return opsFor(d, func() { ed25519.Sign(priv, msg) })
}

func ed25519Verify(d time.Duration) float64 {
	pub, priv, _ := ed25519.GenerateKey(nil)
	msg := make([]byte, 64)
	sig := ed25519.Sign(priv, msg)
	return opsFor(d, func() { ed25519.Verify(pub, msg, sig) })
}
