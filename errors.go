package multiserver

import (
	"errors"
	"net"
	"strings"

	"github.com/f7d52a8e/multiserver/address"
)

var (
	// ErrUnsupportedAddress means no configured plug and transforms match
	// an address.
	ErrUnsupportedAddress = errors.New("multiserver: no plug or transform for address")
	// ErrHandshake matches every [*HandshakeError].
	ErrHandshake = errors.New("multiserver: handshake failed")
	// ErrWrongKey means the peer proved a key other than the one expected.
	// Protocols cannot always tell this case apart: an shs client with the
	// wrong server key just sees the server hang up, which is ErrHandshake
	// wrapping io.EOF.
	ErrWrongKey = errors.New("multiserver: remote key mismatch")
)

// A HandshakeError reports a failed transform handshake. It matches
// [ErrHandshake] with errors.Is and unwraps to its cause ([ErrWrongKey],
// io.EOF, a timeout, ...).
type HandshakeError struct {
	Transform string   // "shs", "noise", ...
	Remote    net.Addr // the peer's transport address, if known
	Err       error
}

func (e *HandshakeError) Error() string {
	// Transforms prefix their errors with their name; say it once.
	return e.Transform + " handshake: " + strings.TrimPrefix(e.Err.Error(), e.Transform+": ")
}
func (e *HandshakeError) Unwrap() error        { return e.Err }
func (e *HandshakeError) Is(target error) bool { return target == ErrHandshake }

// Timeout reports whether the handshake ran out of time.
func (e *HandshakeError) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.Err, &t) && t.Timeout()
}

// A DialError reports why one address of a dial failed: which address,
// at which layer (the plug's or a transform's name), and the cause.
// When every address fails, Dial returns errors.Join of one DialError per
// address.
//
// Addr is meant to be shown, so it holds no secret: the seed of an
// invite's "shs:KEY:SEED" appears as "shs:KEY:<redacted>"
// ([address.Addr.Redacted]).
type DialError struct {
	Addr  string // the address tried, as advertised, with shs seeds redacted
	Layer string // "net", "shs", ...; empty when the address was not tried
	Err   error
}

// Error names the address, the layer and the cause. It redacts shs seeds
// from Addr ([address.Redact]) even in a DialError built by hand.
func (e *DialError) Error() string {
	var he *HandshakeError
	addr := address.Redact(e.Addr)
	msg := e.Err.Error()
	// The layer is said once: not again when its error names it already,
	// as a package's errors do ("relay: denied: NO_PEER").
	if e.Layer == "" || errors.As(e.Err, &he) || strings.HasPrefix(msg, e.Layer+": ") {
		return "dial " + addr + ": " + msg
	}
	return "dial " + addr + ": " + e.Layer + ": " + msg
}

func (e *DialError) Unwrap() error { return e.Err }

// Timeout reports whether the attempt ran out of time.
func (e *DialError) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.Err, &t) && t.Timeout()
}
