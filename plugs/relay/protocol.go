package relay

import (
	"crypto/ed25519"
	"time"

	"github.com/f7d52a8e/multiserver/plugs/relay/internal/wire"
)

// Subprotocol is the WebSocket subprotocol of version 1 of the relay
// protocol (spec/relay.md).
const Subprotocol = "multiserver-relay.1"

// StreamID is the 16 bytes a dialer chooses for a stream, which the
// relay passes to the listener so that a later pairing of the same
// stream (after a relay restart) can be matched to it.
type StreamID [16]byte

// Topic is what the relay pairs by: see [TopicOf].
type Topic [32]byte

// TopicOf returns the topic of the stack label served by key:
// SHA-256("multiserver-relay.1 topic" ‖ key ‖ label).
func TopicOf(key ed25519.PublicKey, label string) Topic {
	return wire.TopicOf(key, label)
}

// Limits are what a relay announces in HELLO.
type Limits struct {
	MaxFrame         int           // largest control message before pairing, in bytes
	HandshakeTimeout time.Duration // upgrade → request frame
	PairingTimeout   time.Duration // CONNECT → PAIRED
	PingInterval     time.Duration // how often the relay pings a control conn
}
