package relay

import (
	"errors"
	"fmt"
	"time"
)

// DenyCode says why a relay refused (spec/relay.md §5).
type DenyCode uint16

// The codes of DENIED frames.
const (
	CodeBadFrame         DenyCode = 1  // malformed or unexpected frame
	CodeBadOrigin        DenyCode = 2  // AUTH names another relay's origin
	CodeBadSignature     DenyCode = 3  // AUTH's signature does not verify
	CodeHandshakeTimeout DenyCode = 4  // no request in time
	CodeNoPeer           DenyCode = 5  // nobody registered the topic
	CodeTimeout          DenyCode = 6  // the listener did not accept in time
	CodeLimit            DenyCode = 7  // a limit refused the request
	CodeBadToken         DenyCode = 8  // ACCEPT with an unknown token or by another key
	CodeReplaced         DenyCode = 9  // a newer registration of the key
	CodeShuttingDown     DenyCode = 10 // the relay is shutting down
)

var codeNames = map[DenyCode]string{
	CodeBadFrame: "BAD_FRAME", CodeBadOrigin: "BAD_ORIGIN", CodeBadSignature: "BAD_SIGNATURE",
	CodeHandshakeTimeout: "HANDSHAKE_TIMEOUT", CodeNoPeer: "NO_PEER", CodeTimeout: "TIMEOUT",
	CodeLimit: "LIMIT", CodeBadToken: "BAD_TOKEN", CodeReplaced: "REPLACED",
	CodeShuttingDown: "SHUTTING_DOWN",
}

func (c DenyCode) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("DenyCode(%d)", uint16(c))
}

var (
	// ErrDenied matches every *[DeniedError].
	ErrDenied = errors.New("relay: denied")
	// ErrNoPeer matches a DENIED NO_PEER: nobody is registered for the
	// topic dialed, or the listener went away before it accepted.
	ErrNoPeer = errors.New("relay: nobody is registered for the topic")
	// ErrReplaced matches the end of a [Registration] that a newer
	// registration of the same key replaced.
	ErrReplaced = errors.New("relay: registration replaced by a newer one")
	// ErrUnreachable matches a failure to reach the relay: DNS, TCP, a
	// proxy, TLS or the WebSocket upgrade, before any relay frame.
	ErrUnreachable = errors.New("relay: relay unreachable")
	// ErrRestarting matches a *[RestartingError].
	ErrRestarting = errors.New("relay: relay is restarting")
	// ErrProtocol matches a relay that broke the protocol: a malformed
	// or unexpected frame, a wrong magic or version.
	ErrProtocol = errors.New("relay: protocol error")
)

// DeniedError is a DENIED frame from the relay. It matches [ErrDenied],
// and [ErrNoPeer] or [ErrReplaced] for those codes.
type DeniedError struct {
	Code DenyCode
	Text string // the relay's words, for people
}

func (e *DeniedError) Error() string {
	if e.Text == "" {
		return "relay: denied: " + e.Code.String()
	}
	return "relay: denied: " + e.Code.String() + ": " + e.Text
}

// Is reports whether target is ErrDenied or the sentinel of e's code.
func (e *DeniedError) Is(target error) bool {
	switch target {
	case ErrDenied:
		return true
	case ErrNoPeer:
		return e.Code == CodeNoPeer
	case ErrReplaced:
		return e.Code == CodeReplaced
	}
	return false
}

// Timeout reports whether the relay gave up waiting (pairing or
// handshake timeout).
func (e *DeniedError) Timeout() bool {
	return e.Code == CodeTimeout || e.Code == CodeHandshakeTimeout
}

// RestartingError is a RESTARTING frame: the relay is going away and
// says when to come back.
type RestartingError struct {
	ReconnectIn time.Duration // when to try again
	TryFor      time.Duration // how long to keep trying
}

func (e *RestartingError) Error() string {
	return fmt.Sprintf("relay: relay is restarting: reconnect in %v, try for %v", e.ReconnectIn, e.TryFor)
}

// Is reports whether target is ErrRestarting.
func (e *RestartingError) Is(target error) bool { return target == ErrRestarting }
