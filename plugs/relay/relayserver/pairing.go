//go:build !js

package relayserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/wire"
)

// pairing is a dialer's WebSocket (a) and a listener's (b), paired.
//
// It costs two goroutines, one reading each side, and while idle no
// buffer beyond coder/websocket's (which smallHijacker keeps small): a
// goroutine takes a copy buffer from the pool only when a message
// arrives. A goroutine blocked writing one side stops reading the other,
// so TCP backpressure reaches the sender and nothing queues.
type pairing struct {
	s      *Server
	a, b   *conn
	closed atomic.Bool  // one side ended: the other is being closed
	left   atomic.Int32 // goroutines still copying
}

// closeLost is the status a side gets when the other's connection ended
// without a close frame (spec/relay.md §3.5).
const closeLost websocket.StatusCode = 4001

var errText = errors.New("relay: text message after pairing")

// start sends PAIRED to both sides and copies between them.
func (p *pairing) start(stream relay.StreamID) {
	p.s.stats.paired.Add(1)
	pa := &wire.Frame{Type: wire.FramePaired, Key: p.b.key, Stream: stream}
	pb := &wire.Frame{Type: wire.FramePaired, Key: p.a.key, Stream: stream}
	p.a.ws.SetReadLimit(p.s.cfg.ReadLimit)
	p.b.ws.SetReadLimit(p.s.cfg.ReadLimit)
	p.left.Store(2)
	if p.s.send(p.a, pa) != nil || p.s.send(p.b, pb) != nil {
		p.a.ws.CloseNow()
		p.b.ws.CloseNow()
		p.left.Store(1)
		p.done()
		return
	}
	go p.copy(p.a, p.b)
	go p.copy(p.b, p.a)
}

// copy forwards src's messages to dst until either ends, then closes the
// other side as spec/relay.md §3.5 says.
func (p *pairing) copy(src, dst *conn) {
	err, srcFailed := p.forward(src.ws, dst.ws)
	if p.closed.CompareAndSwap(false, true) {
		broken, survivor := src, dst
		if !srcFailed {
			broken, survivor = dst, src
		}
		broken.ws.CloseNow()
		code, reason := closeLost, "peer connection lost"
		var ce websocket.CloseError
		switch {
		case errors.Is(err, errText):
			code, reason = websocket.StatusUnsupportedData, "text message"
		case srcFailed && errors.As(err, &ce):
			code, reason = ce.Code, ce.Reason
		}
		survivor.ws.Close(code, reason)
	}
	p.done()
}

// done ends the pairing once both goroutines have.
func (p *pairing) done() {
	if p.left.Add(-1) != 0 {
		return
	}
	s := p.s
	s.mu.Lock()
	delete(s.pairings, p)
	if s.closing && len(s.pairings) == 0 && s.idle != nil {
		close(s.idle)
		s.idle = nil
	}
	s.mu.Unlock()
	s.release(p.a.ip, p.a.ws, false)
	s.release(p.b.ip, p.b.ws, false)
}

// copyBufSize is the copy buffer: the largest message the ws plug and
// internal/wsconn send, and one byte more, so that io.ReadFull sees the
// end of such a message and it passes in one piece (a buffer it fills
// exactly would send it as two frames).
const copyBufSize = 64<<10 + 1

var copyBufs = sync.Pool{New: func() any { return new([copyBufSize]byte) }}

// forward copies messages from src to dst. It returns why it stopped
// and whether reading src (rather than writing dst) failed.
func (p *pairing) forward(src, dst *websocket.Conn) (err error, srcFailed bool) {
	ctx := context.Background()
	for {
		typ, r, err := src.Reader(ctx)
		if err != nil {
			return err, true
		}
		if typ != websocket.MessageBinary {
			return errText, true
		}
		buf := copyBufs.Get().(*[copyBufSize]byte)
		err, srcFailed = p.message(ctx, r, dst, buf[:])
		copyBufs.Put(buf)
		if err != nil {
			return err, srcFailed
		}
	}
}

// message copies one message from r to dst through buf: in one write
// if it fits, else streamed in fragments.
func (p *pairing) message(ctx context.Context, r io.Reader, dst *websocket.Conn, buf []byte) (error, bool) {
	n, err := io.ReadFull(r, buf)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		p.s.stats.bytes.Add(int64(n))
		return dst.Write(ctx, websocket.MessageBinary, buf[:n]), false
	case err != nil:
		return err, true
	}
	w, err := dst.Writer(ctx, websocket.MessageBinary)
	if err != nil {
		return err, false
	}
	for {
		if _, err := w.Write(buf[:n]); err != nil {
			return err, false
		}
		p.s.stats.bytes.Add(int64(n))
		n, err = r.Read(buf)
		if err == io.EOF {
			return w.Close(), false
		}
		if err != nil {
			return err, true
		}
	}
}

// smallHijacker hands coder/websocket buffers of 512 bytes instead of
// net/http's 4 KiB ones: an idle pairing holds four (a reader and a
// writer per side) for as long as it lasts. Payloads bypass them.
type smallHijacker struct {
	http.ResponseWriter
	raw net.Conn // the hijacked conn
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
	return c, bufio.NewReadWriter(br, bufio.NewWriterSize(c, hijackBuf)), nil
}

// Unwrap returns the wrapped ResponseWriter, for http.ResponseController.
func (h *smallHijacker) Unwrap() http.ResponseWriter { return h.ResponseWriter }
