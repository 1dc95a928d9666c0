package shs

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/f7d52a8e/multiserver/internal/ctxguard"
	"github.com/f7d52a8e/multiserver/internal/edcurve"
	"github.com/f7d52a8e/multiserver/internal/secretbox"
)

// Message sizes of the handshake, in bytes.
const (
	msg1Size = 64  // hmac(K, a_pub) || a_pub
	msg2Size = 64  // hmac(K, b_pub) || b_pub
	msg3Size = 112 // secretbox(sig_A || A_pub), zero nonce
	msg4Size = 80  // secretbox(sig_B), zero nonce
)

// Client runs the client side of the handshake on c, expecting the server
// to prove the long-term key server, and returns the encrypted conn.
//
// Client honours ctx by setting a past deadline on c when ctx ends; the
// error then wraps ctx.Err(). It changes no deadline otherwise, and on
// error it leaves c open: the caller closes it.
func Client(ctx context.Context, c net.Conn, cfg Config, server ed25519.PublicKey) (*Conn, error) {
	key, err := cfg.localKey()
	if err != nil {
		return nil, err
	}
	return dial(ctx, c, &cfg, key, server)
}

// Server runs the server side of the handshake on c and returns the
// encrypted conn; [Conn.RemoteKey] is the client's proven key.
//
// Server honours ctx as [Client] does, and likewise leaves c open on
// error. It also bounds the wait for the client's first message by
// [Config.FirstMessageTimeout]: unless ctx ends sooner, it sets c's read
// deadline for that read, and clears it after. On that timeout the error
// matches os.ErrDeadlineExceeded.
func Server(ctx context.Context, c net.Conn, cfg Config) (*Conn, error) {
	key, err := cfg.localKey()
	if err != nil {
		return nil, err
	}
	return accept(ctx, c, &cfg, key)
}

// dial is Client with cfg checked and its key derived, as a Transform
// keeps them.
func dial(ctx context.Context, c net.Conn, cfg *Config, key *localKey, server ed25519.PublicKey) (*Conn, error) {
	serverCurve, err := edcurve.PublicKey(server)
	if err != nil {
		return nil, fmt.Errorf("shs: server key: %w", err)
	}
	var sc *Conn
	err = ctxguard.Run(ctx, c, "shs", func() error {
		h, err := newHandshake(cfg, key)
		if err == nil {
			h.remote, h.remoteCurve = server, serverCurve
			sc, err = h.client(c)
		}
		return err
	})
	return sc, err
}

// accept is Server with cfg checked and its key derived.
func accept(ctx context.Context, c net.Conn, cfg *Config, key *localKey) (*Conn, error) {
	var sc *Conn
	err := ctxguard.Run(ctx, c, "shs", func() error {
		h, err := newHandshake(cfg, key)
		if err == nil {
			sc, err = h.server(ctx, c, cfg.firstMessageTimeout())
		}
		return err
	})
	return sc, err
}

// handshake holds one side's state. "Local" and "remote" name the sides;
// the comments use the protocol's names: a/b ephemeral, A/B long-term,
// client/server.
type handshake struct {
	appKey      []byte
	key         *localKey
	authorize   func(ed25519.PublicKey) error
	eph         *ecdh.PrivateKey
	ephPriv     []byte // curve25519
	ephPub      []byte
	remote      ed25519.PublicKey
	remoteCurve []byte
	remoteEph   []byte
	localMAC    []byte // hmac(K, ephPub)
	remoteMAC   []byte
	ab, aB, Ab  []byte // shared secrets, named from the client's view
	sigA        []byte // the client's signature, which the server signs over
}

func newHandshake(cfg *Config, key *localKey) (*handshake, error) {
	var seed [ed25519.SeedSize]byte
	if _, err := io.ReadFull(cfg.rand(), seed[:]); err != nil {
		return nil, fmt.Errorf("shs: reading ephemeral key: %w", err)
	}
	h := &handshake{appKey: key.appKey, key: key, authorize: cfg.Authorize}
	// The ephemeral key is the X25519 form of the Ed25519 key of seed, as
	// the JavaScript implementation makes it.
	h.ephPriv = edcurve.PrivateKeyFromSeed(seed[:])
	var err error
	if h.eph, err = ecdh.X25519().NewPrivateKey(h.ephPriv); err != nil {
		return nil, fmt.Errorf("shs: ephemeral key: %w", err)
	}
	h.ephPub = h.eph.PublicKey().Bytes()
	h.localMAC = h.mac(h.ephPub)
	return h, nil
}

// mac is crypto_auth: HMAC-SHA-512 truncated to 32 bytes.
func (h *handshake) mac(msg []byte) []byte {
	m := hmac.New(sha512.New, h.appKey)
	m.Write(msg)
	return m.Sum(nil)[:32]
}

