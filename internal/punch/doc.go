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
// A Carrier's liveness is QUIC's: a side that heard nothing for
// [KeepAlive] sends a PING, and a path over which nothing came for
// [IdleTimeout] ends the connection, so the Carrier's Read and Write
// fail and the resumable stream above goes back to the relay. That is
// much sooner than the resumable stream's own keepalive timeout, and it
// is only the direct carrier's: the relayed ones keep theirs.
//
// STUN, probes and QUIC share one socket through one quic-go Transport
// (probes and STUN are the packets it does not take for QUIC). The
// socket is dual-stack where the host has IPv6, and candidates of both
// families are offered and probed; the first path that answers wins.
package punch
