package race_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/f7d52a8e/multiserver/internal/race"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// An outcome is what one scripted attempt does: after delay, fail or
// succeed, unless ctx ends first.
type outcome struct {
	delay time.Duration
	fail  bool
}

// A log records, in a bubble's exact time, when each attempt started and
// how it ended.
type log struct {
	mu        sync.Mutex
	start     map[int]time.Duration
	success   map[int]time.Duration // attempts whose try returned a value
	failed    map[int]time.Duration // attempts that failed on their own
	discarded map[int]int
	active    atomic.Int32
}

// TestFirstRandomized runs thousands of random races inside synctest
// bubbles, where time is exact: 1 to 6 attempts that fail or succeed
// around the stagger, sometimes a parent context that ends mid-race.
// First must not panic; the earliest success wins, every other success
// is discarded, a failed race has one error per attempt, each start
// keeps to the stagger, and no attempt runs past First's return.
func TestFirstRandomized(t *testing.T) {
	runs := 4000
	if testing.Short() {
		runs = 500
	}
	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, seed))
	const unit = 100 * time.Millisecond
	delays := []time.Duration{0, 1, unit / 2, unit - 1, unit, unit + 1, 3 * unit / 2, 2 * unit, 5 * unit}
	for run := range runs {
		n := 1 + r.IntN(6)
		script := make([]outcome, n)
		for i := range script {
			d := delays[r.IntN(len(delays))]
			if r.IntN(4) == 0 {
				d = time.Duration(r.Int64N(int64(3 * unit)))
			}
			script[i] = outcome{delay: d, fail: r.IntN(2) == 0}
		}
		stagger := unit
		switch r.IntN(8) {
		case 0:
			stagger = 0
		case 1:
			stagger = -1
		}
		var cancelAfter time.Duration
		if r.IntN(4) == 0 {
			cancelAfter = delays[r.IntN(len(delays))] + 1
		}
		name := fmt.Sprintf("seed %d run %d: script %v stagger %v cancel %v", seed, run, script, stagger, cancelAfter)
		synctest.Test(t, func(t *testing.T) { checkFirst(t, name, script, stagger, cancelAfter) })
		if t.Failed() {
			return
		}
	}
}

func checkFirst(t *testing.T, name string, script []outcome, stagger, cancelAfter time.Duration) {
	t0 := time.Now()
	now := func() time.Duration { return time.Since(t0) }
	ctx := context.Background()
	if cancelAfter > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cancelAfter)
		defer cancel()
	}
	l := &log{start: map[int]time.Duration{}, success: map[int]time.Duration{},
		failed: map[int]time.Duration{}, discarded: map[int]int{}}
	try := func(ctx context.Context, i int) (int, error) {
		l.active.Add(1)
		defer l.active.Add(-1)
		l.mu.Lock()
		if _, ok := l.start[i]; ok {
			t.Errorf("%s: attempt %d started twice", name, i)
		}
		l.start[i] = now()
		l.mu.Unlock()
		tm := time.NewTimer(script[i].delay)
		defer tm.Stop()
		select {
		case <-ctx.Done():
			return 0, context.Cause(ctx)
		case <-tm.C:
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if script[i].fail {
			l.failed[i] = now()
			return 0, fmt.Errorf("attempt %d failed", i)
		}
		l.success[i] = now()
		return i, nil
	}
	discard := func(v int) {
		l.mu.Lock()
		l.discarded[v]++
		l.mu.Unlock()
	}
	v, won, errs := race.First(ctx, len(script), stagger, try, discard)
	if a := l.active.Load(); a != 0 {
		t.Fatalf("%s: %d attempts still running after First returned", name, a)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	end := now()
	if won >= 0 {
		checkWon(t, name, l, v, won, errs)
		end = l.success[won]
	} else {
		checkLost(t, name, l, script, errs)
	}
	if cancelAfter > 0 {
		end = min(end, cancelAfter)
	}
	checkStarts(t, name, l, len(script), stagger, end)
	checkFailuresStart(t, name, l, len(script), end)
}

// checkFailuresStart checks that a failure before end starts the next
// attempt at once, if one is left.
func checkFailuresStart(t *testing.T, name string, l *log, n int, end time.Duration) {
	t.Helper()
	for i, f := range l.failed {
		if f >= end {
			continue
		}
		before, at := 0, false
		for _, s := range l.start {
			if s < f {
				before++
			}
			at = at || s == f
		}
		if before < n && !at {
			t.Errorf("%s: attempt %d failed at %v and none started then; starts %v", name, i, f, l.start)
		}
	}
}

func checkWon(t *testing.T, name string, l *log, v, won int, errs []error) {
	t.Helper()
	at, ok := l.success[won]
	if !ok || v != won {
		t.Fatalf("%s: First = %d, index %d, which did not succeed", name, v, won)
	}
	if errs != nil {
		t.Errorf("%s: a won race returned errors %v", name, errs)
	}
	for i, s := range l.success {
		if s < at {
			t.Errorf("%s: attempt %d won at %v, but %d succeeded earlier, at %v", name, won, at, i, s)
		}
		if want := 1; i != won && l.discarded[i] != want {
			t.Errorf("%s: losing success %d discarded %d times, want once", name, i, l.discarded[i])
		}
	}
	if l.discarded[won] != 0 {
		t.Errorf("%s: the winner %d was discarded", name, won)
	}
}

func checkLost(t *testing.T, name string, l *log, script []outcome, errs []error) {
	t.Helper()
	if len(l.success) != 0 {
		t.Fatalf("%s: attempts %v succeeded, but First reported none", name, l.success)
	}
	if len(errs) != len(script) {
		t.Fatalf("%s: %d errors for %d attempts: %v", name, len(errs), len(script), errs)
	}
	for i, err := range errs {
		_, started := l.start[i]
		switch {
		case err == nil:
			t.Errorf("%s: attempt %d has no error", name, i)
		case started == errors.Is(err, race.ErrNotTried):
			t.Errorf("%s: attempt %d started %v, error %v", name, i, started, err)
		}
	}
}

// checkStarts checks that attempts started in order, each as the one
// before it failed or a stagger after it started, and none after end
// (the win, or the return).
func checkStarts(t *testing.T, name string, l *log, n int, stagger, end time.Duration) {
	t.Helper()
	if _, ok := l.start[0]; !ok {
		t.Fatalf("%s: the first attempt never started", name)
	}
	for i := 1; i < n; i++ {
		s, ok := l.start[i]
		if !ok {
			for j := i + 1; j < n; j++ {
				if _, ok := l.start[j]; ok {
					t.Errorf("%s: attempt %d started, but %d before it did not", name, j, i)
				}
			}
			return
		}
		prev := l.start[i-1]
		byFailure := false
		for _, f := range l.failed {
			byFailure = byFailure || f == s
		}
		byStagger := stagger > 0 && s == prev+stagger
		if s < prev || s > end || !byFailure && !byStagger {
			t.Errorf("%s: attempt %d started at %v; previous at %v, failures %v, end %v",
				name, i, s, prev, l.failed, end)
		}
	}
}
