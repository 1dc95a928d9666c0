// Package ws is the "ws" and "wss" plug: a byte stream carried in binary
// WebSocket messages, as JavaScript multiserver's ws plugin does, built on
// github.com/coder/websocket.
//
// Its segment is the whole URL, "ws://HOST[:PORT][/PATH]" or "wss://…",
// with an IPv6 host bracketed ("ws://[::1]:8989"). A port left out means
// 80 for ws and 443 for wss. A [Plug] serves one scheme; a Network that
// wants both uses two Plug values:
//
//	plugs := []multiserver.Plug{&ws.Plug{}, &ws.Plug{Scheme: "wss", TLSConfig: cfg}}
//
// [Plug.Listen] runs an HTTP server on the URL's host and port that
// upgrades requests for the URL's path. Listens on one Plug with the same
// host and port (not 0) and different paths share one server. To serve
// multiserver beside a web site's own pages, [Plug.Mount] the URL on the
// site's http.ServeMux; Listen of that URL then uses the mount.
//
// # Messages
//
// Each Write goes out as binary messages of at most 64 KiB; message
// boundaries carry no meaning. A received message larger than
// [Plug.ReadLimit] (1 MiB if zero) fails the Read and closes the
// connection with status 1009 (message too big); a text message does the
// same with status 1003 (unsupported data).
//
// # Closing
//
// Conns are full net.Conns: a deadline that passes fails the Read or
// Write under way and nothing else, and can be moved or cleared and set
// again. A Write that times out while a message is leaving counts that
// message as written and sends its rest before anything else. There is
// no half-close: Close sends a close frame after all written data and
// ends both directions, and a peer's close frame (status 1000 or 1001),
// or a TCP end without one, reads as io.EOF.
//
// Closing a listener stops its server and refuses conns not yet
// accepted; conns already returned by Accept stay open until closed, as
// with TCP.
//
// # Proxies
//
// Dials go through an HTTP CONNECT proxy when [Plug.Proxy] picks one; by
// default the environment's, as net/http picks it: HTTP_PROXY for ws,
// HTTPS_PROXY for wss, NO_PROXY excluding hosts, and never for localhost
// or loopback addresses; in a CGI program (REQUEST_METHOD set) a set
// HTTP_PROXY fails ws dials, as it fails net/http's requests. Both
// schemes tunnel with CONNECT to the URL's host and port (a forwarded
// plain-HTTP upgrade would not pass most proxies), and wss runs TLS to
// the server inside the tunnel. Failures are a *[ProxyError] naming the
// proxy and its status.
//
// # Certificates
//
// A wss listener needs [Plug.TLSConfig] with certificates. A wss dialer
// verifies the server against the system roots; to pin a self-signed
// certificate, put it alone in TLSConfig.RootCAs (its SAN must name the
// dialed host), or set InsecureSkipVerify with a VerifyPeerCertificate
// that compares the raw certificate.
//
// # Origins
//
// Like JavaScript multiserver, a listener upgrades requests from any
// Origin when the stack above it authenticates peers: that is the
// transform's job (shs, noise), and browser clients of other sites need
// it. Through a multiserver Listener ([Plug.ListenStack]), a stack that
// authenticates nobody (noauth) answers 403 Forbidden to a cross-origin
// upgrade and to a Host other than the URL's, localhost or an IP
// address, so that no web page the host's browser opens can reach it,
// not even through DNS rebinding; [Plug.Listen], which does not know the
// stack, accepts any Origin. Through a Listener, an upgrade also waits
// for it to admit the conn, and gets 503 Service Unavailable with
// Retry-After: 1 if it does not within the handshake timeout.
//
// # Wasm
//
// Under GOOS=js the plug dials through the browser's WebSocket API
// (coder/websocket supports it); HTTPClient and TLSConfig are then
// ignored, and Listen returns an error.
package ws
