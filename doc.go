// Package multiserver runs many protocol stacks at once and advertises
// them all in one address string, in the manner of JavaScript multiserver.
//
// A stack is a [Plug] (a transport such as TCP) followed by [Transform]s
// (layers that secure or otherwise upgrade a connection). A [Network] holds
// the plugs and transforms a program can use; [Network.Listen] serves
// several stacks behind one net.Listener, and [Network.Dial] connects to
// the first stack of an advertised address that both sides speak.
//
// An address may end in a [Muxer] ("~yamux"): its connections are
// [Session]s of many streams. A [SessionPlug] (quic) gives sessions
// natively. [Network.DialSession] returns a session, [Network.Dial] its
// first stream, and a Listener's Accept every stream peers open. The
// Listener serves a muxer's sessions and a SessionPlug's the same way:
// it counts the streams Accept returned from each, and on Close it tells
// the peer GoAway and ends the session when its last stream closes.
//
// Protocols are upgraded without negotiation: serve the new stack beside
// the old one ([Listener.Add]), advertise both, watch the old one's use
// fall ([Listener.Usage]), and stop serving it ([Listener.Drain], or at
// once [Listener.Drop]). Nothing is negotiated, so nothing old lingers.
//
// # Using it
//
// A program that serves and dials needs these: [Config] and [New] to make
// a [Network] of the plugs and transforms it chose; [Network.Listen] for a
// [Listener] (a net.Listener, with [Listener.Address] to advertise,
// [Listener.Add] and [Listener.Drop] to change stacks live, and
// [Listener.Shutdown]); [Network.Dial] and [Network.DialSession]; [Info]
// and [RemoteKey] for what a conn is; and the errors ([DialError],
// [HandshakeError], [ErrHandshake], [ErrUnsupportedAddress],
// [ErrWrongKey]). Addresses are written and parsed by package address,
// where an address.Addr is one address (its layers) and an address.List
// the alternatives of an advertised string.
//
// # Writing plugs, transforms and muxers
//
// The other names are contracts for those who write layers: [Plug],
// [Transform] and [Muxer], the layers themselves; [Session] and
// [SessionPlug] for conns that carry streams; the optional interfaces a
// layer implements when it needs them: [Advertiser], [ChangingListener],
// [StackPlug] (with [ListenOptions] and [DialOptions]), [FallbackPlug],
// [SegmentChecker], and an Authenticates method (see [Plug] and
// [Transform]); and the methods conns offer to [Info]: [KeyConn],
// [WrapperConn], [StreamConn], [PathConn] (with [Path] and [ConnInfo]).
//
// # Scopes
//
// [Listener.Address] gives the address for peers in a [Scope]: device
// (loopback, unix sockets), local (private addresses) or public. A
// listener on 0.0.0.0 or :: advertises the host's interface addresses of
// the scope.
//
// # Plaintext
//
// An address with no transform ("net:127.0.0.1:8008") is plaintext, as
// noauth is, unless its plug secures its conns itself (quic). Both take an
// explicit opt-in: a Network serves and dials them only if it has the
// noauth transform, and a Listener serves them only on addresses that this
// device alone reaches (loopback, unix, mem), unless noauth.Transform.Scope
// says the local network or the public may connect. A WebSocket stack that
// authenticates nobody refuses upgrades from other web origins and Host
// names that are not its own, so that no web page can use it.
//
// # Floods
//
// A Listener bounds the inbound handshakes in progress, in all
// ([Config.MaxHandshakes]) and per source address
// ([Config.MaxHandshakesPerSource]), with a budget of its own for the
// stacks only this device reaches. A connection over budget is closed at
// once (a WebSocket upgrade is answered 503), so a flood from one host
// neither fills the backlog nor delays other peers. Conns that finished
// their handshakes wait for Accept up to [Config.AcceptBacklog] (128);
// past it the Listener stops accepting until the application takes one,
// and new peers wait in each plug's own queue, as in a listen backlog.
//
// # Peer identity
//
// [RemoteKey] returns the authenticated Ed25519 key of a conn's peer, as
// shs and noise proved it. A handler that sees requests rather than conns
// gets the key through its server's per-conn hook: net/http's
// http.Server.ConnContext can put RemoteKey(c) in the context of every
// request on c (see the httpPeerKey example), and gRPC transport
// credentials whose handshake returns RemoteKey(c) in its AuthInfo let a
// handler read it from peer.FromContext (the grpc program in examples/).
//
// # Observing
//
// A Network given a [Stats] ([Config.Stats]) counts, per stack, what its
// listeners accept and refuse, the bytes carried and what is open, and
// what its dials try, win and fail; package metrics exports that to
// Prometheus. A [DialTrace] in a dial's context ([WithDialTrace]) is told
// of every attempt, layer and step (name resolution, TCP connect, proxy
// CONNECT, TLS, WebSocket upgrade, each handshake, the muxer), with its
// time and its error. [Listener.Usage] says how much each stack served is
// still used, and which peers reach the Listener over it alone (every
// Listener keeps it, with or without Stats);
// [Listener.Drain] retires a stack gently: it stops advertising it at
// once, serves it for a grace period, then drops it.
//
// # Errors
//
// A failed Dial returns errors.Join of one [*DialError] per address; a
// failed handshake is a [*HandshakeError] matching [ErrHandshake]; an
// address no configured stack speaks matches [ErrUnsupportedAddress].
// Inbound handshakes that fail never reach Accept: they are logged at
// debug level to [Config.Logger] and dropped.
package multiserver
