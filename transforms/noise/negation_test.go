package noise

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/internal/frametest"
)

// negate returns the encoding of -P: P's with the sign bit flipped.
func negate(k ed25519.PublicKey) ed25519.PublicKey {
	n := bytes.Clone(k)
	n[31] ^= 0x80
	return n
}

// TestNegatedServerKey dials the server's key with its sign bit flipped.
// Noise authenticates the X25519 key, which is the same, so the dial
// succeeds and RemoteKey is the key the address named.
func TestNegatedServerKey(t *testing.T) {
	frametest.NoLeak(t)
	c, s := frametest.MemPipe(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	neg := negate(pub(testKey(2)))
	cr, sr := runHandshake(ctx, c, s, testConfig(1), testConfig(2), neg)
	if cr.err != nil || sr.err != nil {
		t.Fatalf("handshake: client %v, server %v; want both to succeed", cr.err, sr.err)
	}
	if !bytes.Equal(cr.conn.RemoteKey(), neg) {
		t.Errorf("client RemoteKey = %x, want the address's key %x", cr.conn.RemoteKey(), neg)
	}
}

// TestNegatedClientKey names -A in msg1 with A's secret, as any client
// can: the server accepts it, and Authorize sees -A, so a deny-list that
// compares keys byte for byte does not keep A out.
func TestNegatedClientKey(t *testing.T) {
	frametest.NoLeak(t)
	c, s := frametest.MemPipe(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a := pub(testKey(1))
	scfg := testConfig(2)
	var got ed25519.PublicKey
	scfg.Authorize = func(k ed25519.PublicKey) error {
		if bytes.Equal(k, a) {
			return errors.New("denied")
		}
		got = k
		return nil
	}
	ccfg := testConfig(1)
	key, err := ccfg.localKey()
	if err != nil {
		t.Fatal(err)
	}
	key.edPub = negate(key.edPub)
	done := make(chan handshakeResult)
	go func() {
		sc, err := Server(ctx, s, scfg)
		if err != nil {
			s.Close()
		}
		done <- handshakeResult{sc, err}
	}()
	_, cerr := dial(ctx, c, &ccfg, key, pub(testKey(2)))
	if cerr != nil {
		c.Close()
	}
	sr := <-done
	if cerr != nil || sr.err != nil {
		t.Fatalf("handshake as -A: client %v, server %v; want both to succeed", cerr, sr.err)
	}
	if !bytes.Equal(got, negate(a)) || !bytes.Equal(sr.conn.RemoteKey(), negate(a)) {
		t.Errorf("Authorize got %x, RemoteKey %x; want -A %x", got, sr.conn.RemoteKey(), negate(a))
	}
}
