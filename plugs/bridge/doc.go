// Package bridge is the HTTP bridge: the "sse" and "poll" plugs, which
// carry a byte stream over ordinary HTTP requests for clients behind
// proxies that break WebSocket (spec/bridge.md).
//
// A conn is a session: the server's bytes come down in a Server-Sent
// Events response ("sse") or in long-polls ("poll"), the client's go up
// in ordered POSTs, and every byte is numbered, so a response cut at any
// point resumes from its cursor with nothing lost or repeated. Every
// request is signed with the Plug's Identity; the transform above (shs,
// noise) runs end to end, and a stack without one is refused.
//
//	p := &bridge.Plug{Scheme: "sse", Identity: id}
//	ln, err := network.Listen(ctx, "sse:http://0.0.0.0:8080/ms~noise")
//	c, err := network.Dial(ctx, "sse:https://h.example/ms~noise:KEY")
//
// The Plug's Mount method serves the bridge from a web server of your
// own, beside its pages. Its conns report a direct path carried by "sse"
// or "poll" ([multiserver.PathConn]); the plug is a
// [multiserver.FallbackPlug], so a Network never prefers it to a
// WebSocket or TCP address that worked.
//
// The protocol and its sessions live in an internal package that the
// relay plug shares (a relay serves the same sessions, spec/relay.md
// §11); StatusError, URLAddr and ErrRejected are that package's, so
// errors.As and errors.Is match them whichever plug returned the error.
// A session's Read and Write fail, but with io.EOF at its end, with
// *net.OpError values (Net "sse" or "poll") that wrap the cause, as a TCP
// conn's do: os.ErrDeadlineExceeded, net.ErrClosed, the session's end.
//
// # Caveats
//
// Closing a listener refuses new sessions (an open is answered 503) and,
// as with other plugs, leaves those it accepted open: they live in its
// handler, which goes on serving them until each ends, by the client's
// close or the session timeout. A listener on an HTTP server of its own
// keeps that server running until then. Its Shutdown, which
// multiserver.Listener.Shutdown calls, waits for them, and ends those
// left when its ctx ends. The client files build for js/wasm, where
// requests go through the browser's fetch; listening there fails.
package bridge
