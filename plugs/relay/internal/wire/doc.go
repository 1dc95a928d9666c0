// Package wire is the relay protocol's codec (spec/relay.md §3), shared
// by the client in plugs/relay and the server in plugs/relay/relayserver:
// the frames and their encoding, the stack label rules, the message AUTH
// signs, topics and origins. Its wire formats are checked against
// spec/vectors/relay.json.
//
// The public names of the protocol (relay.DenyCode, relay.StreamID,
// relay.Topic, relay.Limits) are defined in plugs/relay; here they are
// their underlying types, which convert both ways.
package wire
