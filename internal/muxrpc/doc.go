// Package muxrpc is a small muxrpc, the RPC protocol of Secure
// Scuttlebutt: the packet-stream codec (spec/tunnel.md §2) and a Session
// that calls and answers async, source and duplex methods over it, as
// much of muxrpc as SSB rooms need.
//
// A Session reads packets in one goroutine and routes them: responses
// to the calls this side made, requests to the [Handler] registered for
// their name, and anything else is answered with a muxrpc error, so a
// peer that calls a method we lack gets an answer instead of silence.
// No manifest is exchanged (muxrpc has none on the wire).
//
// # Flow control
//
// muxrpc has none: a peer sends stream data as fast as it likes. Each
// stream buffers what it received and was not read yet, up to
// [Config.StreamBuffer] bytes; a stream that overflows ends with
// [ErrOverflow] on both sides, and the session and its other streams go
// on. All the streams of a session share [Config.SessionBuffer]: past
// it, the stream that holds the most overflows. Both count each packet
// with [PacketOverhead]. The reading goroutine never waits for a
// stream's reader.
//
// # Ends
//
// A stream has no half-close: as in JavaScript muxrpc, the end from
// either side ends both directions, and the Session answers a peer's end
// with its own. A peer that wants everything it sent to arrive ends only
// once the other side is done.
package muxrpc
