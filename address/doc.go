// Package address parses and writes multiserver addresses. An address
// string says how to reach a peer over one or more protocol stacks:
//
//	net:203.0.113.5:8008~shs:KEY;ws://203.0.113.5:8989~noise:KEY
//
// where KEY is the peer's Ed25519 public key in base64.
// The format is that of JavaScript multiserver 3.8.2, and this package
// reads and writes its strings byte for byte. The full grammar, in ABNF,
// is in spec/address.md in this module, with test vectors in
// spec/vectors/address.json.
//
// A string is a [List] of alternative addresses separated by ';', in the
// order the peer prefers them. Each address is an [Addr]: layers separated
// by '~', a plug (the transport) first, then the transforms that upgrade
// its connections, and optionally a muxer last. Each layer is a [Segment]:
// a name, then fields separated by ':'.
//
// Each layer reads its own fields, as each JavaScript multiserver plugin
// parses its own section, so this package holds the generic grammar and
// each plug, transform and muxer package holds the rules of its layer as
// a [Kind] (tcp.Kind, ws.Kind, shs.Kind, yamux.Kind). A [Parser] knows
// the Kinds it is given: it checks that an address starts with a plug,
// has transforms after it and at most one muxer, last, and that each
// layer has the fields its Kind takes. A multiserver.Network builds its
// Parser from the layers it is configured with. [Parse] knows no Kind:
// it checks the generic grammar alone and accepts any well-formed layer,
// as JavaScript's multiserver-address module decodes.
//
// A malformed string is a [*ParseError] that gives the byte offset of
// the problem. [List.String] and [Addr.String] write the canonical form,
// and Parse(l.String()) equals l for every l that Parse returns.
// [Parser.ParseKnown] reads a List whose alternatives may name layers the
// Parser does not know (JavaScript skips them when it dials): it returns
// the known ones and keeps the others aside as [Unknown].
// [HostPort], [HostPortKey], [URL], [DecodeKey] and [CheckKeys] read the
// fields of the common layers; the Kinds are written with them.
//
// # Escaping
//
// ';' cannot be escaped, so it never appears inside an address. Inside an
// address, '!' escapes the next character: "!~" is a '~' that does not
// separate layers and "!!" is a '!'. The decoder also takes "!x" as x for
// any other x, as JavaScript does; the encoder escapes only '~' and '!'.
// A '!' with nothing after it is an error here (JavaScript keeps it).
// Fields are split at ':' after unescaping, so "!:" does not protect a
// ':'. A Segment holds its fields unescaped:
//
//	ws://h:1/a!~b!!c   Segment{Name: "ws", Fields: []string{"//h", "1/a~b!c"}}
//
// # Layers
//
// The layers of this module and of JavaScript multiserver, each checked
// by the Kind of the package named:
//
//	name    role       fields        package
//	net     plug       HOST:PORT     plugs/tcp. IPv6 unbracketed with optional zone:
//	                                 net:fe80::1%eth0:8008. The port is the last field.
//	                                 An empty HOST means localhost.
//	onion   plug       HOST:PORT     plugs/onion, a Tor onion service (grammar only, no plug).
//	unix    plug       PATH          plugs/unix; the path may hold ':'.
//	ws      plug       //HOST[:PORT][/PATH][?QUERY]
//	                                 plugs/ws. WebSocket URL; IPv6 bracketed: ws://[::1]:8989.
//	wss     plug       as ws         plugs/ws. WebSocket over TLS.
//	mem     plug       NAME          plugs/mem. In-process, for tests and examples.
//	quic    plug       HOST:PORT[:KEY]
//	                                 plugs/quic. QUIC over UDP, IPv6 unbracketed as in net.
//	                                 KEY is the server's Ed25519 key; quic authenticates with it.
//	shs     transform  [KEY[:SEED]]  transforms/shs. Secret handshake v1. KEY is the server's
//	                                 Ed25519 public key; SEED, when dialing, the seed of a
//	                                 one-time client key (invites).
//	noise   transform  [KEY]         transforms/noise. KEY is the server's Ed25519 public key.
//	noauth  transform  (none)        transforms/noauth. No authentication.
//	yamux   muxer      (none)        mux/yamux. Many streams over one connection; last layer.
//
// A key is 32 bytes in base64. [EncodeKey] writes standard base64 with
// padding; [DecodeKey] also takes URL-safe and unpadded forms. shs and
// noise may appear without a key in listen addresses ("net:0.0.0.0:8008~shs"),
// where the listener fills it in; so may quic ("quic:0.0.0.0:0"), whose
// last field is the key when it is longer than a port can be
// ([HostPortKey]). A new layer (relay, tunnel) brings its own Kind and
// needs no change here.
//
// # Secrets
//
// An invite's "shs:KEY:SEED" carries the seed of a one-time private key.
// [Addr.String] writes it, since that is the address to dial; for errors
// and logs use [Addr.Redacted], [List.Redacted] or [Segment.Redacted],
// which write "shs:KEY:<redacted>" instead ([RedactedSeed]), as
// url.URL.Redacted hides a password. [Redact] does the same for text that
// may not parse. [ParseError.Error] shows its input redacted, and no
// error of this package quotes a seed.
//
// # Multiaddr
//
// [ToMultiaddr] and [FromMultiaddr] convert a plug segment to and from a
// libp2p multiaddr (github.com/multiformats/go-multiaddr):
//
//	net:203.0.113.5:8008      /ip4/203.0.113.5/tcp/8008
//	net:fe80::1%eth0:8008     /ip6zone/eth0/ip6/fe80::1/tcp/8008
//	net:example.org:8008      /dns/example.org/tcp/8008
//	unix:/run/ms.sock         /unix/run/ms.sock
//	ws://example.org          /dns/example.org/tcp/80/ws
//	wss://[::1]:8443          /ip6/::1/tcp/8443/tls/ws
//	quic:203.0.113.5:8008:KEY /ip4/203.0.113.5/udp/8008/quic-v1  (the key is left out)
//
// FromMultiaddr also reads /dns4, /dns6 and /wss. Segments with no
// multiaddr form (mem, onion, transforms, ws URLs with a path, relative
// unix paths) give [ErrNoMultiaddr]; multiaddrs with no segment form give
// [ErrNoSegment]. The conversion table lives here, not in the plugs: it
// follows the multiaddr notation, which is fixed, and a new layer with no
// multiaddr form needs nothing from it.
package address
