package dhtrelay

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// ourChannel is our id of the relay's protomux channel, the only one.
const ourChannel = 1

// errStalled fails a dial attempt whose secret-stream header did not
// come.
var errStalled = errors.New("dhtrelay: no secret-stream header from the peer")

// errIdle ends a session whose last stream closed.
var errIdle = fmt.Errorf("%w: no stream left", ErrRelayGone)

// A session is one WebSocket link to the relay: the protomux channel, the
// handshake that gives the relay our public key, and the streams dialed
// on it, by alias. One goroutine reads the WebSocket and handles every
// message in order, one writes, and one pings when the relay is quiet.
type session struct {
	c      *Client
	ctx    context.Context // ends with the session
	cancel context.CancelFunc
	ws     *websocket.Conn

	ready     chan struct{} // closed once the relay opened its channel, or the session failed
	readyErr  error         // set before ready closes
	readyOnce sync.Once
	out       chan []byte   // frames for the writer
	done      chan struct{} // closed when the session fails
	err       error         // why; set before done closes
	failOnce  sync.Once
	wg        sync.WaitGroup
	lastRead  atomic.Int64 // unix nanoseconds of the last message from the relay
	canceled  atomic.Bool  // the context of the dial that opened the session ended before the relay answered

	mu        sync.Mutex
	refs      int  // dials and open streams holding the session
	closing   bool // refs fell to 0, or the session failed: no new holder
	nextAlias uint32
	byAlias   map[uint32]*Stream // our alias (connect)
	byRelay   map[uint32]*Stream // the relay's alias (open)
	byHS      map[uint32]*Stream // the relay's handshake id (noiseSend)
}

