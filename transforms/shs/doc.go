// Package shs is the "shs" transform: Secure Scuttlebutt's secret
// handshake (version 1) followed by a box stream, compatible with the
// JavaScript secret-handshake and pull-box-stream packages that
// multiserver uses.
//
// The handshake authenticates both sides by long-term Ed25519 keys and
// keeps strangers out with an app key: a peer that does not know the app
// key learns nothing, not even the server's identity. The client must know
// the server's public key before it dials. After four messages (64, 64,
// 112 and 80 bytes) both sides hold keys for a box stream, which carries
// the data in encrypted, authenticated frames of up to 4096 bytes.
//
// # Entry points
//
// [Client] and [Server] run the handshake on an established net.Conn and
// return a [*Conn], itself a net.Conn. [Conn.RemoteKey] is the peer's
// proven key. Both take the long-term key and app key as one
// [keys.Identity] in [Config.Identity], made and checked by
// [keys.NewIdentity], the same value noise and the quic plug take. [New]
// wraps a [Config] as a [Transform] for a multiserver.Network, where
// addresses carry the server key as "shs:KEY", or "shs:KEY:SEED" to dial
// with a one-time identity (SSB invites). The wire format is described in
// spec/shs.md in the repository.
//
// The context bounds only the handshake. Client and Server set a past
// deadline on the conn when it ends; on failure they leave the conn open
// for the caller to close. Server also waits at most
// [Config.FirstMessageTimeout] (5s by default, as the JavaScript
// implementation waits for each handshake read) for the client's first
// message, with a read deadline that it clears once that message is in.
// Neither touches deadlines otherwise.
//
// # Errors
//
// The protocol sends no error messages: a side that rejects the other
// just hangs up. So what each side can tell apart is limited:
//
//   - A server sees a client with another app key at once, as
//     [ErrInvalidChallenge] ("client sent invalid challenge").
//   - A server sees a client that expects another server key as
//     [ErrAuthFailed]: msg3 does not open.
//   - A client cannot tell a wrong app key, a wrong server key or a
//     refusal by Config.Authorize from a server that just went away: all
//     are the server hanging up, an error wrapping io.EOF or
//     io.ErrUnexpectedEOF whose message names the likely causes. The step
//     at which it happens narrows it down: before msg2 it is most likely
//     the app key; before msg4 the server key or authorization.
//   - A client whose server does answer msg4, but with a proof that does
//     not verify, gets an error matching both [ErrAuthFailed] and
//     multiserver.ErrWrongKey. A real server cannot cause this; only a
//     broken or malicious one can.
//   - An Authorize error is returned by Server, wrapped.
//
// On a [Conn], Read returns io.EOF after the peer's goodbye, an error
// wrapping io.ErrUnexpectedEOF if the peer hung up without one, and an
// error matching [ErrInvalidFrame] for a frame that fails to open. The
// last two break the stream for good, but every frame that arrived whole
// before them has been delivered first. Errors of the underlying conn,
// timeouts included, are returned as they are, and a Read or Write that
// times out can be retried.
//
// # Interoperability
//
// The handshake is byte for byte that of npm secret-handshake 1.1.21 and
// the framing that of pull-box-stream 1.0.13; the tests check both against
// vectors produced by those packages (spec/vectors/shs1.json). Ephemeral
// keys are made as the JavaScript code makes them, from a 32-byte Ed25519
// seed, so Config.Rand reproduces its transcripts exactly.
//
// Long-term keys are converted to curve25519 as libsodium does, refusing
// keys that are not points of the prime-order subgroup. Signatures are
// checked with crypto/ed25519, which accepts a few non-canonical
// encodings that libsodium refuses; honest keys never produce them.
// The JavaScript side gives each handshake step 5 seconds by default; here
// the caller's context bounds the whole handshake instead.
//
// # Half-close
//
// [Conn.CloseWrite] sends the goodbye, the box stream's end of data, and
// keeps reading; it does not half-close the underlying conn. Mind the
// JavaScript multiserver net server: it uses allowHalfOpen:false, so once
// a peer's transport ends, it closes the whole connection. Over the box
// stream the goodbye is safe, but do not half-close TCP yourself, and send
// the goodbye only after everything you expect has been read if the peer
// might react to it by closing. [Conn.Close] sends the goodbye if it has
// not been sent, waiting at most a second for a peer that does not read.
//
// # Speed
//
// A Write seals up to 16 frames and sends them with one write to the
// underlying conn; a Read takes up to 64 KiB at a time and opens frames
// straight into the caller's buffer, or in place. On amd64 CPUs with
// AVX-512 a body's Salsa20 runs 16 blocks at a time and its Poly1305
// eight, in assembly, which seals and opens a 4 KiB body about four times
// as fast as golang.org/x/crypto's secretbox; elsewhere the boxes are
// made with x/crypto's Salsa20 and Poly1305, as its secretbox makes them,
// at its speed.
package shs
