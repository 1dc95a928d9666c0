package msgconn

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// The framing of messages over a byte stream (spec/relay.md §11): each
// message is type u8 ‖ length u32 (big-endian) ‖ body[length].
const (
	// TypeData is a binary message: the body is its payload.
	TypeData = 0x00
	// TypeClose ends the stream: the body is code u16 ‖ reason (UTF-8,
	// at most MaxReason bytes).
	TypeClose = 0x01
	// HeaderSize is the bytes before each body.
	HeaderSize = 5
	// MaxReason is the longest close reason, in bytes, as in a WebSocket
	// close frame.
	MaxReason = 123
	// MaxPiece is the largest message a Framed's Writer and NetConn's
	// Write send; longer writes go in several.
	MaxPiece = 64 << 10
)

// ErrFraming is the error of a stream that breaks the framing: an
// unknown type, a close that is too short or too long, or a reason that
// is not UTF-8.
var ErrFraming = errors.New("relay: bad message framing")

// closeWait bounds the write of a close message.
const closeWait = 5 * time.Second

// Framed is a Conn over a reliable, ordered byte stream, framed as
// spec/relay.md §11 says. It owns the stream's deadlines. One goroutine
// reads at a time; writes may come from several.
type Framed struct {
	nc    net.Conn
	limit atomic.Int64 // largest body read; 0: none

	// Read state: the bytes left of the data message being read, and a
	// header read so far (NetConn's reads may stop within one).
	remaining int64
	hdr       [HeaderSize]byte
	hdrN      int
	rerr      error // once set, every read returns it

	wmu    sync.Mutex
	werr   error // a write that failed partway broke the framing
	closed atomic.Bool
}

// NewFramed returns a Conn that frames messages over nc, with a read
// limit of 4096 bytes until SetReadLimit.
func NewFramed(nc net.Conn) *Framed {
	f := &Framed{nc: nc}
	f.limit.Store(4096)
	return f
}

// SetReadLimit bounds the bodies of data messages read; a longer one
// closes the stream with status 1009. n <= 0 means no limit.
func (f *Framed) SetReadLimit(n int64) { f.limit.Store(max(n, 0)) }

// deadline applies ctx to the read (or write) deadline of f's stream
// and returns what undoes it.
func (f *Framed) deadline(ctx context.Context, set func(time.Time) error) func() {
	d, has := ctx.Deadline()
	if has {
		set(d)
	}
	if ctx.Done() == nil {
		return func() {}
	}
	var mu sync.Mutex
	undone := false
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !undone {
			set(time.Unix(1, 0))
		}
	})
	return func() {
		stop()
		mu.Lock()
		defer mu.Unlock()
		undone = true
		set(time.Time{})
	}
}

// ctxErr returns ctx's error in place of a timeout that ctx caused.
func ctxErr(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	// The stream's deadline may pass just before ctx's timer fires.
	if d, ok := ctx.Deadline(); ok && isTimeout(err) && !time.Now().Before(d) {
		return fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	return err
}

// header reads the next message's header, continuing one that a
// timeout cut, and returns its type and length.
func (f *Framed) header() (byte, uint32, error) {
	for f.hdrN < HeaderSize {
		n, err := f.nc.Read(f.hdr[f.hdrN:])
		f.hdrN += n
		if f.hdrN == HeaderSize {
			break
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if f.hdrN == 0 {
					return 0, 0, fmt.Errorf("relay: stream ended without a close: %w", io.ErrUnexpectedEOF)
				}
				return 0, 0, fmt.Errorf("relay: stream ended within a message header: %w", io.ErrUnexpectedEOF)
			}
			return 0, 0, err
		}
	}
	f.hdrN = 0
	return f.hdr[0], binary.BigEndian.Uint32(f.hdr[1:]), nil
}

// next reads headers until a data message starts, and returns its
// length. A close message or a breach of the framing sets f.rerr.
func (f *Framed) next() (int64, error) {
	if f.rerr != nil {
		return 0, f.rerr
	}
	if f.remaining > 0 { // the rest of a message the reader left
		k, err := io.CopyN(io.Discard, f.nc, f.remaining)
		f.remaining -= k
		if err != nil {
			if isTimeout(err) {
				return 0, err // the skip goes on at the next read
			}
			return 0, f.readFailed(err)
		}
	}
	typ, n, err := f.header()
	if err != nil {
		if isTimeout(err) {
			return 0, err // the header goes on at the next read
		}
		return 0, f.readFailed(err)
	}
	switch typ {
	case TypeData:
		if lim := f.limit.Load(); lim > 0 && int64(n) > lim {
			f.rerr = fmt.Errorf("relay: message of %d bytes, the limit is %d: %w", n, lim, errTooBig)
			f.Close(websocket.StatusMessageTooBig, "message too big")
			return 0, f.rerr
		}
		f.remaining = int64(n)
		return int64(n), nil
	case TypeClose:
		ce, err := f.readClose(n)
		if err != nil {
			return 0, f.readFailed(err)
		}
		f.rerr = ce
		f.abort() // the peer has gone: what we still had to send is moot
		return 0, ce
	}
	return 0, f.readFailed(fmt.Errorf("%w: message type %#02x", ErrFraming, typ))
}

var errTooBig = errors.New("message too big")

// readClose reads a close body of n bytes.
func (f *Framed) readClose(n uint32) (websocket.CloseError, error) {
	if n < 2 || n > 2+MaxReason {
		return websocket.CloseError{}, fmt.Errorf("%w: close body of %d bytes", ErrFraming, n)
	}
	var b [2 + MaxReason]byte
	if _, err := io.ReadFull(f.nc, b[:n]); err != nil {
		return websocket.CloseError{}, err
	}
	reason := string(b[2:n])
	if !utf8.ValidString(reason) {
		return websocket.CloseError{}, fmt.Errorf("%w: close reason is not UTF-8", ErrFraming)
	}
	return websocket.CloseError{Code: websocket.StatusCode(binary.BigEndian.Uint16(b[:2])), Reason: reason}, nil
}

