package noise

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"
)

// AppKeySize is the size of an app key, the same as shs's, so that one
// network key serves both transforms.
const AppKeySize = 32

// DefaultFirstMessageTimeout is the default of
// [Config.FirstMessageTimeout], the timeout the JavaScript implementation
// of shs gives every handshake read.
const DefaultFirstMessageTimeout = 5 * time.Second

// prologueLabel starts the Noise prologue; the app key follows it.
const prologueLabel = "multiserver-noise"

// Config configures a handshake. The package never modifies it, and one
// Config may serve any number of connections at once.
type Config struct {
	// Identity is the long-term Ed25519 key this side proves; its X25519
	// form is the Noise static key. Required.
	Identity ed25519.PrivateKey
	// AppKey is the 32-byte network key: only peers with the same app key
	// can talk. It goes into the Noise prologue. Required.
	AppKey []byte
	// Authorize, on the server side, decides after the client's first
	// message whether the client may connect. A non-nil error makes the
	// server hang up without replying, and Server returns that error
	// wrapped. A key it accepts is not proven yet: the handshake can still
	// fail (a replayed first message does), so act only on the conns
	// Server returns. It should return promptly: the handshake's context
	// does not interrupt it. If nil, every client is accepted.
	//
	// Noise authenticates the client's X25519 key; remote is the Ed25519
	// key the client names, checked only to convert to that X25519 key.
	// A and −A (A with the top bit of its last byte flipped) convert to
	// the same one, so a client holding A's secret may name either, at
	// no cost. An allow-list may compare keys byte for byte: −A is then
	// just refused. A deny-list must compare them with that bit cleared
	// (remote[31]&0x7f), or −A gets past it.
	Authorize func(remote ed25519.PublicKey) error
	// FirstMessageTimeout bounds, on the server side, the wait for the
	// client's first message (msg1), within the bound of the handshake's
	// context: a peer that connects and sends nothing is dropped after it
	// rather than at the end of the handshake. If zero, 5s
	// ([DefaultFirstMessageTimeout]); if negative, only the context bounds
	// the wait.
	FirstMessageTimeout time.Duration
	// Rand is the source of the ephemeral keys: 32 bytes per handshake,
	// used as an X25519 private key. It must be safe for concurrent use if
	// the Config serves concurrent handshakes. If nil, crypto/rand.Reader.
	// Tests set it to reproduce transcripts.
	Rand io.Reader
}

// check validates c.
func (c *Config) check() error {
	if len(c.Identity) != ed25519.PrivateKeySize {
		return fmt.Errorf("noise: Config.Identity must be an ed25519 private key (%d bytes), got %d bytes", ed25519.PrivateKeySize, len(c.Identity))
	}
	if len(c.AppKey) != AppKeySize {
		return fmt.Errorf("noise: Config.AppKey must be %d bytes, got %d", AppKeySize, len(c.AppKey))
	}
	pub := ed25519.NewKeyFromSeed(c.Identity.Seed()).Public().(ed25519.PublicKey)
	if !bytes.Equal(pub, c.Identity[32:]) {
		return errors.New("noise: Config.Identity's public half does not match its seed")
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

// prologue returns the Noise prologue: the label, then the app key.
func (c *Config) prologue() []byte {
	return append([]byte(prologueLabel), c.AppKey...)
}
