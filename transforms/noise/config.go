package noise

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"time"

	"github.com/f7d52a8e/multiserver/keys"
)

// AppKeySize is the size of an app key, [keys.AppKeySize], the same as
// shs's, so that one network key serves both transforms.
const AppKeySize = keys.AppKeySize

// DefaultFirstMessageTimeout is the default of
// [Config.FirstMessageTimeout], the timeout the JavaScript implementation
// of shs gives every handshake read.
const DefaultFirstMessageTimeout = 5 * time.Second

// prologueLabel starts the Noise prologue; the app key follows it.
const prologueLabel = "multiserver-noise"

// Config configures a handshake. The package never modifies it, and one
// Config may serve any number of connections at once.
type Config struct {
	// Identity is the long-term Ed25519 key this side proves, whose
	// X25519 form is the Noise static key, and the app key, the network
	// key that goes into the Noise prologue: only peers with the same app
	// key can talk. [keys.NewIdentity] checked both. Required.
	Identity *keys.Identity
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

// errNoIdentity is the error of a Config without an Identity, or with
// the zero Identity rather than one from keys.NewIdentity.
var errNoIdentity = errors.New("noise: Config.Identity is nil or empty; make one with keys.NewIdentity")

// localKey checks c and derives its key for a handshake.
func (c *Config) localKey() (*localKey, error) {
	if c.Identity == nil || c.Identity.Public() == nil {
		return nil, errNoIdentity
	}
	return newLocalKey(c.Identity.Private())
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
	return append([]byte(prologueLabel), c.Identity.AppKey()...)
}