// readFailed ends f's reads with err: the stream is lost.
func (f *Framed) readFailed(err error) error {
	if errors.Is(err, io.EOF) {
		err = fmt.Errorf("relay: stream ended within a message: %w", io.ErrUnexpectedEOF)
	}
	f.rerr = err
	f.abort()
	return err
}

// abort closes the stream at once: a bridge session's Abort, which does
// not wait to send what was written, or else Close.
func (f *Framed) abort() error {
	f.closed.Store(true)
	if a, ok := f.nc.(interface{ Abort() error }); ok {
		return a.Abort()
	}
	return f.nc.Close()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Reader returns the next data message. ctx bounds the wait for its
// header; the body is read without a deadline.
func (f *Framed) Reader(ctx context.Context) (io.Reader, error) {
	undo := f.deadline(ctx, f.nc.SetReadDeadline)
	_, err := f.next()
	undo()
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	return bodyReader{f}, nil
}

// Read reads the next data message whole, within ctx.
func (f *Framed) Read(ctx context.Context) ([]byte, error) {
	undo := f.deadline(ctx, f.nc.SetReadDeadline)
	defer undo()
	n, err := f.next()
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	// Grown as the bytes come, not allocated at the length a header
	// claims.
	buf := bytes.NewBuffer(make([]byte, 0, min(n, 64<<10)))
	if _, err := io.Copy(buf, bodyReader{f}); err != nil {
		return nil, ctxErr(ctx, err)
	}
	return buf.Bytes(), nil
}

// bodyReader reads what is left of the current data message.
type bodyReader struct{ f *Framed }

func (r bodyReader) Read(p []byte) (int, error) {
	f := r.f
	if f.remaining == 0 {
		return 0, io.EOF
	}
	n, err := f.nc.Read(p[:min(int64(len(p)), f.remaining)])
	f.remaining -= int64(n)
	if err != nil && f.remaining > 0 && !isTimeout(err) {
		return n, f.readFailed(err)
	}
	if f.remaining == 0 {
		return n, nil
	}
	return n, err
}

// Write writes p as one data message.
func (f *Framed) Write(ctx context.Context, p []byte) error {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	// Set and undone under f.wmu: a deadline is the stream's, so one set
	// or undone outside would cut or unbound another's write (Close's).
	undo := f.deadline(ctx, f.nc.SetWriteDeadline)
	defer undo()
	return ctxErr(ctx, f.writeLocked(TypeData, p))
}

// writeLocked writes one message; f.wmu is held. A write that fails
// partway breaks the framing for good.
func (f *Framed) writeLocked(typ byte, p []byte) error {
	if f.werr != nil {
		return f.werr
	}
	var hdr [HeaderSize]byte
	hdr[0] = typ
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(p)))
	n, err := f.nc.Write(hdr[:])
	if err == nil {
		var k int
		k, err = f.nc.Write(p)
		n += k
	}
	if err != nil && n > 0 {
		f.werr = fmt.Errorf("relay: a message cut short: %w", err)
		f.nc.Close()
	}
	return err
}

// Writer returns a writer each of whose writes goes as data messages of
// at most MaxPiece bytes: after pairing, message boundaries carry no
// meaning (spec/relay.md §3.5).
func (f *Framed) Writer(ctx context.Context) (io.WriteCloser, error) {
	return pieceWriter{f, ctx}, nil
}

type pieceWriter struct {
	f   *Framed
	ctx context.Context
}

func (w pieceWriter) Write(p []byte) (int, error) {
	f := w.f
	f.wmu.Lock()
	defer f.wmu.Unlock()
	undo := f.deadline(w.ctx, f.nc.SetWriteDeadline)
	defer undo()
	n, err := f.writePiecesLocked(p)
	return n, ctxErr(w.ctx, err)
}

// writePiecesLocked writes p as data messages of at most MaxPiece bytes;
// f.wmu is held.
func (f *Framed) writePiecesLocked(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), MaxPiece)
		if err := f.writeLocked(TypeData, p[:k]); err != nil {
			return n, err
		}
		n += k
		p = p[k:]
	}
	return n, nil
}

func (w pieceWriter) Close() error { return nil }

// Close sends a close message with code and reason (cut to MaxReason
// bytes) and closes the stream. A write stuck on a full stream is given
// closeWait to finish.
func (f *Framed) Close(code websocket.StatusCode, reason string) error {
	if f.closed.Swap(true) {
		return nil
	}
	dl := time.Now().Add(closeWait)
	f.nc.SetWriteDeadline(dl) // bounds a write in progress
	f.wmu.Lock()
	f.nc.SetWriteDeadline(dl) // that write may have undone it on its way out
	err := f.writeLocked(TypeClose, EncodeClose(code, reason))
	f.wmu.Unlock()
	return errors.Join(err, f.nc.Close())
}

// EncodeClose returns the body of a close message: code, then reason
// cut to MaxReason bytes of valid UTF-8.
func EncodeClose(code websocket.StatusCode, reason string) []byte {
	if len(reason) > MaxReason {
		reason = strings.ToValidUTF8(reason[:MaxReason], "")
	}
	b := binary.BigEndian.AppendUint16(nil, uint16(code))
	return append(b, reason...)
}

// CloseNow closes the stream without a close message, and without
// waiting to send what was written: the peer sees it lost.
func (f *Framed) CloseNow() error { return f.abort() }

// Stream returns the byte stream under f.
func (f *Framed) Stream() net.Conn { return f.nc }
