//go:build !js

package relayserver

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/f7d52a8e/multiserver/internal/wsconn"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/msgconn"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/wire"
	"golang.org/x/time/rate"
)

// pairing is a dialer's WebSocket (a) and a listener's (b), paired.
//
// It costs two goroutines, one reading each side, and while idle no
// buffer beyond coder/websocket's (which smallHijacker keeps small): a
// goroutine takes a copy buffer from the pool only when a message
// arrives. A goroutine blocked writing one side stops reading the other,
// so TCP backpressure reaches the sender and nothing queues.
//
// The idle timeout costs no timer per message: the goroutines note the
// time data last passed, and one timer per pairing, when it fires, looks
// at it and either closes the pairing or sleeps for the rest.
type pairing struct {
	s      *Server
	a, b   *conn
	closed atomic.Bool  // one side ended: the other is being closed
	left   atomic.Int32 // goroutines still copying, and an expire under way
	last   atomic.Int64 // when data last passed, in ns since s.epoch
	idle   *time.Timer  // nil: no idle timeout

	// For a rate-limited pairing only: a limiter per direction, and a
	// context that ends when the pairing closes, to stop a wait.
	toB, toA *rate.Limiter
	stop     context.Context
	halt     context.CancelFunc

	stream relay.StreamID  // the stream it pairs
	number int64           // its number among the server's pairings, from 1
	sent   [2]atomic.Int64 // bytes forwarded by this pairing, by direction
}

// Close statuses of a pairing's end (spec/relay.md §3.5).
const (
	// closeLost is what a side gets when the other's connection ended
	// without a close frame.
	closeLost websocket.StatusCode = 4001
	// closeIdle is what both sides get when the pairing carried no data
	// for Config.IdlePairingTimeout.
	closeIdle websocket.StatusCode = 4002
)

var (
	errText   = errors.New("relay: text message after pairing")
	errHalted = errors.New("relay: pairing closed during a rate wait")
)

// half is one direction of a pairing.
type half struct {
	src, dst *conn
	lim      *rate.Limiter // nil: unlimited
	bytes    *atomic.Int64 // the server's counter for this direction
	own      *atomic.Int64 // the pairing's
}

// newPairing pairs a dialer's conn a and a listener's b, ready to start.
func newPairing(s *Server, a, b *conn, stream relay.StreamID) *pairing {
	p := &pairing{s: s, a: a, b: b, stream: stream, number: s.stats.paired.Add(1)}
	if r := s.cfg.PairingRate; r > 0 {
		p.toB = rate.NewLimiter(rate.Limit(r), s.cfg.PairingBurst)
		p.toA = rate.NewLimiter(rate.Limit(r), s.cfg.PairingBurst)
		p.stop, p.halt = context.WithCancel(context.Background())
	}
	if s.cfg.IdlePairingTimeout > 0 {
		// Armed by start: the timer's first Reset orders this write
		// before expire reads p.idle.
		p.idle = time.AfterFunc(math.MaxInt64, p.expire)
	}
	return p
}

// start sends PAIRED to both sides and copies between them.
func (p *pairing) start(stream relay.StreamID) {
	s := p.s
	pa := &wire.Frame{Type: wire.FramePaired, Key: p.b.key, Stream: stream}
	pb := &wire.Frame{Type: wire.FramePaired, Key: p.a.key, Stream: stream}
	p.a.mc.SetReadLimit(s.cfg.ReadLimit)
	p.b.mc.SetReadLimit(s.cfg.ReadLimit)
	p.left.Store(2)
	if s.send(p.a, pa) != nil || s.send(p.b, pb) != nil {
		p.a.mc.CloseNow()
		p.b.mc.CloseNow()
		p.left.Store(1)
		p.done()
		return
	}
	p.touch()
	if p.idle != nil {
		p.idle.Reset(s.cfg.IdlePairingTimeout)
	}
	go p.copy(&half{src: p.a, dst: p.b, lim: p.toB, bytes: &s.stats.bytes[toListener], own: &p.sent[toListener]})
	go p.copy(&half{src: p.b, dst: p.a, lim: p.toA, bytes: &s.stats.bytes[toDialer], own: &p.sent[toDialer]})
}

// touch notes that data passes now.
func (p *pairing) touch() { p.last.Store(int64(time.Since(p.s.epoch))) }

// expire runs when the idle timer fires: it closes a pairing that has
// carried nothing for the idle timeout on both sides with status 4002,
// or sets the timer for the time left.
func (p *pairing) expire() {
	if !p.hold() {
		return // ended already
	}
	defer p.done()
	timeout := p.s.cfg.IdlePairingTimeout
	if quiet := time.Since(p.s.epoch) - time.Duration(p.last.Load()); quiet < timeout {
		p.idle.Reset(timeout - quiet)
		return
	}
	if !p.closed.CompareAndSwap(false, true) {
		return
	}
	p.s.stats.idleClosed.Add(1)
	p.s.cfg.Logger.Debug("relay: idle pairing closed", "after", timeout, "dialer", p.a.ip, "listener", p.b.ip)
	p.cancel()
	var wg sync.WaitGroup
	wg.Go(func() { p.a.mc.Close(closeIdle, "idle") })
	p.b.mc.Close(closeIdle, "idle")
	wg.Wait()
}

