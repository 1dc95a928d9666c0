package quic

import (
	"crypto/ed25519"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	quicgo "github.com/quic-go/quic-go"

	"github.com/f7d52a8e/multiserver"
)

// A Stream is one QUIC stream of a [Conn], as [Conn.Open], [Conn.Accept],
// a listener's Accept and [Plug.Dial] return it: a full net.Conn, with
// half-close and reset. quic-go's *Stream has no addresses and its Close
// closes only the sending direction; a Stream adds what net.Conn needs.
//
// Read returns io.EOF after the peer's CloseWrite or Close. Errors match
// os.ErrDeadlineExceeded when a deadline passes, [ErrStreamReset] when
// the peer resets the stream or stops reading it, and net.ErrClosed once
// this side has closed that direction or the connection has ended.
type Stream struct {
	st   *quicgo.Stream
	conn *Conn
	sole bool // from Plug.Dial: closing the stream closes the connection

	// quic-go forbids closing the sending side during a Write, so Write
	// holds writeMu, and closing waits for it (after waking a blocked
	// Write with a past deadline).
	writeMu sync.Mutex

	readClosed, writeClosed atomic.Bool
	readEnd                 sync.Once   // the application is done reading
	readEnded               atomic.Bool // set by readEnd
	forgot                  atomic.Bool
}

var _ net.Conn = (*Stream)(nil)

// Read reads data the peer wrote.
func (s *Stream) Read(b []byte) (int, error) {
	if s.readClosed.Load() {
		return 0, s.opError("read", net.ErrClosed)
	}
	n, err := s.st.Read(b)
	if err == nil {
		return n, nil
	}
	if err == io.EOF {
		s.endRead()
		return n, io.EOF
	}
	err = s.mapErr(err, &s.readClosed)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		s.endRead()
	}
	return n, s.opError("read", err)
}

// Write writes b to the stream. It blocks while the peer's receive
// window is full, and returns once b is handed to QUIC, which delivers
// it reliably for as long as the connection lives.
func (s *Stream) Write(b []byte) (int, error) {
	if s.writeClosed.Load() {
		return 0, s.opError("write", net.ErrClosed)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.writeClosed.Load() {
		return 0, s.opError("write", net.ErrClosed)
	}
	n, err := s.st.Write(b)
	if err != nil {
		return n, s.opError("write", s.mapErr(err, &s.writeClosed))
	}
	return n, nil
}

// Close closes both directions: the peer reads io.EOF after what was
// written (QUIC still delivers it), and the peer's further writes fail
// with ErrStreamReset. Blocked Reads and Writes return net.ErrClosed.
//
// Closing the stream that [Plug.Dial] returned also closes its
// connection, as [Conn.Close] does: it waits, up to
// [Config.CloseTimeout], for the peer to finish reading.
func (s *Stream) Close() error {
	s.abandon()
	if s.sole {
		return s.conn.Close()
	}
	return nil
}

// CloseWrite closes the writing direction: the peer reads io.EOF after
// what was written. Reading goes on.
func (s *Stream) CloseWrite() error {
	s.closeWrite()
	return nil
}

// CloseRead closes the reading direction: the peer's further writes fail
// with ErrStreamReset, and data not yet read is dropped.
func (s *Stream) CloseRead() error {
	s.closeRead(streamClosed)
	return nil
}

// Reset closes the stream abruptly in both directions: data in flight is
// dropped, and the peer's reads and writes fail with ErrStreamReset.
// Resetting the stream of [Plug.Dial] closes its connection at once.
func (s *Stream) Reset() error {
	if !s.writeClosed.Swap(true) {
		s.st.CancelWrite(streamReset) // wakes a blocked Write; safe beside it
	}
	s.closeRead(streamReset)
	if s.sole {
		s.conn.abort(connDone)
	}
	return nil
}

// abandon ends the stream both ways, as Close does, but leaves the
// connection alone.
func (s *Stream) abandon() {
	s.closeWrite()
	s.closeRead(streamClosed)
}

// closeWrite sends the end of the stream once, after what was written.
func (s *Stream) closeWrite() {
	if s.writeClosed.Swap(true) {
		return
	}
	if !s.writeMu.TryLock() {
		s.st.SetWriteDeadline(time.Unix(1, 0)) // wake a blocked Write
		s.writeMu.Lock()
	}
	s.st.Close() // fails only if the stream was reset, by either side
	s.writeMu.Unlock()
	s.maybeForget()
}

// closeRead stops reading once, telling the peer to stop sending with
// code, and wakes a blocked Read.
func (s *Stream) closeRead(code quicgo.StreamErrorCode) {
	if s.readClosed.Swap(true) {
		return
	}
	s.st.CancelRead(code)
	s.endRead()
}

// endRead tells the connection, once, that the application is done
// reading this stream: it has read to the end or an error, or closed
// the reading side. A peer closing the connection waits for that.
func (s *Stream) endRead() {
	s.readEnd.Do(func() {
		s.readEnded.Store(true)
		s.conn.readEnded()
		s.maybeForget()
	})
}

// maybeForget drops the stream from its connection's set once both
// directions are done here.
func (s *Stream) maybeForget() {
	if s.writeClosed.Load() && s.readEnded.Load() && !s.forgot.Swap(true) {
		s.conn.forget(s)
	}
}

// LocalAddr returns the connection's local UDP address.
func (s *Stream) LocalAddr() net.Addr { return s.conn.LocalAddr() }

// RemoteAddr returns the connection's remote UDP address.
func (s *Stream) RemoteAddr() net.Addr { return s.conn.RemoteAddr() }

// SetDeadline sets the read and write deadlines.
func (s *Stream) SetDeadline(t time.Time) error { return s.st.SetDeadline(t) }

// SetReadDeadline sets the deadline for Read calls, now and future.
func (s *Stream) SetReadDeadline(t time.Time) error { return s.st.SetReadDeadline(t) }

// SetWriteDeadline sets the deadline for Write calls, now and future.
func (s *Stream) SetWriteDeadline(t time.Time) error { return s.st.SetWriteDeadline(t) }

// RemoteKey returns the peer's Ed25519 key, which the TLS handshake
// proved, so that multiserver.RemoteKey finds it on the stream.
func (s *Stream) RemoteKey() ed25519.PublicKey { return s.conn.key }

// Session returns the connection that carries the stream, for
// multiserver.SessionOf. It is a [*Conn].
func (s *Stream) Session() multiserver.Session { return s.conn }

// mapErr turns quic-go's error into ours. closed says whether this side
// closed that direction.
func (s *Stream) mapErr(err error, closed *atomic.Bool) error {
	var se *quicgo.StreamError
	switch {
	case closed.Load():
		return net.ErrClosed
	case errors.Is(err, os.ErrDeadlineExceeded):
		return os.ErrDeadlineExceeded
	case s.conn.qc.Context().Err() != nil:
		return s.conn.closedErr()
	case errors.As(err, &se) && se.Remote:
		return ErrStreamReset
	case errors.As(err, &se):
		return net.ErrClosed // reset here: Reset, or a refused stream
	}
	return err
}

func (s *Stream) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "quic", Source: s.LocalAddr(), Addr: s.RemoteAddr(), Err: err}
}
