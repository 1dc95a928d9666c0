package dhtrelay

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	fnoise "github.com/flynn/noise"

	"github.com/f7d52a8e/multiserver/internal/deadline"
	"github.com/f7d52a8e/multiserver/internal/hyperdht"
	"github.com/f7d52a8e/multiserver/internal/secretstream"
)

// maxData is the most bytes one data message of ours carries.
const maxData = 64<<10 + 3 + secretstream.Overhead

// closeTimeout bounds how long Close waits to queue its destroy message
// behind a writer that the relay does not drain.
const closeTimeout = 5 * time.Second

// A Stream is the raw stream of one dial through the relay: the bytes of
// the peer's UDX stream, carried in data messages. It is a net.Conn; the
// secret stream runs over it. Data messages carry our alias, the one of
// our connect (spec/hyperswarm.md §7); the relay's carry its own, from
// its open message.
type Stream struct {
	s      *session
	alias  uint32
	remote ed25519.PublicKey

	// Guarded by s.mu.
	opened     bool
	relayAlias uint32

	// Touched by the session's reader only, until keyed closes.
	hs      *fnoise.HandshakeState
	hsID    uint32 // the relay's handshake id
	replied int    // noiseReply messages sent: one to noiseSend, one to noiseReceive
	keys    secretstream.Keys
	keyed   chan struct{} // closed once the Noise handshake is complete

	mu       sync.Mutex
	buf      []byte        // received, unread
	readable chan struct{} // a token when buf grows or the stream ends
	space    chan struct{} // a token when Read takes from buf
	ended    bool          // the relay's end message came
	err      error         // why the stream failed
	closed   bool
	wroteEnd bool
	dead     chan struct{} // closed when the stream fails or closes
	deadOnce sync.Once
	rd, wd   deadline.Deadline

	// The stall of the dial (see dial), once it waits for the header.
	stall   *time.Timer
	stallAt time.Time
	dup     bool // the relay repeated the peer's reply
}

// dupGrace is how long a dial waits for the relay's open once the relay
// repeated the peer's reply (spec/hyperswarm.md §8).
const dupGrace = 2 * time.Second

// shortenStall brings the dial's stall to dupGrace from now unless the
// relay opened the stream or the stall comes sooner.
func (st *Stream) shortenStall() {
	st.s.mu.Lock()
	opened := st.opened
	st.s.mu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	grace := min(dupGrace, st.s.c.cfg.StallTimeout)
	if opened || st.stall == nil || time.Until(st.stallAt) <= grace {
		return
	}
	if st.stall.Stop() {
		st.stall.Reset(grace)
		st.stallAt = time.Now().Add(grace)
	}
}

var _ net.Conn = (*Stream)(nil)

