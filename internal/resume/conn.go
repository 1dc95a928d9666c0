package resume

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/f7d52a8e/multiserver/internal/deadline"
)

var (
	// ErrTimeout is why a Conn fails when no carrier resumed it within
	// [Config.ResumeTimeout].
	ErrTimeout = errors.New("resume: no carrier within the resume timeout")
	// ErrReset is why a Conn fails when the peer sent RESET: it closed
	// its end or saw a protocol error. The reason follows in the message.
	ErrReset = errors.New("resume: reset by peer")
	// ErrProtocol is why a Conn fails when the peer broke the protocol; a
	// carrier that does not speak it at all fails the same way.
	ErrProtocol = errors.New("resume: protocol error")
	// ErrWriteShut is the error of a Write after CloseWrite.
	ErrWriteShut = errors.New("resume: write after CloseWrite")
	// ErrSignalQueue is the error of a Signal while 8 signals wait for a
	// carrier already.
	ErrSignalQueue = errors.New("resume: too many signals waiting for a carrier")
)

// Defaults; see [Config].
const (
	DefaultWindow           = 1 << 20
	DefaultResumeTimeout    = 10 * time.Second
	DefaultKeepAlive        = 5 * time.Second
	DefaultKeepAliveTimeout = 15 * time.Second
)

const (
	maxWindow = 1 << 30
	ackDelay  = 20 * time.Millisecond // see [Conn.Read]
	closeWait = time.Second           // how long Close lingers to send what was written
)

// Config configures a Conn. The zero value works on the accepting side;
// a nil *Config is the zero value. New copies it.
type Config struct {
	// Window is the most bytes a Conn buffers each way: written and not
	// yet read by the peer, and received and not yet read here. Write
	// blocks when the peer's window or this one is full. If zero, 1 MiB;
	// at most 1 GiB.
	Window int
	// ResumeTimeout is how long a Conn waits, after its carrier breaks or
	// a new one is attached, for the peer's RESUME on a new carrier
	// before it fails with [ErrTimeout]. If zero, 10s.
	ResumeTimeout time.Duration
	// KeepAlive is how long a carrier may go without a frame sent before
	// a PING goes. If zero, 5s.
	KeepAlive time.Duration
	// KeepAliveTimeout is how long a carrier may go without a frame
	// received before it counts as broken. If zero, 15s; at least twice
	// the peer's KeepAlive.
	KeepAliveTimeout time.Duration
	// Redial, if not nil, is called on the dialing side when the carrier
	// breaks, to get a new one: at once, then with backoff from 250ms
	// doubling to 10s, with jitter, until one is attached, the Conn
	// fails or it is closed, which cancels ctx.
	Redial func(ctx context.Context) (net.Conn, error)
	// OnBreak, if not nil, is called once for each carrier that breaks
	// while current, with the carrier (closed) and the cause. It runs on
	// the Conn's goroutines and must not block.
	OnBreak func(carrier net.Conn, err error)
	// OnResume, if not nil, is called each time a carrier resumes the
	// Conn (the peer's RESUME came in on it), with the carrier: the
	// moment bytes start to flow over it. It runs on the carrier's
	// reader goroutine and must not block.
	OnResume func(carrier net.Conn)
	// OnSignal, if not nil, receives the payload of every SIGNAL frame
	// the peer sends (see [Conn.Signal]); without it they are dropped.
	// It runs on the carrier's reader goroutine, must not block, and may
	// keep p.
	OnSignal func(p []byte)
	// Logger gets debug records of breaks, resumes and redials. If nil,
	// nothing is logged.
	Logger *slog.Logger
}

