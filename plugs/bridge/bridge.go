package bridge

import (
	"github.com/f7d52a8e/multiserver/address"
	ibridge "github.com/f7d52a8e/multiserver/internal/bridge"
)

// Plug is the "sse" or "poll" plug: the HTTP bridge straight to a
// server (spec/bridge.md), for clients behind proxies that break
// WebSocket. Its addresses are "sse:http://HOST[:PORT]/PATH~noise:KEY"
// (https too) and "poll:…"; the server's key is the transform's. A
// stack without a transform that authenticates (noauth, plaintext) is
// refused.
//
// Both names serve the same requests: a server listening on "sse:URL"
// also takes poll clients at URL, and the other way round. Its Mount
// method returns an http.Handler that serves a bridge URL from a web
// server of your own; a Listen of that URL then takes its sessions from
// it.
//
// Set Identity before first use; a Plug must not be copied after it.
// Its fields and methods are documented with `go doc` on the internal
// type it aliases.
type Plug = ibridge.Plug

// StatusError is a server's answer other than 200 to a bridge request:
// its Kind ("open", "sse", "poll", "send", "close"), HTTP Code, text
// (Msg) and, for a 409, the Offset the server expects.
type StatusError = ibridge.StatusError

// URLAddr is the address of a bridge conn's server: its URL.
type URLAddr = ibridge.URLAddr

// ErrRejected matches the error of a request the server refused for
// good (spec/bridge.md §2): a bad signature or a stale time (401), a
// session it does not know (404), a malformed request (400, 405, 415).
// A ladder of carriers moves on when it sees one.
var ErrRejected = ibridge.ErrRejected

// Defaults; see [Plug].
const (
	DefaultWindow         = ibridge.DefaultWindow
	DefaultMaxBody        = ibridge.DefaultMaxBody
	DefaultMaxSessions    = ibridge.DefaultMaxSessions
	DefaultMaxPerSource   = ibridge.DefaultMaxPerSource
	DefaultSessionTimeout = ibridge.DefaultSessionTimeout
	DefaultPollHold       = ibridge.DefaultPollHold
	DefaultSSEBytes       = ibridge.DefaultSSEBytes
	DefaultSSETime        = ibridge.DefaultSSETime
	DefaultHeartbeat      = ibridge.DefaultHeartbeat
)

// Kind returns the grammar of the layer named scheme ("sse" or "poll";
// if empty, "sse") for an [address.Parser]: an http or https URL with a
// host, by the rules of a ws segment ("sse:https://h.example/ms").
func Kind(scheme string) address.Kind { return ibridge.Kind(scheme) }
