// Package ctxguard bounds a handshake's reads and writes on a net.Conn by
// a context, the one way the secure transforms do it: a context that ends
// sets the conn's deadline in the past, which unblocks any I/O at once.
package ctxguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// past is a deadline that has passed: I/O fails at once.
var past = time.Unix(1, 0)

// Run runs f, aborting c's I/O with a past deadline if ctx ends first.
// If ctx ended, the result is an error even when f succeeded: c's deadline
// is in the past then, and the conn is of no use. name prefixes the
// errors Run makes ("shs", "noise").
func Run(ctx context.Context, c net.Conn, name string, f func() error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: handshake not started: %w", name, err)
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		c.SetDeadline(past)
		close(fired)
	})
	err := f()
	if stop() {
		return err
	}
	<-fired // the deadline is set; no goroutine is left behind
	if err == nil {
		return fmt.Errorf("%s: handshake: %w", name, ctx.Err())
	}
	return fmt.Errorf("%w: %w", err, ctx.Err())
}

// ReadFirst runs read, the read of a peer's first message inside Run,
// under a read deadline of timeout from now, unless ctx ends first
// (or timeout is negative), and then clears the read deadline. Clearing,
// not setting ctx's deadline again, leaves a conn that a server hands
// back free of deadlines its caller never set; ctx still ends the
// handshake through Run. A timeout is reported as what, then "within"
// timeout, wrapping os.ErrDeadlineExceeded.
func ReadFirst(ctx context.Context, c net.Conn, timeout time.Duration, what string, read func() error) error {
	deadline := time.Now().Add(timeout)
	if ctxDeadline, ok := ctx.Deadline(); timeout < 0 || ok && !deadline.Before(ctxDeadline) {
		return read() // ctx ends first, and Run sees to it
	}
	c.SetReadDeadline(deadline)
	err := read()
	c.SetReadDeadline(time.Time{})
	// Run's past deadline, if ctx ended meanwhile, must stay: ctx.Err is
	// set before its AfterFunc runs, so either this sees it or the
	// AfterFunc comes after the line above.
	if ctx.Err() != nil {
		c.SetDeadline(past)
	}
	if err != nil && ctx.Err() == nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%s within %v: %w", what, timeout, err)
	}
	return err
}
