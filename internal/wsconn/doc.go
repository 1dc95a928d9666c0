// Package wsconn is a net.Conn over a coder/websocket *websocket.Conn: a
// byte stream in binary messages, as spec/ws.md describes it, with the
// deadline semantics of net.Conn. The ws plug returns it, and so can any
// plug that upgrades or dials WebSockets (a relay, an HTTP bridge).
//
// [New] takes the WebSocket and the [Socket] under it. A server gets the
// Socket by upgrading through a [Hijacker]:
//
//	h := &wsconn.Hijacker{ResponseWriter: w}
//	ws, err := websocket.Accept(h, r, opts)
//	c := wsconn.New(ws, h.Socket(), limit, h.Socket().LocalAddr(), h.Socket().RemoteAddr())
//
// and a dialer by returning wsconn.NewSocket(tcpConn) from the
// http.Transport's DialContext (with keep-alives off, so that the conn
// dialed is the one upgraded).
//
// # Why not websocket.NetConn
//
// coder/websocket fails the whole WebSocket when an operation's context
// ends, and NetConn turns a passed deadline into exactly that; a net.Conn
// must only fail the call. Nor can a read or write be cut short under
// coder/websocket and resumed: a frame half read leaves its parser lost,
// and its bufio.Writer keeps a write error for good. So:
//
//   - Writes run on the caller's goroutine with a context that never
//     ends. The Socket never fails a write for a deadline: while a Write
//     sends a message, coder/websocket's frames queue in the Socket
//     (corked), and the Write then sends the queue in one write to the
//     kernel, with the Socket's write deadline, which is the Conn's. What
//     the deadline left unsent stays queued and goes out before anything
//     else, and the Write reports os.ErrDeadlineExceeded; the message
//     counts as written. Control frames (pongs, the close frame) go
//     through the same queue, so they never overtake data.
//   - Reads are made by one reader goroutine per Conn
//     (internal/readahead), started by the first Read that has to wait,
//     which reads messages into at most two buffers ahead of Read: a
//     512-byte array while the conn is idle, 64 KiB pool buffers while
//     data flows. Read waits for it, its deadline
//     or Close, so a passed read deadline costs nothing but the call.
//     Reading on the caller's goroutine would need the frame parser to
//     stop only between frames, which coder/websocket cannot promise.
//
// Against the net.Pipe and two pump goroutines this package replaces,
// a write is one copy and one syscall per message (coder/websocket alone
// makes one syscall per 4 KiB of a client's masked message, which TCP_CORK
// used to hide), a read one handoff per buffer instead of two, and an
// idle conn holds one goroutine at most instead of two.
//
// # End
//
// There is no half-close (spec/ws.md §3). Close queues a close frame
// (status 1000) after all written data and returns; the close handshake
// finishes in the background, within 5 seconds. A close frame with status
// 1000 or 1001 reads as io.EOF, and so does a TCP end without one. A text
// message is refused with status 1003, a message over the read limit with
// status 1009; both fail Read.
package wsconn
