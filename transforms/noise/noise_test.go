package noise

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/f7d52a8e/multiserver/keys"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testKey returns the Ed25519 key with a seed of 32 bytes b.
func testKey(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

var testAppKey = bytes.Repeat([]byte{0xa5}, AppKeySize)

func testConfig(b byte) Config { return Config{Identity: mustIdentity(testKey(b), testAppKey)} }

// mustIdentity returns the Identity of priv and appKey, which must be valid.
func mustIdentity(priv ed25519.PrivateKey, appKey []byte) *keys.Identity {
	id, err := keys.NewIdentity(priv, appKey)
	if err != nil {
		panic(err)
	}
	return id
}

// handshakeResult is what one side's handshake returned.
type handshakeResult struct {
	conn *Conn
	err  error
}

// runHandshake runs Client on c and Server on s at once. Like a real
// caller, each side closes its raw conn when its handshake fails, so that
// the peer sees the hang-up.
func runHandshake(ctx context.Context, c, s net.Conn, ccfg, scfg Config, serverKey ed25519.PublicKey) (client, server handshakeResult) {
	done := make(chan handshakeResult)
	go func() {
		sc, err := Server(ctx, s, scfg)
		if err != nil {
			s.Close()
		}
		done <- handshakeResult{sc, err}
	}()
	cc, err := Client(ctx, c, ccfg, serverKey)
	if err != nil {
		c.Close()
	}
	return handshakeResult{cc, err}, <-done
}

// mustHandshake returns an established pair over pipe.
func mustHandshake(t testing.TB, pipe func(testing.TB) (net.Conn, net.Conn)) (client, server *Conn) {
	t.Helper()
	c, s := pipe(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cr, sr := runHandshake(ctx, c, s, testConfig(1), testConfig(2), pub(testKey(2)))
	if cr.err != nil || sr.err != nil {
		t.Fatalf("handshake: client %v, server %v", cr.err, sr.err)
	}
	t.Cleanup(func() { cr.conn.Close(); sr.conn.Close() })
	return cr.conn, sr.conn
}
