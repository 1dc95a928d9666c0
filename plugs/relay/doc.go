// Package relay is the blind WebSocket relay of spec/relay.md: a server
// that pairs peers by topic and copies opaque bytes between them, and
// the protocol client that listeners and dialers use.
//
// A peer that cannot accept connections registers the stacks it serves
// with [Client.Register] and keeps that control connection open. A
// dialer calls [Client.Connect] with the listener's key and the stack's
// label ("noise", "noise~yamux"); the relay announces it on the
// listener's [Registration.Incoming], and the listener takes it with
// [Client.Accept], on a WebSocket of its own. Both get a [Conn]: a
// net.Conn whose bytes the relay copies with TCP backpressure and never
// reads. The security transform runs over it end to end, so the relay
// sees ciphertext only and cannot impersonate either side; the keys it
// reports ([Conn.Peer], [Incoming.Key]) are what it authenticated, for
// admission, not a substitute for the transform's.
//
// [Server] is an http.Handler: mount it at the relay's path on any mux,
// behind any TLS terminator. [Server.Shutdown] tells clients to come
// back later and drains; [Server.Healthz], [Server.Readyz] and
// [Server.Metrics] are handlers for the usual endpoints. The server
// keeps its state in memory, per process: several relays need no shared
// state, since peers pick a relay by its URL.
//
// # Errors
//
// A relay that cannot be reached gives errors matching [ErrUnreachable];
// a refusal is a *[DeniedError] matching [ErrDenied], and [ErrNoPeer] or
// [ErrReplaced] for those codes; a relay going away, a
// *[RestartingError]; a relay that breaks the protocol, [ErrProtocol].
//
// # Cost
//
// An idle pairing costs the server two goroutines and about 18 KiB of
// heap and stacks (24 KiB of RSS), measured by TestIdlePairingMemory
// with 1,000 pairings: coder/websocket gets 512-byte buffers, and a copy
// buffer is taken from a pool only while a message passes.
//
// # Wasm
//
// The client builds for js/wasm, where it dials through the browser's
// WebSocket API (HTTPClient, Proxy and TLSConfig do not apply) and its
// conns are coder/websocket's NetConn. The server does not.
package relay
