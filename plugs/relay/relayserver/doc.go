// Package relayserver is the server of the blind WebSocket relay of
// spec/relay.md: it pairs peers by topic and copies opaque bytes between
// them. The clients, and the types the protocol shares with them
// ([relay.DenyCode], [relay.Limits], [relay.Topic], [relay.StreamID]),
// are in package relay (plugs/relay).
//
// [Server] is an http.Handler: mount it at the relay's path on any mux,
// behind any TLS terminator. It takes WebSockets, and at the same path
// the HTTP bridge's requests (spec/bridge.md) for clients whose proxy
// breaks WebSocket: each bridge session carries relay messages framed
// as spec/relay.md §11 says, and pairs with any other carrier. [Server.Shutdown] tells clients to come
// back later and drains; [Server.Healthz] and [Server.Readyz] are
// handlers for the usual endpoints, and [Server.Collector] gives its
// counters to a Prometheus registry of the caller's. The server keeps its
// state in memory, per process: several relays need no shared state,
// since peers pick a relay by its URL (see [relay.Pick]).
//
// # Limits
//
// Besides the limits announced in HELLO, a pairing that carries no data
// for [Config.IdlePairingTimeout] (5 minutes by default) is closed with
// status 4002, and [Config.PairingRate] optionally bounds the bytes per
// second of each direction of a pairing (spec/relay.md §6).
//
// # STUN
//
// [Server.ServeSTUN] answers STUN Binding requests on a UDP socket with
// the requester's reflexive address (spec/stun.md). Serve two ports of
// one host, and a client's probe from one socket tells an
// endpoint-independent NAT mapping from a symmetric one. Requests are
// bounded in size ([MaxSTUNRequest]) and rate per source
// ([Config.STUNRate]); a response is never larger than
// [MaxSTUNResponse]. Shutdown closes the sockets.
//
// # Cost
//
// An idle pairing costs the server two goroutines, a timer for the idle
// timeout and about 18 KiB of heap and stacks (25 KiB of RSS), measured
// by TestIdlePairingMemory with 1,000 pairings: coder/websocket gets
// 512-byte buffers, and a copy buffer is taken from a pool only while a
// message passes.
//
// # Wasm
//
// The server does not build for js/wasm: there, this package is empty.
package relayserver
