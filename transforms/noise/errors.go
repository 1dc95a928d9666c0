package noise

import (
	"errors"
	"fmt"
	"io"

	"github.com/f7d52a8e/multiserver"
)

var (
	// ErrAuthFailed means a handshake message did not decrypt or did not
	// prove the key it should. On the server this usually means the client
	// has another app key or expects another server key; the protocol
	// cannot tell those apart. On the client the error also matches
	// [multiserver.ErrWrongKey].
	ErrAuthFailed = errors.New("noise: authentication failed")
	// ErrInvalidMessage means a handshake message has the wrong length or
	// payload: the peer does not speak this protocol.
	ErrInvalidMessage = errors.New("noise: invalid handshake message")
	// ErrInvalidFrame means a transport frame failed to decrypt or declared
	// a length shorter than the tag. The stream cannot recover.
	ErrInvalidFrame = errors.New("noise: invalid transport frame")
)

// tagged is an error with its own message that matches one or more
// sentinels with errors.Is.
type tagged struct {
	msg  string
	tags []error
}

func (e *tagged) Error() string   { return e.msg }
func (e *tagged) Unwrap() []error { return e.tags }

var (
	errClientAuth = &tagged{"noise: client's first message does not decrypt (it expects another server key, or has another app key)", []error{ErrAuthFailed}}
	errClientKey  = &tagged{"noise: client's ed25519 key does not match its static key", []error{ErrAuthFailed}}
	errConfirm    = &tagged{"noise: client did not confirm the session keys (a replayed first message?)", []error{ErrAuthFailed}}
	errServerAuth = &tagged{"noise: server's reply does not decrypt (it does not hold the expected key)", []error{ErrAuthFailed, multiserver.ErrWrongKey}}
	errBadTag     = &tagged{"noise: transport frame does not decrypt (bad tag)", []error{ErrInvalidFrame}}
	errNoEnd      = fmt.Errorf("noise: peer hung up without end of stream: %w", io.ErrUnexpectedEOF)
	errWriteShut  = errors.New("noise: write after CloseWrite")
	errNonces     = errors.New("noise: nonces exhausted; a new handshake is needed")
)

func errShortFrame(n int) error {
	return &tagged{fmt.Sprintf("noise: frame length %d is shorter than the %d-byte tag", n, TagSize), []error{ErrInvalidFrame}}
}

func errMsgLength(name string, got, want int) error {
	return &tagged{fmt.Sprintf("noise: %s is %d bytes, want %d (not noise?)", name, got, want), []error{ErrInvalidMessage}}
}
