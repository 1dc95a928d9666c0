package keys

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
)

// AppKeySize is the size of an app key, the network key that shs, noise
// and the quic plug all take: only peers with the same app key talk.
const AppKeySize = 32

// Identity is a node's validated Ed25519 key and the app key of the
// network it speaks on, made once by [NewIdentity] and handed to every
// secure transform and plug (shs, noise, quic). It is immutable and safe
// for concurrent use; its methods return copies.
//
// The zero Identity holds no key: the packages that take one refuse it.
//
// An Identity never prints its private key: String, and every fmt verb,
// show only the public key.
//
// # Open networks
//
// There is no "no app key". A node that wants the open network of every
// peer without one says so with [OpenNetwork], 32 zero bytes. A nil or
// short app key is an error, so a forgotten key fails at start-up rather
// than joining the open network by accident.
type Identity struct {
	priv   ed25519.PrivateKey
	pub    ed25519.PublicKey
	appKey []byte
}

// OpenNetwork returns the app key of the open network: [AppKeySize] zero
// bytes. Peers that pass it to [NewIdentity] talk to each other and to
// nobody on another network.
func OpenNetwork() []byte { return make([]byte, AppKeySize) }

// NewIdentity checks priv and appKey and returns an Identity holding
// copies of them. priv must be a 64-byte Ed25519 private key whose public
// half matches its seed; appKey must be exactly [AppKeySize] bytes (see
// [OpenNetwork] for a network without a secret key).
func NewIdentity(priv ed25519.PrivateKey, appKey []byte) (*Identity, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("keys: private key must be an ed25519 private key (%d bytes), got %d bytes", ed25519.PrivateKeySize, len(priv))
	}
	derived := ed25519.NewKeyFromSeed(priv.Seed())
	if !bytes.Equal(derived, priv) {
		return nil, errors.New("keys: private key's public half does not match its seed")
	}
	if appKey == nil {
		return nil, errors.New("keys: app key is nil; pass keys.OpenNetwork() for the open network")
	}
	if len(appKey) != AppKeySize {
		return nil, fmt.Errorf("keys: app key must be %d bytes, got %d", AppKeySize, len(appKey))
	}
	return &Identity{
		priv:   derived,
		pub:    derived.Public().(ed25519.PublicKey),
		appKey: bytes.Clone(appKey),
	}, nil
}

// Public returns a copy of the public key.
func (id *Identity) Public() ed25519.PublicKey { return bytes.Clone(id.pub) }

// Private returns a copy of the private key, seed and public half.
func (id *Identity) Private() ed25519.PrivateKey { return bytes.Clone(id.priv) }

// Sign signs msg with the private key, as ed25519.Sign does.
func (id *Identity) Sign(msg []byte) []byte { return ed25519.Sign(id.priv, msg) }

// AppKey returns a copy of the app key.
func (id *Identity) AppKey() []byte { return bytes.Clone(id.appKey) }

// String returns the SSB identifier of the public key, "@<base64>.ed25519".
// It has a value receiver, as GoString and Format do, so that a copy of
// an Identity prints the same way.
func (id Identity) String() string { return ID(id.pub) }

// GoString is String, so that %#v does not print the private key.
func (id Identity) GoString() string { return id.String() }

// Format writes String for every verb, so that no verb (%x, %d, %+v)
// reaches the private key.
func (id Identity) Format(f fmt.State, verb rune) { fmt.Fprint(f, id.String()) }
