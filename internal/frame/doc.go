// Package frame is the encrypted, framed net.Conn that the shs and noise
// transforms share once their handshakes are done.
//
// A transform supplies its wire format as a [Format], a [Sealer] that
// turns payloads into frames and an [Opener] that turns frames back into
// payloads; frame supplies the rest: the locks, buffers, deadlines, end
// of stream and Close. [Conn] is the net.Conn; [Writer] and [Reader] are
// its two halves, which the transforms' tests also drive over plain
// io.Writers and io.Readers.
//
// # Speed
//
// The hot paths allocate nothing per frame and copy each byte once each
// way. A Write seals as many frames as fit in 64 KiB of payload (one frame
// if frames are larger) into one reused buffer and sends them with one
// Write to the underlying conn. A Read takes up to 64 KiB at a time from
// the underlying conn, or the rest of a larger frame, and opens frames
// straight into the caller's buffer when they fit, in place otherwise.
//
// # Deadlines
//
// Deadlines are those of the underlying conn, and a Read or Write that
// times out can be retried. A frame cut short by a write deadline counts
// as written and the rest of it goes out before anything else; frames of
// which nothing went out are taken back, nonces included. A frame cut
// short by a read deadline waits in the buffer for the next Read.
package frame
