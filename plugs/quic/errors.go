package quic

import (
	"crypto/ed25519"
	"errors"
	"net"

	quicgo "github.com/quic-go/quic-go"

	"github.com/f7d52a8e/multiserver/address"
)

var (
	// ErrAppKey means the peer's certificate does not carry the tag of
	// our app key: the peer is on another network. Both sides can tell,
	// since both check the other's certificate.
	ErrAppKey = errors.New("quic: peer has another app key")

	// ErrCertificate means the peer's certificate is not one this
	// protocol makes: not exactly one, not an Ed25519 key, or not signed
	// by its own key.
	ErrCertificate = errors.New("quic: invalid peer certificate")

	// ErrStreamReset means the peer reset the stream, or stopped reading
	// it (closed it) while this side was writing. Data not yet read is
	// lost. A stream this side closed reports net.ErrClosed instead.
	ErrStreamReset = errors.New("quic: stream reset by peer")

	// ErrPeerClosing means the peer has announced that it is closing the
	// connection (it sent GOAWAY), so Open starts no more streams. It
	// matches net.ErrClosed too.
	ErrPeerClosing error = &closingError{}
)

// appKeyError names the peer whose certificate lacks our app key's tag.
type appKeyError struct{ key ed25519.PublicKey }

func (e *appKeyError) Error() string {
	return "quic: peer " + address.EncodeKey(e.key) + " has another app key"
}
func (e *appKeyError) Is(target error) bool { return target == ErrAppKey }

type closingError struct{}

func (*closingError) Error() string { return "quic: peer is closing the connection" }
func (*closingError) Unwrap() error { return net.ErrClosed }

// Application error codes of streams (RESET_STREAM, STOP_SENDING) and of
// connections (CONNECTION_CLOSE), as spec/quic.md lists them.
const (
	// streamClosed stops the peer's sending when this side closes a
	// stream, or its reading side, before the end.
	streamClosed quicgo.StreamErrorCode = 0x0
	// streamReset is an abrupt end, by [Stream.Reset].
	streamReset quicgo.StreamErrorCode = 0x1
	// streamRefused ends a stream the acceptor will not deliver: a bad
	// stream header, or one opened after GOAWAY.
	streamRefused quicgo.StreamErrorCode = 0x2

	// connDone closes a connection whose work is done.
	connDone quicgo.ApplicationErrorCode = 0x0
	// connProtocol closes a connection whose peer broke this protocol.
	connProtocol quicgo.ApplicationErrorCode = 0x1
	// connTimeout closes a connection whose peer did not finish within
	// CloseTimeout.
	connTimeout quicgo.ApplicationErrorCode = 0x2
)

// closedError reports an operation on a connection that ended for a
// reason other than this side's Close: it matches net.ErrClosed and its
// cause (quic-go's *ApplicationError, *IdleTimeoutError, ...).
type closedError struct{ cause error }

func (e *closedError) Error() string   { return "quic: connection closed: " + e.cause.Error() }
func (e *closedError) Unwrap() []error { return []error{net.ErrClosed, e.cause} }

// Timeout reports whether the connection ended on a timeout.
func (e *closedError) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.cause, &t) && t.Timeout()
}
