// Package quic is the "quic" plug: QUIC version 1 over UDP (IPv4 and
// IPv6), on github.com/quic-go/quic-go, with QUIC's own TLS 1.3 as the
// only security layer and QUIC's native streams.
//
// Its segment is "quic:HOST:PORT:KEY", such as
// "quic:203.0.113.5:8008:KEY" or "quic:::1:8008:KEY": the host and port
// as in "net" (IPv6 unbracketed), then the server's Ed25519 public key
// in base64. Since the plug authenticates, the key belongs to its own
// segment, and a quic address needs no transforms. A listen address may
// leave the key out ("quic:0.0.0.0:0"); the listener advertises its real
// port, its interface addresses per scope, and its key.
//
// # Entry points
//
// [New] makes a [Plug] from a [Config] with the node's identity. Give it
// to a multiserver.Network, which then listens on and dials quic
// addresses like any other, beside "net~noise" or "ws~shs" on one
// Listener. [Plug.Dial] (and so Network.Dial) gives one stream of a new
// connection as a net.Conn; [Plug.DialSession] (Network.DialSession)
// gives the connection itself, a [*Conn], which is a multiserver.Session:
// [Conn.Open] and [Conn.Accept] map onto QUIC streams.
// [Plug.ListenSessions] gives each inbound connection as a session, and
// a multiserver.Listener serves their streams as it serves yamux's: its
// Accept returns every stream that peers open, on every connection.
// [Plug.Listen] does the same without a Network, through
// multiserver.StreamListener.
// Every stream is a [*Stream], a full net.Conn with deadlines, CloseWrite
// and Reset. multiserver.RemoteKey works on streams ([Conn.RemoteKey] on
// connections), and multiserver.SessionOf finds a stream's connection.
//
// # Authentication
//
// Each side presents a self-signed X.509 certificate whose key is its
// Ed25519 key (made once, in New, from [Config.Identity], the
// [keys.Identity] that shs and noise take too). There is no CA: the dialer
// accepts exactly the key in the address, and the listener requires a
// client certificate and learns the client's key from it, so both ends
// are authenticated. TLS 1.3's CertificateVerify proves each side holds
// its private key. The app key keeps networks apart: each certificate
// carries an HMAC of its key under the app key, which the other side
// checks. TLS 1.3 encrypts certificates, so neither keys nor networks
// show on the wire; the ALPN, [ALPN], does. Session resumption and 0-RTT
// are off. spec/quic.md in the repository has the exact rules.
//
// A dial to a server with another key fails with an error that names
// both keys and matches multiserver.ErrWrongKey; one to a server on
// another network matches [ErrAppKey]. Both are a
// *multiserver.HandshakeError. A listener drops clients it refuses; they
// see a TLS alert, and the listener logs them at debug level.
//
// # Streams
//
// A QUIC stream is invisible to the peer until data arrives on it, so
// the opener sends a one-byte header (0x00) at once, and the acceptor
// reads it before Accept returns the stream: a server that speaks first
// sees the stream at once. A stream's Close ends both directions (the
// peer reads io.EOF after the data, and its writes fail with
// [ErrStreamReset]); CloseWrite ends the writing one.
//
// # Closing
//
// QUIC drops every stream's undelivered and unread data when a
// connection closes, so [Conn.Close] (and closing the stream of
// [Plug.Dial]) is a small handshake: it ends the
// streams still open here, sends GOAWAY on a control stream, and waits
// for the peer to close the connection. The peer does so once every
// stream sent before the GOAWAY has arrived and its application has read
// each to the end or closed it. A peer that never finishes holds Close
// for [Config.CloseTimeout] (5s by default); after that the connection
// closes anyway. So write, then Close: what was written arrives if the
// peer reads it within CloseTimeout.
//
// [Conn.GoAway] sends the GOAWAY alone and refuses further streams,
// leaving those open alone. The multiserver.Listener that serves the
// connections calls it when it closes, and closes each connection once
// the streams it returned from it are closed, as it does for yamux
// sessions; so http.Server.Shutdown over quic lets requests in flight
// finish. What the plug keeps is the UDP socket: it closes once the
// session listener is closed and every connection it accepted has ended.
// The session listener's Shutdown(ctx) waits for that, and closes at
// once the connections left when ctx ends;
// multiserver.Listener.Shutdown calls it.
//
// # Settings
//
// [Config] holds the knobs and their defaults: idle timeout (30s),
// keepalive (15s), streams the peer may open at once (128), receive
// windows per stream (16 MiB) and per connection (32 MiB), and
// CloseTimeout. The context of a dial bounds its handshake; inbound
// handshakes are bounded by quic-go's handshake timeout: 5s without a
// packet from the client, 10s in all.
//
// Dials share one UDP socket per address family, as quic-go clients do:
// it opens with the first dial and closes 100ms after the last
// connection on it has ended, unless a new dial takes it up. A host
// name is resolved, and its addresses are dialed Happy Eyeballs style,
// the next one 250ms after the previous, since UDP gives no quick
// refusal for a dead address.
//
// # Logging
//
// Nothing is logged unless [Config.Logger] is set. quic-go itself logs
// only if QUIC_GO_LOG_LEVEL is set, except for one line on the standard
// logger when it cannot enlarge a UDP socket's buffers to 7 MiB (raise
// net.core.rmem_max and wmem_max, or set
// QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING=true).
package quic