func (cfg *Config) withDefaults() Config {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	c.Window = min(c.Window, maxWindow)
	if c.ResumeTimeout <= 0 {
		c.ResumeTimeout = DefaultResumeTimeout
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = DefaultKeepAlive
	}
	if c.KeepAliveTimeout <= 0 {
		c.KeepAliveTimeout = 3 * c.KeepAlive
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Conn is a net.Conn that survives the loss and the replacement of the
// carrier under it; see the package doc.
type Conn struct {
	cfg    Config
	id     [8]byte
	ctx    context.Context // ends when the Conn fails or closes; for Redial
	cancel context.CancelFunc
	done   chan struct{} // closed by Close

	rmu, wmu     sync.Mutex // one Read, one Write at a time
	rdl, wdl     deadline.Deadline
	rwake, wwake chan struct{} // capacity 1: something changed for Read, Write

	mu            sync.Mutex
	err           error // why the Conn ended, once set
	closed        bool
	flush         bool     // send what we can before err's RESET
	cur, prev     *carrier // prev: the carrier cur replaced, until cur resumes
	local, remote net.Addr
	peerID        [8]byte
	knowPeer      bool
	resumeGen     int // which resume timer counts
	resumeTimer   *time.Timer
	pingTimer     *time.Timer
	ackTimer      *time.Timer
	ackArmed      bool
	redialing     bool
	backoff       time.Duration
	linger        *time.Timer // after Close: ends the flush

	out        queue  // written, from the peer's last ACK on
	sent       uint64 // next offset to send on cur
	peerWindow uint64
	wshut      bool // CloseWrite called: FIN at out.end()

	signals [][]byte // SIGNAL payloads for the current carrier, once resumed

	in      queue  // received, from what Read consumed on
	ackSent uint64 // the last ACK sent
	fin     bool
	final   uint64 // with fin: the peer's end of stream
}

var _ net.Conn = (*Conn)(nil)

// New returns a Conn that runs over carrier, which it owns from now on.
// Both ends of a carrier must be handed to New (or Attach) at the start.
func New(carrier net.Conn, cfg *Config) *Conn {
	c := &Conn{
		cfg:   cfg.withDefaults(),
		done:  make(chan struct{}),
		rwake: make(chan struct{}, 1),
		wwake: make(chan struct{}, 1),
	}
	rand.Read(c.id[:])
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.pingTimer = time.AfterFunc(c.cfg.KeepAlive, c.tick)
	c.Attach(carrier)
	return c
}

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Read reads what the peer wrote, each byte once and in order, whatever
// carriers it came over. After the peer's CloseWrite and its data, it
// returns io.EOF. A Read whose deadline passes fails with
// os.ErrDeadlineExceeded and loses nothing. After a failure, Read returns
// what was received, then the cause.
//
// Read acknowledges what it consumed as soon as a quarter of the window
// is unacknowledged, else within 20ms.
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		c.mu.Lock()
		switch {
		case c.closed:
			c.mu.Unlock()
			return 0, net.ErrClosed
		case c.rdl.Passed():
			c.mu.Unlock()
			return 0, os.ErrDeadlineExceeded
		case c.in.n > 0 && len(p) > 0:
			n := c.in.read(p)
			c.consumed()
			c.mu.Unlock()
			return n, nil
		case c.fin && c.in.start == c.final:
			c.mu.Unlock()
			return 0, io.EOF
		case c.err != nil:
			c.mu.Unlock()
			return 0, c.err
		case len(p) == 0:
			c.mu.Unlock()
			return 0, nil
		}
		c.mu.Unlock()
		select {
		case <-c.rwake:
		case <-c.rdl.Done():
		case <-c.done:
		}
	}
}

// consumed schedules the ACK of what Read consumed.
func (c *Conn) consumed() {
	if c.in.start-c.ackSent >= uint64(c.cfg.Window/4) {
		if c.cur != nil {
			c.cur.ack = true
			c.kick(c.cur)
		}
		return
	}
	if !c.ackArmed {
		c.ackArmed = true
		if c.ackTimer == nil {
			c.ackTimer = time.AfterFunc(ackDelay, c.ackNow)
		} else {
			c.ackTimer.Reset(ackDelay)
		}
	}
}

func (c *Conn) ackNow() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ackArmed = false
	if c.err == nil && c.cur != nil && c.in.start > c.ackSent {
		c.cur.ack = true
		c.kick(c.cur)
	}
}

// Write writes p into the replay buffer, from which it goes out over the
// current carrier and, after a break, over the next. It returns once all
// of p is buffered, blocking while the buffer is full: for the peer to
// read, or for a carrier to come back. A Write whose deadline passes
// fails with os.ErrDeadlineExceeded and returns how much was buffered.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	n := 0
	for {
		c.mu.Lock()
		var err error
		switch {
		case c.closed:
			err = net.ErrClosed
		case c.err != nil:
			err = c.err
		case c.wshut:
			err = ErrWriteShut
		case c.wdl.Passed():
			err = os.ErrDeadlineExceeded
		case len(p) == 0:
			c.mu.Unlock()
			return n, nil
		}
		if err != nil {
			c.mu.Unlock()
			return n, err
		}
		if room := c.cfg.Window - c.out.n; room > 0 {
			m := min(room, len(p))
			c.out.push(p[:m])
			n += m
			p = p[m:]
			if c.cur != nil {
				c.kick(c.cur)
			}
			c.mu.Unlock()
			continue
		}
		c.mu.Unlock()
		select {
		case <-c.wwake:
		case <-c.wdl.Done():
		case <-c.done:
		}
	}
}

