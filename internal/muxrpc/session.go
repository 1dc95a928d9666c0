package muxrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/f7d52a8e/multiserver/internal/ratelog"
)

// Defaults of [Config].
const (
	DefaultMaxBody      = 1 << 20
	DefaultStreamBuffer = 4 << 20
	DefaultMaxIncoming  = 256
	// DefaultSessionBuffer is 16 streams' worth of DefaultStreamBuffer.
	DefaultSessionBuffer = 64 << 20
	// PacketOverhead is what holding a packet costs beyond its body, by
	// our estimate (its header, its slot in the queue, the allocator's
	// rounding): a stream's buffer counts it for every packet, so that a
	// peer sending one-byte packets cannot make a buffer hold many times
	// its size.
	PacketOverhead = 64
	// writeQueue is how many packets may wait for the writer.
	writeQueue = 64
	// batchSize is the most bytes the writer joins into one write.
	batchSize = 64 << 10
	// closeWait bounds how long Close waits for the goodbye to go out.
	closeWait = time.Second
)

// A Handler answers a call of one method. For an async (or sync) call
// its result or error is the answer. For a stream call (source, sink,
// duplex) the handler gets the stream in Request.Stream and owns it: an
// error ends the stream with that error at once, drops what the peer
// sends on it and frees its slot of Config.MaxIncoming; otherwise the
// result is ignored and the handler, or a goroutine it starts, must
// close the stream. ctx ends with the session.
type Handler func(ctx context.Context, r *Request) (any, error)

// A Request is a call the peer made.
type Request struct {
	Name   []string          // the method's path: ["tunnel", "connect"]
	Type   string            // "async", "sync", "source", "sink" or "duplex"
	Args   []json.RawMessage // the arguments
	Stream *Stream           // the call's stream, for stream types
}

// Config configures a Session. The zero value means the defaults.
type Config struct {
	// Handlers answer the peer's calls, by the method's path joined with
	// dots ("tunnel.connect"). A call of any other method is answered
	// with an error naming ErrNoMethod.
	Handlers map[string]Handler
	// MaxBody is the largest packet body read, in bytes; a larger one
	// ends the session with ErrTooLarge. If zero, 1 MiB.
	MaxBody int
	// StreamBuffer is how many bytes of stream data a stream holds for
	// its reader, each packet counted with PacketOverhead; past it the
	// stream ends with ErrOverflow. If zero, 4 MiB.
	StreamBuffer int
	// SessionBuffer is how many bytes of stream data all the streams of
	// the session hold together, counted as StreamBuffer counts them.
	// When a packet takes the total past it, the stream that holds the
	// most (the reader furthest behind, the arriving packet's stream
	// or another) ends with ErrOverflow, and the next largest if that
	// was not enough. If zero, 64 MiB.
	SessionBuffer int
	// MaxIncoming bounds the peer's calls in progress (handlers running
	// and streams open); others are refused with ErrTooManyCalls. If
	// zero, 256.
	MaxIncoming int
	// Logger gets debug records of refused calls and streams ended for
	// the session's buffer (at most 10 a minute, the rest counted), and
	// of the session's end. If nil, nothing is logged.
	Logger *slog.Logger
}

// A Session is one muxrpc connection. It is safe for concurrent use.
type Session struct {
	conn     io.ReadWriteCloser
	cfg      Config
	log      *slog.Logger
	flood    *ratelog.Logger // what a peer's flood of calls or data would repeat
	ctx      context.Context // ends with the session, for handlers
	cancel   context.CancelFunc
	wq       chan []byte
	done     chan struct{} // closed when the session has ended
	forgot   chan struct{} // signalled when a stream is forgotten
	wg       sync.WaitGroup
	closeOne sync.Once

	mu       sync.Mutex
	err      error // why the session ended, once it has
	nextReq  int32
	calls    map[int32]chan Packet // our async calls, by number
	out      map[int32]*Stream     // streams we opened, by number
	in       map[int32]*Stream     // streams the peer opened, by number
	incoming int                   // the peer's calls in progress

	bufMu    sync.Mutex           // taken under a stream's mu, never the reverse
	buffered int                  // bytes all streams hold, as Stream.queued counts them
	holding  map[*Stream]struct{} // the streams that hold any
}

