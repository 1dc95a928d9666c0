// Package deadline gives a conn's read or write deadline as a channel
// that a blocked call selects on, for conns that do not wait in the
// kernel (a WebSocket conn, a resumable stream). Setting the deadline
// again reopens the channel if it had passed, so that a conn outlives
// its timeouts, as net.Conn's contract asks.
package deadline

import (
	"sync"
	"time"
)

// Deadline is one direction's deadline. Its zero value has none set.
type Deadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	passed chan struct{} // closed once the deadline has passed
}

// Set arms the deadline for t; the zero t clears it, and a t in the past
// makes it pass now.
func (d *Deadline) Set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.init()
	if d.timer != nil && !d.timer.Stop() {
		<-d.passed // the timer has fired, or is closing passed now
	}
	d.timer = nil
	closed := isClosed(d.passed)
	switch dur := time.Until(t); {
	case t.IsZero() || dur > 0:
		if closed {
			d.passed = make(chan struct{})
		}
		if !t.IsZero() {
			passed := d.passed
			d.timer = time.AfterFunc(dur, func() { close(passed) })
		}
	case !closed:
		close(d.passed)
	}
}

// Done returns a channel that is closed once the deadline has passed. A
// later Set may replace it: take it again for each wait.
func (d *Deadline) Done() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.init()
	return d.passed
}

// Passed reports whether the deadline has passed.
func (d *Deadline) Passed() bool { return isClosed(d.Done()) }

// Stop stops the timer, for a conn that closes; the deadline no longer
// passes by itself. Set may still be called after it.
func (d *Deadline) Stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	// A timer stopped before it fired is forgotten, or the next Set
	// would wait for it to close passed. One that fired closes passed.
	if d.timer != nil && d.timer.Stop() {
		d.timer = nil
	}
}

func (d *Deadline) init() {
	if d.passed == nil {
		d.passed = make(chan struct{})
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
