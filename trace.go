package multiserver

import (
	"context"
	"time"

	"github.com/f7d52a8e/multiserver/internal/dialtrace"
)

// A DialTrace is a set of hooks that [Network.Dial] and
// [Network.DialSession] call as they work, in the manner of
// net/http/httptrace.ClientTrace: put one in the dial's context with
// [WithDialTrace]. Every hook may be nil.
//
// Attempts race (see [Network.Dial]), so hooks may be called from several
// goroutines at once; they must return quickly and must not block. The
// addresses given to them are redacted ([address.Addr.Redacted]).
type DialTrace struct {
	// Skipped is called for each alternative of the dialed address
	// that is not tried, with why: it does not parse, or names a layer
	// this Network lacks ([ErrUnsupportedAddress]).
	Skipped func(addr string, err error)
	// AttemptStart is called when an alternative's attempt starts.
	AttemptStart func(addr string)
	// AttemptDone is called when an attempt ends: with nil when its whole
	// stack succeeded (it won, or it is closed because another won
	// first), or with its *[DialError].
	AttemptDone func(addr string, err error)
	// LayerStart is called when a layer of an attempt starts (the plug's
	// dial, each transform's handshake, the muxer's start), and when a
	// step within the plug's dial starts, as the plugs of this module
	// report them: "resolve" (a host name), "connect" (TCP to one
	// address), "tls", "proxy" (the CONNECT exchange with an HTTP proxy),
	// "upgrade" (the WebSocket upgrade), and for a relay "auth" (its
	// challenge, our signature and its answer to the request) and "pair"
	// (the wait until the listener has taken the stream).
	LayerStart func(LayerTrace)
	// LayerDone is called when what LayerStart announced ends, with its
	// time and error.
	LayerDone func(LayerTrace)
}

// A LayerTrace is what a [DialTrace] is told of one layer, or of one step
// within a plug's dial.
type LayerTrace struct {
	// Addr is the address of the attempt.
	Addr string
	// Layer names the layer: "net", "ws", "shs", "yamux".
	Layer string
	// Step is empty for the layer as a whole, or names a step within
	// it: "resolve", "connect", "tls", "proxy", "upgrade", "auth", "pair".
	Step string
	// Detail is what the step works on: the host name resolved, the
	// address connected to, the proxy. In LayerDone it adds what the
	// step found, such as the addresses a name resolved to.
	Detail string
	// Start is when it started.
	Start time.Time
	// Elapsed is how long it took; zero in LayerStart.
	Elapsed time.Duration
	// Err is why it failed, or nil; nil in LayerStart.
	Err error
}

type traceKey struct{}

// WithDialTrace returns a copy of ctx that carries t: a Dial given it
// calls t's hooks. A nil t returns ctx.
func WithDialTrace(ctx context.Context, t *DialTrace) context.Context {
	if t == nil {
		return ctx
	}
	return context.WithValue(ctx, traceKey{}, t)
}

// ContextDialTrace returns the DialTrace ctx carries, or nil.
func ContextDialTrace(ctx context.Context) *DialTrace {
	t, _ := ctx.Value(traceKey{}).(*DialTrace)
	return t
}

func (t *DialTrace) skipped(addr string, err error) {
	if t != nil && t.Skipped != nil {
		t.Skipped(addr, err)
	}
}

func (t *DialTrace) attemptStart(addr string) {
	if t != nil && t.AttemptStart != nil {
		t.AttemptStart(addr)
	}
}

func (t *DialTrace) attemptDone(addr string, err error) {
	if t != nil && t.AttemptDone != nil {
		t.AttemptDone(addr, err)
	}
}

// layer reports the start of a layer (or a step within it, if step is
// not empty) and returns the function that reports its end.
func (t *DialTrace) layer(addr, layer, step, detail string) func(result string, err error) {
	if t == nil || (t.LayerStart == nil && t.LayerDone == nil) {
		return func(string, error) {}
	}
	lt := LayerTrace{Addr: addr, Layer: layer, Step: step, Detail: detail, Start: time.Now()}
	if t.LayerStart != nil {
		t.LayerStart(lt)
	}
	return func(result string, err error) {
		lt.Elapsed, lt.Err = time.Since(lt.Start), err
		if result != "" {
			if lt.Detail != "" {
				lt.Detail += ": "
			}
			lt.Detail += result
		}
		if t.LayerDone != nil {
			t.LayerDone(lt)
		}
	}
}

// plugSteps returns ctx carrying the hook through which the plug of an
// attempt on addr reports the steps of its dial to t.
func (t *DialTrace) plugSteps(ctx context.Context, addr, plug string) context.Context {
	if t == nil {
		return ctx
	}
	return dialtrace.With(ctx, func(step, detail string) func(string, error) {
		return t.layer(addr, plug, step, detail)
	})
}