// New starts a session over conn and owns it: the session closes conn
// when it ends.
func New(conn io.ReadWriteCloser, cfg Config) *Session {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.StreamBuffer <= 0 {
		cfg.StreamBuffer = DefaultStreamBuffer
	}
	if cfg.MaxIncoming <= 0 {
		cfg.MaxIncoming = DefaultMaxIncoming
	}
	if cfg.SessionBuffer <= 0 {
		cfg.SessionBuffer = DefaultSessionBuffer
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Session{
		conn: conn, cfg: cfg, log: log, flood: ratelog.New(log, 10, time.Minute), ctx: ctx, cancel: cancel,
		wq: make(chan []byte, writeQueue), done: make(chan struct{}), forgot: make(chan struct{}, 1),
		nextReq: 1,
		calls:   map[int32]chan Packet{}, out: map[int32]*Stream{}, in: map[int32]*Stream{},
		holding: map[*Stream]struct{}{},
	}
	s.wg.Add(2)
	go s.readLoop()
	go s.writeLoop()
	return s
}

// Done returns a channel closed when the session has ended.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns why the session ended: ErrClosed after Close or the
// peer's goodbye, the read or write error otherwise. It returns nil
// while the session runs.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close sends the goodbye, ends the session and waits for its
// goroutines. Calls in progress fail with ErrClosed.
//
// Streams this side has ended first get the peer's end back, for up to
// a second: the peer acknowledges them once it has read what came
// before, so that a tunnel's last bytes are not cut off by the goodbye.
func (s *Session) Close() error {
	s.settle(closeWait)
	select {
	case s.wq <- Goodbye[:]:
		t := time.NewTimer(closeWait)
		select {
		case <-s.done:
		case <-t.C:
		}
		t.Stop()
	default:
	}
	s.end(ErrClosed)
	s.wg.Wait()
	s.flood.Close() // writes the count of records dropped, if any
	return nil
}

// settle waits until every stream this side has ended has the peer's
// end too, or for d, or until the session ends.
func (s *Session) settle(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		s.mu.Lock()
		pending := false
		for _, m := range []map[int32]*Stream{s.in, s.out} {
			for _, st := range m {
				st.mu.Lock()
				if st.sentEnd && !st.gotEnd {
					pending = true
				}
				st.mu.Unlock()
			}
		}
		s.mu.Unlock()
		if !pending {
			return
		}
		select {
		case <-s.forgot:
		case <-s.done:
			return
		case <-t.C:
			return
		}
	}
}

// end ends the session with err, once.
func (s *Session) end(err error) {
	s.closeOne.Do(func() {
		s.mu.Lock()
		s.err = err
		calls, out, in := s.calls, s.out, s.in
		s.calls, s.out, s.in = map[int32]chan Packet{}, map[int32]*Stream{}, map[int32]*Stream{}
		s.mu.Unlock()
		close(s.done)
		s.cancel()
		s.conn.Close()
		cerr := s.closedErr()
		for _, st := range out {
			st.fail(cerr)
		}
		for _, st := range in {
			st.fail(cerr)
		}
		_ = calls // their waiters watch s.done
		if !errors.Is(err, ErrClosed) {
			s.log.Debug("muxrpc session ended", "err", err)
		}
	})
}

func (s *Session) closedErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil || errors.Is(s.err, ErrClosed) {
		return ErrClosed
	}
	return fmt.Errorf("%w: %w", ErrClosed, s.err)
}

// writeLoop writes the queued packets in order. It joins what is queued
// into one write of up to batchSize bytes, so that small packets (a
// box stream's frames inside a tunnel) do not each cost a write below.
func (s *Session) writeLoop() {
	defer s.wg.Done()
	var batch []byte
	for {
		var b []byte
		select {
		case b = <-s.wq:
		case <-s.done:
			return
		}
		batch = append(batch[:0], b...)
		bye := isGoodbye(b)
	gather:
		for !bye && len(batch) < batchSize {
			select {
			case b = <-s.wq:
				batch = append(batch, b...)
				bye = isGoodbye(b)
			default:
				break gather
			}
		}
		if _, err := s.conn.Write(batch); err != nil {
			s.end(fmt.Errorf("muxrpc: write: %w", err))
			return
		}
		if bye {
			s.end(ErrClosed)
			return
		}
		if cap(batch) > 4*batchSize {
			batch = nil
		}
	}
}

func isGoodbye(b []byte) bool { return len(b) == HeaderSize && [HeaderSize]byte(b) == Goodbye }

// send queues p for the writer. It waits while the queue is full, until
// ctx or the session ends.
func (s *Session) send(ctx context.Context, p Packet) error {
	err := s.sendWait(p, ctx.Done(), nil)
	if err == context.Canceled {
		return ctx.Err()
	}
	return err
}

// sendWait is send, bounded by channels: once a or b is closed it
// returns context.Canceled.
func (s *Session) sendWait(p Packet, a, b <-chan struct{}) error {
	buf, err := AppendPacket(nil, p)
	if err != nil {
		return err
	}
	select {
	case s.wq <- buf:
		return nil
	case <-s.done:
		return s.closedErr()
	case <-a:
		return context.Canceled
	case <-b:
		return context.Canceled
	}
}

