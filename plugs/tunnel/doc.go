// Package tunnel is the "tunnel" plug: it reaches Secure Scuttlebutt
// peers through rooms, and is reached through them, as the JavaScript
// ssb-room-client and ssb-tunnel do (spec/tunnel.md).
//
// A room is an SSB peer that members keep a muxrpc session with. A
// member that listens on "tunnel:ROOM_ID~shs" joins the room (Room 2.0's
// room.attendants, or Room 1.0's tunnel.endpoints) and advertises
// "tunnel:ROOM_ID:OUR_ID~shs:KEY"; another member dials that address:
// it calls tunnel.connect on the room, the room calls tunnel.connect on
// the target and joins the two duplex streams, and shs runs end to end
// inside, so the room relays only ciphertext. Identity comes from that
// inner handshake, never from the room's word.
//
//	p := &tunnel.Plug{Identity: id, Rooms: []string{"net:room.example:8008~shs:ROOMKEY"}}
//	n, err := multiserver.New(multiserver.Config{
//		Plugs:      []multiserver.Plug{&tcp.Plug{}, p},
//		Transforms: []multiserver.Transform{shsT}, // with the SSB app key
//	})
//	p.Dialer = n // the rooms are dialed through the Network's own stacks
//	ln, err := n.Listen(ctx, "tunnel:@ROOMKEY.ed25519~shs")
//
// The room's address is configured (Plug.Rooms): a tunnel address names
// the room by its key only.
//
// # Sessions
//
// The plug keeps one session per room while a Listener or a tunnel uses
// it, pings the room every Plug.KeepAlive, and answers the calls rooms
// and members make (manifest, gossip.ping, tunnel.ping) or refuses them
// with a muxrpc error. Rooms drop member sessions (go-ssb-room closes a
// member's session after a tunnel ends in most runs); a Listener rejoins
// with backoff, and stops advertising while it is out.
//
// # Floods
//
// A room hands this peer every tunnel its members ask for. Each origin
// (the member the room names as the dialer) may have Plug.MaxPerOrigin
// tunnels open through a room at once; more are refused with a muxrpc
// error that says so, before they cost a slot in the queue
// (Plug.MaxPending) or a handshake, so that one member flooding
// tunnel.connect cannot shut out the others.
//
// # Flow control
//
// muxrpc has none, and neither has a tunnel: each buffers up to
// Plug.StreamBuffer bytes for its reader, and one whose reader falls
// further behind fails, without stopping the room's session or the
// other tunnels. The tunnels through one room share
// Plug.SessionBuffer: past it, the tunnel that buffers the most fails
// the same way, so that a room session holds at most about
// SessionBuffer + 4 MiB (64 MiB + 4 MiB by default) however many
// tunnels it carries. An end from either side ends both directions.
//
// # Errors
//
// A tunnel's Read and Write fail, but with io.EOF at its end, with
// *net.OpError values (Net "tunnel", both ends' [Addr]) that wrap the
// cause, as a TCP conn's do: os.ErrDeadlineExceeded, net.ErrClosed,
// [ErrOverflow], or the room's refusal, a [*RoomError]. A refusal at dial
// time reaches the Network's dial error through the transform's
// handshake error; errors.As finds it there.
package tunnel
