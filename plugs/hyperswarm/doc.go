// Package hyperswarm is the "hyperswarm" plug: it dials a peer on the
// Hyperswarm DHT by its Ed25519 key, through a @hyperswarm/dht-relay
// (0.4.3) reached over WebSocket, non-custodially: our secret key stays
// here, the Noise handshake (hyperdht's Noise_IK_Ed25519_ChaChaPoly_BLAKE2b)
// runs here, and the relay carries the secret stream it cannot read.
//
// An address names the peer alone, "hyperswarm:KEY", KEY its Ed25519
// public key in base64 as in every other layer (multiserver addr converts
// the hex that Hyperswarm tools print); the relays to go through are the
// dialer's choice, in [Config]. A dial returns a net.Conn whose RemoteKey
// is the peer's key, with no transform on top: the handshake
// authenticates the peer, as quic's does. Listening (announcing on the
// DHT) is not offered.
//
// What the relay still learns (who dials whom, addresses, sizes and
// timing) and the wire format are in spec/hyperswarm.md.
package hyperswarm
