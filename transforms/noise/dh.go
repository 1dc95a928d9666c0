package noise

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/subtle"
	"fmt"
	"io"

	fnoise "github.com/flynn/noise"

	"github.com/f7d52a8e/multiserver/internal/edcurve"
)

// localKey is this side's long-term key in the forms a handshake uses. A
// Transform derives it once; Client and Server, on every call.
type localKey struct {
	edPub  ed25519.PublicKey
	static *ecdh.PrivateKey // the Noise static key, the X25519 form
	priv   []byte           // static.Bytes()
	pub    []byte           // static.PublicKey().Bytes()
}

func newLocalKey(id ed25519.PrivateKey) (*localKey, error) {
	k, err := ecdh.X25519().NewPrivateKey(edcurve.PrivateKey(id))
	if err != nil {
		return nil, fmt.Errorf("noise: static key: %w", err)
	}
	return &localKey{
		edPub:  id.Public().(ed25519.PublicKey),
		static: k,
		priv:   k.Bytes(),
		pub:    k.PublicKey().Bytes(),
	}, nil
}

// dhFunc is flynn/noise's DH25519 for one handshake, on crypto/ecdh.
// fnoise.DH25519 calls x/crypto's curve25519.X25519, which makes a
// crypto/ecdh private key on every call and so computes its public key
// too: two scalar multiplications for every DH and key pair, where one
// does. dhFunc keeps the handshake's own private keys as
// *ecdh.PrivateKey, so that a DH with them costs one. It computes the
// same values, errors included: a DH whose result is zero (a peer key of
// small order) fails.
//
// The handshake also starts the DHs of a message that do not depend on
// each other at once (prefetch), each on a goroutine: on a machine with a
// core to spare a pair takes the time of one, and the handshake's longest
// chain of scalar multiplications, the wait for a new conn, shrinks from
// nine to six. It does no DH that the handshake would not do anyway.
type dhFunc struct {
	local   *localKey
	eph     *ecdh.PrivateKey // the key GenerateKeypair made, if any
	ephPriv []byte
	early   []*earlyDH
}

// earlyDH is a DH that prefetch started.
type earlyDH struct {
	priv *ecdh.PrivateKey
	pub  []byte
	done chan struct{} // closed once out and err are set
	out  []byte
	err  error
}

var _ fnoise.DHFunc = (*dhFunc)(nil)

// GenerateKeypair reads 32 bytes from random as the private key, as
// fnoise.DH25519 does, unless pregenerate made the key pair already.
func (d *dhFunc) GenerateKeypair(random io.Reader) (fnoise.DHKey, error) {
	if d.eph == nil {
		if err := d.pregenerate(random); err != nil {
			return fnoise.DHKey{}, err
		}
	}
	return fnoise.DHKey{Private: d.ephPriv, Public: d.eph.PublicKey().Bytes()}, nil
}

// pregenerate makes the handshake's ephemeral key pair ahead of
// GenerateKeypair. The server makes it before it reads msg1, while the
// client is busy making msg1, which takes a scalar multiplication off the
// time a handshake takes.
func (d *dhFunc) pregenerate(random io.Reader) error {
	priv := make([]byte, 32)
	if _, err := io.ReadFull(random, priv); err != nil {
		return err
	}
	k, err := ecdh.X25519().NewPrivateKey(priv)
	if err != nil {
		return err
	}
	d.eph, d.ephPriv = k, priv
	return nil
}

// prefetch starts DH(priv, pub) on a goroutine of its own, which ends by
// itself; DH(priv, pub) waits for its result.
func (d *dhFunc) prefetch(priv *ecdh.PrivateKey, pub []byte) {
	e := &earlyDH{priv: priv, pub: bytes.Clone(pub), done: make(chan struct{})}
	d.early = append(d.early, e)
	go func() {
		e.out, e.err = x25519(priv, e.pub)
		close(e.done)
	}()
}

// DH returns X25519(priv, pub).
func (d *dhFunc) DH(priv, pub []byte) ([]byte, error) {
	k, err := d.key(priv)
	if err != nil {
		return nil, err
	}
	for _, e := range d.early {
		if e.priv == k && bytes.Equal(e.pub, pub) {
			<-e.done
			return e.out, e.err
		}
	}
	return x25519(k, pub)
}

func x25519(k *ecdh.PrivateKey, pub []byte) ([]byte, error) {
	p, err := ecdh.X25519().NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return k.ECDH(p)
}

// key returns priv as an *ecdh.PrivateKey: one the handshake made, which
// flynn/noise hands back, or else a new one.
func (d *dhFunc) key(priv []byte) (*ecdh.PrivateKey, error) {
	switch {
	case d.eph != nil && subtle.ConstantTimeCompare(priv, d.ephPriv) == 1:
		return d.eph, nil
	case subtle.ConstantTimeCompare(priv, d.local.priv) == 1:
		return d.local.static, nil
	}
	return ecdh.X25519().NewPrivateKey(priv)
}

func (d *dhFunc) DHLen() int     { return 32 }
func (d *dhFunc) DHName() string { return "25519" }
