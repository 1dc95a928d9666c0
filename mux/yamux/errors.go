package yamux

import (
	"errors"
	"io"
	"net"

	yamuxgo "github.com/libp2p/go-yamux/v4"
)

var (
	// ErrStreamReset means the peer reset the stream (or the peer's
	// session refused it: backlog or MaxIncomingStreams exceeded). Data
	// not yet read is lost. A stream this side reset or closed reports
	// net.ErrClosed instead.
	ErrStreamReset = errors.New("yamux: stream reset")

	// ErrKeepAliveTimeout means the peer did not answer a keepalive ping
	// within [Config.KeepAliveTimeout], so the session was closed. Errors
	// that wrap it also match net.ErrClosed, and report Timeout.
	ErrKeepAliveTimeout error = &timeoutError{"yamux: keepalive timeout"}

	// ErrSessionMemory means Open could not start a stream without
	// exceeding [Config.MaxSessionMemory]. It clears as streams finish.
	ErrSessionMemory = errors.New("yamux: session memory limit reached")
)

var (
	errPeerClosed  = errors.New("yamux: connection closed by peer")
	errPeerClosing = errors.New("yamux: peer is closing the session")
)

type timeoutError struct{ msg string }

func (e *timeoutError) Error() string { return e.msg }
func (e *timeoutError) Timeout() bool { return true }

// closedError reports an operation on a session that ended for a reason
// other than Close: it matches net.ErrClosed and its cause.
type closedError struct{ cause error }

func (e *closedError) Error() string   { return "yamux: session closed: " + e.cause.Error() }
func (e *closedError) Unwrap() []error { return []error{net.ErrClosed, e.cause} }

// Timeout reports whether the session ended on a timeout.
func (e *closedError) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.cause, &t) && t.Timeout()
}

// closedErr turns the reason go-yamux gives for a session's end into the
// error our operations return: net.ErrClosed itself after Close,
// otherwise a closedError naming the cause.
func closedErr(cause error) error {
	switch {
	case cause == nil, cause == yamuxgo.ErrSessionShutdown:
		return net.ErrClosed
	case cause == yamuxgo.ErrKeepAliveTimeout:
		cause = ErrKeepAliveTimeout
	case cause == io.EOF, cause == io.ErrUnexpectedEOF:
		cause = errPeerClosed
	}
	return &closedError{cause}
}
