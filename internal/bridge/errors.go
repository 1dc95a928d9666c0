package bridge

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrRejected matches the error of a request the server refused for
// good (spec/bridge.md §2): a bad signature or a stale time (401), a
// session it does not know (404), a malformed request (400, 405, 415).
// A ladder of carriers moves on when it sees one.
var ErrRejected = errors.New("bridge: request rejected")

// StatusError is a server's answer other than 200 to a bridge request.
type StatusError struct {
	Kind   string // the request's kind: "open", "sse", "poll", "send", "close"
	Code   int    // the HTTP status
	Msg    string // the answer's text, shortened
	Offset uint64 // Bridge-Offset, for a 409
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("bridge: %s: server answered %d %s: %s", e.Kind, e.Code, http.StatusText(e.Code), e.Msg)
}

// Is reports whether e matches [ErrRejected]: a refusal that trying
// again will not change.
func (e *StatusError) Is(target error) bool { return target == ErrRejected && e.hard() }

func (e *StatusError) hard() bool {
	switch e.Code {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
		http.StatusMethodNotAllowed, http.StatusGone, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return true
	}
	return false
}

// statusError reads a refusal's text (at most 512 bytes of it).
func statusError(kind string, code int, body []byte, offset string) *StatusError {
	msg := strings.TrimSpace(strings.ToValidUTF8(string(body[:min(len(body), 512)]), "?"))
	e := &StatusError{Kind: kind, Code: code, Msg: msg}
	if code == http.StatusConflict {
		e.Offset, _ = parseOffset(offset)
	}
	return e
}