// sendEnd queues the end of stream req: JSON true, or err's body.
func (s *Session) sendEnd(req int32, err error) error {
	body := []byte("true")
	if err != nil {
		body = errorBody(err)
	}
	return s.send(context.Background(), Packet{Stream: true, End: true, Type: JSON, Req: req, Body: body})
}

func (s *Session) readLoop() {
	defer s.wg.Done()
	for {
		p, err := ReadPacket(s.conn, s.cfg.MaxBody)
		if err != nil {
			if errors.Is(err, ErrGoodbye) {
				select {
				case s.wq <- Goodbye[:]:
					return // the writer ends the session once it is sent
				default:
				}
				err = ErrClosed
			} else if err == io.EOF {
				err = fmt.Errorf("muxrpc: connection closed without goodbye: %w", io.ErrUnexpectedEOF)
			} else if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrBadType) {
				err = fmt.Errorf("muxrpc: read: %w", err)
			}
			s.end(err)
			return
		}
		s.route(p)
	}
}

// route hands a packet to what it belongs to. It never waits for a
// stream's reader or a handler.
func (s *Session) route(p Packet) {
	switch {
	case p.Req == 0:
		// A message with no request: JavaScript muxrpc ignores them.
	case p.Req < 0 && !p.Stream:
		s.mu.Lock()
		ch := s.calls[-p.Req]
		delete(s.calls, -p.Req)
		s.mu.Unlock()
		if ch != nil {
			ch <- p
		}
	case p.Req < 0:
		s.mu.Lock()
		st := s.out[-p.Req]
		s.mu.Unlock()
		if st != nil {
			st.deliver(p)
		}
	case p.Stream:
		s.mu.Lock()
		st := s.in[p.Req]
		s.mu.Unlock()
		if st != nil {
			st.deliver(p)
		} else if !p.End {
			s.request(p)
		}
	default:
		s.request(p)
	}
}

// A request's body as JavaScript muxrpc writes it.
type requestBody struct {
	Name json.RawMessage   `json:"name"`
	Type string            `json:"type,omitempty"`
	Args []json.RawMessage `json:"args"`
}

// request starts the handler of the peer's call p.
func (s *Session) request(p Packet) {
	refuse := func(err error) {
		if p.Stream {
			s.sendEnd(-p.Req, err)
		} else {
			s.send(context.Background(), Packet{End: true, Type: JSON, Req: -p.Req, Body: errorBody(err)})
		}
	}
	var body requestBody
	if p.Type != JSON || json.Unmarshal(p.Body, &body) != nil {
		refuse(errors.New("muxrpc: invalid request"))
		return
	}
	r := &Request{Type: body.Type, Args: body.Args}
	if r.Type == "" {
		r.Type = "async"
	}
	if json.Unmarshal(body.Name, &r.Name) != nil {
		// JavaScript muxrpc also takes a plain string as a name.
		var name string
		if json.Unmarshal(body.Name, &name) != nil {
			refuse(errors.New("muxrpc: invalid request name"))
			return
		}
		r.Name = []string{name}
	}
	streamType := r.Type == "source" || r.Type == "sink" || r.Type == "duplex"
	if p.Stream != streamType {
		refuse(fmt.Errorf("muxrpc: a %s call in a packet that is %s", r.Type, map[bool]string{true: "a stream", false: "not a stream"}[p.Stream]))
		return
	}
	name := strings.Join(r.Name, ".")
	h := s.cfg.Handlers[name]
	if h == nil {
		s.flood.Debug("muxrpc call refused", "method", name, "type", r.Type)
		refuse(fmt.Errorf("%w: %s %s", ErrNoMethod, r.Type, name))
		return
	}
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return
	}
	if s.incoming >= s.cfg.MaxIncoming {
		s.mu.Unlock()
		s.flood.Debug("muxrpc call refused", "method", name, "err", ErrTooManyCalls)
		refuse(ErrTooManyCalls)
		return
	}
	s.incoming++
	if p.Stream {
		r.Stream = newStream(s, -p.Req, true)
		s.in[p.Req] = r.Stream
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go s.handle(h, r, p.Req)
}

func (s *Session) handle(h Handler, r *Request, req int32) {
	defer s.wg.Done()
	v, err := h(s.ctx, r)
	if r.Stream != nil {
		if err != nil {
			// A refusal: as Close, the slot is free at once, whether or
			// not the peer ever acknowledges the end.
			r.Stream.close(err)
		}
		return // otherwise the stream's end gives back its slot
	}
	defer s.release()
	if err != nil {
		s.send(context.Background(), Packet{End: true, Type: JSON, Req: -req, Body: errorBody(err)})
		return
	}
	p := Packet{Type: JSON, Req: -req}
	switch v := v.(type) {
	case []byte:
		p.Type, p.Body = Buffer, v
	case string:
		p.Type, p.Body = String, []byte(v)
	default:
		p.Body, err = json.Marshal(v)
		if err != nil {
			p.End, p.Body = true, errorBody(err)
		}
	}
	if len(p.Body) == 0 {
		p.Type, p.Body = JSON, []byte(`""`)
	}
	s.send(context.Background(), p)
}

