package shs

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha512"
	"errors"
	"net"
	"testing"

	"filippo.io/edwards25519"

	"github.com/f7d52a8e/multiserver/internal/edcurve"
	"github.com/f7d52a8e/multiserver/internal/frametest"
)

// negate returns the encoding of -P: P's with the sign bit flipped.
func negate(k ed25519.PublicKey) ed25519.PublicKey {
	n := bytes.Clone(k)
	n[31] ^= 0x80
	return n
}

// TestNegatedServerKey dials the server's key with its sign bit flipped:
// the same X25519 key, but shs signs over the Ed25519 key, so the
// handshake fails on both sides.
func TestNegatedServerKey(t *testing.T) {
	frametest.NoLeak(t)
	cerr, serr := failedHandshake(t, testConfig(1), testConfig(2), negate(pub(testKey(2))))
	if !errors.Is(serr, ErrAuthFailed) {
		t.Errorf("server error = %v, want ErrAuthFailed", serr)
	}
	wantHangup(t, cerr)
}

// TestNegatedClientKey shows what Config.Authorize says: the holder of
// A's secret can authenticate as -A too, with an Ed25519 signer that
// signs with the negated scalar, so a deny-list that compares keys byte
// for byte does not keep it out.
func TestNegatedClientKey(t *testing.T) {
	frametest.NoLeak(t)
	c, s := frametest.MemPipe(t)
	scfg := testConfig(2)
	var got ed25519.PublicKey
	scfg.Authorize = func(k ed25519.PublicKey) error {
		if bytes.Equal(k, pub(testKey(1))) {
			return errors.New("denied")
		}
		got = k
		return nil
	}
	done := make(chan error, 1)
	go func() {
		sc, err := Server(context.Background(), s, scfg)
		if err != nil {
			s.Close()
		} else if !bytes.Equal(sc.RemoteKey(), negate(pub(testKey(1)))) {
			err = errors.New("server's RemoteKey is not -A")
		}
		done <- err
	}()
	if err := negatedClient(c, testConfig(1), pub(testKey(2))); err != nil {
		c.Close()
		t.Fatalf("client as -A: %v (server: %v)", err, <-done)
	}
	if err := <-done; err != nil {
		t.Fatalf("server: %v", err)
	}
	if !bytes.Equal(got, negate(pub(testKey(1)))) {
		t.Errorf("Authorize got %x, want -A %x", got, negate(pub(testKey(1))))
	}
}

// negatedClient runs the client's side as (*handshake).client does, but
// presents -A, the negation of cfg.Identity's public key, signing for it
// with the negated secret scalar.
func negatedClient(c net.Conn, cfg Config, server ed25519.PublicKey) error {
	key, err := cfg.localKey()
	if err != nil {
		return err
	}
	neg := *key
	neg.pub = negate(key.pub)
	h, err := newHandshake(&cfg, &neg)
	if err != nil {
		return err
	}
	h.remote = server
	if h.remoteCurve, err = edcurve.PublicKey(server); err != nil {
		return err
	}
	if err := writeMsg(c, h.challenge(), "msg1"); err != nil {
		return err
	}
	msg2, err := readMsg(c, msg2Size, "hung up before msg2")
	if err != nil {
		return err
	}
	if !h.verifyChallenge(msg2) {
		return errServerChallenge
	}
	if h.ab, err = dh(h.eph, h.remoteEph); err != nil {
		return err
	}
	if h.aB, err = dh(h.eph, h.remoteCurve); err != nil {
		return err
	}
	h.sigA = signNegated(cfg.Identity.Private(), h.clientProof(server))
	if err := writeMsg(c, box(h.msg3Key(), append(bytes.Clone(h.sigA), neg.pub...)), "msg3"); err != nil {
		return err
	}
	msg4, err := readMsg(c, msg4Size, "hung up before msg4")
	if err != nil {
		return err
	}
	if h.Ab, err = dh(key.static, h.remoteEph); err != nil {
		return err
	}
	sigB, ok := unbox(h.msg4Key(), msg4)
	if !ok || !ed25519.Verify(server, h.serverProof(neg.pub), sigB) {
		return errServerAuth
	}
	return nil
}

// signNegated signs msg as RFC 8032 does, but with the negation of
// priv's secret scalar, so that the signature verifies under -A.
func signNegated(priv ed25519.PrivateKey, msg []byte) []byte {
	h := sha512.Sum512(priv.Seed())
	a, _ := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	a.Negate(a)
	pubNeg := new(edwards25519.Point).ScalarBaseMult(a).Bytes()
	rh := sha512.Sum512(append(bytes.Clone(h[32:]), msg...))
	r, _ := edwards25519.NewScalar().SetUniformBytes(rh[:])
	R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()
	kh := sha512.Sum512(append(append(append([]byte{}, R...), pubNeg...), msg...))
	k, _ := edwards25519.NewScalar().SetUniformBytes(kh[:])
	s := edwards25519.NewScalar().MultiplyAdd(k, a, r)
	return append(R, s.Bytes()...)
}
