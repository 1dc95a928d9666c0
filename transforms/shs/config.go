package shs

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"time"

	"github.com/f7d52a8e/multiserver/keys"
)

// AppKeySize is the size of an app key, [keys.AppKeySize].
const AppKeySize = keys.AppKeySize

// DefaultFirstMessageTimeout is the default of
// [Config.FirstMessageTimeout], the timeout the JavaScript implementation
// gives every handshake read.
const DefaultFirstMessageTimeout = 5 * time.Second

// Config configures a handshake. The package never modifies it, and one
// Config may serve any number of connections at once.
type Config struct {
	// Identity is the long-term key this side proves and the app key
	// ("caps", the network key: only peers with the same app key can
	// talk), as [keys.NewIdentity] checked them. Required. The SSB main
	// network's app key is 1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s=
	// (base64).
	Identity *keys.Identity
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

// errNoIdentity is the error of a Config without an Identity, or with
// the zero Identity rather than one from keys.NewIdentity.
var errNoIdentity = errors.New("shs: Config.Identity is nil or empty; make one with keys.NewIdentity")

// localKey checks c and derives its key for a handshake.
func (c *Config) localKey() (*localKey, error) {
	if c.Identity == nil || c.Identity.Public() == nil {
		return nil, errNoIdentity
	}
	return newLocalKey(c.Identity.Private(), c.Identity.AppKey())
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