func newSession(c *Client) *session {
	s := &session{
		c:       c,
		ready:   make(chan struct{}),
		out:     make(chan []byte, 16),
		done:    make(chan struct{}),
		refs:    1,
		byAlias: make(map[uint32]*Stream),
		byRelay: make(map[uint32]*Stream),
		byHS:    make(map[uint32]*Stream),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// acquire takes a reference to s, unless s is closing.
func (s *session) acquire() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.refs++
	return true
}

// release drops a reference; the last one closes the session.
func (s *session) release() {
	s.mu.Lock()
	s.refs--
	last := s.refs == 0 && !s.closing
	if last {
		s.closing = true
	}
	s.mu.Unlock()
	if last {
		s.fail(errIdle)
	}
}

// start dials the relay and starts the session's goroutines. ctx bounds
// the dial; a session whose dial fails is failed, and waitReady says why.
func (s *session) start(ctx context.Context) {
	ws, _, err := websocket.Dial(ctx, s.c.cfg.URL, &websocket.DialOptions{HTTPClient: s.c.cfg.HTTPClient})
	if err != nil {
		if ctx.Err() != nil {
			s.canceled.Store(true)
			err = errors.Join(ctx.Err(), err)
		}
		err = fmt.Errorf("%w: %s: %w", ErrRelayUnreachable, s.c.cfg.URL, err)
		s.setReady(err)
		s.fail(err)
		return
	}
	ws.SetReadLimit(maxMessage)
	s.mu.Lock()
	s.ws = ws
	failed := s.err != nil
	s.mu.Unlock()
	if failed { // closed while we dialed
		ws.CloseNow()
		return
	}
	s.lastRead.Store(time.Now().UnixNano())
	// Our channel open and our handshake go first, before any stream's
	// connect: the writer sends in order.
	s.out <- AppendOpenChannel(nil, ourChannel, Protocol)
	s.out <- AppendFrame(nil, ourChannel, Handshake{PublicKey: s.c.pub})
	s.wg.Add(3)
	go s.readLoop()
	go s.writeLoop()
	go s.pingLoop()
	// The relay answers our channel open with its own; until then it is
	// not known to be a dht-relay.
	stop := context.AfterFunc(ctx, func() {
		err := fmt.Errorf("%w: %s: waiting for its channel: %w", ErrRelayUnreachable, s.c.cfg.URL, ctx.Err())
		if s.setReady(err) { // else up already: the session outlives the dial that opened it
			s.canceled.Store(true)
			s.fail(err)
		}
	})
	go func() { <-s.ready; stop() }()
}

// setReady ends the wait for the relay's channel, with err if the
// session failed first, and reports whether this call ended it.
func (s *session) setReady(err error) (set bool) {
	s.readyOnce.Do(func() {
		s.readyErr = err
		close(s.ready)
		set = true
	})
	return set
}

// startCanceled reports whether the session failed because the context
// of the dial that opened it ended first.
func (s *session) startCanceled() bool { return s.canceled.Load() }

// waitReady waits until the relay opened its channel.
func (s *session) waitReady(ctx context.Context) error {
	select {
	case <-s.ready:
		return s.readyErr
	case <-ctx.Done():
		return fmt.Errorf("%w: %s: %w", ErrRelayUnreachable, s.c.cfg.URL, ctx.Err())
	}
}

// fail ends the session for err and fails every stream on it with err.
func (s *session) fail(err error) {
	s.failOnce.Do(func() {
		s.mu.Lock()
		s.closing = true
		s.err = err
		ws := s.ws
		streams := make([]*Stream, 0, len(s.byAlias))
		for _, st := range s.byAlias {
			streams = append(streams, st)
		}
		s.mu.Unlock()
		close(s.done)
		s.setReady(fmt.Errorf("%w: %s: %w", ErrRelayUnreachable, s.c.cfg.URL, err))
		for _, st := range streams {
			st.fail(err)
		}
		s.c.forget(s)
		if ws == nil {
			s.cancel()
			return
		}
		if err == errIdle {
			return // a clean end: the writer sends what is queued, then closes
		}
		s.cancel()
		ws.CloseNow()
	})
}

// wait waits for the session's goroutines to end.
func (s *session) wait() { s.wg.Wait() }

// send queues frame b for the writer, unless the session is over.
func (s *session) send(b []byte) error {
	select {
	case s.out <- b:
		return nil
	case <-s.done:
		return s.err
	}
}

func (s *session) writeLoop() {
	defer s.wg.Done()
	for {
		select {
		case b := <-s.out:
			if err := s.ws.Write(s.ctx, websocket.MessageBinary, b); err != nil {
				s.fail(fmt.Errorf("%w: writing to %s: %w", ErrRelayGone, s.c.cfg.URL, err))
				return
			}
		case <-s.done:
			if s.err == errIdle {
				s.flushAndClose()
			}
			return
		}
	}
}

// flushAndClose ends a session that closes cleanly: it writes the frames
// still queued (a last stream's destroy), then the close handshake.
func (s *session) flushAndClose() {
	defer s.cancel()
	for {
		select {
		case b := <-s.out:
			if s.ws.Write(s.ctx, websocket.MessageBinary, b) != nil {
				s.ws.CloseNow()
				return
			}
		default:
			s.ws.Close(websocket.StatusNormalClosure, "")
			return
		}
	}
}

// pingLoop pings the relay when it has said nothing for PingInterval.
func (s *session) pingLoop() {
	defer s.wg.Done()
	every := s.c.cfg.PingInterval
	t := time.NewTicker(every / 4)
	defer t.Stop()
	ping := AppendFrame(nil, ourChannel, Ping{})
	var sent time.Time
	for {
		select {
		case now := <-t.C:
			quiet := now.Sub(time.Unix(0, s.lastRead.Load()))
			if quiet >= every && now.Sub(sent) >= every {
				sent = now
				if s.send(ping) != nil {
					return
				}
			}
		case <-s.done:
			return
		}
	}
}

func (s *session) readLoop() {
	defer s.wg.Done()
	var buf bytes.Buffer
	for {
		buf.Reset()
		rctx, cancel := context.WithTimeout(s.ctx, s.c.cfg.Silence)
		typ, r, err := s.ws.Reader(rctx)
		if err == nil {
			_, err = buf.ReadFrom(r)
		}
		silent := rctx.Err() == context.DeadlineExceeded
		cancel()
		if err != nil {
			switch {
			case s.ctx.Err() != nil:
			case silent:
				err = fmt.Errorf("%w: %s said nothing for %v", ErrRelayGone, s.c.cfg.URL, s.c.cfg.Silence)
			case websocket.CloseStatus(err) != -1 || errors.Is(err, io.EOF):
				err = fmt.Errorf("%w: %s closed the connection: %w", ErrRelayGone, s.c.cfg.URL, err)
			default:
				err = fmt.Errorf("%w: reading from %s: %w", ErrRelayGone, s.c.cfg.URL, err)
			}
			s.fail(err)
			return
		}
		s.lastRead.Store(time.Now().UnixNano())
		if typ != websocket.MessageBinary {
			s.fail(fmt.Errorf("%w: %s sent a text message", ErrRelayGone, s.c.cfg.URL))
			return
		}
		f, err := ParseFrame(buf.Bytes())
		if err == nil {
			err = s.handleFrame(f)
		}
		if err != nil {
			s.fail(fmt.Errorf("%w: %s: %w", ErrRelayGone, s.c.cfg.URL, err))
			return
		}
	}
}

func (s *session) handleFrame(f Frame) error {
	if f.Channel != 0 {
		return s.handle(f.Message)
	}
	switch f.Control {
	case OpenChannel:
		if f.Protocol != Protocol {
			return fmt.Errorf("the relay opened channel %q", f.Protocol)
		}
		s.setReady(nil)
	case RejectChannel, CloseChannel:
		return errors.New("the relay closed its channel")
	case Batch:
		for _, b := range f.Batch {
			if err := s.handle(b.Message); err != nil {
				return err
			}
		}
	}
	return nil
}

// handle acts on one message of the relay. Messages for streams it does
// not know are dropped, as the JavaScript client drops them.
func (s *session) handle(m Message) error {
	if s.c.log.Enabled(context.Background(), slog.LevelDebug) && m.Type() != TypeData {
		s.c.log.Debug("dht-relay message", "relay", s.c.cfg.URL, "message", fmt.Sprintf("%T%+v", m, m))
	}
	switch m := m.(type) {
	case Ping:
		return s.send(AppendFrame(nil, ourChannel, Pong{}))
	case NoiseSend:
		if st := s.lookup(s.byAlias, m.RemoteStreamAlias); st != nil && m.Initiator {
			s.mu.Lock()
			s.byHS[m.ID] = st
			s.mu.Unlock()
			return st.noiseSend(m)
		}
	case NoiseReceive:
		if st := s.lookup(s.byHS, m.ID); st != nil && m.Initiator {
			return st.noiseReceive(m)
		}
	case Open:
		s.mu.Lock()
		st := s.byAlias[m.RemoteAlias]
		if st != nil && !st.opened {
			st.opened = true
			st.relayAlias = m.Alias
			s.byRelay[m.Alias] = st
		}
		s.mu.Unlock()
	case Data:
		if st := s.lookup(s.byRelay, m.Alias); st != nil {
			for _, c := range m.Chunks {
				st.deliver(c)
			}
		}
	case End:
		if st := s.lookup(s.byRelay, m.Alias); st != nil {
			st.remoteEnd()
		}
	case Destroy:
		table := s.byAlias
		if m.Paired {
			table = s.byRelay
		}
		if st := s.lookup(table, m.Alias); st != nil {
			var err error = &RelayError{Message: "stream destroyed"}
			if m.HasError {
				err = relayError(m.Error)
			}
			st.fail(err)
		}
	default:
		s.c.log.Debug("dht-relay message ignored", "type", m.Type())
	}
	return nil
}

func (s *session) lookup(table map[uint32]*Stream, id uint32) *Stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return table[id]
}

// dial opens a stream to remote on s, which the caller holds; the stream
// takes a reference of its own.
func (s *session) dial(ctx context.Context, remote ed25519.PublicKey) (*Conn, error) {
	st, err := s.newStream(remote)
	if err != nil {
		return nil, err
	}
	conn, err := st.dial(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	return conn, nil
}

// newStream files a new stream under a free alias.
func (s *session) newStream(remote ed25519.PublicKey) (*Stream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	for {
		s.nextAlias++
		if s.nextAlias != 0 && s.byAlias[s.nextAlias] == nil {
			break
		}
	}
	st := newStream(s, s.nextAlias, remote)
	s.byAlias[st.alias] = st
	s.refs++
	return st, nil
}

// remove forgets st and drops its reference to s.
func (s *session) remove(st *Stream) {
	s.mu.Lock()
	delete(s.byAlias, st.alias)
	if st.opened && s.byRelay[st.relayAlias] == st {
		delete(s.byRelay, st.relayAlias)
	}
	for id, x := range s.byHS {
		if x == st {
			delete(s.byHS, id)
		}
	}
	s.mu.Unlock()
	s.release()
}
