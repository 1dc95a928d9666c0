package ratelog

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/f7d52a8e/multiserver/internal/logtest"
)

// pending reports whether l has a timer armed.
func (l *Logger) pending() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.timer != nil
}

// TestTimerOnlyWhilePending checks that a timer is armed only while a
// count waits to be written: not under the limit, and not once the count
// is out, whether the timer or a later record wrote it.
func TestTimerOnlyWhilePending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf logtest.Buffer
		l := New(logtest.Debug(&buf), 2, time.Second)
		defer l.Close()
		l.Debug("a")
		l.Debug("b")
		if l.pending() {
			t.Fatal("a timer is armed under the limit")
		}
		l.Debug("dropped")
		if !l.pending() {
			t.Fatal("no timer armed for a count pending")
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if l.pending() {
			t.Fatal("the timer is still armed after writing the count")
		}
		// A record of a later interval takes the count out first: its
		// timer is stopped.
		l.Debug("c")
		l.Debug("d")
		l.Debug("dropped")
		l.mu.Lock()
		l.window = l.window.Add(-time.Second) // the interval is over, the timer not fired yet
		l.mu.Unlock()
		l.Debug("e")
		if l.pending() {
			t.Fatal("the timer is still armed after a record wrote the count")
		}
		l.Close()
		if l.pending() {
			t.Fatal("the timer is still armed after Close")
		}
	})
}