// challenge returns msg1 or msg2: hmac(K, eph_pub) || eph_pub.
func (h *handshake) challenge() []byte {
	return append(append(make([]byte, 0, msg1Size), h.localMAC...), h.ephPub...)
}

// verifyChallenge checks the peer's msg1 or msg2 and keeps its parts.
func (h *handshake) verifyChallenge(msg []byte) bool {
	mac, pub := msg[:32], msg[32:]
	if !hmac.Equal(mac, h.mac(pub)) {
		return false
	}
	h.remoteMAC, h.remoteEph = mac, pub
	return true
}

// hash returns sha256 of the concatenated parts.
func hash(parts ...[]byte) []byte {
	s := sha256.New()
	for _, p := range parts {
		s.Write(p)
	}
	return s.Sum(nil)
}

// box seals msg with key under the zero nonce, as every handshake box is.
func box(key, msg []byte) []byte {
	var k [32]byte
	copy(k[:], key)
	return secretbox.Seal(nil, msg, new([24]byte), &k)
}

func unbox(key, msg []byte) ([]byte, bool) {
	var k [32]byte
	copy(k[:], key)
	return secretbox.Open(nil, msg, new([24]byte), &k)
}

func (h *handshake) localPub() ed25519.PublicKey { return h.key.pub }

// msg3Key is sha256(K || ab || aB); msg4Key adds Ab.
func (h *handshake) msg3Key() []byte { return hash(h.appKey, h.ab, h.aB) }
func (h *handshake) msg4Key() []byte { return hash(h.appKey, h.ab, h.aB, h.Ab) }

// clientProof is the signed message in msg3: K || B || sha256(ab).
func (h *handshake) clientProof(server ed25519.PublicKey) []byte {
	return append(append(append([]byte{}, h.appKey...), server...), hash(h.ab)...)
}

// serverProof is the signed message in msg4: K || sig_A || A || sha256(ab).
func (h *handshake) serverProof(client ed25519.PublicKey) []byte {
	return append(append(append(append([]byte{}, h.appKey...), h.sigA...), client...), hash(h.ab)...)
}

// boxKeys is the outcome of a handshake: box stream keys and nonces for both
// directions.
type boxKeys struct {
	encKey, decKey     [32]byte
	encNonce, decNonce [24]byte
}

// outcome derives the box stream keys: s = sha256(sha256(K||ab||aB||Ab)),
// each direction keyed by sha256(s || receiver's long-term key), with the
// nonce taken from the receiver's challenge MAC.
func (h *handshake) outcome() boxKeys {
	s := hash(h.msg4Key())
	var k boxKeys
	copy(k.encKey[:], hash(s, h.remote))
	copy(k.decKey[:], hash(s, h.localPub()))
	copy(k.encNonce[:], h.remoteMAC)
	copy(k.decNonce[:], h.localMAC)
	return k
}

// dh returns X25519(priv, pub); it fails on low-order points. It takes
// the private key as an *ecdh.PrivateKey, made once per handshake (or
// Transform), because x/crypto's curve25519.X25519 makes one for every
// call and so computes its public key too: a second scalar
// multiplication, the most costly step of a handshake.
func dh(priv *ecdh.PrivateKey, pub []byte) ([]byte, error) {
	p, err := ecdh.X25519().NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return priv.ECDH(p)
}

// localKey is this side's long-term key in the forms a handshake uses. A
// Transform derives it once; Client and Server, on every call.
type localKey struct {
	id     ed25519.PrivateKey
	pub    ed25519.PublicKey
	static *ecdh.PrivateKey // the X25519 form
	appKey []byte
}

// newLocalKey derives the keys of id, a checked private key, for the
// network of appKey.
func newLocalKey(id ed25519.PrivateKey, appKey []byte) (*localKey, error) {
	k, err := ecdh.X25519().NewPrivateKey(edcurve.PrivateKey(id))
	if err != nil {
		return nil, fmt.Errorf("shs: static key: %w", err)
	}
	return &localKey{id: id, pub: id.Public().(ed25519.PublicKey), static: k, appKey: appKey}, nil
}

// readMsg reads one handshake message, describing a hang-up with hangup.
func readMsg(c net.Conn, n int, hangup string) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("shs: %s: %w", hangup, err)
		}
		return nil, fmt.Errorf("shs: reading %d-byte handshake message: %w", n, err)
	}
	return b, nil
}

func writeMsg(c net.Conn, b []byte, name string) error {
	if _, err := c.Write(b); err != nil {
		return fmt.Errorf("shs: sending %s: %w", name, err)
	}
	return nil
}
