// Package yamux runs many streams over one connection with the yamux
// protocol (github.com/libp2p/go-yamux/v4, whose wire format is the
// yamux spec.md kept beside that code).
//
// A [Session] wraps a connection, usually one a transform has secured,
// and carries streams both ways. Each stream is a [*Stream], a full
// net.Conn with half-close (CloseWrite) and Reset. A Session is itself a
// net.Listener: Accept returns the streams the peer opens, so a Session
// can be handed to http.Serve or grpc.Server.Serve, and [Session.Open]
// starts one, so it fits an http.Transport's DialContext.
//
// # Entry points
//
// [Client] and [Server] start the two sides of a session over a net.Conn,
// with a [Config] (nil for the defaults). A [Muxer] offers them to a
// multiserver.Network, which starts sessions for addresses that end in
// "~yamux". multiserver.RemoteKey works on streams and sessions: it finds
// the peer's key on the conn underneath, which [Session.NetConn] returns.
//
// # Memory
//
// Every stream has a receive window: how much the peer may send before
// this side reads. Windows start at 256 KiB ([InitialStreamWindow], fixed
// by the protocol) and double, while the reader keeps up, up to
// [Config.MaxStreamWindow] (16 MiB by default). The peer cannot exceed a
// window; if it tries, the session ends with a protocol error.
//
// Each session reserves its windows from a budget of
// [Config.MaxSessionMemory] (32 MiB by default):
//
//   - Open reserves a new stream's 256 KiB and fails with
//     [ErrSessionMemory] if the budget has no room.
//   - A window grows only while the session holds less than half of the
//     budget, so the other half stays for new streams.
//   - A stream the peer opens also reserves 256 KiB, but is never refused
//     for memory (go-yamux would end the whole session); instead the peer
//     may have at most [Config.MaxIncomingStreams] streams open (128 by
//     default) and at most [Config.AcceptBacklog] waiting for Accept (256);
//     further streams are reset.
//   - A stream releases its reservation once both sides have closed it or
//     either has reset it.
//
// So what a peer can make a session buffer is at most MaxSessionMemory
// plus MaxIncomingStreams × 256 KiB: 64 MiB with the defaults. On the
// sending side, Write blocks while the peer's window is full, and at most
// 64 frames of up to 64 KiB (4 MiB) wait in a session's send queue. A
// server with many peers bounds its memory by these numbers times its
// peers; lower MaxSessionMemory and MaxIncomingStreams if that is too
// much, at some cost in throughput per stream over long round trips (a
// window of W bytes carries at most W per round trip).
//
// # Keepalive
//
// A session that hears nothing from the peer for [Config.KeepAliveInterval]
// (30s by default) sends a ping; if no answer comes within
// [Config.KeepAliveTimeout] (10s), the session is closed: Accept, Open and
// the streams then fail with errors matching net.ErrClosed and
// [ErrKeepAliveTimeout]. A write to the underlying conn that blocks longer
// than KeepAliveTimeout ends the session too. [Session.Done] tells when a
// session has ended, for whatever reason.
//
// # Closing
//
// [Stream.Close] closes a stream both ways: the peer reads io.EOF after
// the data written before it. [Stream.CloseWrite] closes only the writing
// side, [Stream.Reset] drops the stream at once, and the peer's reads and
// writes fail with [ErrStreamReset].
//
// [Session.Close] tells the peer that no more streams will be accepted,
// waits for what streams have already written to leave, then, if the conn
// can half-close (TCP can), sends end-of-file and waits for the peer to
// hang up in turn, so that no data is lost to a TCP reset; all within
// [Config.CloseTimeout] (5s). Then it closes the underlying conn. A peer
// that has stopped answering thus holds Close for up to CloseTimeout:
// close many sessions concurrently, or set a negative CloseTimeout for an
// abrupt close. Every stream still open ends: its blocked and later calls
// fail with errors matching net.ErrClosed, and so do Accept and Open. The
// session's goroutines end with it.
//
// # Reading
//
// A stream is read by a goroutine of its own, started by the first Read
// that has to wait and reading at most two buffers ahead (a 512-byte
// array while idle); Read takes from it, and its deadline is kept here.
// go-yamux's own read deadline is never set: go-yamux grants the peer
// more window before it queues the update, and drops the update when the
// read deadline has passed by then, so a Read that timed out just as data
// came in would stall the stream for good once the window was spent
// (the case in v5.1.0 too).
//
// # go-yamux v4, not v5
//
// go-libp2p runs go-yamux v5; the wire format is the same, so the two
// interoperate. v5 measured no faster and no leaner than v4 (bench/ runs
// both, bare, in one run), and it ends a session as soon as the peer's
// GoAway arrives, resetting its streams, where v4 only stops opening
// new ones: after the GoAway that [Session.Close] sends first, a v4 peer
// keeps its streams until the conn's end-of-file.
//
// # Logging
//
// Nothing is logged unless [Config.Logger] is set; go-yamux's own logging
// (to stderr by default) is routed there, at Debug level. Only a panic in
// go-yamux's frame loops is still printed to stderr, by go-yamux.
package yamux