func newStream(s *session, alias uint32, remote ed25519.PublicKey) *Stream {
	return &Stream{
		s: s, alias: alias, remote: remote,
		keyed:    make(chan struct{}),
		readable: make(chan struct{}, 1),
		space:    make(chan struct{}, 1),
		dead:     make(chan struct{}),
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// dial asks the relay to connect, waits for the Noise handshake the
// session's reader runs, then runs the secret-stream handshake over the
// stream. Our header goes out at once, before the relay's open: the relay
// holds it until its UDX stream starts (spec/hyperswarm.md §7).
func (st *Stream) dial(ctx context.Context) (*Conn, error) {
	var remote [32]byte
	copy(remote[:], st.remote)
	if err := st.s.send(AppendFrame(nil, ourChannel, Connect{Alias: st.alias, PublicKey: st.s.c.pub, RemotePublicKey: remote})); err != nil {
		return nil, err
	}
	select {
	case <-st.keyed:
	case <-st.dead:
		if err := st.failure(); err != nil {
			return nil, err
		}
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, fmt.Errorf("dhtrelay: dial %x: %w", []byte(st.remote), ctx.Err())
	}
	// The relay's open and the peer's header normally follow our
	// complete noiseReply within a few round trips. Two upstream races
	// can leave a dial hanging (spec/hyperswarm.md §8): hyperdht hands
	// the relay the peer's reply by several routes and the relay
	// resumes only the last, which may never open; or the peer drops
	// its UDX stream before our header reaches it, and the relay times
	// out 13 s later. Give up on this attempt after StallTimeout, so
	// that Dial can try again; after dupGrace once the relay repeats the
	// peer's reply, the first of the two.
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stalled atomic.Bool
	st.mu.Lock()
	st.stall = time.AfterFunc(st.s.c.cfg.StallTimeout, func() {
		stalled.Store(true)
		cancel()
	})
	st.stallAt = time.Now().Add(st.s.c.cfg.StallTimeout)
	dup := st.dup
	st.mu.Unlock()
	if dup {
		st.shortenStall()
	}
	defer st.stall.Stop()
	sc, err := secretstream.Handshake(hctx, st, st.keys)
	if err != nil {
		if ferr := st.failure(); ferr != nil {
			return nil, ferr
		}
		if stalled.Load() && ctx.Err() == nil {
			st.s.mu.Lock()
			opened := st.opened
			st.s.mu.Unlock()
			return nil, fmt.Errorf("%w within %v (relay opened the stream: %v)", errStalled, st.s.c.cfg.StallTimeout, opened)
		}
		return nil, fmt.Errorf("dhtrelay: dial %x: %w", []byte(st.remote), err)
	}
	return &Conn{Conn: sc, remote: st.remote, raw: st}, nil
}

// failure returns why the stream failed, if it did.
func (st *Stream) failure() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.err
}

// noiseSend writes the first handshake message around the relay's
// payload (hyperdht's noisePayload, which the relay wrote).
func (st *Stream) noiseSend(m NoiseSend) error {
	if st.replied > 0 {
		return nil // the handshake has begun; a second request is not ours to answer
	}
	hs, err := fnoise.NewHandshakeState(fnoise.Config{
		CipherSuite:   hyperdht.CipherSuite,
		Pattern:       fnoise.HandshakeIK,
		Initiator:     true,
		Prologue:      hyperdht.PeerHandshakePrologue(),
		StaticKeypair: st.s.c.self,
		PeerStatic:    st.remote,
	})
	var msg []byte
	if err == nil {
		msg, _, _, err = hs.WriteMessage(nil, m.Payload)
	}
	st.replied = 1
	st.hsID = m.ID
	if err != nil {
		st.replied = 2 // nothing more to answer
		st.fail(fmt.Errorf("%w: %w", ErrHandshake, err))
		return nil
	}
	st.hs = hs
	return st.s.send(AppendFrame(nil, ourChannel, NoiseReply{Initiator: true, ID: m.ID, Payload: msg}))
}

// noiseReceive reads the peer's handshake message and hands the relay its
// payload, with what the relay needs to connect the UDX stream. A message
// that does not check out is refused with an empty payload.
func (st *Stream) noiseReceive(m NoiseReceive) error {
	if st.replied != 1 {
		// Not asked for, or answered already. hyperdht may hand the
		// relay the peer's reply more than once (it came by several
		// routes); the relay takes one answer, and a second one throws
		// in its process (spec/hyperswarm.md §8). A repeat means that
		// hyperdht now waits for routes that will never finish, and the
		// relay opens the stream only if the route it resumed reached
		// the peer directly, at once: give that dupGrace.
		if st.replied == 2 && m.ID == st.hsID {
			st.mu.Lock()
			st.dup = true
			st.mu.Unlock()
			st.shortenStall()
		}
		return nil
	}
	st.replied = 2
	hs := st.hs
	st.hs = nil
	plain, tx, rx, err := hs.ReadMessage(nil, m.Payload)
	if err == nil && (tx == nil || rx == nil) {
		err = errors.New("handshake not complete after the second message")
	}
	if err != nil {
		// The refusal goes out before the dial hears of the failure and
		// closes the stream (and maybe the session).
		serr := st.s.send(AppendFrame(nil, ourChannel, NoiseReply{Initiator: true, ID: m.ID}))
		st.fail(fmt.Errorf("%w: %x did not prove its key: %w", ErrHandshake, []byte(st.remote), err))
		return serr
	}
	hash := hs.ChannelBinding()
	reply := NoiseReply{
		Initiator: true, Complete: true, ID: m.ID, Payload: plain,
		RemoteID:        hyperdht.StreamID(hash, false),
		HolepunchSecret: hyperdht.HolepunchSecret(hash),
	}
	if err := st.s.send(AppendFrame(nil, ourChannel, reply)); err != nil {
		return err
	}
	txk, rxk := tx.UnsafeKey(), rx.UnsafeKey()
	st.keys = secretstream.Keys{
		TX: txk[:], RX: rxk[:],
		LocalID:  hyperdht.StreamID(hash, true),
		RemoteID: hyperdht.StreamID(hash, false),
	}
	close(st.keyed)
	return nil
}

// deliver appends chunk to the stream's buffer, waiting while the buffer
// is full: the session's reader stops, and TCP pushes back on the relay.
func (st *Stream) deliver(chunk []byte) {
	for {
		st.mu.Lock()
		if st.closed || st.err != nil || st.ended {
			st.mu.Unlock()
			return
		}
		if len(st.buf) < st.s.c.cfg.StreamBuffer {
			st.buf = append(st.buf, chunk...)
			st.mu.Unlock()
			signal(st.readable)
			return
		}
		st.mu.Unlock()
		select {
		case <-st.space:
		case <-st.dead:
		case <-st.s.done:
			return
		}
	}
}

// remoteEnd records the relay's end message: Read returns io.EOF once the
// buffer is drained.
func (st *Stream) remoteEnd() {
	st.mu.Lock()
	st.ended = true
	st.mu.Unlock()
	signal(st.readable)
}

// fail ends the stream with err, unless it ended already. Read returns
// what was buffered, then err.
func (st *Stream) fail(err error) {
	st.mu.Lock()
	if st.err == nil && !st.closed {
		st.err = err
	}
	st.mu.Unlock()
	st.deadOnce.Do(func() { close(st.dead) })
	signal(st.readable)
}

// Read reads what the peer sent.
func (st *Stream) Read(p []byte) (int, error) {
	for {
		st.mu.Lock()
		switch {
		case st.closed:
			st.mu.Unlock()
			return 0, net.ErrClosed
		case len(st.buf) > 0:
			n := copy(p, st.buf)
			st.buf = st.buf[n:]
			if len(st.buf) == 0 {
				st.buf = nil
			}
			st.mu.Unlock()
			signal(st.space)
			return n, nil
		case st.err != nil:
			err := st.err
			st.mu.Unlock()
			return 0, err
		case st.ended:
			st.mu.Unlock()
			return 0, io.EOF
		}
		st.mu.Unlock()
		if st.rd.Passed() {
			return 0, os.ErrDeadlineExceeded
		}
		select {
		case <-st.readable:
		case <-st.rd.Done():
		case <-st.dead:
			signal(st.readable) // look again: closed or failed
		}
	}
}

// Write sends p to the peer in data messages.
func (st *Stream) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		st.mu.Lock()
		err := st.err
		switch {
		case st.closed || st.wroteEnd:
			err = net.ErrClosed
		}
		st.mu.Unlock()
		if err != nil {
			return n, err
		}
		if st.wd.Passed() {
			return n, os.ErrDeadlineExceeded
		}
		c := p[:min(len(p), maxData)]
		f := AppendFrame(make([]byte, 0, 16+len(c)), ourChannel, Data{Alias: st.alias, Chunks: [][]byte{c}})
		select {
		case st.s.out <- f:
			n += len(c)
			p = p[len(c):]
		case <-st.wd.Done():
		case <-st.dead:
		case <-st.s.done:
			return n, st.s.err
		}
	}
	return n, nil
}

