// Package relay is the client side of the blind WebSocket relay of
// spec/relay.md: the "relay" plug of a multiserver Network, and the
// protocol client under it. The server, which pairs peers by topic and
// copies opaque bytes between them, is package relayserver
// (plugs/relay/relayserver).
//
// [Plug] listens and dials through relays by address:
// "relay:wss://relay.example/ms~noise" to listen (register with the
// relay, advertise "relay:URL~noise:KEY") and "relay:URL~noise:KEY" to
// dial KEY. Its conns resume across a relay that restarts. [Pick] and
// [Addresses] choose, from a shared list of relays, the ones that serve
// a key.
//
// With [Plug.Direct] set on both peers, a relayed conn moves to a direct
// path when the NATs allow it: the peers exchange candidates in signals
// sealed end to end over the conn itself, punch a UDP path (birthday
// punching when one NAT maps per destination), run QUIC over it, and
// move the resumable stream onto it at a byte offset; when that path
// dies (nothing heard over it for 4 s) the dialer pairs again through
// the relay at once, and punches again after [Direct.Retry]. The conn's Path says
// which path it takes (and, relayed, why it is not direct), and
// [multiserver.PathChanged] when that changes. spec/holepunch.md is the
// protocol; package holepunch (plugs/holepunch) is the same without the
// relayed fallback.
//
// [Client] speaks the protocol itself. A peer that cannot accept
// connections registers the stacks it serves with [Client.Register] and
// keeps that control connection open. A dialer calls [Client.Connect]
// with the listener's key and the stack's label ("noise",
// "noise~yamux"); the relay announces it on the listener's
// [Registration.Incoming], and the listener takes it with
// [Client.Accept], on a WebSocket of its own. Both get a [Conn]: a
// net.Conn whose bytes the relay copies with TCP backpressure and never
// reads. The security transform runs over it end to end, so the relay
// sees ciphertext only and cannot impersonate either side; the keys it
// reports ([Conn.Peer], [Incoming.Key]) are what it authenticated, for
// admission, not a substitute for the transform's.
//
// # Without WebSocket
//
// A relay also serves the HTTP bridge (spec/bridge.md) at its URL, and a
// client reaches it by a ladder of carriers: WebSocket, then SSE, then
// long-poll (spec/relay.md §11). A carrier that a proxy refuses (CONNECT
// answered 403, Upgrade dropped, event streams refused) fails at once and
// the next one is tried; the carrier that worked is remembered per relay
// URL (per [Plug], or per process for Clients made by hand), and the
// better ones are tried again on a fresh dial or registration five
// minutes later ([RetryBetter]). [Client.Carriers] and [Plug.Carriers]
// narrow the ladder; [Conn.Carrier], [Registration.Carrier] and a relayed
// conn's path say which carrier each one uses.
//
// # Errors
//
// A relay that cannot be reached gives errors matching [ErrUnreachable];
// a refusal is a *[DeniedError] matching [ErrDenied], and [ErrNoPeer] or
// [ErrReplaced] for those codes; a relay going away, a
// *[RestartingError]; a relay that breaks the protocol, [ErrProtocol].
// A relayed conn's Read and Write fail, but with io.EOF at its end, with
// *net.OpError values (Net "relay", both ends' [Addr]) that wrap the
// cause, as a TCP conn's do: os.ErrDeadlineExceeded, net.ErrClosed, or
// why the stream could not resume.
//
// # Wasm
//
// The package builds for js/wasm, where the client dials through the
// browser's WebSocket API, and the bridge's carriers through its fetch
// (HTTPClient, Proxy and TLSConfig do not apply); a WebSocket conn there
// is coder/websocket's NetConn. Package relayserver does not build.
package relay
