package shs

import (
	"errors"
	"fmt"
	"io"

	"github.com/f7d52a8e/multiserver"
)

var (
	// ErrInvalidChallenge means the peer's first message (msg1 or msg2)
	// did not carry a valid HMAC under our app key: almost always a peer
	// on another network (wrong app key), or something that is not SHS.
	ErrInvalidChallenge = errors.New("shs: invalid challenge (wrong app key?)")
	// ErrAuthFailed means the peer's proof of its long-term key (msg3 or
	// msg4) did not open or did not verify. On the server this usually
	// means the client expected another server key; on the client the
	// error also matches [multiserver.ErrWrongKey].
	ErrAuthFailed = errors.New("shs: authentication failed")
	// ErrInvalidFrame means a box stream frame failed to open or declared
	// a body longer than [MaxFrameBody]. The stream cannot recover.
	ErrInvalidFrame = errors.New("shs: invalid box stream frame")
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
	errClientChallenge = &tagged{"shs: client sent invalid challenge (wrong app key?)", []error{ErrInvalidChallenge}}
	errServerChallenge = &tagged{"shs: server sent invalid challenge (wrong app key?)", []error{ErrInvalidChallenge}}
	errClientAuth      = &tagged{"shs: client failed to authenticate (it may expect another server key)", []error{ErrAuthFailed}}
	errServerAuth      = &tagged{"shs: server failed to prove its key", []error{ErrAuthFailed, multiserver.ErrWrongKey}}
	errBadHeader       = &tagged{"shs: invalid frame header (bad MAC)", []error{ErrInvalidFrame}}
	errBadBody         = &tagged{"shs: invalid frame body (bad MAC)", []error{ErrInvalidFrame}}
	errNoGoodbye       = fmt.Errorf("shs: peer hung up without goodbye: %w", io.ErrUnexpectedEOF)
	errWriteShut       = errors.New("shs: write after CloseWrite")
)

func errFrameTooLong(n int) error {
	return &tagged{fmt.Sprintf("shs: frame length %d exceeds %d", n, MaxFrameBody), []error{ErrInvalidFrame}}
}
