package muxrpc

import (
	"encoding/json"
	"errors"
)

var (
	// ErrClosed reports a call or stream on a session that has ended.
	ErrClosed = errors.New("muxrpc: session closed")
	// ErrOverflow ends a stream whose reader fell behind by more than
	// Config.StreamBuffer bytes.
	ErrOverflow = errors.New("muxrpc: stream buffer overflow")
	// ErrTooManyCalls answers a call over Config.MaxIncoming.
	ErrTooManyCalls = errors.New("muxrpc: too many calls in progress")
	// ErrNoMethod answers a call of a method that has no handler.
	ErrNoMethod = errors.New("muxrpc: no such method")
)

// An Error is an error the peer sent: the end packet of a stream or the
// answer to a call, whose JSON body is {"name", "message", "stack"}.
type Error struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// Error returns the peer's message as it was sent.
func (e *Error) Error() string { return e.Message }

// errorBody returns the JSON body of an error answer for err, in the
// shape JavaScript muxrpc sends and reads.
func errorBody(err error) []byte {
	name := "Error"
	var re *Error
	if errors.As(err, &re) && re.Name != "" {
		name = re.Name
	}
	b, _ := json.Marshal(struct {
		Name    string `json:"name"`
		Message string `json:"message"`
		Stack   string `json:"stack"`
	}{name, err.Error(), ""})
	return b
}

// parseError reads an end or error body. A JSON true (a stream's clean
// end) gives nil; anything else gives an *Error.
func parseError(p Packet) error {
	if p.Type == JSON && string(p.Body) == "true" {
		return nil
	}
	e := &Error{Name: "Error"}
	if p.Type == JSON && json.Unmarshal(p.Body, e) == nil && e.Message != "" {
		return e
	}
	e.Message = string(p.Body)
	if len(e.Message) > 200 {
		e.Message = e.Message[:200]
	}
	return e
}
