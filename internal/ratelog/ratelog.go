// Package ratelog writes debug records at a limited rate, so that a flood
// of bad peers cannot flood the log (cf. tailscale's
// logger.RateLimitedFn).
package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// A Logger writes Debug records to a slog.Logger, at most a limit per
// interval. Past the limit, records are counted instead, and the count is
// written as one "records suppressed" record (key "count") when the
// interval ends, or with the first record of a later interval if that
// comes first. A timer waits for the end of an interval only while a
// count is pending. It is safe for concurrent use; a nil *Logger writes
// nothing.
type Logger struct {
	log      *slog.Logger
	limit    int
	interval time.Duration

	mu         sync.Mutex
	window     time.Time   // start of the current interval
	n          int         // records in the current interval
	suppressed int         // records dropped in the current interval
	timer      *time.Timer // writes the count at the interval's end; nil unless a count is pending
	closed     bool
}

// New returns a Logger that writes to log at most limit records per
// interval. A nil log writes nothing.
func New(log *slog.Logger, limit int, interval time.Duration) *Logger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Logger{log: log, limit: limit, interval: interval}
}

// Debug writes a record at debug level, unless the limit of the current
// interval is spent. When debug records are disabled it costs no lock
// and counts nothing. After Close it writes nothing.
func (l *Logger) Debug(msg string, args ...any) {
	if l == nil || !l.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	now := time.Now()
	suppressed := 0
	if now.Sub(l.window) >= l.interval {
		// The timer, if any, is late: the count goes out here.
		suppressed = l.suppressed
		l.window, l.n, l.suppressed = now, 0, 0
		l.stopTimerLocked()
	}
	l.n++
	drop := l.n > l.limit
	if drop {
		l.suppressed++
		if l.timer == nil {
			l.timer = time.AfterFunc(l.window.Add(l.interval).Sub(now), l.flush)
		}
	}
	l.mu.Unlock()
	if suppressed > 0 {
		l.log.Debug("records suppressed", "count", suppressed)
	}
	if !drop {
		l.log.Debug(msg, args...)
	}
}

// stopTimerLocked stops the timer. If it has fired already, flush finds
// nothing to write, or a count of the next interval, which it leaves for
// that interval's end.
func (l *Logger) stopTimerLocked() {
	if l.timer != nil && l.timer.Stop() {
		l.timer = nil
	}
}

// flush writes the count of the interval that ended, at its end.
func (l *Logger) flush() {
	l.mu.Lock()
	l.timer = nil
	if l.closed || l.suppressed == 0 {
		l.mu.Unlock()
		return
	}
	now := time.Now()
	if end := l.window.Add(l.interval); now.Before(end) {
		// A record began another interval, which has a count of its own.
		l.timer = time.AfterFunc(end.Sub(now), l.flush)
		l.mu.Unlock()
		return
	}
	suppressed := l.suppressed
	l.suppressed = 0
	l.mu.Unlock()
	l.log.Debug("records suppressed", "count", suppressed)
}

// Close writes the count still pending, if any, stops the timer, and
// makes the Logger write nothing more: the owner calls it when it closes,
// so that nothing is logged once it is gone. Close of a nil *Logger, and
// a second Close, do nothing.
func (l *Logger) Close() {
	if l == nil {
		return
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	suppressed := l.suppressed
	l.suppressed = 0
	l.mu.Unlock()
	if suppressed > 0 {
		l.log.Debug("records suppressed", "count", suppressed)
	}
}
