// Package noise is the "noise" transform: a Noise_IK_25519_ChaChaPoly_BLAKE2s
// handshake followed by length-prefixed transport frames.
//
// The client (the Noise initiator) knows the server's key before it dials,
// since the address carries it, so the handshake takes one round trip: the
// client sends msg1, the server answers msg2, and the client sends a short
// key confirmation, msg3, with no further wait. Each side's Noise static key
// is the X25519 form of its long-term Ed25519 key (the libsodium
// conversion), so "noise:KEY" and "shs:KEY" carry the same base64 Ed25519
// public key. The app key goes into the Noise prologue: peers on other
// networks fail the first message.
//
// # Entry points
//
// [Client] and [Server] run the handshake on an established net.Conn and
// return a [*Conn], itself a net.Conn. [Conn.RemoteKey] is the peer's
// proven Ed25519 key. Both take the long-term key and app key as one
// [keys.Identity] in [Config.Identity], made and checked by
// [keys.NewIdentity], the same value shs and the quic plug take. [New]
// wraps a [Config] as a [Transform] for a multiserver.Network, where
// addresses carry the server key as "noise:KEY".
//
// The context bounds only the handshake. Client and Server set a past
// deadline on the conn when it ends; on failure they leave the conn open
// for the caller to close. Server also waits at most
// [Config.FirstMessageTimeout] (5s by default) for msg1, with a read
// deadline that it clears once msg1 is in. Neither touches deadlines
// otherwise.
//
// # Wire format
//
// spec/noise.md in the repository has the exact bytes and
// spec/vectors/noise.json has transcripts. In short: every message, in the
// handshake and after, is a 2-byte big-endian length and that many bytes.
//
//	msg1  client → server  0x0080  e, enc(s), enc(client's Ed25519 key)  128 bytes
//	msg2  server → client  0x0030  e, enc(empty)                           48 bytes
//	msg3  client → server  0x0010  transport frame 0, empty payload        16 bytes
//	data  either way       len     ChaChaPoly(payload) || tag, len ≤ 65535
//
// A frame carries at most [MaxPayload] bytes of data; larger writes are
// split. A frame with an empty payload ends the stream. The name "noise"
// stands for all of this: another suite, pattern or framing would be served
// under a new name, beside this one.
//
// # Errors
//
// The protocol sends no error messages: a side that rejects the other just
// hangs up. What each side can tell apart:
//
//   - A server sees a client with another app key, or one that expects
//     another server key, as [ErrAuthFailed]: msg1 does not decrypt. The two
//     cases look the same.
//   - A server sees a replayed msg1, or a client that cannot finish the
//     handshake for another reason, as [ErrAuthFailed] (msg3 does not
//     decrypt), as a hang-up, or at its deadline.
//   - A client cannot tell a wrong app key, a wrong server key or a refusal
//     by Config.Authorize apart: the server hangs up after msg1, an error
//     wrapping io.EOF or io.ErrUnexpectedEOF whose message names the causes.
//   - A client whose server answers with an msg2 that does not decrypt gets
//     an error matching both [ErrAuthFailed] and multiserver.ErrWrongKey.
//     Only a broken or malicious server causes it.
//   - Bytes that are not this protocol (a wrong length) give
//     [ErrInvalidMessage] at once, without waiting for more.
//   - An Authorize error is returned by Server, wrapped.
//
// On a [Conn], Read returns io.EOF after the peer's end of stream, an error
// wrapping io.ErrUnexpectedEOF if the peer hung up without one, and an error
// matching [ErrInvalidFrame] for a frame that fails to decrypt. The last two
// break the stream for good, but every frame that arrived whole before them
// has been delivered first. Errors of the underlying conn, timeouts included,
// are returned as they are, and a Read or Write that times out can be
// retried.
//
// # Half-close
//
// [Conn.CloseWrite] sends the end of stream (an encrypted frame with an
// empty payload) and keeps reading; it does not half-close the underlying
// conn. Because the end of stream is authenticated, a reader tells a clean
// end from a stream cut short by an attacker or a crash. [Conn.Close] sends
// the end of stream if it has not been sent, waiting at most a second for a
// peer that does not read.
package noise
