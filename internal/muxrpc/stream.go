package muxrpc

import (
	"context"
	"encoding/json"
	"io"
	"sync"
)

// A Stream is one stream of a session: a source, sink or duplex call,
// from either side. Its reads and writes are safe for concurrent use.
type Stream struct {
	s        *Session
	req      int32 // the number this side sends with
	incoming bool  // the peer opened it

	mu       sync.Mutex
	queue    []Packet
	queued   int           // bytes in queue, each packet counted with PacketOverhead
	off      int           // bytes of queue[0] ReadInto has taken
	held     int           // queued, as the session counts it (under the session's bufMu)
	ready    chan struct{} // signalled when queue or readErr changes
	readErr  error         // set once the peer's end (or a failure) is in: io.EOF or the error
	gotEnd   bool          // the peer sent its end
	sentEnd  bool          // this side sent its end
	discard  bool          // Close was called: drop what arrives
	released bool          // its MaxIncoming slot was given back (under the session's mu)
}

func newStream(s *Session, req int32, incoming bool) *Stream {
	return &Stream{s: s, req: req, incoming: incoming, ready: make(chan struct{}, 1)}
}

func (st *Stream) signal() {
	select {
	case st.ready <- struct{}{}:
	default:
	}
}

// deliver takes a packet of this stream from the session's reader.
func (st *Stream) deliver(p Packet) {
	st.mu.Lock()
	if p.End {
		st.gotEnd = true
		if st.readErr == nil {
			if err := parseError(p); err != nil {
				st.readErr = err
			} else {
				st.readErr = io.EOF
			}
		}
		sendEnd := !st.sentEnd
		st.sentEnd = true
		st.mu.Unlock()
		st.signal()
		if sendEnd {
			// The peer ended: end this side too, as JavaScript muxrpc
			// does, so that both ends let go of the number.
			st.s.sendEnd(st.req, nil)
		}
		st.s.forget(st)
		return
	}
	if st.discard || st.readErr != nil {
		st.mu.Unlock()
		return
	}
	cost := len(p.Body) + PacketOverhead
	if st.queued+cost > st.s.cfg.StreamBuffer {
		st.overflowLocked()
		return
	}
	st.queue = append(st.queue, p)
	st.queued += cost
	over := st.s.hold(st, cost)
	st.mu.Unlock()
	st.signal()
	if over {
		st.s.shed()
	}
}

// overflowLocked ends the stream with ErrOverflow, for its reader and
// the peer, and drops what it holds: a reader that loses data learns
// it, even after the peer's end. The caller holds st.mu, which
// overflowLocked releases.
func (st *Stream) overflowLocked() {
	if st.readErr == nil || len(st.queue) > 0 {
		st.readErr = ErrOverflow
	}
	st.dropLocked()
	sendEnd := !st.sentEnd
	st.sentEnd = true
	st.mu.Unlock()
	st.signal()
	if sendEnd {
		st.s.sendEnd(st.req, ErrOverflow)
	}
}

// dropLocked empties the queue. The caller holds st.mu.
func (st *Stream) dropLocked() {
	if st.queued != 0 {
		st.s.hold(st, -st.queued)
	}
	st.queue, st.queued, st.off = nil, 0, 0
}

// fail ends the stream with the session's error.
func (st *Stream) fail(err error) {
	st.mu.Lock()
	if st.readErr == nil {
		st.readErr = err
	}
	st.gotEnd, st.sentEnd = true, true
	st.mu.Unlock()
	st.signal()
}

// Read returns the next data packet the peer sent on the stream. After
// the peer's end it returns io.EOF for a clean end, or the error it sent
// (an *Error); ErrOverflow if this side fell behind; an error wrapping
// ErrClosed if the session ended.
func (st *Stream) Read(ctx context.Context) (Packet, error) {
	return st.ReadWait(ctx.Done(), nil)
}