// hold counts n more bytes (or fewer, if negative) held by st, whose
// mu the caller holds and whose queued is already updated. It reports
// whether the session now holds more than SessionBuffer.
func (s *Session) hold(st *Stream, n int) (over bool) {
	s.bufMu.Lock()
	defer s.bufMu.Unlock()
	s.buffered += n
	st.held += n
	if st.held > 0 {
		s.holding[st] = struct{}{}
	} else {
		delete(s.holding, st)
	}
	return s.buffered > s.cfg.SessionBuffer
}

// shed ends the streams that hold the most with ErrOverflow until the
// session holds no more than SessionBuffer.
func (s *Session) shed() {
	for {
		s.bufMu.Lock()
		var victim *Stream
		held := 0
		if s.buffered > s.cfg.SessionBuffer {
			for st := range s.holding {
				if st.held > held {
					victim, held = st, st.held
				}
			}
		}
		s.bufMu.Unlock()
		if victim == nil {
			return
		}
		s.flood.Debug("muxrpc stream ended, session buffer full", "req", victim.req, "held", held)
		victim.mu.Lock()
		victim.overflowLocked()
	}
}

func (s *Session) release() {
	s.mu.Lock()
	s.incoming--
	s.mu.Unlock()
}

// releaseStream gives back the slot of an incoming stream that this side
// closed: a peer that never sends its end must not hold MaxIncoming.
func (s *Session) releaseStream(st *Stream) {
	if !st.incoming {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.in[-st.req] == st && !st.released {
		st.released = true
		s.incoming--
	}
}

// forget removes a stream that has ended both ways.
func (s *Session) forget(st *Stream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case s.forgot <- struct{}{}:
	default:
	}
	if st.incoming {
		if s.in[-st.req] == st {
			delete(s.in, -st.req)
			if !st.released {
				st.released = true
				s.incoming--
			}
		}
	} else if s.out[st.req] == st {
		delete(s.out, st.req)
	}
}

func (s *Session) number() int32 {
	n := s.nextReq
	s.nextReq++
	if s.nextReq <= 0 {
		s.nextReq = 1
	}
	return n
}

func requestPacket(req int32, typ string, name []string, args []any) (Packet, error) {
	if args == nil {
		args = []any{}
	}
	body, err := json.Marshal(map[string]any{"name": name, "type": typ, "args": args})
	if err != nil {
		return Packet{}, fmt.Errorf("muxrpc: %s: %w", strings.Join(name, "."), err)
	}
	return Packet{Stream: typ != "async", Type: JSON, Req: req, Body: body}, nil
}

// Async calls an async (or sync) method and returns its JSON answer.
// A Buffer or String answer is returned as a JSON string. An error
// answer is an *Error.
func (s *Session) Async(ctx context.Context, name []string, args ...any) (json.RawMessage, error) {
	ch := make(chan Packet, 1)
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return nil, s.closedErr()
	}
	req := s.number()
	s.calls[req] = ch
	s.mu.Unlock()
	forget := func() {
		s.mu.Lock()
		delete(s.calls, req)
		s.mu.Unlock()
	}
	p, err := requestPacket(req, "async", name, args)
	if err == nil {
		err = s.send(ctx, p)
	}
	if err != nil {
		forget()
		return nil, err
	}
	select {
	case p := <-ch:
		if p.End {
			if err := parseError(p); err != nil {
				return nil, err
			}
			return json.RawMessage("true"), nil
		}
		if p.Type != JSON {
			b, _ := json.Marshal(string(p.Body))
			return b, nil
		}
		return p.Body, nil
	case <-s.done:
		return nil, s.closedErr()
	case <-ctx.Done():
		forget()
		return nil, ctx.Err()
	}
}

// Open calls a stream method, typ "source", "sink" or "duplex", and
// returns its stream. The callee's refusal arrives as the stream's end.
func (s *Session) Open(ctx context.Context, typ string, name []string, args ...any) (*Stream, error) {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return nil, s.closedErr()
	}
	req := s.number()
	st := newStream(s, req, false)
	s.out[req] = st
	s.mu.Unlock()
	p, err := requestPacket(req, typ, name, args)
	if err == nil {
		err = s.send(ctx, p)
	}
	if err != nil {
		s.forget(st)
		return nil, err
	}
	return st, nil
}
