package yamux

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"time"

	yamuxgo "github.com/libp2p/go-yamux/v4"
)

// InitialStreamWindow is the receive window every stream starts with, in
// bytes. The yamux specification fixes it: a peer may send this much on a
// new stream before it hears from us.
const InitialStreamWindow = 256 << 10

// Defaults of [Config], as its field comments state.
const (
	defaultMaxStreamWindow    = 16 << 20
	defaultMaxSessionMemory   = 32 << 20
	defaultMaxIncomingStreams = 128
	defaultAcceptBacklog      = 256
	defaultKeepAliveInterval  = 30 * time.Second
	defaultKeepAliveTimeout   = 10 * time.Second
	defaultStreamOpenTimeout  = 10 * time.Second
	defaultCloseTimeout       = 5 * time.Second
)

// maxMessage is the largest yamux message we send, header included: the
// most a noise transport frame carries (noise.MaxPayload), so that each
// message goes out as one frame and one write to the underlying conn.
// go-yamux's 64 KiB default cut every full message into a 65,519-byte
// frame and a 17-byte one, each with its own syscall: about 15% slower
// over noise on loopback. Message sizes are the sender's choice; the peer
// takes any size its window allows, so this changes nothing on the wire
// but where data is cut.
const maxMessage = 65535 - 16

// Config tunes a [Session]. The zero value gives the documented defaults,
// a nil *Config too. The package copies it on entry and never modifies it,
// so one Config may serve any number of sessions.
type Config struct {
	// MaxStreamWindow is the most a stream's receive window may grow to,
	// in bytes. A window starts at [InitialStreamWindow] (256 KiB) and
	// doubles while the reader keeps up within a few round trips, if the
	// session's memory bound allows. If zero, 16 MiB. It may not be less
	// than 256 KiB nor more than 4 GiB−1.
	MaxStreamWindow int

	// MaxSessionMemory bounds, in bytes, the receive windows a session
	// reserves for its streams: 256 KiB for each stream when it opens,
	// more as windows grow. Windows grow only while the session holds
	// less than half of it, and Open fails with [ErrSessionMemory] when
	// another 256 KiB would exceed it. Streams the peer opens are bounded
	// by MaxIncomingStreams instead (see the package doc, # Memory). If
	// zero, 32 MiB; if negative, no bound. It may not be less than
	// 256 KiB.
	MaxSessionMemory int64

	// MaxIncomingStreams is how many streams the peer may have open at
	// once; the peer's further streams are reset. If zero, 128; if
	// negative, the peer may open none.
	MaxIncomingStreams int

	// AcceptBacklog is how many streams the peer opened may wait for
	// Accept; further streams are reset. It also bounds how many of our
	// own opened streams may await the peer's acknowledgement before Open
	// blocks (go-yamux assumes both sides use the same value). If zero,
	// 256.
	AcceptBacklog int

	// KeepAliveInterval is how long a session may hear nothing from the
	// peer before it sends a ping. If zero, 30s; if negative, no
	// keepalive pings are sent (the peer's pings are still answered).
	KeepAliveInterval time.Duration

	// KeepAliveTimeout is how long a ping waits for its answer before the
	// session is declared dead and closed with [ErrKeepAliveTimeout]. It
	// also bounds every write to the underlying conn: a write blocked
	// longer ends the session (go-yamux uses one timeout for both). If
	// zero, 10s. It may not be negative.
	KeepAliveTimeout time.Duration

	// StreamOpenTimeout bounds each Open, on top of its context: Open
	// waits while AcceptBacklog of our streams await the peer's
	// acknowledgement. If zero, 10s; if negative, only the context
	// bounds it.
	StreamOpenTimeout time.Duration

	// CloseTimeout is how long Close waits for data already written to
	// streams to reach the underlying conn before it closes the conn. If
	// zero, 5s; if negative, Close does not wait.
	CloseTimeout time.Duration

	// Logger receives what the caller cannot see for itself: keepalive
	// failures, streams reset for exceeding limits, protocol errors from
	// the peer; all at Debug level, tagged with "remote", and at most
	// about one a second per session after a burst of ten. If nil,
	// nothing is logged (go-yamux itself would write to stderr).
	Logger *slog.Logger
}

// withDefaults returns a copy of c with every zero field set to its
// default, or an error if a field is out of range.
func (c *Config) withDefaults() (Config, error) {
	var d Config
	if c != nil {
		d = *c
	}
	set := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	if d.MaxStreamWindow == 0 {
		d.MaxStreamWindow = defaultMaxStreamWindow
	}
	if d.MaxSessionMemory == 0 {
		d.MaxSessionMemory = defaultMaxSessionMemory
	}
	if d.MaxIncomingStreams == 0 {
		d.MaxIncomingStreams = defaultMaxIncomingStreams
	}
	if d.AcceptBacklog == 0 {
		d.AcceptBacklog = defaultAcceptBacklog
	}
	set(&d.KeepAliveInterval, defaultKeepAliveInterval)
	set(&d.KeepAliveTimeout, defaultKeepAliveTimeout)
	set(&d.StreamOpenTimeout, defaultStreamOpenTimeout)
	set(&d.CloseTimeout, defaultCloseTimeout)

	switch {
	case d.MaxStreamWindow < InitialStreamWindow || int64(d.MaxStreamWindow) > math.MaxUint32:
		return d, fmt.Errorf("yamux: Config.MaxStreamWindow %d is outside [256 KiB, 4 GiB)", d.MaxStreamWindow)
	case d.MaxSessionMemory > 0 && d.MaxSessionMemory < InitialStreamWindow:
		return d, fmt.Errorf("yamux: Config.MaxSessionMemory %d is less than 256 KiB", d.MaxSessionMemory)
	case d.AcceptBacklog < 0:
		return d, fmt.Errorf("yamux: Config.AcceptBacklog %d is negative", d.AcceptBacklog)
	case d.KeepAliveTimeout < 0:
		return d, fmt.Errorf("yamux: Config.KeepAliveTimeout %v is negative", d.KeepAliveTimeout)
	}
	return d, nil
}

// yamux returns the go-yamux configuration for c, which must have its
// defaults set, logging to w.
func (c *Config) yamux(w io.Writer) *yamuxgo.Config {
	y := yamuxgo.DefaultConfig()
	y.AcceptBacklog = c.AcceptBacklog
	y.EnableKeepAlive = c.KeepAliveInterval > 0
	if y.EnableKeepAlive {
		y.KeepAliveInterval = c.KeepAliveInterval
	}
	y.ConnectionWriteTimeout = c.KeepAliveTimeout
	y.MaxIncomingStreams = uint32(max(c.MaxIncomingStreams, 0))
	y.InitialStreamWindowSize = InitialStreamWindow
	y.MaxStreamWindowSize = uint32(c.MaxStreamWindow)
	y.MaxMessageSize = maxMessage
	y.LogOutput = w
	return y
}
