package hyperdht

import (
	"crypto/ed25519"
	"crypto/sha512"
	"errors"
	"fmt"
	"io"

	"filippo.io/edwards25519"
	fnoise "github.com/flynn/noise"
	"golang.org/x/crypto/blake2b"
)

// ErrBadPoint is the error of [DH] for a peer key libsodium refuses.
var ErrBadPoint = errors.New("hyperdht: peer key refused (non-canonical, small order, outside the prime-order subgroup or identity)")

// Command numbers of hyperdht's RPC (hyperdht lib/constants.js COMMANDS),
// the ids of its namespaces.
const (
	cmdPeerHandshake = 0
	cmdPeerHolepunch = 1
	cmdAnnounce      = 4
	cmdUnannounce    = 5
	cmdMutablePut    = 6
	cmdPlugin        = 10
)

// Namespace returns hypercore-crypto's namespace(name, ids): for each id,
// BLAKE2b-256(BLAKE2b-256(name) ‖ id).
func Namespace(name string, ids ...byte) [][32]byte {
	ns := blake2b.Sum256([]byte(name))
	buf := append(ns[:], 0)
	out := make([][32]byte, len(ids))
	for i, id := range ids {
		buf[32] = id
		out[i] = blake2b.Sum256(buf)
	}
	return out
}

var (
	dhNS     = Namespace("hyperswarm/dht", cmdPeerHandshake, cmdPeerHolepunch)
	streamNS = Namespace("hyperswarm/secret-stream", 0, 1, 2)
)

// PeerHandshakePrologue is the Noise prologue of hyperdht's peer handshake
// (NS.PEER_HANDSHAKE).
func PeerHandshakePrologue() []byte { p := dhNS[0]; return p[:] }

// HolepunchSecret is BLAKE2b-256 keyed by the handshake hash over
// NS.PEER_HOLEPUNCH: the key of hyperdht's holepunch payloads.
func HolepunchSecret(handshakeHash []byte) [32]byte {
	return keyedSum(handshakeHash, dhNS[1][:])
}

// StreamID is @hyperswarm/secret-stream's id of one side of a connection:
// BLAKE2b-256 keyed by the handshake hash over the initiator's or the
// responder's namespace. Each side sends its own id first and checks the
// other's.
func StreamID(handshakeHash []byte, initiator bool) [32]byte {
	if initiator {
		return keyedSum(handshakeHash, streamNS[0][:])
	}
	return keyedSum(handshakeHash, streamNS[1][:])
}

func keyedSum(key, data []byte) [32]byte {
	h, err := blake2b.New256(key)
	if err != nil {
		panic("hyperdht: " + err.Error()) // key length is fixed by the caller: 64 bytes
	}
	h.Write(data)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// CipherSuite is Noise_*_Ed25519_ChaChaPoly_BLAKE2b.
var CipherSuite = fnoise.NewCipherSuite(DH, fnoise.CipherChaChaPoly, fnoise.HashBLAKE2b)

// DH is the Ed25519 Diffie-Hellman of noise-curve-ed, as a flynn/noise
// DHFunc. Its private keys are ed25519.PrivateKey values (seed ‖ public
// key, 64 bytes) and its public keys Ed25519 keys (32 bytes).
var DH fnoise.DHFunc = edDH{}

type edDH struct{}

func (edDH) DHName() string { return "Ed25519" }
func (edDH) DHLen() int     { return 32 }

// GenerateKeypair reads a 32-byte seed from rng.
func (edDH) GenerateKeypair(rng io.Reader) (fnoise.DHKey, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := io.ReadFull(rng, seed); err != nil {
		return fnoise.DHKey{}, fmt.Errorf("hyperdht: %w", err)
	}
	return KeyFromSeed(seed), nil
}

// KeyFromSeed is the key pair of an Ed25519 seed in [DH]'s form.
func KeyFromSeed(seed []byte) fnoise.DHKey {
	priv := ed25519.NewKeyFromSeed(seed)
	return fnoise.DHKey{Private: priv, Public: append([]byte(nil), priv[32:]...)}
}

// DH multiplies pubkey by privkey's clamped scalar.
func (edDH) DH(privkey, pubkey []byte) ([]byte, error) {
	if len(privkey) != ed25519.PrivateKeySize && len(privkey) != ed25519.SeedSize {
		return nil, errors.New("hyperdht: private key must be 32 or 64 bytes")
	}
	if len(pubkey) != 32 {
		return nil, ErrBadPoint
	}
	h := sha512.Sum512(privkey[:32])
	s, err := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	if err != nil {
		return nil, fmt.Errorf("hyperdht: %w", err)
	}
	p, err := peerPoint(pubkey)
	if err != nil {
		return nil, err
	}
	q := new(edwards25519.Point).ScalarMult(s, p)
	if q.Equal(edwards25519.NewIdentityPoint()) == 1 {
		return nil, ErrBadPoint
	}
	return q.Bytes(), nil
}

// peerPoint decodes pub as libsodium's crypto_scalarmult_ed25519 accepts it:
// canonical, on the curve, not of small order, in the prime-order subgroup.
func peerPoint(pub []byte) (*edwards25519.Point, error) {
	p, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return nil, ErrBadPoint
	}
	// SetBytes accepts some non-canonical y (y ≥ p); libsodium does not.
	// The x sign bit with x = 0 is refused by both.
	if !bytesEqual(p.Bytes(), pub) {
		return nil, ErrBadPoint
	}
	id := edwards25519.NewIdentityPoint()
	if new(edwards25519.Point).MultByCofactor(p).Equal(id) == 1 {
		return nil, ErrBadPoint // small order
	}
	if !inPrimeSubgroup(p) {
		return nil, ErrBadPoint
	}
	return p, nil
}

// lMinus1 is ℓ−1, little-endian, ℓ the order of the prime-order subgroup.
var lMinus1 = [32]byte{
	0xec, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
}

// inPrimeSubgroup reports whether [ℓ]P is the identity, as [ℓ−1]P + P.
func inPrimeSubgroup(p *edwards25519.Point) bool {
	s, err := edwards25519.NewScalar().SetCanonicalBytes(lMinus1[:])
	if err != nil {
		panic("hyperdht: " + err.Error())
	}
	q := new(edwards25519.Point).ScalarMult(s, p)
	q.Add(q, p)
	return q.Equal(edwards25519.NewIdentityPoint()) == 1
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }
