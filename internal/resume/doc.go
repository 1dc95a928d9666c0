// Package resume is a byte stream that outlives its carrier: a net.Conn
// that runs over one carrier at a time (a WebSocket to a relay, an SSE
// and POST pair, a punched QUIC stream: any net.Conn) and, when that
// breaks or a better one comes, carries on over the next one where the
// peer left off, each byte delivered once and in order. The transforms
// (shs, noise) and yamux run above it and never notice. spec/resume.md
// is the wire protocol.
//
// Both sides wrap their end of the first carrier with [New]. The dialing
// side sets [Config.Redial] to get a new carrier after a break; the
// accepting side hands the new carrier to the right Conn with
// [Conn.Attach] when the peer comes back (which Conn it is, the layer
// above knows: a relay's pairing, a session cookie). Attach also moves a
// healthy Conn to another carrier, as hole punching will:
//
//	c := resume.New(ws, &resume.Config{
//		Redial: func(ctx context.Context) (net.Conn, error) { return dialRelay(ctx) },
//	})
//	sc, err := shs.Client(ctx, c, cfg, serverKey) // unaware of carriers
//	...
//	c.Attach(quicStream) // later: the punched path, both sides
//
// # How
//
// Each direction counts bytes from 0. Write copies into a replay buffer
// and returns; a writer goroutine, which runs only while there is
// something to send, sends DATA frames from it. The peer acknowledges
// what its application read (ACK), and that frees the buffer, so the
// window, [Config.Window], bounds both the bytes in flight and the
// peer's unread bytes: Write blocks when it is full, which is the
// backpressure, and the carrier's reader never waits on the application,
// so it always sees PINGs. Every carrier starts with RESUME each way:
// how much each side has received, from where the other resends.
//
// A carrier that closes, fails or stays silent for
// [Config.KeepAliveTimeout] breaks. Then Read and Write go on from the
// buffers, Write blocking once the window is full, and if no carrier
// resumes within [Config.ResumeTimeout] the Conn fails with [ErrTimeout].
//
// # Cost
//
// One reader goroutine per carrier, blocked in a 512-byte array while
// idle; the writer goroutine and the 16 KiB pool chunks of the buffers
// exist only while data is in flight or unread; three timers. See
// BenchmarkIdleConn.
package resume
