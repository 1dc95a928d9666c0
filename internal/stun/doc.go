// Package stun is the subset of STUN (RFC 8489) that finds a host's
// reflexive transport address and tells what its NAT does with it: the
// Binding request and its success response, XOR-MAPPED-ADDRESS (IPv4 and
// IPv6), FINGERPRINT and SOFTWARE. spec/stun.md says what is in the
// subset and what is left out.
//
// [Decode] parses a message strictly and [Message.Append] encodes one;
// [IsMessage] tells a STUN packet from others arriving on a shared
// socket (QUIC's, say). [Probe] is the client: it sends Binding requests
// from one UDP socket to the two ports of a responder and reports the
// reflexive address and whether the mapping is endpoint-independent. The
// responder is in the relay server (plugs/relay/relayserver); the
// hole-punching plug uses [Probe] without importing the relay.
//
// # Vectors
//
// spec/vectors/stun.json holds the sample messages of RFC 5769 §2.1–2.3,
// which the tests decode and whose XOR-MAPPED-ADDRESS and FINGERPRINT
// they check, and messages of our own encoding.
package stun
