// Package punch finds a direct UDP path between two peers that already
// share a relayed conn, and runs QUIC over it: UDP hole punching.
// spec/holepunch.md is the protocol.
//
// Each side has an [Agent]. The dialer's offers: it opens a UDP socket,
// learns its reflexive address and its NAT's mapping from the relay's
// STUN ports, and sends its candidates in a signal sealed to the peer's
// key (NaCl box on the X25519 forms of the two Ed25519 keys), so that
// the relay that carries it can neither read nor forge it. The
// listener's answers the same way; then both send probes to each
// other's candidates every 50 ms, and the dialer opens QUIC, mutual TLS
// on the two Ed25519 keys, to the first address a probe came back
// from. The one stream of that connection is a [Carrier], which the
// caller attaches to its resumable stream: the switch happens there, at
// a byte offset.
//
// STUN, probes and QUIC share one socket through one quic-go Transport
// (probes and STUN are the packets it does not take for QUIC). The
// socket is dual-stack where the host has IPv6, and candidates of both
// families are offered and probed; the first path that answers wins.
package punch
