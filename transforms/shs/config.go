package shs

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"
)

// AppKeySize is the size of an app key.
const AppKeySize = 32

// DefaultFirstMessageTimeout is the default of
// [Config.FirstMessageTimeout], the timeout the JavaScript implementation
// gives every handshake read.
const DefaultFirstMessageTimeout = 5 * time.Second

// Config configures a handshake. The package never modifies it, and one
// Config may serve any number of connections at once.
type Config struct {
	// Identity is the long-term key this side proves. Required.
	Identity ed25519.PrivateKey
	// AppKey is the 32-byte network key ("caps"): only peers with the same
	// app key can talk. Required. The SSB main network uses
	// 1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s= (base64).
	AppKey []byte
	// Authorize, on the server side, decides after msg3 whether the
	// authenticated client may connect. A non-nil error makes the server
	// hang up without sending msg4, and Server returns that error wrapped.
	// It should return promptly: the handshake's context does not
	// interrupt it. If nil, every client is accepted.
	//
	// remote is the key the client's signature verifies under, but one
	// secret stands behind two such keys: A and −A (A with the top bit of
	// its last byte flipped). Ed25519 libraries sign only as A, from a
	// seed; a hand-made signer with the negated scalar signs as −A, and
	// the handshake accepts it. An allow-list may compare keys byte for
	// byte: −A is then just refused. A deny-list must compare them with
	// that bit cleared (remote[31]&0x7f), or −A gets past it.
	Authorize func(remote ed25519.PublicKey) error
	// FirstMessageTimeout bounds, on the server side, the wait for the
	// client's first message (its 64-byte challenge), within the bound of
	// the handshake's context: a peer that connects and sends nothing is
	// dropped after it rather than at the end of the handshake. If zero,
	// 5s ([DefaultFirstMessageTimeout]); if negative, only the context
	// bounds the wait.
	FirstMessageTimeout time.Duration
	// Rand is the source of the ephemeral keys: 32 bytes per handshake,
	// used as an Ed25519 seed as the JavaScript implementation does. It
	// must be safe for concurrent use if the Config serves concurrent
	// handshakes. If nil, crypto/rand.Reader. Tests set it to replay
	// transcripts.
	Rand io.Reader
}

// check validates c.
func (c *Config) check() error {
	if len(c.Identity) != ed25519.PrivateKeySize {
		return fmt.Errorf("shs: Config.Identity must be an ed25519 private key (%d bytes), got %d bytes", ed25519.PrivateKeySize, len(c.Identity))
	}
	if len(c.AppKey) != AppKeySize {
		return fmt.Errorf("shs: Config.AppKey must be %d bytes, got %d", AppKeySize, len(c.AppKey))
	}
	pub := ed25519.NewKeyFromSeed(c.Identity.Seed()).Public().(ed25519.PublicKey)
	if !bytes.Equal(pub, c.Identity[32:]) {
		return errors.New("shs: Config.Identity's public half does not match its seed")
	}
	return nil
}

// localKey checks c and derives its key for a handshake.
func (c *Config) localKey() (*localKey, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	return newLocalKey(c.Identity)
}

func (c *Config) firstMessageTimeout() time.Duration {
	if c.FirstMessageTimeout == 0 {
		return DefaultFirstMessageTimeout
	}
	return c.FirstMessageTimeout
}

func (c *Config) rand() io.Reader {
	if c.Rand == nil {
		return rand.Reader
	}
	return c.Rand
}
