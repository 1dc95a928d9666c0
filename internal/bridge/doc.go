// Package bridge implements the HTTP bridge of spec/bridge.md: the
// "sse" and "poll" plugs, whose public face is package plugs/bridge, and
// the sessions other packages carry over it (the relay serves and dials
// its own sessions through [Server] and [Plug.DialSession]).
//
// A conn is a session: the server's bytes come down in a Server-Sent
// Events response ("sse") or in long-polls ("poll"), the client's go up
// in ordered POSTs, and every byte is numbered, so a response cut at any
// point resumes from its cursor with nothing lost or repeated. The
// client files build for js/wasm, where requests go through the
// browser's fetch; listening there fails.
package bridge