// CloseWrite sends the relay our end message: the peer reads the end of
// the stream, and may go on writing.
func (st *Stream) CloseWrite() error {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return net.ErrClosed
	}
	if st.wroteEnd || st.err != nil {
		err := st.err
		st.mu.Unlock()
		return err
	}
	st.wroteEnd = true
	st.mu.Unlock()
	return st.s.send(AppendFrame(nil, ourChannel, End{Alias: st.alias}))
}

// Close destroys the stream at the relay, which ends the peer's UDX
// stream, and releases the session.
func (st *Stream) Close() error {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return net.ErrClosed
	}
	st.closed = true
	st.buf = nil
	st.mu.Unlock()
	st.deadOnce.Do(func() { close(st.dead) })
	signal(st.space)
	st.rd.Stop()
	st.wd.Stop()
	t := time.NewTimer(closeTimeout)
	select {
	case st.s.out <- AppendFrame(nil, ourChannel, Destroy{Paired: true, Alias: st.alias}):
	case <-st.s.done:
	case <-t.C:
	}
	t.Stop()
	st.s.remove(st)
	return nil
}

// LocalAddr returns our key as a "hyperswarm" address.
func (st *Stream) LocalAddr() net.Addr { return dialAddr{key: st.s.c.pub[:]} }

// RemoteAddr returns the peer's key as a "hyperswarm" address.
func (st *Stream) RemoteAddr() net.Addr { return dialAddr{key: st.remote} }

// SetDeadline sets both deadlines.
func (st *Stream) SetDeadline(t time.Time) error {
	st.rd.Set(t)
	st.wd.Set(t)
	return nil
}

// SetReadDeadline sets the read deadline.
func (st *Stream) SetReadDeadline(t time.Time) error { st.rd.Set(t); return nil }

// SetWriteDeadline sets the write deadline.
func (st *Stream) SetWriteDeadline(t time.Time) error { st.wd.Set(t); return nil }
