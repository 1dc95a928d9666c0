// Package bridge implements the HTTP bridge of spec/bridge.md: its wire
// protocol, the server's [Server] and the client's [Client], which hand
// out sessions as byte streams. The "sse" and "poll" plugs (package
// plugs/bridge) and the relay plug, which serves and dials its own
// sessions, are built on it; it knows neither, nor the core package.
//
// A conn is a session: the server's bytes come down in a Server-Sent
// Events response ("sse") or in long-polls ("poll"), the client's go up
// in ordered POSTs, and every byte is numbered, so a response cut at any
// point resumes from its cursor with nothing lost or repeated. The
// client's files build for js/wasm, where requests go through the
// browser's fetch; the server's do not.
package bridge