// ReadWait is Read, bounded by channels instead of a context: once a or
// b is closed it returns context.Canceled, unless a packet is ready.
func (st *Stream) ReadWait(a, b <-chan struct{}) (Packet, error) {
	for {
		st.mu.Lock()
		if len(st.queue) > 0 {
			p := st.popLocked()
			p.Body = p.Body[st.off:]
			st.off = 0
			st.mu.Unlock()
			return p, nil
		}
		if err := st.readErr; err != nil {
			st.mu.Unlock()
			return Packet{}, err
		}
		st.mu.Unlock()
		select {
		case <-st.ready:
		case <-a:
			return Packet{}, context.Canceled
		case <-b:
			return Packet{}, context.Canceled
		}
	}
}

// ReadInto is ReadWait for a byte stream: it copies into b what the
// peer sent, from one packet or what is left of it, whatever the
// packets' types. A packet counts against the buffers until it has
// been read to its end.
func (st *Stream) ReadInto(b []byte, a, c <-chan struct{}) (int, error) {
	for {
		st.mu.Lock()
		if len(st.queue) > 0 {
			n := copy(b, st.queue[0].Body[st.off:])
			st.off += n
			if st.off == len(st.queue[0].Body) {
				st.popLocked()
				st.off = 0
			}
			st.mu.Unlock()
			return n, nil
		}
		if err := st.readErr; err != nil {
			st.mu.Unlock()
			return 0, err
		}
		st.mu.Unlock()
		select {
		case <-st.ready:
		case <-a:
			return 0, context.Canceled
		case <-c:
			return 0, context.Canceled
		}
	}
}

// popLocked takes the first packet off the queue. The caller holds
// st.mu.
func (st *Stream) popLocked() Packet {
	p := st.queue[0]
	st.queue[0] = Packet{}
	st.queue = st.queue[1:]
	cost := len(p.Body) + PacketOverhead
	st.queued -= cost
	st.s.hold(st, -cost)
	return p
}

// Write sends a data packet of type t. It waits while the session's
// write queue is full, until ctx ends.
func (st *Stream) Write(ctx context.Context, t BodyType, body []byte) error {
	return st.WriteWait(t, body, ctx.Done(), nil)
}

// WriteWait is Write, bounded by channels instead of a context: once a
// or b is closed it returns context.Canceled. After either side's end it
// returns io.ErrClosedPipe, or the peer's error.
func (st *Stream) WriteWait(t BodyType, body []byte, a, b <-chan struct{}) error {
	st.mu.Lock()
	ended, rerr := st.sentEnd, st.readErr
	st.mu.Unlock()
	if ended {
		if rerr != nil && rerr != io.EOF && rerr != io.ErrClosedPipe {
			return rerr
		}
		return io.ErrClosedPipe
	}
	return st.s.sendWait(Packet{Stream: true, Type: t, Req: st.req, Body: body}, a, b)
}

// WriteJSON sends v as a JSON data packet.
func (st *Stream) WriteJSON(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return st.Write(ctx, JSON, b)
}

// CloseWithError ends this side of the stream: with a clean end if err
// is nil, with err's message otherwise. Reads go on until the peer's
// end.
func (st *Stream) CloseWithError(err error) error {
	st.mu.Lock()
	if st.sentEnd {
		st.mu.Unlock()
		return nil
	}
	st.sentEnd = true
	st.mu.Unlock()
	return st.s.sendEnd(st.req, err)
}

// Close ends this side of the stream and drops what the peer sends
// until its end. A stream the peer opened stops counting against
// Config.MaxIncoming at once, whether or not the peer ever ends it.
func (st *Stream) Close() error { return st.close(nil) }

// close is Close, ending this side with err.
func (st *Stream) close(err error) error {
	st.mu.Lock()
	st.discard = true
	st.dropLocked()
	if st.readErr == nil {
		st.readErr = io.ErrClosedPipe
	}
	st.mu.Unlock()
	st.signal()
	werr := st.CloseWithError(err)
	st.s.releaseStream(st)
	return werr
}
