// Package race runs attempts at the same goal, staggered, and keeps the
// first that succeeds, as Happy Eyeballs (RFC 8305) races addresses.
package race

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNotTried is the error, wrapped with the context's cause, of an
// attempt that [First] never started.
var ErrNotTried = errors.New("race: attempt not tried")

// First runs try(ctx, 0), try(ctx, 1), …, try(ctx, n-1) and returns the
// value and index of the first that succeeds. While one attempt is in
// progress the next starts after stagger, or at once when one fails; if
// stagger is zero or negative, attempts run one at a time. Once one
// succeeds, First cancels the ctx given to the others and starts no more,
// and passes every later success to discard.
//
// If none succeeds, the index is -1 and errs holds one error for each
// attempt, in order: the error try returned, or for an attempt never
// started (because ctx ended) one matching [ErrNotTried]. If one
// succeeds, errs is nil.
//
// The state is next (the first attempt not started), running (attempts
// started and not yet ended) and one stagger timer, armed only while an
// attempt is left to start, so no path can start one that does not
// exist. First returns only after every attempt it started has ended, so
// no goroutine outlives it.
func First[T any](ctx context.Context, n int, stagger time.Duration,
	try func(ctx context.Context, i int) (T, error), discard func(T)) (won T, index int, errs []error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		i   int
		v   T
		err error
	}
	results := make(chan result, n)
	next, running := 0, 0
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	// start starts the next attempt, if one is left and none has won,
	// and arms the timer for the one after it.
	start := func() {
		timer.Stop()
		if next >= n || ctx.Err() != nil {
			return
		}
		i := next
		next++
		running++
		go func() {
			v, err := try(ctx, i)
			results <- result{i, v, err}
		}()
		if stagger > 0 && next < n {
			timer.Reset(stagger)
		}
	}
	start()
	errs = make([]error, n)
	index = -1
	for running > 0 {
		select {
		case <-timer.C:
			start()
		case r := <-results:
			running--
			switch {
			case r.err != nil:
				errs[r.i] = r.err
				start()
			case index < 0:
				won, index = r.v, r.i
				cancel() // ends the others, and starts no more
				timer.Stop()
			default:
				discard(r.v)
			}
		}
	}
	if index >= 0 {
		return won, index, nil
	}
	for i := next; i < n; i++ {
		errs[i] = fmt.Errorf("%w: %w", ErrNotTried, context.Cause(ctx))
	}
	return won, -1, errs
}