// hold counts one more user of a pairing that has not ended, so that it
// does not end under expire; it reports false if the pairing has ended.
func (p *pairing) hold() bool {
	for {
		n := p.left.Load()
		if n == 0 {
			return false
		}
		if p.left.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// cancel stops the rate waits of the pairing, if it has any. Whoever
// calls it closes the pairing.
func (p *pairing) cancel() {
	if p.halt != nil {
		p.halt()
	}
}

// copy forwards h.src's messages to h.dst until either ends, then closes
// the other side as spec/relay.md §3.5 says.
func (p *pairing) copy(h *half) {
	err, srcFailed := p.forward(h)
	// A halted wait means another party closes the pairing.
	if err != errHalted && p.closed.CompareAndSwap(false, true) {
		p.cancel()
		broken, survivor := h.src, h.dst
		if !srcFailed {
			broken, survivor = h.dst, h.src
		}
		broken.mc.CloseNow()
		code, reason := closeLost, "peer connection lost"
		var ce websocket.CloseError
		switch {
		case errors.Is(err, errText):
			code, reason = websocket.StatusUnsupportedData, "text message"
		case srcFailed && errors.As(err, &ce):
			code, reason = ce.Code, ce.Reason
		}
		survivor.mc.Close(code, reason)
	}
	p.done()
}

// done ends the pairing once both goroutines (and any expire) have.
func (p *pairing) done() {
	if p.left.Add(-1) != 0 {
		return
	}
	if p.idle != nil {
		p.idle.Stop()
	}
	p.cancel()
	s := p.s
	s.mu.Lock()
	delete(s.pairings, p)
	if s.closing && len(s.pairings) == 0 && s.idle != nil {
		close(s.idle)
		s.idle = nil
	}
	s.mu.Unlock()
	s.release(p.a.ip, p.a.mc, false)
	s.release(p.b.ip, p.b.mc, false)
}

// copyBufSize is the copy buffer: the largest message the ws plug and
// internal/wsconn send, and one byte more, so that io.ReadFull sees the
// end of such a message and it passes in one piece (a buffer it fills
// exactly would send it as two frames).
const copyBufSize = 64<<10 + 1

var copyBufs = sync.Pool{New: func() any { return new([copyBufSize]byte) }}

// forward copies messages from h.src to h.dst. It returns why it stopped
// and whether reading src (rather than writing dst) failed.
func (p *pairing) forward(h *half) (err error, srcFailed bool) {
	ctx := context.Background()
	for {
		r, err := h.src.mc.Reader(ctx)
		if errors.Is(err, msgconn.ErrText) {
			return errText, true
		}
		if err != nil {
			return err, true
		}
		buf := copyBufs.Get().(*[copyBufSize]byte)
		err, srcFailed = p.message(ctx, r, h, buf[:p.s.chunk])
		copyBufs.Put(buf)
		if err != nil {
			return err, srcFailed
		}
	}
}

// message copies one message from r to h.dst through buf: in one write
// if it fits, else streamed in fragments of at most len(buf) bytes.
func (p *pairing) message(ctx context.Context, r io.Reader, h *half, buf []byte) (error, bool) {
	n, err := io.ReadFull(r, buf)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		if err := p.pass(h, n); err != nil {
			return err, false
		}
		if sock := h.dst.sock; sock != nil { // header and payload in one write
			sock.Cork()
			err := h.dst.mc.Write(ctx, buf[:n])
			return cmp.Or(err, sock.Flush()), false
		}
		return h.dst.mc.Write(ctx, buf[:n]), false
	case err != nil:
		return err, true
	}
	w, err := h.dst.mc.Writer(ctx)
	if err != nil {
		return err, false
	}
	for {
		if err := p.pass(h, n); err != nil {
			return err, false
		}
		if _, err := w.Write(buf[:n]); err != nil {
			return err, false
		}
		n, err = r.Read(buf)
		if err == io.EOF && n == 0 {
			return w.Close(), false
		}
		if err != nil && err != io.EOF {
			return err, true
		}
	}
}

// pass lets n bytes through h: it waits for h's rate, if any, and
// counts them as activity and as forwarded.
func (p *pairing) pass(h *half, n int) error {
	if h.lim != nil && n > 0 {
		if h.lim.WaitN(p.stop, n) != nil { // n <= burst: only p.halt ends it
			return errHalted
		}
	}
	p.touch()
	h.bytes.Add(int64(n))
	h.own.Add(int64(n))
	return nil
}

// smallHijacker hands coder/websocket buffers of 512 bytes instead of
// net/http's 4 KiB ones: an idle pairing holds four (a reader and a
// writer per side) for as long as it lasts. Payloads bypass them.
//
// Its writer writes to a [wsconn.Socket], which the copy corks for each
// message it forwards: through a 512-byte writer, coder/websocket's frame
// header and the start of the payload would leave in a small write of
// their own.
type smallHijacker struct {
	http.ResponseWriter
	raw  net.Conn       // the hijacked conn
	sock *wsconn.Socket // under the writer; nil if the reader kept net/http's
}

const hijackBuf = 512

func (h *smallHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.raw = c
	if err := brw.Writer.Flush(); err != nil {
		c.Close()
		return nil, nil, err
	}
	n := brw.Reader.Buffered()
	if n > hijackBuf { // a client that did not wait for the upgrade
		return c, brw, nil
	}
	// coder/websocket keeps what the reader has buffered and reads the
	// rest from c, so the bytes net/http read ahead go in the new one.
	b, _ := brw.Reader.Peek(n)
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(b)), c), hijackBuf)
	br.Peek(n)
	h.sock = wsconn.NewSocket(c)
	return c, bufio.NewReadWriter(br, bufio.NewWriterSize(h.sock, hijackBuf)), nil
}

// Unwrap returns the wrapped ResponseWriter, for http.ResponseController.
func (h *smallHijacker) Unwrap() http.ResponseWriter { return h.ResponseWriter }
