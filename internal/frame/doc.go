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
// way. A Write seals as many whole frames as it takes to carry 64 KiB of
// payload (16 of 4 KiB, 2 of just under 64 KiB) into one reused buffer
// and sends them with one Write to the underlying conn. A Read takes up
// to 64 KiB at a time from the underlying conn, or the rest of a larger
// frame, and opens frames straight into the caller's buffer when they
// fit, in place otherwise. A Read with nothing buffered waits for the
// next frame in a 512-byte array of the Reader's own, so idle conns hold
// no pool buffer.
//
// # Deadlines
//
// Deadlines are those of the underlying conn, and a Read or Write that
// times out can be retried. A frame cut short by a write deadline counts
// as written and the rest of it goes out before anything else; frames of
// which nothing went out are taken back, nonces included. A frame cut
// short by a read deadline waits in the buffer for the next Read.
package frame