// maxSignals bounds the signals that wait for a carrier.
const maxSignals = 8

// Signal sends p, 1 to [MaxSignal] bytes, to the peer's
// [Config.OnSignal], apart from the byte stream: a message for the layer
// that made the carriers (hole punching signals a direct path so). It
// goes on the current carrier once that is resumed, ahead of data; a
// signal still waiting when that carrier breaks goes on the next one,
// and one in flight then is lost: signals are best effort, and what uses
// them retries. Signal does not block; it fails when the Conn ended or 8
// signals wait already ([ErrSignalQueue]).
func (c *Conn) Signal(p []byte) error {
	if len(p) == 0 || len(p) > MaxSignal {
		return fmt.Errorf("resume: signal of %d bytes, want 1 to %d", len(p), MaxSignal)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return net.ErrClosed
	case c.err != nil:
		return c.err
	case len(c.signals) >= maxSignals:
		return ErrSignalQueue
	}
	c.signals = append(c.signals, bytes.Clone(p))
	if c.cur != nil {
		c.kick(c.cur)
	}
	return nil
}

// CloseWrite sends FIN after all written data: the peer reads io.EOF
// there. Reading goes on; a later Write fails with [ErrWriteShut].
func (c *Conn) CloseWrite() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return net.ErrClosed
	case c.err != nil:
		return c.err
	}
	c.wshut = true
	if c.cur != nil {
		c.kick(c.cur)
	}
	return nil
}

// Close ends the Conn at once: Reads and Writes under way and later
// return net.ErrClosed. In the background, for up to a second, the
// current carrier goes on sending what was written and FIN, as far as
// the peer's window admits, then sends RESET and closes. As with TCP,
// data written and not yet sent when the carrier breaks or the second
// is up is lost, and so is data received and not read; to end cleanly,
// CloseWrite and read until io.EOF first.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	c.closed = true
	close(c.done)
	c.rdl.Stop()
	c.wdl.Stop()
	c.wshut = true
	c.end(net.ErrClosed, codeClosed, "closed", true)
	if c.cur != nil {
		c.linger = time.AfterFunc(closeWait, func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.flush = false
			if c.cur != nil {
				c.kick(c.cur)
			}
		})
	}
	return nil
}

func (c *Conn) stopLinger() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.linger != nil {
		c.linger.Stop()
	}
}

// end makes err the Conn's end, if it has none yet, and shuts its
// carriers down: cur, if any, sends reset (unless code < 0), after the
// data it may send if flush, then closes. c.mu is held.
func (c *Conn) end(err error, code int, reason string, flush bool) {
	if c.err != nil {
		return
	}
	c.err, c.flush = err, flush
	c.cancel()
	c.pingTimer.Stop()
	if c.ackTimer != nil {
		c.ackTimer.Stop()
	}
	if c.resumeTimer != nil {
		c.resumeTimer.Stop()
	}
	notify(c.rwake)
	notify(c.wwake)
	if c.prev != nil {
		c.prev.conn.Close()
		c.prev = nil
	}
	if cr := c.cur; cr != nil {
		if code >= 0 {
			cr.final = appendReset(nil, byte(code), reason)
		}
		cr.conn.SetWriteDeadline(time.Now().Add(2 * closeWait))
		c.kick(cr)
	}
}

// LocalAddr returns the current carrier's local address, or the last
// one's.
func (c *Conn) LocalAddr() net.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.local
}

// RemoteAddr returns the current carrier's remote address, or the last
// one's.
func (c *Conn) RemoteAddr() net.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remote
}

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline. It has nothing to do with the
// carrier's deadlines, which the Conn manages itself.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if c.isClosed() {
		return net.ErrClosed
	}
	c.rdl.Set(t)
	return nil
}

// SetWriteDeadline sets the write deadline, which bounds how long a
// Write waits for room in the buffer.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if c.isClosed() {
		return net.ErrClosed
	}
	c.wdl.Set(t)
	return nil
}

func (c *Conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}
