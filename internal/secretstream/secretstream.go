// Package secretstream is libsodium's crypto_secretstream_xchacha20poly1305
// on x/crypto's ChaCha20 and Poly1305: the message encryption of
// @hyperswarm/secret-stream (through sodium-secretstream). Each message
// carries a tag and costs [Overhead] bytes; the stream is keyed by a
// 32-byte key and a 24-byte header that the pushing side picks at random
// and sends first.
//
// The layout follows libsodium's crypto_secretstream/xchacha20poly1305
// (secretstream_xchacha20poly1305.c); spec/hyperswarm.md states it, and
// spec/vectors/secretstream.json holds messages pushed by sodium-native.
package secretstream

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"io"
	"slices"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/poly1305" //nolint:staticcheck // libsodium's construction needs the raw MAC
)

// Sizes and tags of the construction.
const (
	KeySize    = 32
	HeaderSize = 24
	Overhead   = 17 // encrypted tag (1) + Poly1305 MAC (16)

	TagMessage = 0x00
	TagPush    = 0x01
	TagRekey   = 0x02
	TagFinal   = TagPush | TagRekey
)

// ErrAuth is the error of [Pull.Open] for a message that does not
// authenticate: tampered, truncated, out of order or under another key.
var ErrAuth = errors.New("secretstream: message authentication failed")

const (
	counterSize = 4
	inonceSize  = 8
)

type state struct {
	k     [32]byte
	nonce [counterSize + inonceSize]byte // counter (LE) ‖ inonce
}

func (s *state) init(key, header []byte) {
	k, err := chacha20.HChaCha20(key, header[:16])
	if err != nil {
		panic("secretstream: " + err.Error()) // sizes are checked by the callers
	}
	copy(s.k[:], k)
	clear(s.nonce[:])
	s.nonce[0] = 1
	copy(s.nonce[counterSize:], header[16:24])
}

func (s *state) rekey() {
	var buf [32 + inonceSize]byte
	copy(buf[:], s.k[:])
	copy(buf[32:], s.nonce[counterSize:])
	c, _ := chacha20.NewUnauthenticatedCipher(s.k[:], s.nonce[:])
	c.XORKeyStream(buf[:], buf[:])
	copy(s.k[:], buf[:32])
	copy(s.nonce[counterSize:], buf[32:])
	clear(s.nonce[:counterSize])
	s.nonce[0] = 1
}

// mac computes the tag over ad, the encrypted 64-byte tag block and c, and
// returns the cipher positioned for the message (block counter 2).
func (s *state) start() (*chacha20.Cipher, *poly1305.MAC) {
	c, _ := chacha20.NewUnauthenticatedCipher(s.k[:], s.nonce[:])
	var block [64]byte
	c.XORKeyStream(block[:], block[:])
	var pk [32]byte
	copy(pk[:], block[:32])
	return c, poly1305.New(&pk)
}

var pad [16]byte

func finish(m *poly1305.MAC, adLen, cLen int) [16]byte {
	var l [16]byte
	binary.LittleEndian.PutUint64(l[:8], uint64(adLen))
	binary.LittleEndian.PutUint64(l[8:], uint64(64+cLen))
	m.Write(pad[:(0x10-64+cLen)&0xf])
	m.Write(l[:])
	var out [16]byte
	m.Sum(out[:0])
	return out
}

func (s *state) advance(tag byte, mac []byte) {
	for i := range inonceSize {
		s.nonce[counterSize+i] ^= mac[i]
	}
	ctr := binary.LittleEndian.Uint32(s.nonce[:counterSize]) + 1
	binary.LittleEndian.PutUint32(s.nonce[:counterSize], ctr)
	if tag&TagRekey != 0 || ctr == 0 {
		s.rekey()
	}
}

// Push encrypts a stream.
type Push struct{ s state }

// NewPush starts a stream under key with a random header, read from rand
// (crypto/rand.Reader in production), which it returns to be sent first.
func NewPush(key []byte, rand io.Reader) (*Push, []byte, error) {
	header := make([]byte, HeaderSize)
	if _, err := io.ReadFull(rand, header); err != nil {
		return nil, nil, err
	}
	p, err := NewPushHeader(key, header)
	return p, header, err
}

// NewPushHeader starts a stream under key with the given header. Reusing a
// key and header pair breaks the construction: use it for tests only.
func NewPushHeader(key, header []byte) (*Push, error) {
	if len(key) != KeySize || len(header) != HeaderSize {
		return nil, errors.New("secretstream: key must be 32 bytes and header 24")
	}
	p := new(Push)
	p.s.init(key, header)
	return p, nil
}

// Seal appends the encryption of m with tag and additional data ad to dst.
func (p *Push) Seal(dst, m, ad []byte, tag byte) []byte {
	c, mac := p.s.start()
	mac.Write(ad)
	mac.Write(pad[:(0x10-len(ad))&0xf])
	var block [64]byte
	block[0] = tag
	c.XORKeyStream(block[:], block[:])
	mac.Write(block[:])
	n := len(dst)
	dst = append(dst, make([]byte, 1+len(m)+16)...)
	out := dst[n:]
	out[0] = block[0]
	c.XORKeyStream(out[1:1+len(m)], m)
	mac.Write(out[1 : 1+len(m)])
	sum := finish(mac, len(ad), len(m))
	copy(out[1+len(m):], sum[:])
	p.s.advance(tag, sum[:])
	return dst
}

// Pull decrypts a stream.
type Pull struct{ s state }

// NewPull starts reading a stream under key from its header.
func NewPull(key, header []byte) (*Pull, error) {
	if len(key) != KeySize || len(header) != HeaderSize {
		return nil, errors.New("secretstream: key must be 32 bytes and header 24")
	}
	p := new(Pull)
	p.s.init(key, header)
	return p, nil
}

// Open appends the plaintext of in, authenticated with ad, to dst and
// returns it with the message's tag. A message that fails leaves the
// stream unchanged: the next message is still expected in its place.
func (p *Pull) Open(dst, in, ad []byte) ([]byte, byte, error) {
	if len(in) < Overhead {
		return dst, 0, ErrAuth
	}
	mlen := len(in) - Overhead
	c, mac := p.s.start()
	mac.Write(ad)
	mac.Write(pad[:(0x10-len(ad))&0xf])
	var block [64]byte
	block[0] = in[0]
	c.XORKeyStream(block[:], block[:])
	tag := block[0]
	block[0] = in[0]
	mac.Write(block[:])
	ct := in[1 : 1+mlen]
	mac.Write(ct)
	sum := finish(mac, len(ad), mlen)
	if subtle.ConstantTimeCompare(sum[:], in[1+mlen:]) != 1 {
		return dst, 0, ErrAuth
	}
	// Grow dst without writing to it: in place, dst's new bytes are ct.
	n := len(dst)
	dst = slices.Grow(dst, mlen)[:n+mlen]
	c.XORKeyStream(dst[n:], ct)
	p.s.advance(tag, sum[:])
	return dst, tag, nil
}
